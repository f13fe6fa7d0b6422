//! The stream index: which container instance holds each log stream (`logstreams/<group>/<stream>`), written when
//! tasks are placed, so the Logs handlers know which agent to ask. The streams' contents stay on the hosts.
//!
//! Placing a task also creates the log groups its containers write to when they do not exist yet. ECS needs
//! `awslogs-create-group: true` for that; Berth always creates them (docs/API-COVERAGE.md says so).

use std::collections::{BTreeMap, BTreeSet};

use berth_model::task::Task;
use berth_model::taskdef::TaskDefinition;
use berth_store::Op;
use serde::{Deserialize, Serialize};

use crate::api::Api;
use crate::error::ApiResult;
use crate::logs::{groups, now_millis, validate};
use crate::state::{self, keys};

/// Where one stream is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamRecord {
    pub log_group_name: String,
    pub log_stream_name: String,
    pub cluster: String,
    pub container_instance_arn: String,
    pub task_arn: String,
    /// Milliseconds since the epoch: when the task was placed.
    pub creation_time: i64,
}

/// Creates the log groups a task definition's containers write to, when they do not exist yet. Called before a
/// placement takes its cluster's lock, so the common case (the group exists) costs one read outside it; a failure
/// is logged, not returned, since the tasks run either way.
pub async fn ensure_groups(api: &Api, definition: &TaskDefinition) {
    let names: BTreeSet<String> = definition
        .container_definitions
        .iter()
        .filter_map(|c| berth_model::logs::destination(&definition.family, c, "-"))
        .map(|d| d.log_group_name)
        .filter(|g| validate::is_group_name(g))
        .collect();
    for name in names {
        if let Err(e) = groups::ensure(api, &name).await {
            tracing::warn!(error = %e, group = name, "could not create the log group of new tasks");
        }
    }
}

/// The index writes for tasks being placed in `cluster`: they go into the placement's own transaction, so a
/// placed task's streams are indexed from the moment it exists, at no extra commit.
pub fn stream_ops(cluster: &str, definition: &TaskDefinition, tasks: &[Task]) -> ApiResult<Vec<Op>> {
    stream_records(cluster, definition, tasks, now_millis())
        .iter()
        .map(|r| state::put(keys::log_stream(&r.log_group_name, &r.log_stream_name), r))
        .collect()
}

/// The streams of `tasks`: one per container whose output Berth keeps, in a group with a valid name (a task
/// definition may name any `awslogs-group`; one the Logs API could never address is left out).
fn stream_records(cluster: &str, definition: &TaskDefinition, tasks: &[Task], now: i64) -> Vec<StreamRecord> {
    let mut records = BTreeMap::new();
    for task in tasks {
        let Some(instance) = &task.container_instance_arn else { continue };
        for container in &definition.container_definitions {
            let Some(dest) = berth_model::logs::destination(&definition.family, container, task.id()) else {
                continue;
            };
            if !validate::is_group_name(&dest.log_group_name) {
                tracing::warn!(group = dest.log_group_name, "log group name is not valid for CloudWatch Logs");
                continue;
            }
            let record = StreamRecord {
                log_group_name: dest.log_group_name,
                log_stream_name: dest.log_stream_name,
                cluster: cluster.to_owned(),
                container_instance_arn: instance.clone(),
                task_arn: task.task_arn.clone(),
                creation_time: now,
            };
            records.insert((record.log_group_name.clone(), record.log_stream_name.clone()), record);
        }
    }
    records.into_values().collect()
}

/// The indexed streams of `group` whose names start with `prefix`, in name order.
pub async fn streams_of(api: &Api, group: &str, prefix: Option<&str>) -> ApiResult<Vec<StreamRecord>> {
    let key = format!("{}{}", keys::log_streams_of(group), prefix.unwrap_or(""));
    Ok(state::list::<StreamRecord>(api.store.as_ref(), &key).await?.into_iter().map(|v| v.value).collect())
}

/// One indexed stream.
pub async fn stream(api: &Api, group: &str, stream: &str) -> ApiResult<Option<StreamRecord>> {
    Ok(state::get::<StreamRecord>(api.store.as_ref(), &keys::log_stream(group, stream)).await?.map(|v| v.value))
}

/// Streams grouped by the (cluster, container instance) holding them.
pub fn by_host(records: Vec<StreamRecord>) -> BTreeMap<(String, String), Vec<StreamRecord>> {
    let mut hosts: BTreeMap<(String, String), Vec<StreamRecord>> = BTreeMap::new();
    for r in records {
        hosts.entry((r.cluster.clone(), r.container_instance_arn.clone())).or_default().push(r);
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(containers: serde_json::Value) -> TaskDefinition {
        serde_json::from_value(serde_json::json!({"family": "trainer", "containerDefinitions": containers}))
            .expect("definition")
    }

    fn task(id: &str, instance: Option<&str>) -> Task {
        let mut t: Task = serde_json::from_value(serde_json::json!({
            "taskArn": format!("arn:aws:ecs:us-east-1:123456789012:task/default/{id}"),
            "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/default",
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/trainer:1",
            "lastStatus": "PROVISIONING", "desiredStatus": "RUNNING", "containers": [], "createdAt": 0.0, "overrides": {},
            "version": 1
        }))
        .expect("task");
        t.container_instance_arn = instance.map(str::to_owned);
        t
    }

    #[test]
    fn one_stream_per_shipped_container() {
        let def = definition(serde_json::json!([
            {"name": "main", "image": "x", "logConfiguration": {"logDriver": "awslogs",
                "options": {"awslogs-group": "/ecs/trainer", "awslogs-stream-prefix": "ecs"}}},
            {"name": "side", "image": "x"},
            {"name": "quiet", "image": "x", "logConfiguration": {"logDriver": "none"}},
            {"name": "odd", "image": "x", "logConfiguration": {"logDriver": "awslogs",
                "options": {"awslogs-group": "bad group"}}}
        ]));
        let records = stream_records("default", &def, &[task("t1", Some("arn:i1")), task("t2", None)], 7);
        let names: Vec<_> = records.iter().map(|r| (r.log_group_name.as_str(), r.log_stream_name.as_str())).collect();
        assert_eq!(names, vec![("/ecs/trainer", "ecs/main/t1"), ("/ecs/trainer", "ecs/side/t1")]);
        assert_eq!(records[0].container_instance_arn, "arn:i1");
        assert_eq!(records[0].creation_time, 7);
    }

    #[test]
    fn group_keys_do_not_overlap() {
        let a = keys::log_streams_of("/a");
        assert!(!keys::log_stream("/a/b", "x").starts_with(&a));
        assert!(keys::log_stream("/a", "b/x").starts_with(&a));
    }
}
