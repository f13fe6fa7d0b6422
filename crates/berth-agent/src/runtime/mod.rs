//! The container runtime the task engine drives: a trait with the Docker Engine implementation
//! ([`docker::DockerRuntime`], through bollard) and an in-memory one for tests and hollow agents
//! ([`fake::FakeRuntime`]).
//!
//! The engine speaks in [`ContainerSpec`]s: a container definition with its task's overrides, volumes, ports and
//! labels already resolved. Turning one into a Docker `ContainerCreate` body is the Docker runtime's job
//! (`docker_config`), so the engine never sees Docker's types.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use berth_model::taskdef::ContainerDefinition;
use futures::stream::BoxStream;

pub mod docker;
pub mod docker_config;
pub mod fake;

/// What a runtime call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The image could not be pulled; the message follows Docker's wording.
    #[error("{0}")]
    Pull(String),
    /// The container or volume does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The runtime refused the container's configuration (bad option, port taken, ...).
    #[error("{0}")]
    Rejected(String),
    /// The runtime did not answer or failed.
    #[error("container runtime error: {0}")]
    Unavailable(String),
}

pub type Result<T> = std::result::Result<T, RuntimeError>;

/// The host and runtime facts registration needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// e.g. "20.10.24".
    pub version: String,
    /// The negotiated Engine API version, e.g. "1.41".
    pub api_version: String,
    pub cpus: u32,
    pub memory_bytes: u64,
    /// "linux".
    pub os_type: String,
    /// Docker's architecture name, e.g. "x86_64" or "aarch64".
    pub architecture: String,
    /// Log drivers the runtime offers (Docker's `Plugins.Log`).
    pub log_drivers: Vec<String>,
    /// The IPv4 gateway of the default bridge network: where bridge containers reach the host.
    pub bridge_gateway: Option<String>,
}

/// Credentials for pulling from a private registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    pub username: String,
    pub password: String,
    pub server_address: Option<String>,
}

/// An image's own command, from its configuration: Docker's `Config.Entrypoint` and `Config.Cmd` (empty when unset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageCommand {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
}

/// A volume the runtime manages (Docker named volume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    pub name: String,
    pub driver: Option<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
}

/// Where one of the task's volumes comes from, resolved for a container's `mountPoints`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// A bind mount of a host path.
    HostPath(String),
    /// A runtime-managed named volume (task scratch space or a `dockerVolumeConfiguration`).
    Named(String),
}

/// Everything needed to create one container of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    /// The runtime name, unique on the host (`berth-<family>-<rev>-<container>-<task id>`).
    pub runtime_name: String,
    /// The container definition with the task's container overrides applied (command, environment, cpu, memory,
    /// memoryReservation), and the host ports the server assigned filled into its `portMappings`.
    pub definition: ContainerDefinition,
    /// The task's network mode: bridge, host or none (awsvpc runs as bridge).
    pub network_mode: String,
    /// Labels: the definition's dockerLabels plus Berth's own (see `berth_model::agent::labels`).
    pub labels: BTreeMap<String, String>,
    /// Environment added by the agent (metadata endpoint URIs), after the definition's own.
    pub extra_env: Vec<(String, String)>,
    /// The task's volumes by name, for the definition's `mountPoints`.
    pub volumes: BTreeMap<String, VolumeSource>,
    /// `volumesFrom`, resolved to runtime ids of the task's other containers, with read-only flags.
    pub volumes_from: Vec<(String, bool)>,
    /// GPU ids to expose to the container. (Host ports for `portMappings` whose hostPort is still 0 or absent,
    /// having none from the server, are chosen by the runtime and read back with `inspect_container`.)
    pub gpu_ids: Vec<String>,
    /// The task's `pidMode` and `ipcMode` (`host`, `task`, `none`); `task` shares with the task's first container,
    /// given in `namespace_owner`.
    pub pid_mode: Option<String>,
    pub ipc_mode: Option<String>,
    pub namespace_owner: Option<String>,
    /// Seconds between SIGTERM and SIGKILL when the container is stopped.
    pub stop_timeout: Duration,
    /// Whether the definition's `logConfiguration` is passed through; when false the runtime's default driver
    /// captures output (the agent keeps `awslogs` output itself).
    pub log_driver: Option<(String, BTreeMap<String, String>)>,
}

impl ContainerSpec {
    /// A bridge-mode spec with nothing but a name and a definition: no labels, volumes, GPUs or shared
    /// namespaces, ECS's default 30 s stop timeout and the runtime's default log driver.
    pub fn new(runtime_name: impl Into<String>, definition: ContainerDefinition) -> Self {
        ContainerSpec {
            runtime_name: runtime_name.into(),
            definition,
            network_mode: "bridge".to_owned(),
            labels: BTreeMap::new(),
            extra_env: Vec::new(),
            volumes: BTreeMap::new(),
            volumes_from: Vec::new(),
            gpu_ids: Vec::new(),
            pid_mode: None,
            ipc_mode: None,
            namespace_owner: None,
            stop_timeout: Duration::from_secs(30),
            log_driver: None,
        }
    }
}

