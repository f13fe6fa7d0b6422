//! Stopped tasks stay visible for the retention period (an hour by default, as in ECS), then the task and its
//! assignment are deleted; the agent removes the task's containers when it leaves the manifest.
//!
//! The same loop removes Secrets Manager secrets whose recovery window has passed (with their sealed values), so a
//! deleted secret nobody looks up again does not stay in the store; lookups treat such a secret as gone at once.

use std::sync::Arc;
use std::time::Duration;

use berth_model::arn;
use berth_store::Op;

use crate::api::Api;
use crate::error::ApiResult;
use crate::ops::tasks::StoredTask;
use crate::state::{self, keys};

/// Runs until the task is aborted.
pub async fn run(api: Arc<Api>) {
    let tick = (api.task_retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
    loop {
        tokio::time::sleep(tick).await;
        let started = std::time::Instant::now();
        if let Err(e) = pass(&api).await {
            tracing::warn!(error = %e.message, "task reaper pass failed");
        }
        if let Err(e) = crate::secrets::purge_expired(&api).await {
            tracing::warn!(error = %e.message, "purging deleted secrets failed");
        }
        api.metrics.observe_controller("reaper", started.elapsed());
    }
}

/// Deletes every task stopped longer ago than the retention period.
pub async fn pass(api: &Api) -> ApiResult<usize> {
    let cutoff = api.now() - api.task_retention.as_secs_f64();
    let mut reaped = 0;
    for t in state::list::<StoredTask>(api.store.as_ref(), keys::TASKS).await? {
        let task = &t.value.task;
        if !task.is_stopped() || task.stopped_at.is_none_or(|at| at > cutoff) {
            continue;
        }
        // From the task's cluster ARN: a task ARN in the short format does not name it.
        let cluster = arn::cluster_name(&task.cluster_arn).to_owned();
        let mut ops = vec![Op::delete(t.key.clone())];
        if let Some(inst) = task.container_instance_arn.as_deref() {
            let (_, inst_id) = arn::scoped_id(inst, "container-instance");
            ops.push(Op::delete(keys::assignment(&cluster, inst_id, task.id())));
        }
        if api.store.txn(vec![t.unchanged()], ops).await?.succeeded {
            reaped += 1;
        }
    }
    Ok(reaped)
}
