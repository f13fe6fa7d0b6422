//! The task engine: runs the tasks the server assigns to this instance through the container runtime and reports
//! what happens to them (DESIGN.md section 3; amazon-ecs-agent's `docker_task_engine` and `task_manager`).
//!
//! - [`Engine::apply_manifest`] reconciles with the server's full list of the instance's tasks: it starts an actor
//!   (`task`) for each new task, forwards stops, and cleans up tasks that left the manifest.
//! - Each task's actor owns the task: its task role credentials and web identity tokens (fetched before anything
//!   else, served until it stops; see [`crate::credentials`]), its secrets and registry credentials (resolved with
//!   the execution role before any image; see [`crate::secrets`]), images, volumes,
//!   containers created in `volumesFrom` order and started in `dependsOn` order (`deps`), stops in reverse order,
//!   reports and metadata (`snapshot`).
//! - [`Engine::run_events`] routes runtime events (die, oom, health) to the actors by the task ARN label.
//! - [`Engine::adopt_existing`] finds the containers an earlier agent process left, so a restart takes them over
//!   instead of duplicating or orphaning them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use berth_model::agent::{AssignedTask, TaskStateChange, labels};
use futures::StreamExt;
use tokio::sync::mpsc;
use tracing::{info, warn};

use crate::credentials::CredentialsSource;
use crate::metadata::Registry;
use crate::runtime::{ContainerRuntime, ContainerState, RuntimeError, RuntimeEvent};
use crate::secrets::SecretsSource;

mod deps;
mod snapshot;
mod spec;
mod task;

#[cfg(test)]
mod tests;

pub use spec::METADATA_TOKEN_LABEL;
pub use task::{CONTAINER_MISSING_REASON, DEPENDENCY_NOT_SATISFIED_REASON, OOM_REASON};

use task::{Command, Shared};

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The cluster's name.
    pub cluster: String,
    pub container_instance_arn: String,
    pub availability_zone: Option<String>,
    /// Grace between SIGTERM and SIGKILL for containers without `stopTimeout` (ECS_CONTAINER_STOP_TIMEOUT: 30 s).
    pub default_stop_timeout: Duration,
    /// Base URL containers reach the metadata endpoint at, e.g. `http://172.17.0.1:51679`; `None`: no metadata
    /// environment is injected.
    pub metadata_endpoint: Option<String>,
    /// Base URL containers reach the task credentials route at: `http://169.254.170.2:<metadata port>` when the
    /// host has that address, else the metadata endpoint's. `None`: tasks with a task role cannot start.
    pub credentials_endpoint: Option<String>,
    /// How long a stopped task's containers stay on the host after the task left the manifest (ECS keeps them
    /// 3 h, ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION), so they can still be inspected.
    pub cleanup_wait: Duration,
    /// Where per-task files live on the host (`<data dir>/tasks`): the web identity tokens and secrets mounted into
    /// containers (see [`crate::credentials::web_identity`], [`crate::secrets::shim`]). `None`: containers that ask
    /// for a token or have secrets cannot start.
    pub tasks_dir: Option<PathBuf>,
    /// Where the files the agent mounts into many containers live (`<data dir>/task-support`): the env shim, written
    /// when a task first needs it, and Berth's CA. `None`: containers with secrets cannot start.
    pub support_dir: Option<PathBuf>,
    /// Berth's CA (PEM) the agent trusts the server with; containers of tasks with a task role get it (see
    /// [`crate::credentials::ca`]).
    pub ca_bundle: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            cluster: "default".to_owned(),
            container_instance_arn: String::new(),
            availability_zone: None,
            default_stop_timeout: Duration::from_secs(30),
            metadata_endpoint: None,
            credentials_endpoint: None,
            cleanup_wait: Duration::from_secs(3600),
            tasks_dir: None,
            support_dir: None,
            ca_bundle: None,
        }
    }
}

/// What every task actor shares.
pub(crate) struct Ctx {
    pub runtime: Arc<dyn ContainerRuntime>,
    pub config: EngineConfig,
    pub reports: mpsc::UnboundedSender<TaskStateChange>,
    pub metadata: Arc<Registry>,
    /// The log shipper, when the agent ships logs: containers are removed only once their output is stored.
    pub logs: std::sync::OnceLock<Arc<crate::logs::Shipper>>,
    /// Where task role credentials come from (the server, through `GetTaskCredentials`); unset, tasks with a role
    /// cannot start.
    pub credentials: std::sync::OnceLock<Arc<dyn CredentialsSource>>,
    /// Where secret values come from (the server's Secrets Manager and SSM, as the execution role); unset, tasks
    /// with secrets or registry credentials cannot start.
    pub secrets: std::sync::OnceLock<Arc<dyn SecretsSource>>,
    /// Berth's CA on the host, for the containers of tasks with a role (written when the engine starts).
    pub task_ca: Option<PathBuf>,
}

