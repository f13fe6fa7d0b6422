//! Turning a task and its definition into what the runtime needs: container definitions with the task's
//! overrides applied, host ports the server assigned, runtime names, labels and the task's volumes.

use std::collections::BTreeMap;

use berth_model::agent::labels;
use berth_model::task::{NetworkBinding, Task};
use berth_model::taskdef::{ContainerDefinition, TaskDefinition};

use crate::runtime::{VolumeSource, VolumeSpec};

/// Label holding a container's metadata endpoint token, so that it survives an agent restart.
pub const METADATA_TOKEN_LABEL: &str = "berth.metadata-token";

/// Replaces every character Docker refuses in a container or volume name (`[a-zA-Z0-9_.-]`) with `-`.
pub(crate) fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' }).collect()
}

/// `berth-<family>-<revision>-<container>-<task id>`, sanitized.
pub(crate) fn runtime_name(def: &TaskDefinition, container: &str, task_id: &str) -> String {
    sanitize(&format!("berth-{}-{}-{}-{}", def.family, def.revision, container, task_id))
}

/// The labels of one container: its dockerLabels, then Berth's.
pub(crate) fn container_labels(
    def: &ContainerDefinition,
    task: &Task,
    task_def: &TaskDefinition,
    cluster: &str,
    instance_arn: &str,
    token: &str,
) -> BTreeMap<String, String> {
    let mut out = def.docker_labels.clone().unwrap_or_default();
    out.insert(labels::TASK_ARN.to_owned(), task.task_arn.clone());
    out.insert(labels::CONTAINER_NAME.to_owned(), def.name.clone());
    out.insert(labels::CLUSTER.to_owned(), cluster.to_owned());
    out.insert(labels::CONTAINER_INSTANCE.to_owned(), instance_arn.to_owned());
    out.insert(labels::TASK_DEFINITION_FAMILY.to_owned(), task_def.family.clone());
    out.insert(labels::TASK_DEFINITION_VERSION.to_owned(), task_def.revision.to_string());
    out.insert(METADATA_TOKEN_LABEL.to_owned(), token.to_owned());
    // Where the agent's log shipper puts the container's output (it finds its work by these labels).
    if let Some(d) = berth_model::logs::destination(&task_def.family, def, task.id()) {
        out.insert(crate::logs::GROUP_LABEL.to_owned(), d.log_group_name);
        out.insert(crate::logs::STREAM_LABEL.to_owned(), d.log_stream_name);
    }
    out
}

/// Gives each of the definition's port mappings without a fixed host port (0 or absent) the host port the server
/// assigned it: the `hostPort` of the server's network binding for the same containerPort and protocol (tcp when
/// unset). The server picks from this host's free ports, so the scheduler knows the port before the container
/// starts. A mapping the server assigned nothing (an older server, a containerPortRange) keeps no host port, and
/// the runtime picks one as before.
pub(crate) fn assign_host_ports(def: &mut ContainerDefinition, assigned: &[NetworkBinding]) {
    for mapping in &mut def.port_mappings {
        if mapping.host_port.is_some_and(|p| p > 0) || mapping.container_port_range.is_some() {
            continue;
        }
        let Some(container_port) = mapping.container_port else { continue };
        let protocol = mapping.protocol();
        let host_port = assigned
            .iter()
            .find(|b| {
                b.container_port == Some(container_port)
                    && b.container_port_range.is_none()
                    && b.protocol.as_deref().unwrap_or("tcp").eq_ignore_ascii_case(protocol)
            })
            .and_then(|b| b.host_port)
            .filter(|p| (1..=i32::from(u16::MAX)).contains(p));
        if host_port.is_some() {
            mapping.host_port = host_port;
        }
    }
}

/// The task's volumes: where each comes from, which named volumes to create before the containers, and which of
/// them belong to the task (removed at cleanup).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct VolumePlan {
    pub sources: BTreeMap<String, VolumeSource>,
    pub create: Vec<VolumeSpec>,
    pub task_scoped: Vec<String>,
}

