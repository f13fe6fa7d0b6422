//! Container instances: the hosts of a cluster, their resources and attributes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Attribute, ModelError, Tag};

/// A host resource (`Resource` in the ECS model): CPU and MEMORY as integers, PORTS, PORTS_UDP and GPU as string
/// sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub name: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub double_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_value: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integer_value: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_set_value: Option<Vec<String>>,
}

impl Resource {
    pub fn integer(name: &str, value: i64) -> Self {
        Resource {
            name: name.into(),
            kind: Some("INTEGER".into()),
            double_value: Some(0.0),
            long_value: Some(0),
            integer_value: Some(value),
            string_set_value: None,
        }
    }

    pub fn string_set(name: &str, values: Vec<String>) -> Self {
        Resource {
            name: name.into(),
            kind: Some("STRINGSET".into()),
            double_value: Some(0.0),
            long_value: Some(0),
            integer_value: Some(0),
            string_set_value: Some(values),
        }
    }
}

/// A device a host offers beyond CPU and memory (`PlatformDevice`), e.g. a GPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformDevice {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// `VersionInfo` of the agent and Docker on a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_version: Option<String>,
}

/// A container instance as stored and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInstance {
    pub container_instance_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ec2_instance_id: Option<String>,
    /// The version of this record, bumped on every change (ECS's `version`).
    pub version: i64,
    pub version_info: VersionInfo,
    pub remaining_resources: Vec<Resource>,
    pub registered_resources: Vec<Resource>,
    /// ACTIVE, DRAINING, INACTIVE (deregistered), ...
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub agent_connected: bool,
    pub running_tasks_count: i64,
    pub pending_tasks_count: i64,
    pub attributes: Vec<Attribute>,
    pub registered_at: f64,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_devices: Option<Vec<PlatformDevice>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_status: Option<Value>,
}

impl ContainerInstance {
    /// The instance id (last part of its ARN).
    pub fn id(&self) -> &str {
        self.container_instance_arn.rsplit('/').next().unwrap_or(&self.container_instance_arn)
    }

    /// The value of an attribute: `None` when absent, `Some(None)` when present without a value.
    pub fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes.iter().find(|a| a.name == name).map(|a| a.value.as_deref())
    }

    /// Sets or replaces an attribute by name.
    pub fn set_attribute(&mut self, name: &str, value: Option<&str>) {
        match self.attributes.iter_mut().find(|a| a.name == name) {
            Some(a) => a.value = value.map(str::to_owned),
            None => self.attributes.push(Attribute::new(name, value)),
        }
    }
}

/// Attributes whose names start with these are set by ECS or the agent and do not count toward the limit of 10
/// custom attributes.
const BUILT_IN_PREFIXES: [&str; 2] = ["ecs.", "com.amazonaws.ecs."];

/// Whether an attribute is one of the user's own (not ECS's or the agent's).
pub fn is_custom_attribute(name: &str) -> bool {
    !BUILT_IN_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Most custom attributes one resource may carry.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 10;

/// Validates the `totalResources` of a registration: known names with the value kind each needs.
pub fn check_total_resources(resources: &[Resource]) -> Result<(), ModelError> {
    for r in resources {
        let expected = match r.name.as_str() {
            "CPU" | "MEMORY" => ["INTEGER", "LONG", "DOUBLE"].as_slice(),
            _ => ["STRINGSET"].as_slice(),
        };
        if let Some(kind) = &r.kind
            && !expected.contains(&kind.as_str())
        {
            return Err(ModelError::invalid(format!(
                "totalResources {} has type '{}'; it must be {}.",
                crate::names::truncate(&r.name, 64),
                crate::names::truncate(kind, 32),
                expected.join(" or ")
            )));
        }
        match r.name.as_str() {
            "CPU" | "MEMORY" => {
                let v = r.integer_value.or(r.long_value).unwrap_or(0);
                if v < 0 {
                    return Err(ModelError::invalid(format!("totalResources {} must not be negative.", r.name)));
                }
            }
            "PORTS" | "PORTS_UDP" | "GPU" => {
                for p in r.string_set_value.iter().flatten() {
                    if r.name != "GPU" && p.parse::<u16>().is_err() {
                        return Err(ModelError::invalid(format!(
                            "totalResources {} holds '{}', which is not a port number.",
                            r.name,
                            crate::names::truncate(p, 32)
                        )));
                    }
                }
            }
            other => {
                return Err(ModelError::invalid(format!(
                    "totalResources name '{}' is not valid. Valid names: CPU, MEMORY, PORTS, PORTS_UDP, GPU.",
                    crate::names::truncate(other, 64)
                )));
            }
        }
    }
    Ok(())
}

/// The fields of an EC2 instance identity document Berth uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceIdentity {
    pub instance_id: Option<String>,
    pub availability_zone: Option<String>,
    pub instance_type: Option<String>,
    pub region: Option<String>,
}

/// Parses an `instanceIdentityDocument` (a JSON document in a string).
pub fn parse_identity_document(doc: &str) -> Result<InstanceIdentity, ModelError> {
    serde_json::from_str(doc)
        .map_err(|e| ModelError::invalid(format!("instanceIdentityDocument is not a valid identity document: {e}")))
}

/// A container instance as the cluster query language sees it: the instance and the groups of its tasks.
pub struct InstanceCandidate<'a> {
    pub instance: &'a ContainerInstance,
    pub task_groups: Vec<&'a str>,
}

impl crate::query::Candidate for InstanceCandidate<'_> {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.instance.attribute(name)
    }

    fn agent_connected(&self) -> bool {
        self.instance.agent_connected
    }

    fn agent_version(&self) -> Option<&str> {
        self.instance.version_info.agent_version.as_deref()
    }

    fn ec2_instance_id(&self) -> Option<&str> {
        self.instance.ec2_instance_id.as_deref()
    }

    fn registered_at(&self) -> Option<f64> {
        Some(self.instance.registered_at)
    }

    fn running_tasks_count(&self) -> i64 {
        self.instance.running_tasks_count
    }

    fn task_groups(&self) -> Vec<&str> {
        self.task_groups.clone()
    }
}