/// How long a container's removal waits for its output to be shipped.
pub(crate) const LOG_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

impl Ctx {
    /// Waits until the container's output is in its log stream (no shipper: at once).
    pub(crate) async fn drain_logs(shipper: Option<Arc<crate::logs::Shipper>>, id: &str) {
        if let Some(shipper) = shipper {
            shipper.drain(id, LOG_DRAIN_TIMEOUT).await;
        }
    }
}

struct TaskEntry {
    tx: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    stop_sent: bool,
    /// When a stopped task was first missing from the manifest; its cleanup is due `cleanup_wait` later.
    left_manifest: Option<tokio::time::Instant>,
}

#[derive(Default)]
struct EngineState {
    tasks: HashMap<String, TaskEntry>,
    /// Containers found by `adopt_existing`, by task ARN, until a manifest claims them.
    adopted: HashMap<String, Vec<ContainerState>>,
}

/// The task engine; see the module documentation.
pub struct Engine {
    ctx: Arc<Ctx>,
    state: Mutex<EngineState>,
}

impl Engine {
    pub fn new(
        runtime: Arc<dyn ContainerRuntime>,
        config: EngineConfig,
        reports: mpsc::UnboundedSender<TaskStateChange>,
        metadata: Arc<Registry>,
    ) -> Arc<Engine> {
        let task_ca = match (&config.support_dir, &config.ca_bundle) {
            (Some(dir), Some(pem)) => match crate::credentials::ca::install(dir, pem) {
                Ok(path) => Some(path),
                Err(e) => {
                    warn!(dir = %dir.display(), error = %e, "cannot write Berth's CA for tasks; their containers go without it");
                    None
                }
            },
            _ => None,
        };
        Arc::new(Engine {
            ctx: Arc::new(Ctx {
                runtime,
                config,
                reports,
                metadata,
                logs: std::sync::OnceLock::new(),
                credentials: std::sync::OnceLock::new(),
                secrets: std::sync::OnceLock::new(),
                task_ca,
            }),
            state: Mutex::new(EngineState::default()),
        })
    }

    /// Ships container output with `shipper` from now on (set once, before tasks run).
    pub fn set_log_shipper(&self, shipper: Arc<crate::logs::Shipper>) {
        let _ = self.ctx.logs.set(shipper);
    }

    /// Fetches task role credentials from `source` from now on (set once, before tasks run).
    pub fn set_credentials_source(&self, source: Arc<dyn CredentialsSource>) {
        let _ = self.ctx.credentials.set(source);
    }

    /// Reads secret values from `source` from now on (set once, before tasks run).
    pub fn set_secrets_source(&self, source: Arc<dyn SecretsSource>) {
        let _ = self.ctx.secrets.set(source);
    }

