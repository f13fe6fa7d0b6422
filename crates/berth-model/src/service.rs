//! Services: the shapes of ECS's long-running task groups (`Service`, `Deployment`, `DeploymentConfiguration`,
//! `ServiceEvent`, `ServiceDeployment`) and the arithmetic ECS applies to them (deployment bounds, the circuit
//! breaker's threshold). The service controller in berth-server decides; this module only describes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Tag;

/// A placement constraint as services and RunTask take it (`PlacementConstraint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementConstraint {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

/// A placement strategy (`PlacementStrategy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementStrategy {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `DeploymentCircuitBreaker`. `resetOnHealthyTask` and `thresholdConfiguration` are newer members of the model;
/// absent, they mean ECS's defaults (reset on a healthy task; half the desired count, between 3 and 200).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_on_healthy_task: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_configuration: Option<ThresholdConfiguration>,
}

/// How many failed tasks trip the breaker: `COUNT` (absolute), `BOUNDED_PERCENT` (of the desired count, kept
/// within [3, 200]) or `UNBOUNDED_PERCENT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdConfiguration {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: i64,
}

/// `DeploymentConfiguration`. Members Berth does not act on (alarms, lifecycle hooks, blue/green) are refused at
/// the API edge rather than stored and ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_time_in_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_hooks: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_configuration: Option<Value>,
}

impl DeploymentConfiguration {
    /// The most tasks (RUNNING and PENDING) a deployment step may have: floor(desired x maximumPercent / 100).
    pub fn max_tasks(&self, desired: i64) -> i64 {
        desired * self.maximum_percent.unwrap_or(200) / 100
    }

    /// The fewest healthy tasks a deployment step may leave: ceil(desired x minimumHealthyPercent / 100).
    pub fn min_healthy(&self, desired: i64) -> i64 {
        (desired * self.minimum_healthy_percent.unwrap_or(100) + 99) / 100
    }

    pub fn breaker_enabled(&self) -> bool {
        self.deployment_circuit_breaker.as_ref().is_some_and(|b| b.enable)
    }

    pub fn rollback_enabled(&self) -> bool {
        self.deployment_circuit_breaker.as_ref().is_some_and(|b| b.enable && b.rollback)
    }

    pub fn reset_on_healthy_task(&self) -> bool {
        self.deployment_circuit_breaker.as_ref().and_then(|b| b.reset_on_healthy_task).unwrap_or(true)
    }

    /// How many failed tasks trip the breaker for `desired` tasks.
    pub fn failure_threshold(&self, desired: i64) -> i64 {
        let config = self.deployment_circuit_breaker.as_ref().and_then(|b| b.threshold_configuration.as_ref());
        let percent_of = |p: i64| (desired * p + 99) / 100;
        match config.map(|c| (c.kind.as_str(), c.value)) {
            Some(("COUNT", v)) => v.max(1),
            Some(("UNBOUNDED_PERCENT", v)) => percent_of(v).max(1),
            Some((_, v)) => percent_of(v).clamp(3, 200),
            None => percent_of(50).clamp(3, 200),
        }
    }
}

/// `DeploymentController`: Berth runs the ECS rolling controller only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentController {
    #[serde(rename = "type")]
    pub kind: String,
}

/// One deployment of a service (`Deployment`): PRIMARY is the newest; ACTIVE ones still have tasks to drain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub status: String,
    pub task_definition: String,
    pub desired_count: i64,
    pub pending_count: i64,
    pub running_count: i64,
    pub failed_tasks: i64,
    pub created_at: f64,
    pub updated_at: f64,
    pub launch_type: String,
    pub rollout_state: String,
    pub rollout_state_reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<Value>,
}

/// `Service.availabilityZoneRebalancing`: whether the service scheduler restores an even spread of the service's
/// tasks over availability zones after an imbalance. A service stored before Berth knew the member reads as
/// DISABLED, as ECS treats a service that never had a value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AzRebalancing {
    Enabled,
    #[default]
    Disabled,
}

impl AzRebalancing {
    pub fn parse(value: &str) -> Option<AzRebalancing> {
        match value {
            "ENABLED" => Some(AzRebalancing::Enabled),
            "DISABLED" => Some(AzRebalancing::Disabled),
            _ => None,
        }
    }
}

/// An entry of `Service.events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub id: String,
    pub created_at: f64,
    pub message: String,
}

/// A service as DescribeServices returns it (`Service`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub service_arn: String,
    pub service_name: String,
    pub cluster_arn: String,
    /// ACTIVE, DRAINING (deleted, tasks still stopping) or INACTIVE.
    pub status: String,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    pub launch_type: String,
    pub task_definition: String,
    pub deployment_configuration: DeploymentConfiguration,
    pub deployments: Vec<Deployment>,
    /// Newest first, at most [`MAX_EVENTS`].
    pub events: Vec<ServiceEvent>,
    pub created_at: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub placement_constraints: Vec<PlacementConstraint>,
    pub placement_strategy: Vec<PlacementStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i64>,
    pub scheduling_strategy: String,
    pub deployment_controller: DeploymentController,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(rename = "enableECSManagedTags", default)]
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: String,
    #[serde(default)]
    pub enable_execute_command: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_service_deployment: Option<String>,
    #[serde(default)]
    pub load_balancers: Vec<Value>,
    #[serde(default)]
    pub service_registries: Vec<Value>,
    #[serde(default)]
    pub availability_zone_rebalancing: AzRebalancing,
}

