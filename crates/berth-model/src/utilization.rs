//! Task utilization: what agents report about the CPU and memory their tasks use (`SubmitTaskStats`, an agent
//! operation under [`crate::agent::AGENT_TARGET_PREFIX`]) and what the server answers about it
//! (`DescribeUtilization`, a Berth operation under [`BERTH_TARGET_PREFIX`], signed for `ecs`).
//!
//! Units follow ECS: CPU in CPU units (1024 = one core), memory in MiB, utilization in percent of the task's
//! reservation, as ECS's `CPUUtilization` and `MemoryUtilization` metrics.

use serde::{Deserialize, Serialize};

/// `X-Amz-Target` prefix of Berth's own client operations (`DescribeUtilization`).
pub const BERTH_TARGET_PREFIX: &str = "BerthV20261206.";

/// CPU units of one core.
pub const CPU_UNITS_PER_CORE: f64 = 1024.0;

/// `SubmitTaskStats` request: one sample of every running task on an instance, sent once per sampling interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitTaskStatsRequest {
    pub cluster: String,
    pub container_instance: String,
    /// When the agent took the samples (seconds since the epoch).
    pub timestamp: f64,
    /// Every running task with a sample; a task the instance reported before and leaves out has stopped.
    #[serde(default)]
    pub tasks: Vec<TaskStatsSample>,
}

/// One task's sample: its containers' usage (the task's is their sum).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatsSample {
    pub task_arn: String,
    #[serde(default)]
    pub containers: Vec<ContainerUsage>,
}

/// One container's usage: CPU units in use (averaged over the sampling interval) and MiB of memory in use (page
/// cache that can be reclaimed excluded, as `docker stats` shows it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerUsage {
    pub name: String,
    pub cpu_used: f64,
    #[serde(rename = "memoryUsedMiB")]
    pub memory_used_mib: f64,
}

/// `DescribeUtilization` request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeUtilizationRequest {
    /// Cluster name or ARN; `default` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Service names or ARNs; every service of the cluster when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
    /// Task ARNs or ids; every task that reported in the last minute when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<String>>,
}

/// `DescribeUtilization` response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeUtilizationResponse {
    pub cluster: ClusterUtilization,
    #[serde(default)]
    pub services: Vec<ServiceUtilization>,
    #[serde(default)]
    pub tasks: Vec<TaskUtilization>,
}

/// The cluster's utilization now (the latest datapoint) and over the last hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterUtilization {
    pub cluster_name: String,
    pub cpu_utilization: Option<f64>,
    pub memory_utilization: Option<f64>,
    #[serde(default)]
    pub datapoints: Vec<Datapoint>,
}

/// A service's utilization now (the latest datapoint) and over the last hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceUtilization {
    pub service_name: String,
    pub cpu_utilization: Option<f64>,
    pub memory_utilization: Option<f64>,
    #[serde(default)]
    pub datapoints: Vec<Datapoint>,
}

/// Utilization over one sampling interval, starting at `timestamp`; a percentage is absent when no task in the
/// interval reserved that resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Datapoint {
    pub timestamp: f64,
    pub cpu_utilization: Option<f64>,
    pub memory_utilization: Option<f64>,
}

/// A task's latest sample against its reservation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskUtilization {
    pub task_arn: String,
    pub group: Option<String>,
    pub timestamp: f64,
    pub cpu_used: f64,
    pub cpu_reserved: i64,
    #[serde(rename = "memoryUsedMiB")]
    pub memory_used_mib: f64,
    #[serde(rename = "memoryReservedMiB")]
    pub memory_reserved_mib: i64,
    pub cpu_utilization: Option<f64>,
    pub memory_utilization: Option<f64>,
    #[serde(default)]
    pub containers: Vec<ContainerUsage>,
}

/// `used / reserved x 100`, or `None` without a reservation.
pub fn percent(used: f64, reserved: f64) -> Option<f64> {
    (reserved > 0.0 && used.is_finite()).then(|| used / reserved * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_names() {
        let task = TaskUtilization {
            task_arn: "arn".into(),
            group: Some("service:web".into()),
            timestamp: 1.5,
            cpu_used: 512.0,
            cpu_reserved: 1024,
            memory_used_mib: 12.0,
            memory_reserved_mib: 128,
            cpu_utilization: percent(512.0, 1024.0),
            memory_utilization: percent(12.0, 128.0),
            containers: vec![ContainerUsage { name: "web".into(), cpu_used: 512.0, memory_used_mib: 12.0 }],
        };
        let v = serde_json::to_value(&task).unwrap();
        assert_eq!(v["memoryUsedMiB"], json!(12.0));
        assert_eq!(v["memoryReservedMiB"], json!(128));
        assert_eq!(v["cpuUtilization"], json!(50.0));
        assert_eq!(v["containers"][0]["memoryUsedMiB"], json!(12.0));
        let req: DescribeUtilizationRequest = serde_json::from_value(json!({"services": ["web"]})).unwrap();
        assert_eq!(req.services, Some(vec!["web".to_owned()]));
        assert_eq!(req.cluster, None);
    }

    #[test]
    fn percent_needs_a_reservation() {
        assert_eq!(percent(1.0, 0.0), None);
        assert_eq!(percent(256.0, 1024.0), Some(25.0));
    }
}
