//! Clusters as stored and returned.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Tag;

/// A cluster setting (`ClusterSetting`), e.g. `containerInsights`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSetting {
    pub name: String,
    pub value: String,
}

/// A name/value statistic of `Cluster.statistics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValuePair {
    pub name: String,
    pub value: String,
}

/// A cluster. The counts are not stored: the server fills them in from live state on every read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub cluster_arn: String,
    pub cluster_name: String,
    /// ACTIVE, or INACTIVE once deleted.
    pub status: String,
    #[serde(default)]
    pub registered_container_instances_count: i64,
    #[serde(default)]
    pub running_tasks_count: i64,
    #[serde(default)]
    pub pending_tasks_count: i64,
    #[serde(default)]
    pub active_services_count: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<Vec<KeyValuePair>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Vec<ClusterSetting>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_defaults: Option<Value>,
    #[serde(default)]
    pub capacity_providers: Vec<String>,
    #[serde(default)]
    pub default_capacity_provider_strategy: Vec<Value>,
}

/// Validates cluster settings: only `containerInsights` exists, with `enabled`, `disabled` or `enhanced`.
pub fn check_settings(settings: &[ClusterSetting]) -> Result<(), crate::ModelError> {
    for s in settings {
        if s.name != "containerInsights" {
            return Err(crate::ModelError::invalid(format!(
                "settings.name '{}' is not valid. Valid names: containerInsights.",
                crate::names::truncate(&s.name, 64)
            )));
        }
        if !matches!(s.value.as_str(), "enabled" | "disabled" | "enhanced") {
            return Err(crate::ModelError::invalid(format!(
                "settings.value '{}' for containerInsights is not valid. Valid values: enabled, disabled, enhanced.",
                crate::names::truncate(&s.value, 64)
            )));
        }
    }
    Ok(())
}

/// Merges settings by name, new values replacing old.
pub fn merge_settings(existing: &mut Vec<ClusterSetting>, new: Vec<ClusterSetting>) {
    for s in new {
        match existing.iter_mut().find(|e| e.name == s.name) {
            Some(e) => e.value = s.value,
            None => existing.push(s),
        }
    }
}
