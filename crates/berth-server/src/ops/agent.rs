//! The agent's side of the API: `Poll` (the work channel, a Berth operation), and the ECS model's
//! `SubmitTaskStateChange` and `SubmitContainerStateChange`, through which agents report what their tasks do.
//!
//! Reports merge forward only: a task's lastStatus and each container's status never move back, and nothing
//! changes once a task is STOPPED, so retried or reordered reports are harmless.

use std::time::Duration;

use berth_model::agent::{
    AssignedTask, ContainerStateChange, MAX_POLL_WAIT_SECONDS, PollRequest, PollResponse, TaskCredentialsRequest,
    TaskRole, TaskStateChange, TaskWebIdentityToken, TaskWebIdentityTokenRequest, web_identity,
};
use berth_model::arn;
use berth_model::instance::ContainerInstance;
use berth_model::names::truncate;
use berth_model::task::{Task, TaskStatus, container_status_rank, task_health};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult};
use crate::ops::tasks::{Assignment, StoredTask, finish_stop, task_key};
use crate::resources;
use crate::state::{self, keys};

pub async fn poll(api: &Api, req: PollRequest) -> ApiResult<Value> {
    let cluster = Api::cluster_name(Some(&req.cluster)).to_owned();
    let (other, instance_id) = arn::scoped_id(&req.container_instance, "container-instance");
    if other.is_some_and(|c| c != cluster) || instance_id.is_empty() {
        return Err(ApiError::invalid("containerInstance does not belong to the cluster named."));
    }
    let instance_key = keys::instance(&cluster, instance_id);
    let _seen = api.agents.begin(&instance_key);
    let Some(instance) = state::get::<ContainerInstance>(api.store.as_ref(), &instance_key).await? else {
        return Err(ApiError::invalid(format!(
            "containerInstance {} is not registered in cluster {cluster}.",
            truncate(&req.container_instance, 128)
        )));
    };
    if !instance.value.agent_connected && instance.value.status != "INACTIVE" {
        set_connected(api, &instance_key, true).await?;
    }
    let prefix = keys::assignments_of(&cluster, instance_id);
    let wait = Duration::from_secs(u64::from(req.wait_seconds.unwrap_or(20).min(MAX_POLL_WAIT_SECONDS)));
    if let Some(after) = req.after_revision.filter(|r| *r > 0) {
        let mut closing = api.closing.subscribe();
        let stop = async move {
            let _ = closing.wait_for(|c| *c).await;
        };
        api.manifests.wait(&prefix, after, wait, stop).await;
    }
    let listed = api.store.list(&prefix, berth_store::ListOptions::default()).await?;
    let mut tasks = Vec::with_capacity(listed.kvs.len());
    for kv in listed.kvs {
        let Ok(assignment) = serde_json::from_slice::<Assignment>(&kv.value) else { continue };
        let (_, task_id) = arn::scoped_id(&assignment.task_arn, "task");
        if let Some(t) = state::get::<StoredTask>(api.store.as_ref(), &keys::task(&cluster, task_id)).await? {
            tasks.push(AssignedTask { task: t.value.for_agent(), task_definition: assignment.task_definition });
        }
    }
    let status = state::get::<ContainerInstance>(api.store.as_ref(), &instance_key)
        .await?
        .map(|i| i.value.status)
        .unwrap_or_else(|| "INACTIVE".into());
    let response = PollResponse { revision: listed.revision, instance_status: status, tasks };
    serde_json::to_value(response).map_err(|e| ApiError::server(e.to_string()))
}

/// `GetTaskCredentials` (Berth): credentials of a task's role, for the agent of the instance the task is on. The
/// role comes from the task's overrides or its definition (`taskRoleArn`); it must trust `ecs-tasks.amazonaws.com`.
pub async fn get_task_credentials(api: &Api, req: TaskCredentialsRequest) -> ApiResult<Value> {
    let (task, assignment) = task_on_instance(api, &req.cluster, &req.container_instance, &req.task).await?;
    let definition = &assignment.task_definition;
    let role = match req.role {
        TaskRole::Task => {
            task.overrides.task_role_arn.clone().or_else(|| definition.task_role_arn().map(str::to_owned))
        }
        TaskRole::Execution => {
            task.overrides.execution_role_arn.clone().or_else(|| definition.execution_role_arn().map(str::to_owned))
        }
    };
    let Some(role) = role else {
        return Err(ApiError::invalid(format!("task {} has no such role.", truncate(&req.task, 256))));
    };
    let credentials = crate::sts::task_session(api, &role, &task.task_arn).await?;
    serde_json::to_value(credentials).map_err(|e| ApiError::server(e.to_string()))
}

