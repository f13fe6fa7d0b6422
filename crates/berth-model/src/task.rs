//! Tasks: the running copies of a task definition, their containers, and the lifecycle ECS reports for them.
//!
//! `lastStatus` moves forward only, in the order of [`TaskStatus`]; a report that would move it back is stale and
//! dropped. Containers move PENDING, RUNNING, STOPPED the same way.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::taskdef::{ContainerDefinition, KeyValuePair, ResourceRequirement, TaskDefinition};
use crate::{Attribute, Tag};

/// A task's `lastStatus`, in lifecycle order (inventory section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 8] = [
        TaskStatus::Provisioning,
        TaskStatus::Pending,
        TaskStatus::Activating,
        TaskStatus::Running,
        TaskStatus::Deactivating,
        TaskStatus::Stopping,
        TaskStatus::Deprovisioning,
        TaskStatus::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// ECS `TaskStopCode` values.
pub mod stop_code {
    pub const TASK_FAILED_TO_START: &str = "TaskFailedToStart";
    pub const ESSENTIAL_CONTAINER_EXITED: &str = "EssentialContainerExited";
    pub const USER_INITIATED: &str = "UserInitiated";
    pub const SERVICE_SCHEDULER_INITIATED: &str = "ServiceSchedulerInitiated";
    pub const SPOT_INTERRUPTION: &str = "SpotInterruption";
    pub const TERMINATION_NOTICE: &str = "TerminationNotice";
    pub const ALL: [&str; 6] = [
        TASK_FAILED_TO_START,
        ESSENTIAL_CONTAINER_EXITED,
        USER_INITIATED,
        SERVICE_SCHEDULER_INITIATED,
        SPOT_INTERRUPTION,
        TERMINATION_NOTICE,
    ];
}

/// The `stoppedReason` ECS gives when an essential container's exit stops its task.
pub const ESSENTIAL_CONTAINER_EXITED_REASON: &str = "Essential container in task exited";

/// A container's `lastStatus`, in order.
pub fn container_status_rank(status: &str) -> Option<u8> {
    match status {
        "PENDING" => Some(0),
        "RUNNING" => Some(1),
        "STOPPED" => Some(2),
        _ => None,
    }
}

/// A task as DescribeTasks returns it (`Task` in the ECS model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_arn: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_instance_arn: Option<String>,
    pub last_status: String,
    pub desired_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    pub overrides: TaskOverride,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectivity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectivity_at: Option<f64>,
    pub created_at: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_started_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_stopped_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopping_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_stopped_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<f64>,
    /// Bumped on every change of the task.
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(default)]
    pub enable_execute_command: bool,
}

impl Task {
    /// The task id (last part of its ARN).
    pub fn id(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn)
    }

    pub fn status(&self) -> Option<TaskStatus> {
        TaskStatus::parse(&self.last_status)
    }

    pub fn is_stopped(&self) -> bool {
        self.last_status == "STOPPED"
    }

    pub fn container(&self, name: &str) -> Option<&Container> {
        self.containers.iter().find(|c| c.name == name)
    }

    pub fn container_mut(&mut self, name: &str) -> Option<&mut Container> {
        self.containers.iter_mut().find(|c| c.name == name)
    }
}

/// A container of a task (`Container` in the ECS model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub container_arn: String,
    pub task_arn: String,
    pub name: String,
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_id: Option<String>,
    pub last_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub network_bindings: Vec<NetworkBinding>,
    #[serde(default)]
    pub network_interfaces: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpu_ids: Vec<String>,
}

/// A published port (`NetworkBinding` in the ECS model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkBinding {
    #[serde(rename = "bindIP", default, skip_serializing_if = "Option::is_none")]
    pub bind_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port_range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port_range: Option<String>,
}

/// RunTask/StartTask `overrides` (`TaskOverride` in the ECS model).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOverride {
    #[serde(default)]
    pub container_overrides: Vec<ContainerOverride>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(default)]
    pub inference_accelerator_overrides: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<Value>,
}

