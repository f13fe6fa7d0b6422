//! Small shapes shared by several resources: tags, attributes, failures.

use serde::{Deserialize, Serialize};

/// A resource tag (`Tag` in the ECS model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// An attribute on a container instance (`Attribute` in the ECS model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
}

impl Attribute {
    pub fn new(name: impl Into<String>, value: Option<&str>) -> Self {
        Attribute { name: name.into(), value: value.map(str::to_owned), target_type: None, target_id: None }
    }
}

/// One entry of a batch call's `failures[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Failure {
    /// The `MISSING` failure Describe calls give for an unknown identifier.
    pub fn missing(arn: impl Into<String>) -> Self {
        Failure { arn: Some(arn.into()), reason: "MISSING".into(), detail: None }
    }
}
