//! Instances whose agent has been silent past the deadline are shown `agentConnected: false` (so they receive no
//! placements) and their tasks are marked STOPPED with a host-lost reason, giving their resources back. An agent
//! that returns finds those tasks STOPPED in its manifest and stops their containers.

use std::sync::Arc;
use std::time::Duration;

use berth_model::arn;
use berth_model::instance::ContainerInstance;

use crate::api::Api;
use crate::error::ApiResult;
use crate::ops::agent::set_connected;
use crate::ops::tasks::{Assignment, StoredTask, finish_stop};
use crate::state::{self, keys};

/// Runs until the task is aborted.
pub async fn run(api: Arc<Api>) {
    let tick = (api.agent_deadline / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        tokio::time::sleep(tick).await;
        let started = std::time::Instant::now();
        if let Err(e) = pass(&api).await {
            tracing::warn!(error = %e.message, "liveness pass failed");
        }
        api.metrics.observe_controller("liveness", started.elapsed());
    }
}

/// One pass over every instance.
pub async fn pass(api: &Api) -> ApiResult<()> {
    for inst in state::list::<ContainerInstance>(api.store.as_ref(), keys::INSTANCES).await? {
        let i = &inst.value;
        if !i.agent_connected || i.status == "INACTIVE" {
            continue;
        }
        let silent = api.agents.silent_for(&inst.key);
        if silent <= api.agent_deadline {
            continue;
        }
        // From the record's key: an instance ARN in the short format does not name the cluster.
        let Some(cluster) = keys::cluster_of(&inst.key).map(str::to_owned) else {
            continue;
        };
        tracing::warn!(instance = %i.container_instance_arn, silent_s = silent.as_secs(), "agent lost");
        set_connected(api, &inst.key, false).await?;
        let reason = format!(
            "Host lost: the agent on container instance {} was not heard from for {} s.",
            i.id(),
            api.agent_deadline.as_secs()
        );
        stop_lost_tasks(api, &cluster, i.id(), &reason).await?;
    }
    Ok(())
}

/// Marks every task of the instance that has not stopped as STOPPED.
async fn stop_lost_tasks(api: &Api, cluster: &str, instance_id: &str, reason: &str) -> ApiResult<()> {
    let store = api.store.as_ref();
    for a in state::list::<Assignment>(store, &keys::assignments_of(cluster, instance_id)).await? {
        let (_, task_id) = arn::scoped_id(&a.value.task_arn, "task");
        let task_key = keys::task(cluster, task_id);
        state::commit(store, || async {
            let Some(current) = state::get::<StoredTask>(store, &task_key).await? else {
                return Ok((vec![], vec![], ()));
            };
            if current.value.task.is_stopped() {
                return Ok((vec![], vec![], ()));
            }
            let mut stored = current.value.clone();
            let from = stored.task.status();
            stored.task.stopped_reason.get_or_insert_with(|| reason.to_owned());
            stored.task.connectivity = Some("DISCONNECTED".into());
            stored.task.version += 1;
            let instance = state::get::<ContainerInstance>(store, &keys::instance(cluster, instance_id)).await?;
            let mut compares = vec![current.unchanged()];
            let mut ops = Vec::new();
            finish_stop(&mut stored, from, instance, &mut compares, &mut ops, api.now())?;
            ops.push(state::put(&task_key, &stored)?);
            Ok((compares, ops, ()))
        })
        .await?;
    }
    Ok(())
}
