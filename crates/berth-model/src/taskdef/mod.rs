//! Task definitions: the stored shape and RegisterTaskDefinition.
//!
//! [`parse_register`] turns a RegisterTaskDefinition request body into a [`Registration`]: a validated
//! [`TaskDefinition`] (without identity: the caller assigns ARN, revision and registration time) and the tags to
//! attach. The work is split by concern:
//!
//! - `mod.rs` (here): the task-level types, [`parse_register`] and the order of its steps.
//! - [`container`]: `ContainerDefinition` and the shapes inside it.
//! - `schema`: the request's shape as in botocore's model; JSON types, enum values, required nested members.
//! - `validate`: ECS's rules about meaning (names, sizes, references between containers, network modes, Fargate).
//! - [`units`]: parsing task `cpu`/`memory` ("1 vCPU", "2 GB") and the Fargate size table.
//! - `requires`: the `requiresAttributes` ECS derives from a definition.
//!
//! Errors are [`ModelError`]s: `InvalidParameter` for a value of the wrong JSON type or outside an enum,
//! `Client` for everything else, as ECS answers `ClientException` for most task definition rules. Messages name the
//! field, and the container where there is one.

pub mod container;
mod requires;
mod schema;
pub mod units;
mod validate;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use container::{
    ContainerDefinition, ContainerDependency, HealthCheck, HostEntry, KeyValuePair, LogConfiguration, MountPoint,
    PortMapping, ResourceRequirement, RestartPolicy, Secret, SystemControl, Ulimit, VolumeFrom,
};

use crate::{Attribute, ModelError, Tag};

/// A task definition as stored and returned (DescribeTaskDefinition's `taskDefinition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    pub family: String,
    #[serde(default)]
    pub revision: i64,
    /// ACTIVE | INACTIVE | DELETE_IN_PROGRESS.
    #[serde(default = "active")]
    pub status: String,
    pub container_definitions: Vec<ContainerDefinition>,
    /// CPU units as an integer string, normalised at registration ("1 vCPU" is stored as "1024").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// MiB as an integer string, normalised at registration ("1GB" is stored as "1024").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// bridge | host | awsvpc | none, as sent; absent means bridge (see [`TaskDefinition::network_mode`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// As sent; ECS leaves it out of responses when the request had none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_compatibilities: Vec<String>,
    /// What the definition was found compatible with at registration: always EC2, plus FARGATE when it meets
    /// Fargate's rules, plus EXTERNAL / MANAGED_INSTANCES when requested.
    #[serde(default)]
    pub compatibilities: Vec<String>,
    /// Capability attributes an instance needs to run this definition; names only.
    #[serde(default)]
    pub requires_attributes: Vec<Attribute>,
    #[serde(default)]
    pub placement_constraints: Vec<TaskDefinitionPlacementConstraint>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// Epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
    /// Epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistered_at: Option<f64>,
    /// Every other field of the request, kept and returned exactly as sent (taskRoleArn, executionRoleArn,
    /// pidMode, ipcMode, proxyConfiguration, ephemeralStorage, runtimePlatform, inferenceAccelerators,
    /// enableFaultInjection), and any stored field this version does not type (e.g. deleteRequestedAt).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn active() -> String {
    "ACTIVE".to_owned()
}

impl TaskDefinition {
    /// The network mode in effect: `bridge` when none was given.
    pub fn network_mode(&self) -> &str {
        self.network_mode.as_deref().unwrap_or("bridge")
    }

    /// Task-level CPU units, when set.
    pub fn cpu_units(&self) -> Option<u64> {
        self.cpu.as_deref().and_then(|cpu| cpu.parse().ok())
    }

    /// Task-level memory in MiB, when set.
    pub fn memory_mib(&self) -> Option<u64> {
        self.memory.as_deref().and_then(|memory| memory.parse().ok())
    }

    /// `taskRoleArn`, when set.
    pub fn task_role_arn(&self) -> Option<&str> {
        self.extra_str("taskRoleArn")
    }

    /// `executionRoleArn`, when set.
    pub fn execution_role_arn(&self) -> Option<&str> {
        self.extra_str("executionRoleArn")
    }

    /// `pidMode` (host | task), when set.
    pub fn pid_mode(&self) -> Option<&str> {
        self.extra_str("pidMode")
    }

