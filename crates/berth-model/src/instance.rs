//! Container instances: the hosts of a cluster, their resources and attributes.

use std::collections::BTreeMap;

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
    /// Berth's own bookkeeping, never shown to clients: how many live tasks of each group the instance holds. It
    /// sits in the same record as the resources those tasks hold, so placement reads one consistent value per
    /// instance (for `distinctInstance`, `task:group` and spread) and one compare guards both.
    #[serde(rename = "berthTaskGroups", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub task_groups: BTreeMap<String, u32>,
    /// How the servers reach this instance's agent (its log streams live there); never shown to clients.
    #[serde(rename = "berthAgentLink", default, skip_serializing_if = "Option::is_none")]
    pub agent_link: Option<crate::logs::AgentLink>,
}

impl ContainerInstance {
    /// Counts a task of `group` joining (`delta` 1) or leaving (`delta` -1) the instance.
    pub fn count_task_group(&mut self, group: &str, delta: i32) {
        let count = self.task_groups.get(group).copied().unwrap_or(0);
        let updated = count.saturating_add_signed(delta);
        if updated == 0 {
            self.task_groups.remove(group);
        } else {
            self.task_groups.insert(group.to_owned(), updated);
        }
    }

    /// Live tasks of `group` on the instance.
    pub fn tasks_in_group(&self, group: &str) -> u32 {
        self.task_groups.get(group).copied().unwrap_or(0)
    }

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

/// Attributes whose names start with these are set by ECS or the agent (Berth's own agent adds `berth.`) and do
/// not count toward the limit of 10 custom attributes.
const BUILT_IN_PREFIXES: [&str; 3] = ["ecs.", "com.amazonaws.ecs.", "berth."];

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

/// A container instance as the cluster query language sees it (its task groups come from its own record).
pub struct InstanceCandidate<'a>(pub &'a ContainerInstance);

impl crate::query::Candidate for InstanceCandidate<'_> {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.0.attribute(name)
    }

    fn agent_connected(&self) -> bool {
        self.0.agent_connected
    }

    fn agent_version(&self) -> Option<&str> {
        self.0.version_info.agent_version.as_deref()
    }

    fn ec2_instance_id(&self) -> Option<&str> {
        self.0.ec2_instance_id.as_deref()
    }

    fn registered_at(&self) -> Option<f64> {
        Some(self.0.registered_at)
    }

    fn running_tasks_count(&self) -> i64 {
        self.0.running_tasks_count
    }

    fn task_groups(&self) -> Vec<&str> {
        self.0.task_groups.keys().map(String::as_str).collect()
    }
}
