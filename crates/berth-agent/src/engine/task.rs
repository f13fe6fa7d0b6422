//! One task's state machine: an async actor that owns everything the engine knows about the task and moves it
//! along (images, volumes, creation, ordered starts, ordered stops, cleanup), as amazon-ecs-agent's
//! `managedTask` does.
//!
//! A task with a task role gets its role's credentials before anything else happens (phase `Credentials`): a
//! refusal stops it with ECS's reason before any image is pulled or container created. From then on a
//! [`Refresher`] keeps the credentials fresh in the metadata registry until the task stops, when they are removed.
//! Then (phase `WebIdentity`) the containers that ask for a web identity token with their docker labels get one in
//! a file of the task's directory, refreshed until the task stops, when the directory is deleted (see
//! [`credentials::web_identity`]); a failure stops the task before any image or container too.
//!
//! A task whose containers have `secrets`, `logConfiguration.secretOptions` or `repositoryCredentials` then gets
//! them resolved (phase `Secrets`, see [`crate::secrets`]): the execution role's credentials (kept in memory for
//! that, never served), the values from the server's Secrets Manager and SSM as that role, the environment
//! secrets written to a file per container (started through the env shim, see [`secrets::shim`]); registry
//! credentials and log options are kept in memory until the pull and the creation that use them. A failure stops
//! the task with ECS's `ResourceInitializationError` reason before any image or container; the files go when the
//! task stops. Containers of tasks with a role also get Berth's CA when the agent has one
//! ([`credentials::ca`]).
//!
//! The actor never blocks on the runtime: every runtime call runs as a future in its `ops` set while the loop
//! keeps taking commands (stop, runtime events, resync). After each wake-up `progress` works out what can happen
//! next from the current state alone, and `publish` sends a report and a metadata snapshot when anything changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use berth_model::agent::{AssignedTask, TaskCredentials, TaskRole, TaskStateChange, labels};
use berth_model::task::{ESSENTIAL_CONTAINER_EXITED_REASON, NetworkBinding, Task, TaskStatus, stop_code};
use berth_model::taskdef::{ContainerDefinition, MountPoint, TaskDefinition};
use futures::future::{BoxFuture, FutureExt, join_all};
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::Ctx;
use super::deps::{self, DepState, Progress, Readiness};
use super::spec::{self, METADATA_TOKEN_LABEL, VolumePlan};
use crate::credentials::{self, Refresher, web_identity};
use crate::metadata::{Registry, TaskMetadata};
use crate::runtime::{
    ContainerRuntime, ContainerSpec, ContainerState, EventKind, Health, RegistryAuth, RuntimeError, VolumeSource,
    VolumeSpec,
};
use crate::secrets::{self, shim};

/// The container reason of an OOM-killed container.
pub const OOM_REASON: &str = "OutOfMemoryError: Container killed due to memory usage";
/// The container reason of a container that was expected on the host and is gone.
pub const CONTAINER_MISSING_REASON: &str =
    "ContainerMissing: the container was removed from the host while the agent was down";
/// The reason of a container whose dependency conditions can never hold.
pub const DEPENDENCY_NOT_SATISFIED_REASON: &str = "DependencyConditionNotSatisfied";

/// Attempts at stopping a container before giving up on it.
const STOP_ATTEMPTS: u32 = 3;
/// Wait between stop attempts (times the attempt number).
const STOP_RETRY: Duration = Duration::from_secs(5);

/// What the engine tells a task's actor.
#[derive(Debug)]
pub(crate) enum Command {
    /// The server wants the task stopped (StopTask, or found stopped).
    Stop,
    /// A runtime event for one of the task's containers.
    Event { container_id: String, kind: EventKind },
    /// Events may have been missed: inspect the containers believed to run.
    Resync,
    /// The task left the manifest after it stopped: remove its containers and volumes, then end.
    Cleanup,
    /// The task left the manifest while not stopped: stop it without reporting, clean up, end.
    Orphan,
}

/// What the engine reads about a task without asking its actor.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    stopped: AtomicBool,
}

impl Shared {
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }
}

/// Starts the actor for a task; returns its command channel and shared state.
pub(crate) fn spawn(
    ctx: Arc<Ctx>,
    assigned: AssignedTask,
    adopted: Vec<ContainerState>,
) -> (mpsc::UnboundedSender<Command>, Arc<Shared>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::default());
    let run = TaskRun::new(ctx, assigned, adopted, shared.clone());
    tokio::spawn(run.run(rx));
    (tx, shared)
}

/// A container's status as the engine tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CStatus {
    /// Not created yet.
    Pending,
    Created,
    Running,
    Stopped,
}

pub(super) struct Ctr {
    pub def: ContainerDefinition,
    pub runtime_name: String,
    pub token: String,
    pub labels: BTreeMap<String, String>,
    pub status: CStatus,
    /// A create, start or stop call is in flight.
    pub busy: bool,
    /// It ran (started by this engine or found started).
    pub started: bool,
    pub stop_issued: bool,
    /// A die event came while a call was in flight: inspect once it completes.
    pub recheck: bool,
    pub stop_attempts: u32,
    pub retry_at: Option<Instant>,
    pub runtime_id: Option<String>,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub oom: bool,
    pub bindings: Vec<NetworkBinding>,
    pub image_digest: Option<String>,
    pub health: Option<Health>,
    pub health_since: Option<f64>,
    pub health_output: Option<String>,
    pub networks: Vec<(String, String)>,
    pub created_at: Option<f64>,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub started_instant: Option<Instant>,
    /// Restarts done by the container restart policy.
    pub restart_count: u32,
    pub stop_timeout: Duration,
    pub gpu_ids: Vec<String>,
    /// The server's network bindings for the container: the host ports it assigned to dynamic port mappings.
    pub assigned_bindings: Vec<NetworkBinding>,
    pub container_arn: String,
}

impl Ctr {
    pub(super) fn has_health_check(&self) -> bool {
        self.def.health_check.is_some()
    }