    /// `ipcMode` (host | task | none), when set.
    pub fn ipc_mode(&self) -> Option<&str> {
        self.extra_str("ipcMode")
    }

    /// The container of this name.
    pub fn container(&self, name: &str) -> Option<&ContainerDefinition> {
        self.container_definitions.iter().find(|c| c.name == name)
    }

    /// Whether the definition was registered as compatible with a launch type (EC2, FARGATE, EXTERNAL,
    /// MANAGED_INSTANCES).
    pub fn is_compatible_with(&self, launch_type: &str) -> bool {
        self.compatibilities.iter().any(|c| c == launch_type)
    }

    fn extra_str(&self, key: &str) -> Option<&str> {
        self.extra.get(key).and_then(Value::as_str)
    }
}

/// A task-level placement constraint (`TaskDefinitionPlacementConstraint`: only `memberOf`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionPlacementConstraint {
    pub r#type: String,
    /// A cluster query language expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

/// A task volume (`Volume` in the ECS model). Bind mounts and Docker volumes are typed because the agent acts on
/// them; EFS, FSx and S3 Files configurations are kept in `extra` as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolumeProperties>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_volume_configuration: Option<DockerVolumeConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_at_launch: Option<bool>,
    /// efsVolumeConfiguration, fsxWindowsFileServerVolumeConfiguration, s3filesVolumeConfiguration.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `HostVolumeProperties`: a bind mount of `sourcePath`, or a Docker-managed scratch directory when it is absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostVolumeProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

/// `DockerVolumeConfiguration` in the ECS model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerVolumeConfiguration {
    /// `task` (the default: created and removed with the task) or `shared` (outlives it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprovision: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

/// The validated result of a RegisterTaskDefinition request body: the definition (identity fields unset: arn
/// `None`, revision 0, status "ACTIVE", registered_* `None`) and the request's tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub definition: TaskDefinition,
    pub tags: Vec<Tag>,
}

/// Validates a RegisterTaskDefinition request body and builds the definition it registers.
///
/// Steps, in order: JSON shape against the model (`schema`), presence of family and containers, tags, the typed
/// definition, ECS's rules (`validate`, which also normalises `cpu`/`memory` and works out `compatibilities`), and
/// finally `requiresAttributes`.
pub fn parse_register(body: Value) -> Result<Registration, ModelError> {
    let mut request = schema::clean_request(&body)?;
    // Tags are not part of the definition: they are neither stored with it nor counted in its size.
    let tags = request.remove("tags");
    validate::request_shape(&request)?;
    let tags = validate::tags(tags)?;

    let mut definition: TaskDefinition = from_clean(Value::Object(request), "request")?;
    validate::definition(&mut definition)?;
    fill_defaults(&mut definition);
    definition.requires_attributes = requires::attributes(&definition);
    Ok(Registration { definition, tags })
}

/// The values ECS fills in and returns for members a registration left out, so that a definition reads back as
/// ECS shows it (typed SDKs and Terraform compare against that): a container's `cpu` 0; a port mapping's `protocol`
/// tcp and `hostPort` (the container port in awsvpc and host mode, 0 for a dynamic port in bridge mode);
/// `enableFaultInjection` false.
fn fill_defaults(def: &mut TaskDefinition) {
    let mode = def.network_mode().to_owned();
    for c in &mut def.container_definitions {
        c.cpu.get_or_insert(0);
        for m in &mut c.port_mappings {
            m.protocol.get_or_insert_with(|| "tcp".into());
            if m.host_port.is_none()
                && let Some(port) = m.container_port
            {
                m.host_port = Some(if matches!(mode.as_str(), "awsvpc" | "host") { port } else { 0 });
            }
        }
    }
    def.extra.entry("enableFaultInjection").or_insert(Value::Bool(false));
}

/// Builds a typed value from JSON that `schema` has already checked. A failure here would mean the schema and the
/// typed structs disagree; it is still reported as an error, never a panic.
fn from_clean<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, ModelError> {
    serde_json::from_value(value).map_err(|e| ModelError::invalid(format!("Invalid {what}: {e}")))
}

/// A client-supplied string as it appears in an error message: cut to 64 characters so that a 10,000-character
/// value does not come back in full.
fn shown(text: &str) -> String {
    crate::names::truncate(text, 64)
}