    fn lock(&self) -> MutexGuard<'_, EngineState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn instance_filter(&self) -> Vec<(String, String)> {
        vec![(labels::CONTAINER_INSTANCE.to_owned(), self.ctx.config.container_instance_arn.clone())]
    }

    /// Finds this instance's containers left by an earlier agent process (label `berth.container-instance` =
    /// this instance's ARN) and holds them, grouped by task, for the next manifest: tasks it names take their
    /// containers over, the others' containers are stopped and removed. Returns how many containers were found.
    pub async fn adopt_existing(&self) -> Result<usize, RuntimeError> {
        let containers = self.ctx.runtime.list_containers(&self.instance_filter()).await?;
        let mut found: HashMap<String, Vec<ContainerState>> = HashMap::new();
        for container in containers {
            if let Some(task_arn) = container.labels.get(labels::TASK_ARN) {
                found.entry(task_arn.clone()).or_default().push(container);
            }
        }
        let mut state = self.lock();
        let mut count = 0;
        for (task_arn, containers) in found {
            if state.tasks.contains_key(&task_arn) {
                continue;
            }
            count += containers.len();
            state.adopted.insert(task_arn, containers);
        }
        info!(containers = count, "found containers from an earlier agent");
        Ok(count)
    }

    /// Reconciles with the server's full manifest: new tasks start, stops are forwarded, tasks that left the
    /// manifest are cleaned up (or stopped and cleaned up when they had not stopped). Idempotent, and cheap for
    /// tasks that did not change: nothing is inspected.
    pub async fn apply_manifest(self: &Arc<Self>, tasks: Vec<AssignedTask>) {
        let leftovers = {
            let mut state = self.lock();
            let mut seen = HashSet::with_capacity(tasks.len());
            for assigned in tasks {
                let arn = assigned.task.task_arn.clone();
                if !seen.insert(arn.clone()) {
                    continue;
                }
                let wants_stop = assigned.task.desired_status == "STOPPED" || assigned.task.is_stopped();
                if let Some(entry) = state.tasks.get_mut(&arn) {
                    entry.left_manifest = None;
                    if wants_stop && !entry.stop_sent {
                        entry.stop_sent = true;
                        let _ = entry.tx.send(Command::Stop);
                    }
                    continue;
                }
                let adopted = state.adopted.remove(&arn).unwrap_or_default();
                if assigned.task.is_stopped() && adopted.is_empty() {
                    // Stopped, and nothing of it on this host.
                    continue;
                }
                info!(task = %arn, desired = %assigned.task.desired_status, adopted = adopted.len(), "new task");
                let (tx, shared) = task::spawn(self.ctx.clone(), assigned, adopted);
                state.tasks.insert(arn, TaskEntry { tx, shared, stop_sent: wants_stop, left_manifest: None });
            }
            // Stopped tasks leave the manifest as soon as the server has their STOPPED; their containers stay for
            // the cleanup wait (checked on every manifest, which comes at least every poll timeout). A running task
            // that left it is an orphan: stopped and removed now.
            let now = tokio::time::Instant::now();
            let wait = self.ctx.config.cleanup_wait;
            let gone: Vec<String> = state
                .tasks
                .iter_mut()
                .filter(|(arn, _)| !seen.contains(*arn))
                .filter_map(|(arn, entry)| {
                    if !entry.shared.is_stopped() {
                        return Some(arn.clone());
                    }
                    let left = *entry.left_manifest.get_or_insert(now);
                    (now.duration_since(left) >= wait).then(|| arn.clone())
                })
                .collect();
            for arn in gone {
                if let Some(entry) = state.tasks.remove(&arn) {
                    let command = if entry.shared.is_stopped() { Command::Cleanup } else { Command::Orphan };
                    let _ = entry.tx.send(command);
                }
            }
            std::mem::take(&mut state.adopted)
        };
        for (task_arn, containers) in leftovers {
            self.remove_orphans(task_arn, containers);
        }
    }

    /// Stops and removes containers of a task the server no longer assigns to this instance.
    fn remove_orphans(&self, task_arn: String, containers: Vec<ContainerState>) {
        info!(task = %task_arn, containers = containers.len(), "removing containers of a task not in the manifest");
        let runtime = self.ctx.runtime.clone();
        let timeout = self.ctx.config.default_stop_timeout;
        let shipper = self.ctx.logs.get().cloned();
        let tasks_dir = self.ctx.config.tasks_dir.clone();
        tokio::spawn(async move {
            // Its web identity tokens and secret files, if it had any (an earlier agent process made them).
            if let Some(dir) = tasks_dir {
                let task_id = task_arn.rsplit('/').next().unwrap_or_default().to_owned();
                let _ = tokio::task::spawn_blocking(move || {
                    crate::secrets::shim::remove_task(&dir, &task_id);
                    crate::credentials::web_identity::remove_task(&dir, &task_id);
                })
                .await;
            }
            for container in containers {
                if container.running
                    && let Err(e) = runtime.stop_container(&container.id, timeout).await
                {
                    warn!(task = %task_arn, container = %container.id, error = %e, "could not stop orphan");
                }
                Ctx::drain_logs(shipper.clone(), &container.id).await;
                match runtime.remove_container(&container.id).await {
                    Ok(()) | Err(RuntimeError::NotFound(_)) => {}
                    Err(e) => warn!(task = %task_arn, container = %container.id, error = %e, "could not remove orphan"),
                }
            }
        });
    }

    /// Consumes runtime events until the stream ends (the caller subscribes again in a loop) and routes them to
    /// the tasks. On (re)subscription, and after a stream error, every task re-inspects the containers it
    /// believes to run, since events may have been missed meanwhile.
    pub async fn run_events(self: &Arc<Self>) {
        let mut events = self.ctx.runtime.events(&self.instance_filter());
        self.broadcast_resync();
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => self.route(event),
                Err(e) => {
                    warn!(error = %e, "runtime event stream error; resynchronising");
                    self.broadcast_resync();
                }
            }
        }
    }

    fn broadcast_resync(&self) {
        let state = self.lock();
        for entry in state.tasks.values() {
            if !entry.shared.is_stopped() {
                let _ = entry.tx.send(Command::Resync);
            }
        }
    }

    fn route(&self, event: RuntimeEvent) {
        let Some(task_arn) = event.labels.get(labels::TASK_ARN) else { return };
        let state = self.lock();
        if let Some(entry) = state.tasks.get(task_arn) {
            let _ = entry.tx.send(Command::Event { container_id: event.container_id, kind: event.kind });
        }
    }

    /// Tasks the engine manages that are not STOPPED.
    pub fn active_tasks(&self) -> usize {
        self.lock().tasks.values().filter(|e| !e.shared.is_stopped()).count()
    }
}