    fn progress(&self) -> Progress {
        match self.status {
            CStatus::Pending | CStatus::Created => Progress::NotStarted,
            CStatus::Running => Progress::Running,
            CStatus::Stopped if self.started => Progress::Exited(self.exit_code),
            CStatus::Stopped => Progress::NeverRan,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    /// Waiting for the task role's credentials.
    Credentials,
    /// Waiting for the containers' web identity tokens.
    WebIdentity,
    /// Waiting for the secrets and registry credentials (the execution role's).
    Secrets,
    Images,
    Volumes,
    Containers,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct StopCause {
    pub code: Option<String>,
    pub reason: Option<String>,
}

/// The containers sharing one image, and how its pull went (`Err`: their stop reason).
type PullOutcome = (Vec<usize>, Result<(), String>);

/// The task role, and where its containers find the role's credentials.
struct RoleCredentials {
    role_arn: String,
    /// The credentials id in the route's path and the token the containers send: minted for the task, or taken
    /// from the labels of adopted containers, whose environment already names them.
    id: String,
    token: String,
    /// The first fetch has answered (or, for an adopted task, been handed to the refresher).
    fetched: bool,
    refresher: Option<Refresher>,
}

/// The name of the volume that carries a container's web identity token directory: not a valid ECS volume name (it
/// has a dot), so it cannot clash with the definition's volumes.
const WEB_IDENTITY_VOLUME: &str = "berth.web-identity";

/// The web identity tokens of a task: what its containers asked for, and the refresher once they are in place.
#[derive(Default)]
struct WebIdentity {
    /// By container index.
    requests: Vec<(usize, web_identity::Request)>,
    /// A container's labels are wrong: the task's stop reason at start.
    problem: Option<String>,
    /// The tokens are in place (fetched at start, or an adopted task's, refreshed at once).
    ready: bool,
    refresher: Option<web_identity::Refresher>,
}

/// Each audience's first token: the audience, the directories it went to, its expiration.
type FirstTokens = Vec<(String, Vec<std::path::PathBuf>, f64)>;

/// The names of the volumes that carry a container's secrets directory, the env shim and Berth's CA (not valid ECS
/// volume names, so they cannot clash with the definition's).
const SECRETS_VOLUME: &str = "berth.secrets";
const SHIM_VOLUME: &str = "berth.env-shim";
const CA_VOLUME: &str = "berth.ca-bundle";

/// The secrets of a task: what its containers need, and what the start resolved until it is used.
#[derive(Default)]
struct Secrets {
    needs: Vec<secrets::Need>,
    /// Why the task cannot start, found before anything is fetched.
    problem: Option<String>,
    /// The execution role (RunTask's override, else the definition's).
    execution_role: Option<String>,
    /// Containers with environment secrets: they start through the env shim.
    shimmed: BTreeSet<usize>,
    /// Resolved (or nothing to resolve).
    ready: bool,
    /// The env shim on the host, once installed.
    shim: Option<PathBuf>,
    /// Registry credentials by container, until the pull.
    registry: BTreeMap<usize, RegistryAuth>,
    /// Secret log driver options by container, until the container is created.
    log_options: BTreeMap<usize, Vec<(String, String)>>,
}

/// What the secrets phase leaves for the rest of the start (the environment secrets are in their files by then).
struct StartSecrets {
    shim: Option<PathBuf>,
    registry: BTreeMap<usize, RegistryAuth>,
    log_options: BTreeMap<usize, Vec<(String, String)>>,
}

/// What a finished runtime operation reports back to the actor.
enum Done {
    /// The task role's first credentials (`Err`: the task's stop reason). `None`: cancelled.
    Credentials(Option<Result<TaskCredentials, String>>),
    /// The first web identity tokens, written (`Err`: the task's stop reason). `None`: cancelled.
    WebIdentity(Option<Result<FirstTokens, String>>),
    /// The secrets, resolved and written (`Err`: the task's stop reason). `None`: cancelled.
    Secrets(Option<Result<StartSecrets, String>>),
    /// Per group of containers sharing an image: the pull outcome (`Err`: the container reason). `None`: cancelled.
    Images(Option<Vec<PullOutcome>>),
    Volumes(Result<(), String>),
    Created(usize, Result<String, RuntimeError>),
    Started(usize, Result<Option<ContainerState>, RuntimeError>),
    Inspected(usize, Result<ContainerState, RuntimeError>),
    Stopped(usize, Result<Option<ContainerState>, RuntimeError>),
    CleanedUp,
}

pub(super) struct TaskRun {
    pub ctx: Arc<Ctx>,
    shared: Arc<Shared>,
    pub arn: String,
    pub task: Task,
    pub def: TaskDefinition,
    pub ctrs: Vec<Ctr>,
    /// The task's lastStatus as the engine knows it (Pending, Running, Stopping, Stopped).
    pub status: TaskStatus,
    /// The lastStatus the server was last told (or had, for an adopted task).
    pub reported_status: Option<TaskStatus>,
    phase: Phase,
    pub stop: Option<StopCause>,
    pub pull_started_at: Option<f64>,
    pub pull_stopped_at: Option<f64>,
    pub started_at: Option<f64>,
    pub stopping_at: Option<f64>,
    pub execution_stopped_at: Option<f64>,
    volumes: VolumePlan,
    role: Option<RoleCredentials>,
    web_identity: WebIdentity,
    secrets: Secrets,
    creation_order: Vec<usize>,
    namespace_owner: Option<usize>,
    dependents: Vec<Vec<usize>>,
    wait_began: Option<Instant>,
    ops: FuturesUnordered<BoxFuture<'static, Done>>,
    cancel: watch::Sender<bool>,
    pub last_report: Option<TaskStateChange>,
    pub last_metadata: Option<TaskMetadata>,
    /// Containers of the task found on the host that match no container of the definition; removed at cleanup.
    strays: Vec<String>,
    /// Took over containers of an earlier agent: inspect them again once the actor runs.
    adopted: bool,
    /// Orphan: no reports.
    silent: bool,
    cleanup_requested: bool,
    cleaning: bool,
    done: bool,
}

/// Epoch seconds, millisecond precision.
/// Whether a container's restart policy restarts it after this exit (ECS's rules): the policy is enabled, the exit
/// code is known and not ignored, and the container ran for at least `restartAttemptPeriod` (300 s by default)
/// since it last started, so one that keeps failing fast is left stopped.
fn restart_due(c: &Ctr, code: Option<i32>) -> bool {
    let Some(policy) = c.def.restart_policy.as_ref().filter(|p| p.enabled) else { return false };
    let Some(code) = code else { return false };
    if policy.ignored_exit_codes.as_ref().is_some_and(|ignored| ignored.contains(&code)) {
        return false;
    }
    let period = Duration::from_secs(policy.restart_attempt_period.and_then(|p| u64::try_from(p).ok()).unwrap_or(300));
    c.started_instant.is_some_and(|started| started.elapsed() >= period)
}

pub(super) fn now() -> f64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    (since.as_millis() as f64) / 1000.0
}

/// The runtime's message without the error kind's prefix.
fn err_text(e: &RuntimeError) -> String {
    match e {
        RuntimeError::Pull(m)
        | RuntimeError::NotFound(m)
        | RuntimeError::Rejected(m)
        | RuntimeError::Unavailable(m) => m.clone(),
    }
}

/// Docker's published ports as ECS network bindings (one per port: Docker lists IPv6 twins separately).
pub(super) fn bindings(state: &ContainerState) -> Vec<NetworkBinding> {
    let mut out: Vec<NetworkBinding> = Vec::new();
    for p in &state.ports {
        let duplicate = out.iter().any(|b| {
            b.container_port == Some(i32::from(p.container_port))
                && b.host_port == Some(i32::from(p.host_port))
                && b.protocol.as_deref() == Some(p.protocol.as_str())
        });
        if duplicate {
            continue;
        }
        let ip = if p.host_ip.is_empty() || p.host_ip == "::" { "0.0.0.0" } else { p.host_ip.as_str() };
        out.push(NetworkBinding {
            bind_ip: Some(ip.to_owned()),
            container_port: Some(i32::from(p.container_port)),
            host_port: Some(i32::from(p.host_port)),
            protocol: Some(p.protocol.clone()),
            container_port_range: None,
            host_port_range: None,
        });
    }
    out
}

async fn cancelled(mut rx: watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn pull_one(runtime: Arc<dyn ContainerRuntime>, image: String, auth: Option<RegistryAuth>) -> Result<(), String> {
    match runtime.image_present(&image).await {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(e) => warn!(image = %image, error = %e, "could not check for the image; pulling it"),
    }
    runtime.pull_image(&image, auth.as_ref()).await.map_err(|e| format!("CannotPullContainerError: {}", err_text(&e)))
}

impl TaskRun {
    fn new(ctx: Arc<Ctx>, assigned: AssignedTask, adopted: Vec<ContainerState>, shared: Arc<Shared>) -> TaskRun {
        let AssignedTask { task, task_definition: def } = assigned;
        let arn = task.task_arn.clone();
        let task_id = task.id().to_owned();
        let default_stop = ctx.config.default_stop_timeout;
        let ctrs: Vec<Ctr> = def
            .container_definitions
            .iter()
            .map(|d| {
                let d = task.overrides.apply_to(d);
                let server = task.container(&d.name);
                let stop_timeout =
                    d.stop_timeout.and_then(|s| u64::try_from(s).ok()).map(Duration::from_secs).unwrap_or(default_stop);
                Ctr {
                    runtime_name: spec::runtime_name(&def, &d.name, &task_id),
                    token: Registry::new_token(),
                    labels: BTreeMap::new(),
                    status: CStatus::Pending,
                    busy: false,
                    started: false,
                    stop_issued: false,
                    recheck: false,
                    stop_attempts: 0,
                    retry_at: None,
                    runtime_id: None,
                    exit_code: None,
                    reason: None,
                    oom: false,
                    bindings: Vec::new(),
                    image_digest: None,
                    health: None,
                    health_since: None,
                    health_output: None,
                    networks: Vec::new(),
                    created_at: None,
                    started_at: None,
                    finished_at: None,
                    started_instant: None,
                    restart_count: 0,
                    stop_timeout,
                    gpu_ids: server.map(|c| c.gpu_ids.clone()).unwrap_or_default(),
                    assigned_bindings: server.map(|c| c.network_bindings.clone()).unwrap_or_default(),
                    container_arn: server.map(|c| c.container_arn.clone()).unwrap_or_default(),
                    def: d,
                }
            })
            .collect();
        let volumes = spec::plan_volumes(&def, &task, &ctx.config.container_instance_arn);
        // RunTask's override wins over the definition's role.
        let role =
            task.overrides.task_role_arn.as_deref().or(def.task_role_arn()).filter(|arn| !arn.is_empty()).map(|arn| {
                RoleCredentials {
                    role_arn: arn.to_owned(),
                    id: credentials::new_id(),
                    token: credentials::new_token(),
                    fetched: false,
                    refresher: None,
                }
            });
        let mut web = WebIdentity::default();
        for (i, c) in ctrs.iter().enumerate() {
            match web_identity::request_of(&c.def) {
                Ok(Some(request)) => web.requests.push((i, request)),
                Ok(None) => {}
                Err(reason) => {
                    web.problem.get_or_insert(reason);
                }
            }
        }
        let mut secrets = Secrets {
            execution_role: task
                .overrides
                .execution_role_arn
                .as_deref()
                .or(def.execution_role_arn())
                .filter(|arn| !arn.is_empty())
                .map(str::to_owned),
            ..Secrets::default()
        };
        let defs: Vec<ContainerDefinition> = ctrs.iter().map(|c| c.def.clone()).collect();
        match secrets::plan(&defs) {
            Ok(needs) => {
                secrets.shimmed = needs
                    .iter()
                    .filter(|n| matches!(n.used_for, secrets::Use::Env { .. }))
                    .map(|n| n.used_for.container())
                    .collect();
                secrets.ready = needs.is_empty();
                secrets.needs = needs;
            }
            Err(reason) => secrets.problem = Some(reason),
        }
        let dependents = deps::dependents(&def.container_definitions);
        let (cancel, _) = watch::channel(false);
        let mut run = TaskRun {
            ctx,
            shared,
            arn,
            ctrs,
            status: TaskStatus::Pending,
            reported_status: None,
            phase: Phase::Start,
            stop: None,
            pull_started_at: None,
            pull_stopped_at: None,
            started_at: None,
            stopping_at: None,
            execution_stopped_at: None,
            volumes,
            role,
            web_identity: web,
            secrets,
            creation_order: Vec::new(),
            namespace_owner: None,
            dependents,
            wait_began: None,
            ops: FuturesUnordered::new(),
            cancel,
            last_report: None,
            last_metadata: None,
            strays: Vec::new(),
            adopted: false,
            silent: false,
            cleanup_requested: false,
            cleaning: false,
            done: false,
            task,
            def,
        };
        for i in 0..run.ctrs.len() {
            let (token, def) = (run.ctrs[i].token.clone(), run.ctrs[i].def.clone());
            run.ctrs[i].labels = spec::container_labels(
                &def,
                &run.task,
                &run.def,
                &run.ctx.config.cluster,
                &run.ctx.config.container_instance_arn,
                &token,
            );
            if let Some(role) = &run.role {
                run.ctrs[i].labels.insert(credentials::ID_LABEL.to_owned(), role.id.clone());
                run.ctrs[i].labels.insert(credentials::TOKEN_LABEL.to_owned(), role.token.clone());
            }
        }
        match deps::creation_order(&run.def.container_definitions) {
            Ok(order) => {
                run.namespace_owner = order.first().copied();
                run.creation_order = order;
            }
            Err(reason) => run.fail_to_start(None, reason),
        }
        if let Some(cycle) = deps::dependency_cycle(&run.def.container_definitions) {
            run.fail_to_start(None, format!("Dependency cycle between containers {}", cycle.join(", ")));
        }
        let server_says_started =
            run.task.containers.iter().any(|c| c.runtime_id.is_some()) || run.task.status() > Some(TaskStatus::Pending);
        // The server's stop comes first: it is the cause even when adoption finds an essential container gone.
        if run.task.desired_status == "STOPPED" || run.task.is_stopped() {
            run.begin_stop(None, None);
        }
        if !adopted.is_empty() || server_says_started {
            run.adopt(adopted);
        }
        run
    }

    /// Takes over what an earlier agent process left: containers found on the host, and what the server
    /// remembers about the task.
    fn adopt(&mut self, mut adopted: Vec<ContainerState>) {
        self.adopted = true;
        self.reported_status = self.task.status();
        self.status = match self.task.status() {
            Some(s) if s >= TaskStatus::Running => TaskStatus::Running,
            _ => TaskStatus::Pending,
        };
        self.pull_started_at = self.task.pull_started_at;
        self.pull_stopped_at = self.task.pull_stopped_at;
        self.started_at = self.task.started_at;
        // Running ones first, so a running copy wins over an exited one of the same name.
        adopted.sort_by_key(|s| !s.running);
        // The containers' environment names the credentials id and token they were created with: keep serving those.
        if let Some(role) = self.role.as_mut()
            && let Some((id, token)) = adopted
                .iter()
                .find_map(|s| Some((s.labels.get(credentials::ID_LABEL)?, s.labels.get(credentials::TOKEN_LABEL)?)))
        {
            role.id = id.clone();
            role.token = token.clone();
            // Containers still to create carry the same, for the next restart.
            for c in &mut self.ctrs {
                c.labels.insert(credentials::ID_LABEL.to_owned(), id.clone());
                c.labels.insert(credentials::TOKEN_LABEL.to_owned(), token.clone());
            }
        }
        for i in 0..self.ctrs.len() {
            let name = self.ctrs[i].def.name.clone();
            let found = adopted.iter().position(|s| s.labels.get(labels::CONTAINER_NAME) == Some(&name));
            if let Some(pos) = found {
                let state = adopted.swap_remove(pos);
                let ran = state.running || state.started_at.is_some() || state.finished_at.is_some();
                {
                    let c = &mut self.ctrs[i];
                    c.runtime_id = Some(state.id.clone());
                    if let Some(token) = state.labels.get(METADATA_TOKEN_LABEL) {
                        c.token = token.clone();
                    }
                    c.labels = state.labels.clone();
                    if ran {
                        c.status = CStatus::Running;
                        c.started = true;
                        c.started_instant = Some(Instant::now());
                    } else {
                        c.status = CStatus::Created;
                    }
                }
                info!(task = %self.arn, container = %name, running = state.running, "adopted container");
                // An exited container is recorded as exited now, with its real exit code.
                self.apply_state(i, &state);
            } else if self.task.container(&name).is_some_and(|c| c.runtime_id.is_some()) {
                warn!(task = %self.arn, container = %name, "container missing from the host");
                let c = &mut self.ctrs[i];
                c.status = CStatus::Stopped;
                c.started = true;
                c.reason = Some(CONTAINER_MISSING_REASON.to_owned());
                if c.def.is_essential() {
                    self.begin_stop(
                        Some(stop_code::ESSENTIAL_CONTAINER_EXITED),
                        Some(ESSENTIAL_CONTAINER_EXITED_REASON.to_owned()),
                    );
                }
            }
        }
        self.strays = adopted.into_iter().map(|s| s.id).collect();
        if self.ctrs.iter().all(|c| c.status != CStatus::Pending) {
            // Nothing to pull or create: straight to starting what is left.
            self.phase = Phase::Containers;
        }
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        debug!(task = %self.arn, "task actor started");
        if self.adopted {
            // What the runtime listed may have changed before the manifest claimed it.
            self.on_command(Command::Resync);
            // Every container exists, so the start's fetch will not run: serve the credentials the containers were
            // given again, fetched anew by the refresher (this agent process never had them).
            if self.phase == Phase::Containers && self.stop.is_none() && self.role.is_some() {
                self.serve_credentials(None);
            }
            // Likewise the web identity tokens: the containers mount the task's directory, refreshed at once.
            if self.phase == Phase::Containers && self.stop.is_none() && !self.web_identity.requests.is_empty() {
                self.serve_web_identity(None);
            }
        }
        let mut closed = false;
        loop {
            self.progress();
            self.publish();
            if self.done {
                break;
            }
            let deadline = self.next_deadline();
            let sleep =
                tokio::time::sleep_until(deadline.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)));
            tokio::select! {
                command = rx.recv(), if !closed => match command {
                    Some(command) => self.on_command(command),
                    // The engine forgot the task after asking for its cleanup: finish that first.
                    None if self.cleanup_requested => closed = true,
                    None => {
                        debug!(task = %self.arn, "engine gone; task actor ends");
                        break;
                    }
                },
                Some(done) = self.ops.next(), if !self.ops.is_empty() => self.on_done(done),
                _ = sleep, if deadline.is_some() => {}
            }
        }
        debug!(task = %self.arn, "task actor ended");
    }

    // ---- inputs ----

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Stop => self.begin_stop(None, None),
            Command::Event { container_id, kind } => self.on_event(&container_id, kind),
            Command::Resync => {
                for i in 0..self.ctrs.len() {
                    if self.ctrs[i].status == CStatus::Running && !self.ctrs[i].busy {
                        self.launch_inspect(i);
                    }
                }
            }
            Command::Cleanup => self.cleanup_requested = true,
            Command::Orphan => {
                info!(task = %self.arn, "task left the manifest before it stopped; stopping it as an orphan");
                self.silent = true;
                self.cleanup_requested = true;
                self.begin_stop(None, None);
            }
        }
    }

    fn on_event(&mut self, container_id: &str, kind: EventKind) {
        let Some(i) = self.ctrs.iter().position(|c| c.runtime_id.as_deref() == Some(container_id)) else {
            return;
        };
        match kind {
            EventKind::Start => {}
            EventKind::Oom => self.ctrs[i].oom = true,
            EventKind::Health(health) => {
                self.set_health(i, Some(health), None);
                // For the check's output.
                self.launch_inspect(i);
            }
            EventKind::Die => {
                let c = &mut self.ctrs[i];
                if c.busy {
                    // The call in flight may have looked before the exit: look again once it completes.
                    c.recheck = true;
                } else if c.status == CStatus::Running {
                    self.launch_inspect(i);
                }
            }
        }
    }

    fn on_done(&mut self, done: Done) {
        let container = match &done {
            Done::Created(i, _) | Done::Started(i, _) | Done::Stopped(i, _) => Some(*i),
            _ => None,
        };
        self.handle_done(done);
        if let Some(i) = container {
            let c = &mut self.ctrs[i];
            if c.recheck && !c.busy {
                c.recheck = false;
                if c.status == CStatus::Running {
                    self.launch_inspect(i);
                }
            }
        }
    }

    fn handle_done(&mut self, done: Done) {
        match done {
            Done::Credentials(None) => debug!(task = %self.arn, "credentials fetch cancelled"),
            Done::Credentials(Some(Err(reason))) => {
                warn!(task = %self.arn, %reason, "no credentials for the task role");
                self.fail_to_start(None, reason);
            }
            Done::Credentials(Some(Ok(first))) => {
                if self.stop.is_none() {
                    self.serve_credentials(Some(first));
                    self.after_credentials();
                }
            }
            Done::WebIdentity(None) => debug!(task = %self.arn, "web identity token fetch cancelled"),
            Done::WebIdentity(Some(Err(reason))) => {
                warn!(task = %self.arn, %reason, "no web identity token");
                self.fail_to_start(None, reason);
            }
            Done::WebIdentity(Some(Ok(first))) => {
                // Written even when a stop came meanwhile: the stop deletes the directory.
                if self.stop.is_none() {
                    self.serve_web_identity(Some(first));
                    self.after_web_identity();
                }
            }
            Done::Secrets(None) => debug!(task = %self.arn, "secrets retrieval cancelled"),
            Done::Secrets(Some(Err(reason))) => {
                // The reason names secrets by their valueFrom, never a value.
                warn!(task = %self.arn, %reason, "the task's secrets could not be retrieved");
                self.fail_to_start(None, reason);
            }
            Done::Secrets(Some(Ok(start))) => {
                // Written even when a stop came meanwhile: the stop deletes the files.
                if self.stop.is_none() {
                    self.secrets.ready = true;
                    self.secrets.shim = start.shim;
                    self.secrets.registry = start.registry;
                    self.secrets.log_options = start.log_options;
                    self.begin_images();
                }
            }
            Done::Images(None) => debug!(task = %self.arn, "image pulls cancelled"),
            Done::Images(Some(results)) => {
                self.pull_stopped_at = Some(now());
                // The registry credentials have served.
                self.secrets.registry.clear();
                let mut failure: Option<(usize, String)> = None;
                for (members, result) in results {
                    if let Err(reason) = result {
                        for &i in &members {
                            self.ctrs[i].reason = Some(reason.clone());
                            if failure.as_ref().is_none_or(|(first, _)| i < *first) {
                                failure = Some((i, reason.clone()));
                            }
                        }
                    }
                }
                match failure {
                    Some((_, reason)) => {
                        warn!(task = %self.arn, %reason, "image pull failed");
                        self.fail_to_start(None, reason);
                    }
                    None if self.stop.is_some() => {}
                    None => {
                        self.phase = Phase::Volumes;
                        self.launch_volumes();
                    }
                }
            }
            Done::Volumes(result) => match result {
                Ok(()) => self.phase = Phase::Containers,
                Err(reason) => self.fail_to_start(None, reason),
            },
            Done::Created(i, result) => {
                self.ctrs[i].busy = false;
                match result {
                    Ok(id) => {
                        self.secrets.log_options.remove(&i);
                        let c = &mut self.ctrs[i];
                        c.runtime_id = Some(id);
                        c.created_at = Some(now());
                        if c.status == CStatus::Pending {
                            c.status = CStatus::Created;
                        }
                    }
                    Err(e) => {
                        let reason = format!("CannotCreateContainerError: {}", err_text(&e));
                        self.ctrs[i].status = CStatus::Stopped;
                        self.fail_to_start(Some(i), reason);
                    }
                }
            }
            Done::Started(i, result) => {
                self.ctrs[i].busy = false;
                match result {
                    Ok(state) => {
                        let c = &mut self.ctrs[i];
                        c.status = CStatus::Running;
                        c.started = true;
                        c.started_instant = Some(Instant::now());
                        c.started_at = Some(now());
                        if let Some(state) = &state
                            && state.running
                        {
                            c.bindings = bindings(state);
                        }
                        // A container that has already run to completion still counts as started.
                        self.check_running();
                        if let Some(state) = state {
                            self.apply_state(i, &state);
                        }
                    }
                    Err(e) => {
                        let reason = format!("CannotStartContainerError: {}", err_text(&e));
                        self.ctrs[i].status = CStatus::Stopped;
                        self.fail_to_start(Some(i), reason);
                    }
                }
            }
            Done::Inspected(i, result) => match result {
                Ok(state) => self.apply_state(i, &state),
                Err(RuntimeError::NotFound(_)) => {
                    if self.ctrs[i].status == CStatus::Running {
                        self.ctrs[i].reason.get_or_insert_with(|| {
                            "ContainerMissing: the container was removed from the host".to_owned()
                        });
                        self.mark_exited(i, None, false);
                    }
                }
                Err(e) => warn!(task = %self.arn, container = %self.ctrs[i].def.name, error = %e, "inspect failed"),
            },
            Done::Stopped(i, result) => {
                self.ctrs[i].busy = false;
                match result {
                    Ok(Some(state)) if !state.running => {
                        self.apply_state(i, &state);
                        self.mark_exited(i, state.exit_code, state.oom_killed);
                    }
                    Ok(_) | Err(RuntimeError::NotFound(_)) => self.mark_exited(i, None, false),
                    Err(e) => {
                        let c = &mut self.ctrs[i];
                        c.stop_attempts += 1;
                        warn!(task = %self.arn, container = %c.def.name, error = %e, attempt = c.stop_attempts,
                            "stop failed");
                        if c.stop_attempts >= STOP_ATTEMPTS {
                            c.reason.get_or_insert_with(|| format!("CannotStopContainerError: {}", err_text(&e)));
                            self.mark_exited(i, None, false);
                        } else {
                            c.stop_issued = false;
                            c.retry_at = Some(Instant::now() + STOP_RETRY * c.stop_attempts);
                        }
                    }
                }
            }
            Done::CleanedUp => {
                self.release_credentials();
                self.release_web_identity();
                self.release_secrets();
                self.ctx.metadata.remove_task(&self.arn);
                info!(task = %self.arn, "task cleaned up");
                self.done = true;
            }
        }
    }

    // ---- state changes ----

    /// Records what the runtime says about a container (health, image, networks, ports, exit).
    fn apply_state(&mut self, i: usize, state: &ContainerState) {
        {
            let c = &mut self.ctrs[i];
            if !state.image_id.is_empty() {
                c.image_digest = Some(state.image_id.clone());
            }
            if state.created_at.is_some() {
                c.created_at = state.created_at;
            }
            if state.started_at.is_some() {
                c.started_at = state.started_at;
            }
            if !state.networks.is_empty() {
                c.networks = state.networks.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            }
            if state.running && c.status == CStatus::Running {
                let ports = bindings(state);
                if !ports.is_empty() || c.bindings.is_empty() {
                    c.bindings = ports;
                }
            }
        }
        if state.health.is_some() {
            self.set_health(i, state.health, state.health_output.clone());
        }
        if !state.running && self.ctrs[i].status == CStatus::Running {
            if state.finished_at.is_some() {
                self.ctrs[i].finished_at = state.finished_at;
            }
            self.mark_exited(i, state.exit_code, state.oom_killed || self.ctrs[i].oom);
        }
    }

    fn set_health(&mut self, i: usize, health: Option<Health>, output: Option<String>) {
        let c = &mut self.ctrs[i];
        if !c.has_health_check() {
            return;
        }
        if c.health != health {
            c.health = health;
            c.health_since = Some(now());
        }
        if output.is_some() {
            c.health_output = output;
        }
    }

    /// A container has exited (or is gone): record it, and stop the task when it was essential.
    fn mark_exited(&mut self, i: usize, code: Option<i32>, oom: bool) {
        let c = &mut self.ctrs[i];
        if c.status == CStatus::Stopped {
            if c.exit_code.is_none() {
                c.exit_code = code;
            }
            return;
        }
        let was_running = c.status == CStatus::Running;
        if was_running && self.stop.is_none() && restart_due(c, code) {
            // Restarted in place: the task goes on, the container is started again by the next progress step.
            c.restart_count += 1;
            c.status = CStatus::Created;
            c.exit_code = code;
            info!(task = %self.arn, container = %c.def.name, exit_code = ?code, restarts = c.restart_count,
                "container exited; restarting it under its restart policy");
            return;
        }
        c.status = CStatus::Stopped;
        c.started |= was_running;
        c.exit_code = code;
        if c.finished_at.is_none() && was_running {
            c.finished_at = Some(now());
        }
        if oom || c.oom {
            c.reason.get_or_insert_with(|| OOM_REASON.to_owned());
        }
        info!(task = %self.arn, container = %c.def.name, exit_code = ?code, "container exited");
        if c.def.is_essential() && self.stop.is_none() {
            self.begin_stop(
                Some(stop_code::ESSENTIAL_CONTAINER_EXITED),
                Some(ESSENTIAL_CONTAINER_EXITED_REASON.to_owned()),
            );
        }
    }

    /// The task goes to desired STOPPED. The first cause wins; a user stop (from the server) has no code.
    fn begin_stop(&mut self, code: Option<&str>, reason: Option<String>) {
        if self.stop.is_some() {
            return;
        }
        info!(task = %self.arn, code = ?code, reason = ?reason, "stopping task");
        self.stop = Some(StopCause { code: code.map(str::to_owned), reason });
        self.stopping_at.get_or_insert_with(now);
        // Pulls in flight are abandoned; dependency waits end with the next progress.
        let _ = self.cancel.send(true);
    }

    /// The task cannot start: TaskFailedToStart with `reason`, which is also the failing container's reason.
    fn fail_to_start(&mut self, container: Option<usize>, reason: String) {
        if let Some(i) = container {
            self.ctrs[i].reason.get_or_insert_with(|| reason.clone());
        }
        self.begin_stop(Some(stop_code::TASK_FAILED_TO_START), Some(reason));
    }

    /// Pending -> Running once every container has started (or has already run to completion).
    fn check_running(&mut self) {
        if self.stop.is_none()
            && self.status == TaskStatus::Pending
            && self.ctrs.iter().all(|c| c.started && matches!(c.status, CStatus::Running | CStatus::Stopped))
        {
            self.status = TaskStatus::Running;
            self.started_at = Some(now());
            info!(task = %self.arn, "task running");
        }
    }

    // ---- progress ----

    fn progress(&mut self) {
        if self.status != TaskStatus::Stopped && self.stop.is_none() {
            self.progress_start();
        }
        if self.status != TaskStatus::Stopped && self.stop.is_some() {
            self.progress_stop();
        }
        if self.status == TaskStatus::Stopped && self.cleanup_requested && !self.cleaning && self.ops.is_empty() {
            self.cleaning = true;
            self.launch_cleanup();
        }
    }

    fn progress_start(&mut self) {
        match self.phase {
            Phase::Start => {
                self.status = TaskStatus::Pending;
                if let Some(reason) = self.web_identity_problem().or_else(|| self.secrets_problem()) {
                    self.fail_to_start(None, reason);
                } else if self.role.as_ref().is_some_and(|r| !r.fetched) {
                    self.phase = Phase::Credentials;
                    self.launch_credentials();
                } else {
                    self.after_credentials();
                }
            }
            Phase::Credentials | Phase::WebIdentity | Phase::Secrets | Phase::Images | Phase::Volumes => {}
            Phase::Containers => {
                self.launch_creates();
                if self.stop.is_none() {
                    self.launch_starts();
                }
                self.check_running();
            }
        }
    }

    fn launch_creates(&mut self) {
        let order = self.creation_order.clone();
        for i in order {
            if self.stop.is_some() {
                return;
            }
            let c = &self.ctrs[i];
            if c.status != CStatus::Pending || c.busy {
                continue;
            }
            // volumesFrom sources, and the namespace owner for task pid/ipc modes, must exist first.
            let mut needs: Vec<usize> = c
                .def
                .volumes_from
                .iter()
                .filter_map(|v| v.source_container.as_deref())
                .filter_map(|s| self.ctrs.iter().position(|o| o.def.name == s))
                .collect();
            if self.task_namespaces()
                && let Some(owner) = self.namespace_owner.filter(|&o| o != i)
            {
                needs.push(owner);
            }
            if let Some(&gone) =
                needs.iter().find(|&&n| self.ctrs[n].runtime_id.is_none() && self.ctrs[n].status == CStatus::Stopped)
            {
                let reason = format!(
                    "CannotCreateContainerError: container {} needs container {}, which does not exist",
                    self.ctrs[i].def.name, self.ctrs[gone].def.name
                );
                self.ctrs[i].status = CStatus::Stopped;
                self.fail_to_start(Some(i), reason);
                return;
            }
            if needs.iter().all(|&n| self.ctrs[n].runtime_id.is_some()) {
                self.launch_create(i);
            }
        }
    }

    fn task_namespaces(&self) -> bool {
        self.def.pid_mode() == Some("task") || self.def.ipc_mode() == Some("task")
    }

    fn launch_starts(&mut self) {
        // Starts begin once every container exists.
        if self.ctrs.iter().any(|c| c.status == CStatus::Pending) {
            return;
        }
        let now_instant = Instant::now();
        let wait_began = *self.wait_began.get_or_insert(now_instant);
        for i in 0..self.ctrs.len() {
            if self.ctrs[i].status != CStatus::Created || self.ctrs[i].busy {
                continue;
            }
            match self.readiness(i, wait_began, now_instant) {
                Readiness::Ready => self.launch_start(i),
                Readiness::Wait { .. } => {}
                Readiness::Never(reason) => {
                    warn!(task = %self.arn, %reason, "dependency can never be satisfied");
                    let c = &mut self.ctrs[i];
                    c.reason = Some(DEPENDENCY_NOT_SATISFIED_REASON.to_owned());
                    self.begin_stop(Some(stop_code::TASK_FAILED_TO_START), Some(reason));
                    return;
                }
            }
        }
    }

    fn readiness(&self, i: usize, wait_began: Instant, now: Instant) -> Readiness {
        let states: Vec<DepState<'_>> = self
            .ctrs
            .iter()
            .map(|c| DepState {
                name: c.def.name.as_str(),
                progress: c.progress(),
                healthy: c.health == Some(Health::Healthy),
                has_health_check: c.has_health_check(),
                started: c.started_instant,
                start_timeout: c.def.start_timeout.and_then(|s| u64::try_from(s).ok()).map(Duration::from_secs),
            })
            .collect();
        let c = &self.ctrs[i];
        let own = c.def.start_timeout.and_then(|s| u64::try_from(s).ok()).filter(|&s| s > 0).map(Duration::from_secs);
        deps::readiness(&c.def.name, c.def.dependencies(), &states, wait_began, own, now)
    }

    fn progress_stop(&mut self) {
        // Whatever has not started will not.
        for c in &mut self.ctrs {
            if !c.busy && matches!(c.status, CStatus::Pending | CStatus::Created) {
                c.status = CStatus::Stopped;
            }
        }
        let any_running = self.ctrs.iter().any(|c| c.status == CStatus::Running);
        if any_running && self.status < TaskStatus::Stopping {
            self.status = TaskStatus::Stopping;
        }
        // Reverse dependency order: a container stops once every container depending on it has stopped.
        let now_instant = Instant::now();
        for i in 0..self.ctrs.len() {
            let c = &self.ctrs[i];
            if c.status != CStatus::Running || c.busy || c.stop_issued {
                continue;
            }
            if c.retry_at.is_some_and(|at| at > now_instant) {
                continue;
            }
            if self.dependents[i].iter().all(|&d| self.ctrs[d].status == CStatus::Stopped) {
                self.launch_stop(i);
            }
        }
        if self.ctrs.iter().all(|c| c.status == CStatus::Stopped && !c.busy) && self.ops.is_empty() {
            self.status = TaskStatus::Stopped;
            self.execution_stopped_at.get_or_insert_with(now);
            self.shared.stopped.store(true, Ordering::Relaxed);
            self.release_credentials();
            self.release_web_identity();
            self.release_secrets();
            info!(task = %self.arn, "task stopped");
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut deadline: Option<Instant> = None;
        let mut consider = |at: Instant| deadline = Some(deadline.map_or(at, |d| d.min(at)));
        if self.stop.is_some() {
            for c in &self.ctrs {
                if let Some(at) = c.retry_at.filter(|_| c.status == CStatus::Running && !c.stop_issued) {
                    consider(at);
                }
            }
        } else if let Some(wait_began) = self.wait_began {
            let now_instant = Instant::now();
            for i in 0..self.ctrs.len() {
                if self.ctrs[i].status == CStatus::Created
                    && !self.ctrs[i].busy
                    && let Readiness::Wait { deadline: Some(at) } = self.readiness(i, wait_began, now_instant)
                {
                    consider(at);
                }
            }
        }
        deadline
    }

    // ---- runtime operations ----

    /// The first fetch of the task role's credentials, cancelled by a stop.
    fn launch_credentials(&mut self) {
        let Some(role) = &self.role else { return };
        let source = self.ctx.credentials.get().cloned().filter(|_| self.ctx.config.credentials_endpoint.is_some());
        let Some(source) = source else {
            let reason = format!(
                "CannotStartContainerError: this agent has no credentials endpoint, so it cannot give the task the \
                 role '{}'",
                role.role_arn
            );
            self.fail_to_start(None, reason);
            return;
        };
        let (arn, role_arn) = (self.arn.clone(), role.role_arn.clone());
        let cancel = self.cancel.subscribe();
        self.ops.push(
            async move {
                tokio::select! {
                    result = credentials::fetch_for_start(source.as_ref(), &arn, TaskRole::Task, &role_arn) => {
                        Done::Credentials(Some(result))
                    }
                    _ = cancelled(cancel) => Done::Credentials(None),
                }
            }
            .boxed(),
        );
    }

    /// Serves the task role's credentials under the task's id and token, and keeps them fresh: from `first` when
    /// given (the start's fetch), else fetched at once (an adopted task).
    fn serve_credentials(&mut self, first: Option<TaskCredentials>) {
        let Some(role) = self.role.as_mut() else { return };
        role.fetched = true;
        let Some(source) = self.ctx.credentials.get().cloned() else { return };
        let store = self.ctx.metadata.credentials().clone();
        store.register(&role.id, &self.arn, &role.token);
        let next = match first {
            Some(c) => {
                let next = credentials::refresh_delay(c.expiration, credentials::epoch_now());
                store.set(&role.id, c);
                next
            }
            None => Duration::ZERO,
        };
        role.refresher = Some(Refresher::spawn(source, store, role.id.clone(), self.arn.clone(), TaskRole::Task, next));
    }

    /// The task stopped: its credentials are no longer served nor refreshed.
    fn release_credentials(&mut self) {
        if let Some(role) = self.role.as_mut() {
            // Dropping the refresher aborts it; the store refuses its late writes once the entry is gone.
            role.refresher = None;
            self.ctx.metadata.credentials().remove(&role.id);
        }
    }

    /// Why the task's web identity tokens cannot be had, found before anything is fetched: wrong labels, no task
    /// role (the token's subject), no directory for the files.
    fn web_identity_problem(&self) -> Option<String> {
        if let Some(problem) = &self.web_identity.problem {
            return Some(problem.clone());
        }
        let (first, _) = self.web_identity.requests.first()?;
        let name = &self.ctrs[*first].def.name;
        if self.role.is_none() {
            return Some(format!(
                "ResourceInitializationError: container {name} asks for a web identity token (docker label {}) but \
                 the task has no task role (taskRoleArn), which is the token's subject",
                berth_model::agent::web_identity::AUDIENCE_LABEL
            ));
        }
        if self.ctx.config.tasks_dir.is_none() || self.ctx.credentials.get().is_none() {
            return Some(format!(
                "ResourceInitializationError: container {name} asks for a web identity token, and this agent has no \
                 directory for task files or no server to ask"
            ));
        }
        None
    }

    /// The task role's credentials are in place (or there is no role): the web identity tokens next, then the
    /// secrets, then images.
    fn after_credentials(&mut self) {
        if self.web_identity.requests.is_empty() || self.web_identity.ready {
            self.after_web_identity();
        } else {
            self.phase = Phase::WebIdentity;
            self.launch_web_identity();
        }
    }

    /// The web identity tokens are in place (or none were asked for): the secrets next, then images.
    fn after_web_identity(&mut self) {
        if self.secrets.ready {
            self.begin_images();
        } else {
            self.phase = Phase::Secrets;
            self.launch_secrets();
        }
    }

    /// Why the task's secrets cannot be had, found before anything is fetched: a malformed definition, no
    /// execution role, no server to ask, no place for the files or no env shim.
    fn secrets_problem(&self) -> Option<String> {
        if let Some(problem) = &self.secrets.problem {
            return Some(problem.clone());
        }
        let first = self.secrets.needs.first()?;
        let name = &self.ctrs[first.used_for.container()].def.name;
        if self.secrets.execution_role.is_none() {
            return Some(secrets::no_execution_role(&self.secrets.needs, name));
        }
        if self.ctx.credentials.get().is_none() || self.ctx.secrets.get().is_none() {
            return Some(format!(
                "{}container {name} needs secrets or registry credentials, and this agent has no server to ask for \
                 them",
                secrets::REASON_PREFIX
            ));
        }
        if let Some(&i) = self.secrets.shimmed.first() {
            let files = self.ctx.config.tasks_dir.is_some() && self.ctx.config.support_dir.is_some();
            if !files || !shim::available() {
                return Some(format!(
                    "{}container {} has secrets, and this agent has no directory for task files or was built \
                     without the env shim that gives containers their secrets",
                    secrets::REASON_PREFIX,
                    self.ctrs[i].def.name
                ));
            }
        }
        None
    }

    /// The directory mounted into container `i` for its secrets.
    fn secrets_dir(&self, i: usize) -> Option<PathBuf> {
        let dir = self.ctx.config.tasks_dir.as_deref()?;
        Some(shim::container_dir(dir, self.task.id(), &self.ctrs[i].def.name))
    }

    /// The execution role's credentials, then the secrets as that role, cancelled by a stop; then the files (not
    /// cancelled, so a stop that deletes them never races a write that creates them).
    fn launch_secrets(&mut self) {
        let (Some(roles), Some(source)) = (self.ctx.credentials.get().cloned(), self.ctx.secrets.get().cloned()) else {
            return;
        };
        let role_arn = self.secrets.execution_role.clone().unwrap_or_default();
        let needs = self.secrets.needs.clone();
        let arn = self.arn.clone();
        let env_files: Vec<(usize, String, PathBuf)> = self
            .secrets
            .shimmed
            .iter()
            .filter_map(|&i| Some((i, self.ctrs[i].def.name.clone(), self.secrets_dir(i)?)))
            .collect();
        let images: BTreeMap<usize, String> = self.ctrs.iter().map(|c| c.def.image.clone()).enumerate().collect();
        let support_dir = self.ctx.config.support_dir.clone();
        let cancel = self.cancel.subscribe();
        self.ops.push(
            async move {
                let fetch = async {
                    let session = credentials::fetch_with_retries(roles.as_ref(), &arn, TaskRole::Execution, &role_arn)
                        .await
                        .map_err(|e| secrets::execution_role_failure(&role_arn, &e))?;
                    let values = secrets::resolve(source.as_ref(), &session, &needs).await?;
                    Ok::<_, String>(secrets::Resolved::sort(&needs, values))
                };
                let resolved = tokio::select! {
                    resolved = fetch => resolved,
                    _ = cancelled(cancel) => return Done::Secrets(None),
                };
                let result = async move {
                    let mut resolved = resolved?;
                    let mut registry = BTreeMap::new();
                    for (i, value) in &resolved.registry {
                        let image = images.get(i).map(String::as_str).unwrap_or_default();
                        registry.insert(*i, secrets::registry_auth(value, image)?);
                    }
                    let mut files = Vec::with_capacity(env_files.len());
                    for (i, name, dir) in env_files {
                        let entries = resolved.env.remove(&i).unwrap_or_default();
                        files.push((dir, shim::encode(&name, &entries)?));
                    }
                    let mut shim_path = None;
                    if let (false, Some(support_dir)) = (files.is_empty(), support_dir) {
                        let written = tokio::task::spawn_blocking(move || {
                            let path = shim::install(&support_dir)?;
                            for (dir, bytes) in &files {
                                shim::write_env(dir, bytes)?;
                            }
                            Ok::<_, std::io::Error>(path)
                        })
                        .await
                        .map_err(std::io::Error::other)
                        .and_then(|r| r);
                        shim_path = Some(written.map_err(|e| {
                            format!("{}cannot write the task's secret files: {e}", secrets::REASON_PREFIX)
                        })?);
                    }
                    Ok(StartSecrets { shim: shim_path, registry, log_options: resolved.log_options })
                };
                Done::Secrets(Some(result.await))
            }
            .boxed(),
        );
    }

    /// The task stopped: what the start resolved is forgotten, and the secret files go.
    fn release_secrets(&mut self) {
        self.secrets.registry.clear();
        self.secrets.log_options.clear();
        if !self.secrets.shimmed.is_empty()
            && let Some(dir) = self.ctx.config.tasks_dir.as_deref()
        {
            shim::remove_task(dir, self.task.id());
        }
    }

    /// The directory mounted into container `i` for its token.
    fn web_identity_dir(&self, i: usize) -> Option<std::path::PathBuf> {
        let dir = self.ctx.config.tasks_dir.as_deref()?;
        Some(web_identity::container_dir(dir, self.task.id(), &self.ctrs[i].def.name))
    }

    /// Each audience asked for, with the directories its token goes to.
    fn web_identity_audiences(&self) -> Vec<(String, Vec<std::path::PathBuf>)> {
        let mut out: Vec<(String, Vec<std::path::PathBuf>)> = Vec::new();
        for (i, request) in &self.web_identity.requests {
            let Some(dir) = self.web_identity_dir(*i) else { continue };
            match out.iter_mut().find(|(a, _)| *a == request.audience) {
                Some((_, dirs)) => dirs.push(dir),
                None => out.push((request.audience.clone(), vec![dir])),
            }
        }
        out
    }

    /// The first fetch of the web identity tokens, cancelled by a stop; then their files (not cancelled, so a
    /// stop that deletes the directory never races a write that creates it).
    fn launch_web_identity(&mut self) {
        let Some(source) = self.ctx.credentials.get().cloned() else { return };
        let audiences = self.web_identity_audiences();
        let arn = self.arn.clone();
        let cancel = self.cancel.subscribe();
        self.ops.push(
            async move {
                let fetch = async {
                    let mut tokens = Vec::with_capacity(audiences.len());
                    for (audience, dirs) in audiences {
                        let token = web_identity::fetch_for_start(source.as_ref(), &arn, &audience).await?;
                        tokens.push((audience, dirs, token));
                    }
                    Ok::<_, String>(tokens)
                };
                let tokens = tokio::select! {
                    tokens = fetch => tokens,
                    _ = cancelled(cancel) => return Done::WebIdentity(None),
                };
                let result = async {
                    let mut first = Vec::new();
                    for (audience, dirs, token) in tokens? {
                        web_identity::write_all(dirs.clone(), token.token, true).await.map_err(|e| {
                            format!(
                                "ResourceInitializationError: cannot write the web identity token for audience \
                                 '{audience}': {e}"
                            )
                        })?;
                        first.push((audience, dirs, token.expiration));
                    }
                    Ok(first)
                };
                Done::WebIdentity(Some(result.await))
            }
            .boxed(),
        );
    }

    /// The tokens are in place: keeps them fresh, from their expirations when given (the start's fetch), else
    /// fetched at once (an adopted task).
    fn serve_web_identity(&mut self, first: Option<FirstTokens>) {
        self.web_identity.ready = true;
        let Some(source) = self.ctx.credentials.get().cloned() else { return };
        let now = credentials::epoch_now();
        let audiences = match first {
            Some(first) => first
                .into_iter()
                .map(|(audience, dirs, expiration)| (audience, dirs, web_identity::refresh_delay(expiration, now)))
                .collect(),
            None => self
                .web_identity_audiences()
                .into_iter()
                .map(|(audience, dirs)| (audience, dirs, Duration::ZERO))
                .collect(),
        };
        self.web_identity.refresher = Some(web_identity::Refresher::spawn(source, self.arn.clone(), audiences));
    }

    /// The task stopped: its tokens are no longer refreshed, and their directory goes.
    fn release_web_identity(&mut self) {
        self.web_identity.refresher = None;
        if !self.web_identity.requests.is_empty()
            && let Some(dir) = self.ctx.config.tasks_dir.as_deref()
        {
            web_identity::remove_task(dir, self.task.id());
        }
    }

    fn begin_images(&mut self) {
        self.pull_started_at.get_or_insert_with(now);
        self.phase = Phase::Images;
        self.launch_images();
    }

    fn launch_images(&mut self) {
        // Containers sharing an image and registry credentials share a pull.
        let mut groups: Vec<(String, Option<RegistryAuth>, Vec<usize>)> = Vec::new();
        for (i, c) in self.ctrs.iter().enumerate() {
            if c.status != CStatus::Pending {
                continue;
            }
            let auth = self.secrets.registry.get(&i).cloned();
            match groups.iter_mut().find(|(image, a, _)| *image == c.def.image && *a == auth) {
                Some((_, _, members)) => members.push(i),
                None => groups.push((c.def.image.clone(), auth, vec![i])),
            }
        }
        let runtime = self.ctx.runtime.clone();
        let cancel = self.cancel.subscribe();
        self.ops.push(
            async move {
                let pulls = join_all(groups.into_iter().map(|(image, auth, members)| {
                    let pull = pull_one(runtime.clone(), image, auth);
                    async move { (members, pull.await) }
                }));
                tokio::select! {
                    results = pulls => Done::Images(Some(results)),
                    _ = cancelled(cancel) => Done::Images(None),
                }
            }
            .boxed(),
        );
    }

    fn launch_volumes(&mut self) {
        let runtime = self.ctx.runtime.clone();
        let create: Vec<VolumeSpec> = self.volumes.create.clone();
        self.ops.push(
            async move {
                for volume in &create {
                    if let Err(e) = runtime.create_volume(volume).await {
                        return Done::Volumes(Err(format!(
                            "ResourceInitializationError: failed to create volume {}: {}",
                            volume.name,
                            err_text(&e)
                        )));
                    }
                }
                Done::Volumes(Ok(()))
            }
            .boxed(),
        );
    }

    fn container_spec(&self, i: usize) -> ContainerSpec {
        let c = &self.ctrs[i];
        let volumes_from = c
            .def
            .volumes_from
            .iter()
            .filter_map(|v| {
                let source = v.source_container.as_deref()?;
                let id = self.ctrs.iter().find(|o| o.def.name == source)?.runtime_id.clone()?;
                Some((id, v.read_only.unwrap_or(false)))
            })
            .collect();
        let namespace_owner = if self.task_namespaces() {
            self.namespace_owner.filter(|&o| o != i).and_then(|o| self.ctrs[o].runtime_id.clone())
        } else {
            None
        };
        let network_mode = spec::network_mode(&self.def);
        let mut extra_env = spec::metadata_env(self.ctx.config.metadata_endpoint.as_deref(), &c.token);
        if let (Some(role), Some(endpoint)) = (&self.role, self.ctx.config.credentials_endpoint.as_deref()) {
            extra_env.extend(credentials::env(endpoint, &role.id, &role.token));
        }
        let mut definition = c.def.clone();
        let mut volumes = self.volumes.sources.clone();
        // A web identity token: its directory, read-only, where AWS_WEB_IDENTITY_TOKEN_FILE says.
        if let Some((_, request)) = self.web_identity.requests.iter().find(|(j, _)| *j == i)
            && let Some(dir) = self.web_identity_dir(i)
        {
            volumes.insert(WEB_IDENTITY_VOLUME.to_owned(), VolumeSource::HostPath(dir.to_string_lossy().into_owned()));
            definition.mount_points.push(MountPoint {
                source_volume: Some(WEB_IDENTITY_VOLUME.to_owned()),
                container_path: Some(berth_model::agent::web_identity::MOUNT_PATH.to_owned()),
                read_only: Some(true),
            });
            extra_env.extend(web_identity::env(request, self.task.id()));
        }
        // Secrets: the container's directory and the env shim, read-only (the shim becomes the entry point when the
        // container is created, see `launch_create`).
        if self.secrets.shimmed.contains(&i)
            && let (Some(dir), Some(shim_path)) = (self.secrets_dir(i), self.secrets.shim.as_ref())
        {
            volumes.insert(SECRETS_VOLUME.to_owned(), VolumeSource::HostPath(dir.to_string_lossy().into_owned()));
            definition.mount_points.push(MountPoint {
                source_volume: Some(SECRETS_VOLUME.to_owned()),
                container_path: Some(shim::SECRETS_DIR.to_owned()),
                read_only: Some(true),
            });
            volumes.insert(SHIM_VOLUME.to_owned(), VolumeSource::HostPath(shim_path.to_string_lossy().into_owned()));
            definition.mount_points.push(MountPoint {
                source_volume: Some(SHIM_VOLUME.to_owned()),
                container_path: Some(shim::SHIM_PATH.to_owned()),
                read_only: Some(true),
            });
        }
        // Berth's CA, for the SDKs that act as the task's role to reach an HTTPS Berth.
        if self.role.is_some()
            && let Some(ca) = &self.ctx.task_ca
        {
            volumes.insert(CA_VOLUME.to_owned(), VolumeSource::HostPath(ca.to_string_lossy().into_owned()));
            definition.mount_points.push(MountPoint {
                source_volume: Some(CA_VOLUME.to_owned()),
                container_path: Some(credentials::ca::MOUNT_PATH.to_owned()),
                read_only: Some(true),
            });
            extra_env.extend(credentials::ca::env(&c.def));
        }
        // Only the bridge publishes ports: host mode uses the container's own.
        if network_mode == "bridge" {
            spec::assign_host_ports(&mut definition, &c.assigned_bindings);
        }
        let mut log_driver = spec::log_driver(&c.def);
        if let (Some((_, options)), Some(secret_options)) = (log_driver.as_mut(), self.secrets.log_options.get(&i)) {
            options.extend(secret_options.iter().cloned());
        }
        ContainerSpec {
            runtime_name: c.runtime_name.clone(),
            definition,
            network_mode,
            labels: c.labels.clone(),
            extra_env,
            volumes,
            volumes_from,
            gpu_ids: c.gpu_ids.clone(),
            pid_mode: self.def.pid_mode().map(str::to_owned),
            ipc_mode: self.def.ipc_mode().map(str::to_owned),
            namespace_owner,
            stop_timeout: c.stop_timeout,
            log_driver,
        }
    }

    fn launch_create(&mut self, i: usize) {
        let mut spec = self.container_spec(i);
        self.ctrs[i].busy = true;
        let runtime = self.ctx.runtime.clone();
        // A container with environment secrets starts through the env shim, never without its secrets.
        let through_shim = self.secrets.shimmed.contains(&i);
        let shim_ready = self.secrets.shim.is_some() && self.secrets_dir(i).is_some();
        self.ops.push(
            async move {
                if through_shim {
                    if !shim_ready {
                        let e = RuntimeError::Rejected(
                            "the env shim that gives the container its secrets is not installed".into(),
                        );
                        return Done::Created(i, Err(e));
                    }
                    let image = if shim::needs_image(&spec.definition) {
                        match runtime.image_command(&spec.definition.image).await {
                            Ok(command) => Some(command),
                            Err(e) => return Done::Created(i, Err(e)),
                        }
                    } else {
                        None
                    };
                    if let Err(e) = shim::wrap(&mut spec.definition, image.as_ref()) {
                        return Done::Created(i, Err(e));
                    }
                }
                Done::Created(i, runtime.create_container(&spec).await)
            }
            .boxed(),
        );
    }

    fn launch_start(&mut self, i: usize) {
        let Some(id) = self.ctrs[i].runtime_id.clone() else { return };
        self.ctrs[i].busy = true;
        let runtime = self.ctx.runtime.clone();
        self.ops.push(
            async move {
                if let Err(e) = runtime.start_container(&id).await {
                    return Done::Started(i, Err(e));
                }
                Done::Started(i, Ok(runtime.inspect_container(&id).await.ok()))
            }
            .boxed(),
        );
    }

    fn launch_stop(&mut self, i: usize) {
        let Some(id) = self.ctrs[i].runtime_id.clone() else {
            self.mark_exited(i, None, false);
            return;
        };
        let c = &mut self.ctrs[i];
        c.busy = true;
        c.stop_issued = true;
        c.retry_at = None;
        let timeout = c.stop_timeout;
        debug!(task = %self.arn, container = %c.def.name, ?timeout, "stopping container");
        let runtime = self.ctx.runtime.clone();
        self.ops.push(
            async move {
                if let Err(e) = runtime.stop_container(&id, timeout).await {
                    return Done::Stopped(i, Err(e));
                }
                Done::Stopped(i, Ok(runtime.inspect_container(&id).await.ok()))
            }
            .boxed(),
        );
    }

    fn launch_inspect(&mut self, i: usize) {
        let Some(id) = self.ctrs[i].runtime_id.clone() else { return };
        let runtime = self.ctx.runtime.clone();
        self.ops.push(async move { Done::Inspected(i, runtime.inspect_container(&id).await) }.boxed());
    }

    fn launch_cleanup(&mut self) {
        let runtime = self.ctx.runtime.clone();
        let mut containers: Vec<String> = self.ctrs.iter().filter_map(|c| c.runtime_id.clone()).collect();
        containers.extend(self.strays.iter().cloned());
        let volumes = self.volumes.task_scoped.clone();
        let stop_timeout = self.ctx.config.default_stop_timeout;
        let arn = self.arn.clone();
        let shipper = self.ctx.logs.get().cloned();
        self.ops.push(
            async move {
                for id in &containers {
                    if let Ok(state) = runtime.inspect_container(id).await
                        && state.running
                    {
                        let _ = runtime.stop_container(id, stop_timeout).await;
                    }
                    super::Ctx::drain_logs(shipper.clone(), id).await;
                    match runtime.remove_container(id).await {
                        Ok(()) | Err(RuntimeError::NotFound(_)) => {}
                        Err(e) => warn!(task = %arn, container = %id, error = %e, "could not remove container"),
                    }
                }
                for volume in &volumes {
                    match runtime.remove_volume(volume).await {
                        Ok(()) | Err(RuntimeError::NotFound(_)) => {}
                        Err(e) => warn!(task = %arn, %volume, error = %e, "could not remove volume"),
                    }
                }
                Done::CleanedUp
            }
            .boxed(),
        );
    }

    // ---- outputs ----

    /// Sends a report and publishes metadata when anything changed since the last time.
    fn publish(&mut self) {
        let metadata = self.metadata_snapshot();
        if self.last_metadata.as_ref() != Some(&metadata) && !self.cleaning && !self.done {
            self.ctx.metadata.update_task(metadata.clone());
            self.last_metadata = Some(metadata);
        }
        if self.silent {
            return;
        }
        let mut report = self.report_snapshot();
        let status_changed = self.reported_status != Some(self.status);
        if !status_changed && self.last_report.as_ref() == Some(&report) {
            return;
        }
        let unchanged = report.clone();
        if status_changed {
            report.status = Some(self.status.as_str().to_owned());
            self.reported_status = Some(self.status);
        }
        debug!(task = %self.arn, status = ?report.status, "reporting task state");
        let _ = self.ctx.reports.send(report);
        self.last_report = Some(unchanged);
    }
}