pub(crate) fn plan_volumes(task_def: &TaskDefinition, task: &Task, instance_arn: &str) -> VolumePlan {
    let mut plan = VolumePlan::default();
    let task_labels = BTreeMap::from([
        (labels::TASK_ARN.to_owned(), task.task_arn.clone()),
        (labels::CONTAINER_INSTANCE.to_owned(), instance_arn.to_owned()),
    ]);
    for volume in &task_def.volumes {
        if let Some(path) = volume.host.as_ref().and_then(|h| h.source_path.as_ref()) {
            plan.sources.insert(volume.name.clone(), VolumeSource::HostPath(path.clone()));
            continue;
        }
        let docker = volume.docker_volume_configuration.as_ref();
        let shared = docker.and_then(|d| d.scope.as_deref()) == Some("shared");
        let (name, mut volume_labels) = if shared {
            (volume.name.clone(), BTreeMap::new())
        } else {
            (sanitize(&format!("berth-{}-{}", task.id(), volume.name)), task_labels.clone())
        };
        if let Some(user_labels) = docker.and_then(|d| d.labels.as_ref()) {
            volume_labels.extend(user_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        plan.create.push(VolumeSpec {
            name: name.clone(),
            driver: docker.and_then(|d| d.driver.clone()),
            driver_opts: docker.and_then(|d| d.driver_opts.clone()).unwrap_or_default(),
            labels: volume_labels,
        });
        if !shared {
            plan.task_scoped.push(name.clone());
        }
        plan.sources.insert(volume.name.clone(), VolumeSource::Named(name));
    }
    plan
}

/// Environment the agent adds: the metadata endpoint URIs when an endpoint is configured.
pub(crate) fn metadata_env(endpoint: Option<&str>, token: &str) -> Vec<(String, String)> {
    match endpoint {
        Some(base) => {
            let base = base.trim_end_matches('/');
            vec![
                ("ECS_CONTAINER_METADATA_URI_V4".to_owned(), format!("{base}/v4/{token}")),
                ("ECS_CONTAINER_METADATA_URI".to_owned(), format!("{base}/v3/{token}")),
            ]
        }
        None => Vec::new(),
    }
}

/// The log driver passed to the runtime: the definition's, except `awslogs` (there is no AWS here) and no
/// logConfiguration, which run with a bounded `json-file` that the agent's shipper reads into the stream.
pub(crate) fn log_driver(def: &ContainerDefinition) -> Option<(String, BTreeMap<String, String>)> {
    match def.log_configuration.as_ref() {
        None => Some(crate::logs::json_file_driver()),
        Some(config) if config.log_driver == "awslogs" => Some(crate::logs::json_file_driver()),
        Some(config) => Some((config.log_driver.clone(), config.options.clone().unwrap_or_default())),
    }
}

/// The network mode the runtime gets: awsvpc runs as bridge.
pub(crate) fn network_mode(def: &TaskDefinition) -> String {
    match def.network_mode() {
        "awsvpc" => "bridge".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_model::task::ContainerOverride;
    use berth_model::taskdef::KeyValuePair;
    use serde_json::json;

    fn kv(name: &str, value: &str) -> KeyValuePair {
        KeyValuePair { name: Some(name.into()), value: Some(value.into()) }
    }

    fn binding(container_port: i32, host_port: i32, protocol: Option<&str>) -> NetworkBinding {
        NetworkBinding {
            bind_ip: Some("0.0.0.0".into()),
            container_port: Some(container_port),
            host_port: Some(host_port),
            protocol: protocol.map(str::to_owned),
            container_port_range: None,
            host_port_range: None,
        }
    }

    #[test]
    fn dynamic_mappings_take_the_servers_host_ports() {
        let mut def: ContainerDefinition = serde_json::from_value(json!({
            "name": "app", "image": "busybox",
            "portMappings": [
                {"containerPort": 80},
                {"containerPort": 53, "hostPort": 0, "protocol": "udp"},
                {"containerPort": 53, "protocol": "tcp"},
                {"containerPort": 443, "hostPort": 8443},
                {"containerPort": 9000},
                {"containerPortRange": "7000-7001"}
            ]
        }))
        .unwrap();
        let assigned = [
            binding(80, 50001, Some("tcp")),
            // Same container port, other protocol: each mapping takes its own.
            binding(53, 50003, None),
            binding(53, 50002, Some("udp")),
            // A fixed hostPort stays, whatever the server says.
            binding(443, 50004, Some("tcp")),
            // Nothing for 9000 nor the range.
        ];
        assign_host_ports(&mut def, &assigned);
        let host_ports: Vec<Option<i32>> = def.port_mappings.iter().map(|m| m.host_port).collect();
        assert_eq!(host_ports, vec![Some(50001), Some(50002), Some(50003), Some(8443), None, None]);
    }

    #[test]
    fn without_server_bindings_the_runtime_picks() {
        let original: ContainerDefinition = serde_json::from_value(json!({
            "name": "app", "image": "busybox",
            "portMappings": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 0}]
        }))
        .unwrap();
        let mut def = original.clone();
        assign_host_ports(&mut def, &[]);
        assert_eq!(def, original);
        // A binding for another protocol or with no usable port is not an assignment.
        assign_host_ports(&mut def, &[binding(80, 50001, Some("udp")), binding(81, 0, Some("tcp"))]);
        assert_eq!(def, original);
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize("berth-my fam-1-web/x-abc"), "berth-my-fam-1-web-x-abc");
    }

    #[test]
    fn overrides_replace_and_append() {
        use berth_model::task::TaskOverride;
        let def: ContainerDefinition = serde_json::from_value(json!({
            "name": "app", "image": "busybox", "command": ["a"], "cpu": 10, "memory": 64,
            "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
        }))
        .unwrap();
        let overrides = TaskOverride {
            container_overrides: vec![ContainerOverride {
                name: Some("app".into()),
                command: Some(vec!["b".into(), "c".into()]),
                environment: Some(vec![kv("B", "20"), kv("C", "3")]),
                cpu: Some(20),
                memory_reservation: Some(32),
                ..Default::default()
            }],
            ..Default::default()
        };
        let out = overrides.apply_to(&def);
        assert_eq!(out.command, Some(vec!["b".into(), "c".into()]));
        assert_eq!(out.environment, vec![kv("A", "1"), kv("B", "20"), kv("C", "3")]);
        assert_eq!((out.cpu, out.memory, out.memory_reservation), (Some(20), Some(64), Some(32)));
    }
}