/// The task `task_ref` of `cluster` if it is assigned to `instance_ref` and has not stopped (tasks still stopping
/// count, their containers may need what they ask for to shut down), with its assignment (which holds its
/// definition). Any other task, another instance's included, is "not running on this container instance".
async fn task_on_instance(
    api: &Api,
    cluster: &str,
    instance_ref: &str,
    task_ref: &str,
) -> ApiResult<(Task, Assignment)> {
    let cluster = Api::cluster_name(Some(cluster)).to_owned();
    let (other, instance_id) = arn::scoped_id(instance_ref, "container-instance");
    let (task_cluster, task_id) = arn::scoped_id(task_ref, "task");
    if other.is_some_and(|c| c != cluster) || task_cluster.is_some_and(|c| c != cluster) || instance_id.is_empty() {
        return Err(ApiError::invalid("containerInstance and task must belong to the cluster named."));
    }
    let not_here =
        || ApiError::invalid(format!("task {} is not running on this container instance.", truncate(task_ref, 256)));
    let Some(task) = state::get::<StoredTask>(api.store.as_ref(), &keys::task(&cluster, task_id)).await? else {
        return Err(not_here());
    };
    let task = task.value.task;
    let on_instance = task.container_instance_arn.as_deref().map(|a| arn::scoped_id(a, "container-instance").1);
    if on_instance != Some(instance_id) || task.is_stopped() {
        return Err(not_here());
    }
    let assignment = state::get::<Assignment>(api.store.as_ref(), &keys::assignment(&cluster, instance_id, task_id))
        .await?
        .ok_or_else(not_here)?
        .value;
    Ok((task, assignment))
}

/// `GetTaskWebIdentityToken` (Berth): a token of Berth's OIDC issuer ([`crate::oidc`]) for a task, for the agent of
/// the instance the task is on. Its subject is the task's role (from the overrides or the definition; it must
/// exist), its audience one that a container of the definition names with the docker label
/// `berth.web-identity.audience`.
pub async fn get_task_web_identity_token(api: &Api, req: TaskWebIdentityTokenRequest) -> ApiResult<Value> {
    let (task, assignment) = task_on_instance(api, &req.cluster, &req.container_instance, &req.task).await?;
    let definition = &assignment.task_definition;
    let named = definition
        .container_definitions
        .iter()
        .any(|c| c.docker_labels.as_ref().and_then(|l| l.get(web_identity::AUDIENCE_LABEL)) == Some(&req.audience));
    if req.audience.is_empty() || !named {
        return Err(ApiError::invalid(format!(
            "audience '{}' is not named by any container of the task's definition (docker label {}).",
            truncate(&req.audience, 256),
            web_identity::AUDIENCE_LABEL
        )));
    }
    let Some(role_ref) = task.overrides.task_role_arn.clone().or_else(|| definition.task_role_arn().map(str::to_owned))
    else {
        return Err(ApiError::invalid(format!(
            "task {} has no task role (taskRoleArn), the subject of a web identity token.",
            truncate(&req.task, 256)
        )));
    };
    let account = &api.scope.account_id;
    let role = match crate::sts::role_name_of(account, &role_ref) {
        Some(name) => crate::iam::load(api, crate::iam::entities::Kind::Role, &name).await.ok(),
        None => None,
    };
    let Some(role) = role else {
        return Err(ApiError::invalid(format!(
            "the task role '{}' is not a role of this account.",
            truncate(&role_ref, 256)
        )));
    };
    let role_arn = role.value.arn(crate::iam::entities::Kind::Role, account);
    let claims = crate::oidc::TaskClaims {
        role_arn: &role_arn,
        audience: &req.audience,
        cluster_arn: &task.cluster_arn,
        task_arn: &task.task_arn,
        task_definition_arn: &task.task_definition_arn,
        family: &definition.family,
    };
    let (token, expiration) = crate::oidc::issue_task_token(api, claims, api.now()).await?;
    let out = TaskWebIdentityToken { token, expiration: expiration as f64 };
    serde_json::to_value(out).map_err(|e| ApiError::server(e.to_string()))
}

/// `SubmitTaskStats` (Berth): an instance's samples of its running tasks, kept by [`crate::utilization`].
pub async fn submit_task_stats(api: &Api, req: berth_model::utilization::SubmitTaskStatsRequest) -> ApiResult<Value> {
    crate::utilization::submit(api, req).await
}