impl TaskOverride {
    /// The overrides as a task shows them: one entry per container of `def`, in its order (ECS lists a container
    /// without overrides by its name alone), then any others given.
    pub fn naming_every_container(&self, def: &TaskDefinition) -> TaskOverride {
        let mut out = self.clone();
        let mut listed: Vec<ContainerOverride> = def
            .container_definitions
            .iter()
            .map(|c| {
                self.container(&c.name)
                    .cloned()
                    .unwrap_or_else(|| ContainerOverride { name: Some(c.name.clone()), ..Default::default() })
            })
            .collect();
        listed.extend(
            self.container_overrides
                .iter()
                .filter(|o| o.name.as_deref().is_none_or(|n| def.container(n).is_none()))
                .cloned(),
        );
        out.container_overrides = listed;
        out
    }

    pub fn container(&self, name: &str) -> Option<&ContainerOverride> {
        self.container_overrides.iter().find(|c| c.name.as_deref() == Some(name))
    }

    /// The container definition with its override applied, as ECS runs it: `command` replaces, `environment`
    /// entries replace same-named ones and the rest are appended, `cpu`/`memory`/`memoryReservation` and
    /// `resourceRequirements` replace.
    pub fn apply_to(&self, def: &ContainerDefinition) -> ContainerDefinition {
        let mut out = def.clone();
        let Some(o) = self.container(&def.name) else { return out };
        if let Some(command) = &o.command {
            out.command = Some(command.clone());
        }
        for entry in o.environment.iter().flatten() {
            match out.environment.iter_mut().find(|e| e.name.is_some() && e.name == entry.name) {
                Some(existing) => existing.value = entry.value.clone(),
                None => out.environment.push(entry.clone()),
            }
        }
        if o.cpu.is_some() {
            out.cpu = o.cpu;
        }
        if o.memory.is_some() {
            out.memory = o.memory;
        }
        if o.memory_reservation.is_some() {
            out.memory_reservation = o.memory_reservation;
        }
        if let Some(requirements) = &o.resource_requirements {
            out.resource_requirements = Some(requirements.clone());
        }
        out
    }
}

/// Per-container overrides (`ContainerOverride` in the ECS model).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Vec<KeyValuePair>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_files: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_requirements: Option<Vec<ResourceRequirement>>,
}

/// The task health ECS derives from its essential containers: UNHEALTHY if any is unhealthy, HEALTHY if all that
/// have a health check are healthy, otherwise UNKNOWN. `None` when no essential container has a health check.
pub fn task_health<'a>(essential_health: impl IntoIterator<Item = Option<&'a str>>) -> Option<&'static str> {
    let mut any = false;
    let mut all_healthy = true;
    for status in essential_health.into_iter().flatten() {
        any = true;
        match status {
            "UNHEALTHY" => return Some("UNHEALTHY"),
            "HEALTHY" => {}
            _ => all_healthy = false,
        }
    }
    match (any, all_healthy) {
        (false, _) => None,
        (true, true) => Some("HEALTHY"),
        (true, false) => Some("UNKNOWN"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_ordered_as_the_lifecycle() {
        assert!(TaskStatus::Provisioning < TaskStatus::Pending);
        assert!(TaskStatus::Running < TaskStatus::Stopping);
        assert!(TaskStatus::Stopping < TaskStatus::Stopped);
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TaskStatus::parse("DELETED"), None);
    }

    #[test]
    fn task_health_follows_essential_containers() {
        assert_eq!(task_health([None, None]), None);
        assert_eq!(task_health([Some("HEALTHY"), None]), Some("HEALTHY"));
        assert_eq!(task_health([Some("HEALTHY"), Some("UNKNOWN")]), Some("UNKNOWN"));
        assert_eq!(task_health([Some("UNKNOWN"), Some("UNHEALTHY")]), Some("UNHEALTHY"));
    }

    #[test]
    fn network_binding_uses_the_model_spelling() {
        let b = NetworkBinding {
            bind_ip: Some("0.0.0.0".into()),
            container_port: Some(80),
            host_port: Some(49153),
            protocol: Some("tcp".into()),
            container_port_range: None,
            host_port_range: None,
        };
        let v = serde_json::to_value(&b).unwrap();
        assert_eq!(v["bindIP"], "0.0.0.0");
        assert_eq!(v["hostPort"], 49153);
    }
}
