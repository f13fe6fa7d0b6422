//! The task metadata endpoint (v4): what the engine publishes about each task and container, and the HTTP server
//! (`server`) that containers query through `ECS_CONTAINER_METADATA_URI_V4`.
//!
//! The engine owns the truth and pushes a [`TaskMetadata`] snapshot into the [`Registry`] on every change; the
//! server only reads. Each container gets an unguessable token in its URI, so a container sees its own task only.
//! The registry also holds the task role credentials the endpoint serves ([`crate::credentials::Store`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use berth_model::Tag;
use berth_model::task::NetworkBinding;

use crate::credentials;
use crate::runtime::ContainerRuntime;

pub mod server;

/// One task as the metadata endpoint shows it (v4 `/task`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskMetadata {
    pub cluster: String,
    pub task_arn: String,
    pub family: String,
    pub revision: String,
    pub service_name: Option<String>,
    pub desired_status: String,
    pub known_status: String,
    /// Task-level limits: vCPU (units / 1024) and MiB.
    pub cpu_limit: Option<f64>,
    pub memory_limit: Option<i64>,
    pub pull_started_at: Option<f64>,
    pub pull_stopped_at: Option<f64>,
    pub execution_stopped_at: Option<f64>,
    pub availability_zone: Option<String>,
    pub launch_type: String,
    pub containers: Vec<ContainerMetadata>,
    pub task_tags: Vec<Tag>,
    pub container_instance_arn: String,
}

/// One container as the metadata endpoint shows it (v4 container document).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerMetadata {
    /// The secret path segment of this container's metadata URI.
    pub token: String,
    pub name: String,
    pub docker_id: Option<String>,
    pub docker_name: String,
    pub image: String,
    pub image_id: Option<String>,
    pub ports: Vec<NetworkBinding>,
    pub labels: BTreeMap<String, String>,
    pub desired_status: String,
    pub known_status: String,
    pub exit_code: Option<i32>,
    /// CPU shares and MiB.
    pub cpu_limit: i64,
    pub memory_limit: Option<i64>,
    pub created_at: Option<f64>,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub container_arn: String,
    /// (network mode, IPv4 address).
    pub networks: Vec<(String, String)>,
    pub health: Option<HealthMetadata>,
    pub log_driver: Option<String>,
    pub log_options: BTreeMap<String, String>,
    /// Times the container restart policy restarted the container; `None` without a policy.
    pub restart_count: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthMetadata {
    /// HEALTHY, UNHEALTHY or UNKNOWN.
    pub status: String,
    pub status_since: Option<f64>,
    pub exit_code: Option<i32>,
    pub output: Option<String>,
}

/// The tasks the endpoint serves, keyed by task ARN, and the container tokens that lead to them.
pub struct Registry {
    tasks: RwLock<HashMap<String, TaskMetadata>>,
    tokens: RwLock<HashMap<String, String>>,
    credentials: Arc<credentials::Store>,
    pub(crate) runtime: Arc<dyn ContainerRuntime>,
}

impl Registry {
    pub fn new(runtime: Arc<dyn ContainerRuntime>) -> Arc<Self> {
        Arc::new(Registry { tasks: RwLock::default(), tokens: RwLock::default(), credentials: Arc::default(), runtime })
    }

    /// The task role credentials served on `/v2/credentials/{id}`.
    pub fn credentials(&self) -> &Arc<credentials::Store> {
        &self.credentials
    }

    /// A fresh token for a container's metadata URI.
    pub fn new_token() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    /// Publishes (or replaces) a task's snapshot.
    pub fn update_task(&self, task: TaskMetadata) {
        if let Ok(mut tokens) = self.tokens.write() {
            for c in &task.containers {
                tokens.insert(c.token.clone(), task.task_arn.clone());
            }
        }
        if let Ok(mut tasks) = self.tasks.write() {
            tasks.insert(task.task_arn.clone(), task);
        }
    }

    /// Forgets a task and its containers' tokens.
    pub fn remove_task(&self, task_arn: &str) {
        let removed = self.tasks.write().ok().and_then(|mut tasks| tasks.remove(task_arn));
        if let (Some(task), Ok(mut tokens)) = (removed, self.tokens.write()) {
            for c in &task.containers {
                tokens.remove(&c.token);
            }
        }
    }

    /// Every published task (the stats collector samples their running containers).
    pub fn tasks(&self) -> Vec<TaskMetadata> {
        self.tasks.read().map(|t| t.values().cloned().collect()).unwrap_or_default()
    }

    /// The task and the container a token belongs to.
    pub fn lookup(&self, token: &str) -> Option<(TaskMetadata, ContainerMetadata)> {
        let task_arn = self.tokens.read().ok()?.get(token)?.clone();
        let task = self.tasks.read().ok()?.get(&task_arn)?.clone();
        let container = task.containers.iter().find(|c| c.token == token)?.clone();
        Some((task, container))
    }
}