/// Records whether an instance's agent holds its channel.
pub async fn set_connected(api: &Api, instance_key: &str, connected: bool) -> ApiResult<()> {
    let store = api.store.as_ref();
    state::commit(store, || async {
        let Some(current) = state::get::<ContainerInstance>(store, instance_key).await? else {
            return Ok((vec![], vec![], ()));
        };
        if current.value.agent_connected == connected {
            return Ok((vec![], vec![], ()));
        }
        let mut inst = current.value.clone();
        inst.agent_connected = connected;
        inst.version += 1;
        Ok((vec![current.unchanged()], vec![state::put(instance_key, &inst)?], ()))
    })
    .await
}

pub async fn submit_task_state_change(api: &Api, req: TaskStateChange) -> ApiResult<Value> {
    if let Some(s) = req.status.as_deref()
        && TaskStatus::parse(s).is_none()
    {
        return Err(ApiError::invalid(format!("status '{}' is not a task status.", truncate(s, 64))));
    }
    for c in &req.containers {
        if let Some(s) = c.status.as_deref()
            && container_status_rank(s).is_none()
        {
            return Err(ApiError::invalid(format!(
                "containers: status '{}' is not valid. Valid values: PENDING, RUNNING, STOPPED.",
                truncate(s, 64)
            )));
        }
    }
    let Some(task_ref) = req.task.clone() else {
        return Err(ApiError::invalid("task is required."));
    };
    let cluster = api.active_cluster(req.cluster.as_deref()).await?.value.cluster_name;
    apply_change(api, &cluster, &task_ref, &req).await?;
    Ok(json!({ "acknowledgment": "ACK" }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitContainerStateChangeRequest {
    cluster: Option<String>,
    task: Option<String>,
    container_name: Option<String>,
    runtime_id: Option<String>,
    status: Option<String>,
    exit_code: Option<i32>,
    reason: Option<String>,
    #[serde(default)]
    network_bindings: Vec<berth_model::task::NetworkBinding>,
}

pub async fn submit_container_state_change(api: &Api, req: SubmitContainerStateChangeRequest) -> ApiResult<Value> {
    let change = TaskStateChange {
        cluster: req.cluster,
        task: req.task,
        containers: vec![ContainerStateChange {
            container_name: req.container_name,
            runtime_id: req.runtime_id,
            status: req.status,
            exit_code: req.exit_code,
            reason: req.reason,
            network_bindings: req.network_bindings,
            ..ContainerStateChange::default()
        }],
        ..TaskStateChange::default()
    };
    submit_task_state_change(api, change).await
}

/// Merges a report into the stored task; moves the task between its instance's counts and gives its resources
/// back when it stops, in the same transaction.
async fn apply_change(api: &Api, cluster: &str, task_ref: &str, change: &TaskStateChange) -> ApiResult<()> {
    let Some(key) = task_key(cluster, task_ref) else {
        return Err(ApiError::invalid(format!("task '{}' is not a task id or ARN.", truncate(task_ref, 256))));
    };
    let store = api.store.as_ref();
    state::commit(store, || async {
        let Some(current) = state::get::<StoredTask>(store, &key).await? else {
            return Err(ApiError::invalid(format!("The referenced task was not found: {}.", truncate(task_ref, 256))));
        };
        let mut stored = current.value.clone();
        let before = stored.task.status();
        let now = api.now();
        // Task health only reads containers with a health status, so the definition is read only when one has it.
        let any_health = stored.task.containers.iter().any(|c| c.health_status.is_some())
            || change.containers.iter().any(|c| c.health_status.is_some());
        let essentials = if any_health { essential_names(api, cluster, &stored.task).await? } else { vec![] };
        if !merge(&mut stored.task, change, now, &essentials) {
            return Ok((vec![], vec![], ()));
        }
        let after = stored.task.status();
        let mut compares = vec![current.unchanged()];
        let mut ops = Vec::new();
        if before != after
            && let Some(inst_arn) = stored.task.container_instance_arn.clone()
        {
            let (_, inst_id) = arn::scoped_id(&inst_arn, "container-instance");
            let instance = state::get::<ContainerInstance>(store, &keys::instance(cluster, inst_id)).await?;
            if after == Some(TaskStatus::Stopped) {
                let stopped_at = stored.task.stopped_at.unwrap_or(now);
                finish_stop(&mut stored, before, instance, &mut compares, &mut ops, stopped_at)?;
            } else if let Some(mut inst) = instance {
                resources::count_transition(&mut inst.value, before, after);
                inst.value.version += 1;
                compares.push(inst.unchanged());
                ops.push(state::put(&inst.key, &inst.value)?);
            }
        }
        ops.push(state::put(&key, &stored)?);
        Ok((compares, ops, ()))
    })
    .await
}

/// Names of the task's essential containers (from its definition), for the task's health.
async fn essential_names(api: &Api, cluster: &str, task: &Task) -> ApiResult<Vec<String>> {
    let Some(inst_arn) = task.container_instance_arn.as_deref() else { return Ok(vec![]) };
    let (_, inst_id) = arn::scoped_id(inst_arn, "container-instance");
    let key = keys::assignment(cluster, inst_id, task.id());
    Ok(match state::get::<Assignment>(api.store.as_ref(), &key).await? {
        Some(a) => a
            .value
            .task_definition
            .container_definitions
            .iter()
            .filter(|c| c.is_essential())
            .map(|c| c.name.clone())
            .collect(),
        None => task.containers.iter().map(|c| c.name.clone()).collect(),
    })
}

/// Applies a report to a task; returns whether anything changed.
fn merge(task: &mut Task, change: &TaskStateChange, now: f64, essentials: &[String]) -> bool {
    if task.is_stopped() {
        return false;
    }
    let mut changed = false;
    for c in &change.containers {
        let Some(container) = c.container_name.as_deref().and_then(|n| task.container_mut(n)) else { continue };
        changed |= merge_container(container, c);
    }
    changed |= set_once(&mut task.pull_started_at, change.pull_started_at);
    changed |= set_once(&mut task.pull_stopped_at, change.pull_stopped_at);
    let health = task_health(
        task.containers.iter().filter(|c| essentials.contains(&c.name)).map(|c| c.health_status.as_deref()),
    )
    .unwrap_or("UNKNOWN");
    if task.health_status.as_deref() != Some(health) {
        task.health_status = Some(health.into());
        changed = true;
    }
    let current = task.status().unwrap_or(TaskStatus::Provisioning);
    if let Some(new) = change.status.as_deref().and_then(TaskStatus::parse)
        && new > current
    {
        changed = true;
        task.last_status = new.as_str().into();
        if new >= TaskStatus::Running && current < TaskStatus::Running && new < TaskStatus::Stopping {
            task.started_at.get_or_insert(change.started_at.unwrap_or(now));
        }
        if new >= TaskStatus::Stopping {
            // A stop the host decided (an essential container exited, the task failed to start).
            if task.desired_status != "STOPPED" {
                task.desired_status = "STOPPED".into();
                task.stop_code = task.stop_code.take().or_else(|| change.stop_code.clone());
                task.stopped_reason = task.stopped_reason.take().or_else(|| change.reason.clone());
            }
            task.stopping_at.get_or_insert(change.stopping_at.unwrap_or(now));
        }
        if new == TaskStatus::Stopped {
            task.stopped_at = Some(now);
            task.execution_stopped_at.get_or_insert(change.execution_stopped_at.unwrap_or(now));
            if task.started_at.is_none() && task.stop_code.is_none() {
                task.stop_code = change.stop_code.clone();
            }
        }
    }
    if changed {
        task.version += 1;
    }
    changed
}

fn merge_container(container: &mut berth_model::task::Container, c: &ContainerStateChange) -> bool {
    if container.last_status == "STOPPED" {
        return false;
    }
    let mut changed = false;
    if let Some(s) = c.status.as_deref()
        && container_status_rank(s) > container_status_rank(&container.last_status)
    {
        container.last_status = s.into();
        changed = true;
    }
    changed |= set_if_new(&mut container.runtime_id, &c.runtime_id);
    changed |= set_if_new(&mut container.image_digest, &c.image_digest);
    changed |= set_if_new(&mut container.reason, &c.reason);
    changed |= set_if_new(&mut container.health_status, &c.health_status);
    if c.exit_code.is_some() && container.exit_code != c.exit_code {
        container.exit_code = c.exit_code;
        changed = true;
    }
    if !c.network_bindings.is_empty() && container.network_bindings != c.network_bindings {
        container.network_bindings = c.network_bindings.clone();
        changed = true;
    }
    changed
}

fn set_once(field: &mut Option<f64>, value: Option<f64>) -> bool {
    if field.is_none() && value.is_some() {
        *field = value;
        return true;
    }
    false
}

fn set_if_new(field: &mut Option<String>, value: &Option<String>) -> bool {
    if value.is_some() && field != value {
        field.clone_from(value);
        return true;
    }
    false
}