/// ECS keeps a service's last 100 events.
pub const MAX_EVENTS: usize = 100;

impl Service {
    /// The group every task of the service carries.
    pub fn group(&self) -> String {
        group_of(&self.service_name)
    }

    pub fn is_daemon(&self) -> bool {
        self.scheduling_strategy == "DAEMON"
    }

    /// Adds an event at the front, dropping the oldest beyond [`MAX_EVENTS`].
    pub fn push_event(&mut self, id: String, created_at: f64, message: String) {
        self.events.insert(0, ServiceEvent { id, created_at, message });
        self.events.truncate(MAX_EVENTS);
    }
}

/// The task group of a service's tasks.
pub fn group_of(service_name: &str) -> String {
    format!("service:{service_name}")
}

/// The service a task group names, if it is a service's group.
pub fn service_of_group(group: &str) -> Option<&str> {
    group.strip_prefix("service:")
}

/// `ServiceRevisionSummary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRevisionSummary {
    pub arn: String,
    pub requested_task_count: i64,
    pub running_task_count: i64,
    pub pending_task_count: i64,
}

/// `Rollback` of a service deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    pub reason: String,
    pub started_at: f64,
    pub service_revision_arn: String,
}

/// `ServiceDeploymentCircuitBreaker`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDeploymentCircuitBreaker {
    /// TRIGGERED, MONITORING, MONITORING_COMPLETE or DISABLED.
    pub status: String,
    pub failure_count: i64,
    pub threshold: i64,
}

/// `ServiceDeployment`: the history record of one deployment, kept after it leaves `Service.deployments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDeployment {
    pub service_deployment_arn: String,
    pub service_arn: String,
    pub cluster_arn: String,
    pub created_at: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<f64>,
    pub updated_at: f64,
    pub source_service_revisions: Vec<ServiceRevisionSummary>,
    pub target_service_revision: ServiceRevisionSummary,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED, ...
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub deployment_configuration: DeploymentConfiguration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<Rollback>,
    pub deployment_circuit_breaker: ServiceDeploymentCircuitBreaker,
    pub alarms: ServiceDeploymentAlarms,
}

/// `ServiceDeploymentAlarms`: Berth has no CloudWatch alarms, so a deployment's are always DISABLED.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDeploymentAlarms {
    /// TRIGGERED, MONITORING, MONITORING_COMPLETE or DISABLED.
    pub status: String,
    pub alarm_names: Vec<String>,
    pub triggered_alarm_names: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(min: i64, max: i64) -> DeploymentConfiguration {
        DeploymentConfiguration { minimum_healthy_percent: Some(min), maximum_percent: Some(max), ..Default::default() }
    }

    #[test]
    fn bounds_round_as_ecs_documents() {
        // ceil for the floor of healthy tasks, floor for the ceiling of all tasks.
        assert_eq!(config(50, 150).min_healthy(3), 2);
        assert_eq!(config(50, 150).max_tasks(3), 4);
        assert_eq!(config(100, 200).min_healthy(4), 4);
        assert_eq!(config(100, 200).max_tasks(4), 8);
        assert_eq!(config(0, 100).min_healthy(5), 0);
        assert_eq!(DeploymentConfiguration::default().max_tasks(5), 10);
        assert_eq!(DeploymentConfiguration::default().min_healthy(5), 5);
    }

    #[test]
    fn breaker_threshold_defaults_to_half_the_desired_count_within_3_and_200() {
        let on = |threshold: Option<ThresholdConfiguration>| DeploymentConfiguration {
            deployment_circuit_breaker: Some(DeploymentCircuitBreaker {
                enable: true,
                rollback: true,
                reset_on_healthy_task: None,
                threshold_configuration: threshold,
            }),
            ..Default::default()
        };
        assert_eq!(on(None).failure_threshold(1), 3);
        assert_eq!(on(None).failure_threshold(4), 3);
        assert_eq!(on(None).failure_threshold(9), 5);
        assert_eq!(on(None).failure_threshold(1000), 200);
        let count = ThresholdConfiguration { kind: "COUNT".into(), value: 2 };
        assert_eq!(on(Some(count)).failure_threshold(100), 2);
        let unbounded = ThresholdConfiguration { kind: "UNBOUNDED_PERCENT".into(), value: 10 };
        assert_eq!(on(Some(unbounded)).failure_threshold(1000), 100);
        let bounded = ThresholdConfiguration { kind: "BOUNDED_PERCENT".into(), value: 10 };
        assert_eq!(on(Some(bounded)).failure_threshold(10), 3);
    }

    #[test]
    fn groups_name_their_service() {
        assert_eq!(group_of("infer"), "service:infer");
        assert_eq!(service_of_group("service:infer"), Some("infer"));
        assert_eq!(service_of_group("family:infer"), None);
    }
}
