//! `ContainerDefinition` and the shapes inside it.
//!
//! Fields that drive Berth's behaviour (placement, the agent's Docker calls, dependency ordering) are typed; every
//! other field of the model is kept in `extra` as the client sent it, so nothing is lost between
//! RegisterTaskDefinition and DescribeTaskDefinition. Typed fields use the model's names and types (`Integer` is
//! `i32`); `None` means "not sent" and is not serialized. The four lists AWS always returns (`portMappings`,
//! `environment`, `mountPoints`, `volumesFrom`) are plain `Vec`s that serialize even when empty.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One container of a task definition (`ContainerDefinition` in the ECS model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    /// CPU units reserved for the container (Docker `CpuShares`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i32>,
    /// Hard memory limit, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    /// Soft memory limit, MiB; what placement reserves when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i32>,
    /// As sent; `None` means essential (see [`ContainerDefinition::is_essential`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
    #[serde(default)]
    pub environment: Vec<KeyValuePair>,
    #[serde(default)]
    pub mount_points: Vec<MountPoint>,
    #[serde(default)]
    pub volumes_from: Vec<VolumeFrom>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<ContainerDependency>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Seconds to wait for this container's dependencies to resolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<i32>,
    /// Seconds between SIGTERM and SIGKILL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_requirements: Option<Vec<ResourceRequirement>>,
    /// `LinuxParameters` as sent (capabilities, devices, initProcessEnabled, sharedMemorySize, tmpfs, maxSwap,
    /// swappiness); checked at registration, interpreted by the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ulimits: Option<Vec<Ulimit>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<Secret>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_networking: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_terminal: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_servers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_search_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_hosts: Option<Vec<HostEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_security_options: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_controls: Option<Vec<SystemControl>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// Every other member of the model's `ContainerDefinition` (repositoryCredentials, environmentFiles,
    /// firelensConfiguration, credentialSpecs, versionConsistency), as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ContainerDefinition {
    /// Whether the container is essential: ECS's default is `true`.
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }

    /// MiB that placement reserves for this container: the soft limit when set, else the hard limit.
    pub fn reserved_memory_mib(&self) -> Option<i32> {
        self.memory_reservation.or(self.memory)
    }

    /// GPUs this container asks for (the sum of its `GPU` resource requirements).
    pub fn gpu_count(&self) -> u32 {
        self.resource_requirements
            .iter()
            .flatten()
            .filter(|r| r.r#type == "GPU")
            .filter_map(|r| r.value.trim().parse::<u32>().ok())
            .sum()
    }

    /// The container's dependencies, empty when it has none.
    pub fn dependencies(&self) -> &[ContainerDependency] {
        self.depends_on.as_deref().unwrap_or_default()
    }
}

/// `PortMapping` in the ECS model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
    /// 0 or absent: a dynamic host port (bridge) or the container port (awsvpc, host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    /// `tcp` (the default) or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// "first-last", e.g. "8000-8010".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port_range: Option<String>,
}

impl PortMapping {
    /// The protocol, `tcp` when not sent.
    pub fn protocol(&self) -> &str {
        self.protocol.as_deref().unwrap_or("tcp")
    }

    /// The container port range as (first, last) when `containerPortRange` is set and well formed.
    pub fn port_range(&self) -> Option<(u16, u16)> {
        let (first, last) = self.container_port_range.as_deref()?.split_once('-')?;
        Some((first.trim().parse().ok()?, last.trim().parse().ok()?))
    }
}

/// `KeyValuePair` in the ECS model (environment variables).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyValuePair {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `MountPoint` in the ECS model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_volume: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// `VolumeFrom` in the ECS model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeFrom {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// `ContainerDependency` in the ECS model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    pub container_name: String,
    /// START | COMPLETE | SUCCESS | HEALTHY.
    pub condition: String,
}

/// `HealthCheck` in the ECS model. Kept as sent: the defaults (interval 30, timeout 5, retries 3, startPeriod 0)
/// are applied by whoever runs the check, not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i32>,
}

/// `LogConfiguration` in the ECS model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    pub log_driver: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_options: Option<Vec<Secret>>,
}

/// `Ulimit` in the ECS model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ulimit {
    pub name: String,
    pub soft_limit: i32,
    pub hard_limit: i32,
}

/// `ResourceRequirement` in the ECS model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequirement {
    /// For `GPU`, a count of GPUs as a string; for `InferenceAccelerator`, a device name of the task.
    pub value: String,
    /// `GPU` | `InferenceAccelerator`.
    pub r#type: String,
}

/// `Secret` in the ECS model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub name: String,
    /// A Secrets Manager secret or SSM parameter, by ARN (or parameter name in the same region).
    pub value_from: String,
}

/// `HostEntry` in the ECS model (an `/etc/hosts` line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostEntry {
    pub hostname: String,
    pub ip_address: String,
}

/// `SystemControl` in the ECS model (a sysctl).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemControl {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `ContainerRestartPolicy` in the ECS model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartPolicy {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_exit_codes: Option<Vec<i32>>,
    /// Seconds a container must run before a restart is attempted (ECS default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_attempt_period: Option<i32>,
}
