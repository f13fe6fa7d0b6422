//! What an agent acting as its container instance may do (`Caller::Instance`, the session of
//! `GetInstanceCredentials`): the agent operations for its own instance, and the state reports of the tasks placed
//! on it. Nothing else, whatever the key that registered the instance may do, so a compromised host cannot reach
//! other hosts' tasks, credentials or the rest of the account. The request names the instance itself
//! (`containerInstance`); the handlers then check that the task it asks about is on that instance.

use serde_json::Value;

use crate::api::Api;
use crate::error::ApiResult;

/// The agent operations (`berth` or, for Poll, `ecs`) that name the instance they are for.
const INSTANCE_OPERATIONS: [&str; 6] = [
    "Poll",
    "GetTaskCredentials",
    "GetTaskWebIdentityToken",
    "GetLinkCertificate",
    "SubmitTaskStats",
    "GetInstanceCredentials",
];

/// The ECS operations agents report with, which name a task.
const TASK_REPORTS: [&str; 2] = ["SubmitTaskStateChange", "SubmitContainerStateChange"];

/// Whether the instance `instance_arn` of `cluster` may run `operation` with `input`; `Err` for a store failure.
pub async fn allows(api: &Api, cluster: &str, instance_arn: &str, operation: &str, input: &Value) -> ApiResult<bool> {
    // The identity ends with the instance: a deregistered one's agent must register again.
    let (_, id) = berth_model::arn::scoped_id(instance_arn, "container-instance");
    let record = crate::state::get::<berth_model::instance::ContainerInstance>(
        api.store.as_ref(),
        &crate::state::keys::instance(cluster, id),
    )
    .await?;
    if !record.is_some_and(|r| r.value.status != "INACTIVE" && r.value.container_instance_arn == instance_arn) {
        return Ok(false);
    }
    let field = |name: &str| input.get(name).and_then(Value::as_str);
    if INSTANCE_OPERATIONS.contains(&operation) {
        let same_cluster = Api::cluster_name(field("cluster")) == cluster;
        return Ok(same_cluster && field("containerInstance") == Some(instance_arn));
    }
    if TASK_REPORTS.contains(&operation) {
        let task_cluster = Api::cluster_name(field("cluster"));
        let Some(task) = field("task") else { return Ok(false) };
        if task_cluster != cluster {
            return Ok(false);
        }
        let Some(key) = crate::ops::tasks::task_key(task_cluster, task) else { return Ok(false) };
        let stored = crate::state::get::<crate::ops::tasks::StoredTask>(api.store.as_ref(), &key).await?;
        return Ok(stored.is_some_and(|t| t.value.task.container_instance_arn.as_deref() == Some(instance_arn)));
    }
    Ok(false)
}