/// A container's health as the runtime's health check reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

/// What the runtime knows about one container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerState {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub running: bool,
    /// Set once the container has exited.
    pub exit_code: Option<i32>,
    pub oom_killed: bool,
    /// The runtime's error text when the container failed to start.
    pub error: Option<String>,
    pub health: Option<Health>,
    /// Output of the last health check, at most 1 KiB.
    pub health_output: Option<String>,
    /// Seconds since the epoch; `None` when never started / not finished.
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    /// Published ports: (container port, protocol, host IP, host port).
    pub ports: Vec<PortBinding>,
    /// The image reference as created and the image's id (`sha256:...`).
    pub image: String,
    pub image_id: String,
    /// IPv4 addresses per network name.
    pub networks: BTreeMap<String, String>,
    pub created_at: Option<f64>,
}

/// One published port of a running container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    pub container_port: u16,
    pub protocol: String,
    pub host_ip: String,
    pub host_port: u16,
}

/// A change the runtime announces for a container Berth labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeEvent {
    pub container_id: String,
    pub kind: EventKind,
    /// The container's labels (Berth's task ARN and container name among them).
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Start,
    /// The main process exited (or was killed).
    Die,
    /// The kernel's OOM killer fired in the container.
    Oom,
    Health(Health),
}

/// CPU and memory of a container at one instant, as Docker stats reports them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerStats {
    /// Docker's stats JSON for the container, as the metadata endpoint's `/stats` serves it.
    pub raw: serde_json::Value,
}

/// One line of a container's output as the runtime kept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When the runtime received the line, in nanoseconds since the epoch.
    pub timestamp_ns: i64,
    pub stderr: bool,
    /// The line without its line ending (a last line without one, or a piece of an over-long line, as it came).
    pub message: String,
}

/// The operations the task engine needs from a container runtime.
#[async_trait]
pub trait ContainerRuntime: Send + Sync + 'static {
    async fn info(&self) -> Result<RuntimeInfo>;
    /// Whether an image is present locally.
    async fn image_present(&self, image: &str) -> Result<bool>;
    /// Pulls an image; a failure is [`RuntimeError::Pull`].
    async fn pull_image(&self, image: &str, auth: Option<&RegistryAuth>) -> Result<()>;
    /// The entry point and command of a local image (what a container runs when its definition sets neither).
    async fn image_command(&self, image: &str) -> Result<ImageCommand> {
        Err(RuntimeError::Unavailable(format!("this runtime cannot inspect the image {image}")))
    }
    /// Creates a named volume; an existing one of that name is kept.
    async fn create_volume(&self, spec: &VolumeSpec) -> Result<()>;
    async fn remove_volume(&self, name: &str) -> Result<()>;
    /// Creates a container; returns its runtime id.
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String>;
    async fn start_container(&self, id: &str) -> Result<()>;
    /// Sends SIGTERM, then SIGKILL after `timeout`; returns once the container has exited. Stopping a stopped
    /// container succeeds.
    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()>;
    async fn inspect_container(&self, id: &str) -> Result<ContainerState>;
    /// Removes a container and its anonymous volumes.
    async fn remove_container(&self, id: &str) -> Result<()>;
    /// Every container (running or not) carrying all of `labels`.
    async fn list_containers(&self, labels: &[(String, String)]) -> Result<Vec<ContainerState>>;
    /// Container events for containers carrying all of `labels`, from now on. The stream ends when the runtime
    /// connection breaks; the caller subscribes again.
    fn events(&self, labels: &[(String, String)]) -> BoxStream<'static, Result<RuntimeEvent>>;
    /// One stats sample of a running container.
    async fn stats(&self, id: &str) -> Result<ContainerStats>;
    /// One cheap stats sample for periodic sampling: without Docker's second sample a second later, so
    /// `precpu_stats` is empty and CPU use comes from the caller's own consecutive samples.
    async fn stats_one_shot(&self, id: &str) -> Result<ContainerStats> {
        self.stats(id).await
    }
    /// Adds the runtime's own metrics (call latency) to the agent's registry.
    fn register_metrics(&self, _registry: &mut prometheus_client::registry::Registry) {}
    /// The container's stdout and stderr from `since` (whole seconds since the epoch, inclusive; 0: from the
    /// start), line by line with the runtime's timestamps, oldest first. With `follow`, new output comes as it is
    /// written and the stream ends once the container has stopped; without, it ends at what is there now.
    fn logs(&self, id: &str, since: i64, follow: bool) -> BoxStream<'static, Result<LogLine>> {
        let _ = (id, since, follow);
        Box::pin(futures::stream::empty())
    }
}
