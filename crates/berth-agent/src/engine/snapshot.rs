//! What a task's actor sends out: the state change report for the server (always a full snapshot of the
//! containers, as the server merges forward only) and the metadata endpoint's document.

use berth_model::agent::{ContainerStateChange, TaskStateChange};
use berth_model::task::TaskStatus;

use super::spec::METADATA_TOKEN_LABEL;
use super::task::{CStatus, Ctr, TaskRun};
use crate::credentials::{ID_LABEL, TOKEN_LABEL};
use crate::metadata::{ContainerMetadata, HealthMetadata, TaskMetadata};
use crate::runtime::Health;

pub(super) fn container_status(c: &Ctr) -> &'static str {
    match c.status {
        CStatus::Pending | CStatus::Created => "PENDING",
        CStatus::Running => "RUNNING",
        CStatus::Stopped => "STOPPED",
    }
}

/// HEALTHY, UNHEALTHY or UNKNOWN for a container with a health check; `None` without one.
pub(super) fn health_status(c: &Ctr) -> Option<&'static str> {
    if !c.has_health_check() {
        return None;
    }
    Some(match c.health {
        Some(Health::Healthy) => "HEALTHY",
        Some(Health::Unhealthy) => "UNHEALTHY",
        Some(Health::Starting) | None => "UNKNOWN",
    })
}

impl TaskRun {
    /// The report without `status` (the caller adds it when the task's status changed).
    pub(super) fn report_snapshot(&self) -> TaskStateChange {
        let stopping = self.stop.as_ref().filter(|_| self.status >= TaskStatus::Stopping);
        TaskStateChange {
            cluster: Some(self.ctx.config.cluster.clone()),
            task: Some(self.arn.clone()),
            status: None,
            reason: stopping.and_then(|s| s.reason.clone()),
            containers: self
                .ctrs
                .iter()
                .map(|c| ContainerStateChange {
                    container_name: Some(c.def.name.clone()),
                    image_digest: c.image_digest.clone(),
                    runtime_id: c.runtime_id.clone(),
                    exit_code: c.exit_code,
                    network_bindings: c.bindings.clone(),
                    reason: c.reason.clone(),
                    status: Some(container_status(c).to_owned()),
                    health_status: health_status(c).map(str::to_owned),
                })
                .collect(),
            attachments: Vec::new(),
            managed_agents: Vec::new(),
            pull_started_at: self.pull_started_at,
            pull_stopped_at: self.pull_stopped_at,
            execution_stopped_at: self.execution_stopped_at,
            stop_code: stopping.and_then(|s| s.code.clone()),
            started_at: self.started_at,
            stopping_at: self.stopping_at.filter(|_| self.status >= TaskStatus::Stopping),
        }
    }

    pub(super) fn metadata_snapshot(&self) -> TaskMetadata {
        let desired = if self.stop.is_some() { "STOPPED" } else { "RUNNING" };
        let cpu_units = self.task.cpu.as_deref().or(self.def.cpu.as_deref()).and_then(|c| c.parse::<f64>().ok());
        let memory = self.task.memory.as_deref().or(self.def.memory.as_deref()).and_then(|m| m.parse::<i64>().ok());
        TaskMetadata {
            cluster: self.ctx.config.cluster.clone(),
            task_arn: self.arn.clone(),
            family: self.def.family.clone(),
            revision: self.def.revision.to_string(),
            service_name: self.task.group.as_deref().and_then(|g| g.strip_prefix("service:")).map(str::to_owned),
            desired_status: desired.to_owned(),
            known_status: self.status.as_str().to_owned(),
            cpu_limit: cpu_units.map(|units| units / 1024.0),
            memory_limit: memory,
            pull_started_at: self.pull_started_at,
            pull_stopped_at: self.pull_stopped_at,
            execution_stopped_at: self.execution_stopped_at,
            availability_zone: self
                .ctx
                .config
                .availability_zone
                .clone()
                .or_else(|| self.task.availability_zone.clone()),
            launch_type: self.task.launch_type.clone().unwrap_or_else(|| "EC2".to_owned()),
            containers: self
                .ctrs
                .iter()
                .map(|c| ContainerMetadata {
                    token: c.token.clone(),
                    name: c.def.name.clone(),
                    docker_id: c.runtime_id.clone(),
                    docker_name: c.runtime_name.clone(),
                    image: c.def.image.clone(),
                    image_id: c.image_digest.clone(),
                    ports: c.bindings.clone(),
                    labels: c
                        .labels
                        .iter()
                        // Secrets: the endpoint's own tokens, and the credentials' (the containers have them in
                        // their environment; the document need not repeat them).
                        .filter(|(k, _)| ![METADATA_TOKEN_LABEL, ID_LABEL, TOKEN_LABEL].contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    desired_status: desired.to_owned(),
                    known_status: container_status(c).to_owned(),
                    exit_code: c.exit_code,
                    cpu_limit: i64::from(c.def.cpu.unwrap_or(0)),
                    memory_limit: c.def.memory.or(c.def.memory_reservation).map(i64::from),
                    created_at: c.created_at,
                    started_at: c.started_at,
                    finished_at: c.finished_at,
                    container_arn: c.container_arn.clone(),
                    networks: c.networks.clone(),
                    health: health_status(c).map(|status| HealthMetadata {
                        status: status.to_owned(),
                        status_since: c.health_since,
                        exit_code: None,
                        output: c.health_output.clone(),
                    }),
                    log_driver: c.def.log_configuration.as_ref().map(|l| l.log_driver.clone()),
                    log_options: c.def.log_configuration.as_ref().and_then(|l| l.options.clone()).unwrap_or_default(),
                    restart_count: c.def.restart_policy.as_ref().filter(|p| p.enabled).map(|_| c.restart_count),
                })
                .collect(),
            task_tags: self.task.tags.clone().unwrap_or_default(),
            container_instance_arn: self.ctx.config.container_instance_arn.clone(),
        }
    }
}
