//! A **fake** container runtime: everything lives in memory and nothing runs. It is for unit tests and for hollow
//! agents (the scale simulation of DESIGN.md section 5, where thousands of agents share one machine), never for
//! real hosts.
//!
//! Behaviour, kept simple and deterministic:
//! - Images are present unless a test says otherwise ([`FakeRuntime::remove_image`], [`FakeRuntime::fail_pull`]);
//!   a pull makes an image present.
//! - A started container "runs" until it is stopped, removed, or a test makes it exit ([`FakeRuntime::exit`],
//!   [`FakeRuntime::oom`]). There are no per-container tasks or timers.
//! - `stop_container` sends "SIGTERM": the container exits with 143 at once. A container that ignores SIGTERM (its
//!   environment sets `BERTH_FAKE_IGNORE_SIGTERM=1`, its command or entry point contains `trap '' TERM`, or a test
//!   called [`FakeRuntime::ignore_sigterm`]) is killed after the stop timeout (a tokio sleep, so paused-time tests
//!   stay instant) and exits with 137; the call log records that SIGKILL was needed.
//! - A container whose environment sets `BERTH_FAKE_EXIT_CODE=<n>` exits with `n` as soon as it has started (a
//!   one-shot container, for init containers in hollow agents).
//! - Containers with a health check report [`Health::Starting`] until a test sets their health; the hollow
//!   runtime ([`FakeRuntime::hollow`]) reports them healthy at once.
//! - Host ports: a mapping's fixed host port, or a dynamic one counted up from 49153 (bridge mode); the container
//!   port itself in host mode. A fixed port held by another running container makes the start fail, as Docker's
//!   "port is already allocated".
//! - Events go out on a tokio broadcast channel; `events()` filters them by labels. A subscriber that falls behind
//!   gets one error and its stream ends, so that it subscribes again and resynchronises.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast;

use super::{
    ContainerRuntime, ContainerSpec, ContainerState, ContainerStats, EventKind, Health, ImageCommand, LogLine,
    PortBinding, RegistryAuth, Result, RuntimeError, RuntimeEvent, RuntimeInfo, VolumeSource, VolumeSpec,
};

/// Environment variable that makes a fake container ignore SIGTERM.
pub const IGNORE_SIGTERM_ENV: &str = "BERTH_FAKE_IGNORE_SIGTERM";
/// Environment variable that makes a fake container exit with the given code right after it starts.
pub const EXIT_CODE_ENV: &str = "BERTH_FAKE_EXIT_CODE";

/// First dynamic host port, as Docker's default ephemeral range.
const FIRST_DYNAMIC_PORT: u16 = 49153;

/// One call the runtime received, for assertions. Containers are named by their definition's container name
/// (`container`) as well as by runtime id.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeCall {
    ImagePresent {
        image: String,
    },
    Pull {
        image: String,
        auth: Option<RegistryAuth>,
    },
    ImageCommand {
        image: String,
    },
    CreateVolume {
        name: String,
    },
    RemoveVolume {
        name: String,
    },
    Create {
        name: String,
        container: String,
    },
    Start {
        id: String,
        container: String,
    },
    /// `killed`: the container ignored SIGTERM and needed SIGKILL after `timeout`.
    Stop {
        id: String,
        container: String,
        timeout: Duration,
        killed: bool,
    },
    Inspect {
        id: String,
        container: String,
    },
    Remove {
        id: String,
        container: String,
    },
    List,
    Stats {
        id: String,
    },
}

/// An in-memory [`ContainerRuntime`]; see the module documentation. **Fake: runs nothing.**
pub struct FakeRuntime {
    state: Mutex<State>,
    events: broadcast::Sender<RuntimeEvent>,
    logs: std::sync::Arc<FakeLogs>,
}

/// Output tests push into containers ([`FakeRuntime::push_log`]), and which containers run, for `logs()` streams
/// that outlive the call.
#[derive(Default)]
struct FakeLogs {
    lines: Mutex<HashMap<String, Vec<LogLine>>>,
    running: Mutex<HashSet<String>>,
    changed: tokio::sync::Notify,
}

impl FakeLogs {
    /// The container's lines from index `from` on, and whether it runs.
    fn read(&self, id: &str, from: usize) -> (Vec<LogLine>, bool) {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let new = lines.get(id).map(|l| l.get(from..).unwrap_or_default().to_vec()).unwrap_or_default();
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner()).contains(id);
        (new, running)
    }
}

struct State {
    record_calls: bool,
    auto_healthy: bool,
    calls: Vec<FakeCall>,
    next_id: u64,
    next_port: u16,
    next_ip: u32,
    info: RuntimeInfo,
    missing_images: HashSet<String>,
    pull_failures: HashMap<String, String>,
    pull_delay: Option<Duration>,
    image_commands: HashMap<String, ImageCommand>,
    create_failures: HashMap<String, String>,
    start_failures: HashMap<String, String>,
    containers: BTreeMap<String, FakeContainer>,
    names: HashMap<String, String>,
    volumes: BTreeMap<String, VolumeSpec>,
}

struct FakeContainer {
    id: String,
    spec: ContainerSpec,
    running: bool,
    exit_code: Option<i32>,
    oom_killed: bool,
    error: Option<String>,
    health: Option<Health>,
    health_output: Option<String>,
    created_at: f64,
    started_at: Option<f64>,
    finished_at: Option<f64>,
    ports: Vec<PortBinding>,
    ip: Option<String>,
    ignore_sigterm: bool,
}

impl FakeContainer {
    fn state(&self) -> ContainerState {
        let mut networks = BTreeMap::new();
        if let Some(ip) = &self.ip {
            networks.insert(self.spec.network_mode.clone(), ip.clone());
        }
        ContainerState {
            id: self.id.clone(),
            name: self.spec.runtime_name.clone(),
            labels: self.spec.labels.clone(),
            running: self.running,
            exit_code: self.exit_code,
            oom_killed: self.oom_killed,
            error: self.error.clone(),
            health: self.health,
            health_output: self.health_output.clone(),
            started_at: self.started_at,
            finished_at: self.finished_at,
            ports: if self.running { self.ports.clone() } else { Vec::new() },
            image: self.spec.definition.image.clone(),
            image_id: image_id(&self.spec.definition.image),
            networks,
            created_at: Some(self.created_at),
        }
    }

    fn container_name(&self) -> String {
        self.spec.definition.name.clone()
    }

    fn env(&self, name: &str) -> Option<String> {
        let from_extra = self.spec.extra_env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        from_extra.or_else(|| {
            self.spec
                .definition
                .environment
                .iter()
                .rev()
                .find(|kv| kv.name.as_deref() == Some(name))
                .and_then(|kv| kv.value.clone())
        })
    }

    fn event(&self, kind: EventKind) -> RuntimeEvent {
        RuntimeEvent { container_id: self.id.clone(), kind, labels: self.spec.labels.clone() }
    }

    /// Marks the container exited; returns the die event.
    fn exit(&mut self, code: i32) -> RuntimeEvent {
        self.running = false;
        self.exit_code = Some(code);
        self.finished_at = Some(now());
        self.event(EventKind::Die)
    }
}

impl Default for FakeRuntime {
    fn default() -> Self {
        FakeRuntime::new()
    }
}

impl FakeRuntime {
    /// A fake runtime for tests: it records every call; containers with a health check stay `Starting` until the
    /// test sets their health.
    pub fn new() -> FakeRuntime {
        FakeRuntime::build(true, false, 1024)
    }

    /// A fake runtime for hollow agents: no call log (memory stays flat however long it runs), health checks
    /// pass at once, a small event buffer.
    pub fn hollow() -> FakeRuntime {
        FakeRuntime::build(false, true, 128)
    }

    /// A hollow runtime on a host of `cpus` CPUs and `memory_bytes` of memory: a scale benchmark sizes its fake
    /// hosts so that the tasks it asks for fit.
    pub fn hollow_with(cpus: u32, memory_bytes: u64) -> FakeRuntime {
        let fake = FakeRuntime::hollow();
        {
            let mut state = fake.lock();
            state.info.cpus = cpus;
            state.info.memory_bytes = memory_bytes;
        }
        fake
    }

    fn build(record_calls: bool, auto_healthy: bool, event_capacity: usize) -> FakeRuntime {
        let (events, _) = broadcast::channel(event_capacity);
        FakeRuntime {
            state: Mutex::new(State {
                record_calls,
                auto_healthy,
                calls: Vec::new(),
                next_id: 1,
                next_port: FIRST_DYNAMIC_PORT,
                next_ip: 2,
                info: RuntimeInfo {
                    version: "fake".to_owned(),
                    api_version: "1.41".to_owned(),
                    cpus: 4,
                    memory_bytes: 8 << 30,
                    os_type: "linux".to_owned(),
                    architecture: "x86_64".to_owned(),
                    log_drivers: vec!["json-file".to_owned(), "none".to_owned()],
                    bridge_gateway: Some("172.17.0.1".to_owned()),
                },
                missing_images: HashSet::new(),
                pull_failures: HashMap::new(),
                pull_delay: None,
                image_commands: HashMap::new(),
                create_failures: HashMap::new(),
                start_failures: HashMap::new(),
                containers: BTreeMap::new(),
                names: HashMap::new(),
                volumes: BTreeMap::new(),
            }),
            events,
            logs: std::sync::Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock (only possible in a test) must not hide the state from the next caller.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn emit(&self, events: Vec<RuntimeEvent>) {
        if !events.is_empty() {
            let mut running = self.logs.running.lock().unwrap_or_else(|p| p.into_inner());
            for event in &events {
                match event.kind {
                    EventKind::Start => running.insert(event.container_id.clone()),
                    EventKind::Die => running.remove(&event.container_id),
                    _ => false,
                };
            }
            drop(running);
            self.logs.changed.notify_waiters();
        }
        for event in events {
            // No subscriber is fine.
            let _ = self.events.send(event);
        }
    }

    // ---- test controls ----

    /// Appends a line to a container's output, stamped now (`container`: as for [`FakeRuntime::exit`]).
    /// Returns whether the container exists.
    pub fn push_log(&self, container: &str, message: &str) -> bool {
        let ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or_default();
        self.push_log_at(container, ns, message)
    }

    /// Appends a line stamped `timestamp_ns` to a container's output.
    pub fn push_log_at(&self, container: &str, timestamp_ns: i64, message: &str) -> bool {
        let Some(id) = self.lock().find(container) else { return false };
        let line = LogLine { timestamp_ns, stderr: false, message: message.to_owned() };
        self.logs.lines.lock().unwrap_or_else(|p| p.into_inner()).entry(id).or_default().push(line);
        self.logs.changed.notify_waiters();
        true
    }

    /// Replaces what `info()` answers (CPUs, memory, ...).
    pub fn set_info(&self, info: RuntimeInfo) {
        self.lock().info = info;
    }

    /// Makes `image` absent locally: `image_present` answers false until it is pulled.
    pub fn remove_image(&self, image: &str) {
        self.lock().missing_images.insert(image.to_owned());
    }

    /// Makes `image` absent and every pull of it fail with `message`.
    pub fn fail_pull(&self, image: &str, message: &str) {
        let mut state = self.lock();
        state.missing_images.insert(image.to_owned());
        state.pull_failures.insert(image.to_owned(), message.to_owned());
    }

    /// Gives `image` this entry point and command (an image without one runs `["sh"]`, as the test image does).
    pub fn set_image_command(&self, image: &str, entrypoint: &[&str], cmd: &[&str]) {
        let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        self.lock()
            .image_commands
            .insert(image.to_owned(), ImageCommand { entrypoint: strings(entrypoint), cmd: strings(cmd) });
    }

    /// Makes every pull take `delay` (tokio time).
    pub fn set_pull_delay(&self, delay: Option<Duration>) {
        self.lock().pull_delay = delay;
    }

    /// Makes creating the container fail with `message` (a [`RuntimeError::Rejected`]); `container` is the
    /// definition's container name or the runtime name.
    pub fn fail_create(&self, container: &str, message: &str) {
        self.lock().create_failures.insert(container.to_owned(), message.to_owned());
    }

    /// Makes starting the container fail with `message`; `container` as for [`FakeRuntime::fail_create`].
    pub fn fail_start(&self, container: &str, message: &str) {
        self.lock().start_failures.insert(container.to_owned(), message.to_owned());
    }

    /// Makes the container exit with `code` (if it runs). `container`: runtime id, runtime name, or definition
    /// container name (a running one is preferred). Returns whether a running container exited.
    pub fn exit(&self, container: &str, code: i32) -> bool {
        let event = {
            let mut state = self.lock();
            let Some(id) = state.find(container) else { return false };
            match state.containers.get_mut(&id) {
                Some(c) if c.running => Some(c.exit(code)),
                _ => None,
            }
        };
        let exited = event.is_some();
        self.emit(event.into_iter().collect());
        exited
    }

    /// The kernel's OOM killer fires in the container: an `oom` event, then it dies with 137.
    pub fn oom(&self, container: &str) -> bool {
        let events = {
            let mut state = self.lock();
            let Some(id) = state.find(container) else { return false };
            match state.containers.get_mut(&id) {
                Some(c) if c.running => {
                    c.oom_killed = true;
                    let oom = c.event(EventKind::Oom);
                    vec![oom, c.exit(137)]
                }
                _ => Vec::new(),
            }
        };
        let found = !events.is_empty();
        self.emit(events);
        found
    }

    /// Sets the container's health and announces it.
    pub fn set_health(&self, container: &str, health: Health) -> bool {
        self.set_health_with_output(container, health, None)
    }

    /// Sets the container's health and the last check's output, and announces it.
    pub fn set_health_with_output(&self, container: &str, health: Health, output: Option<&str>) -> bool {
        let event = {
            let mut state = self.lock();
            let Some(id) = state.find(container) else { return false };
            let Some(c) = state.containers.get_mut(&id) else { return false };
            c.health = Some(health);
            c.health_output = output.map(str::to_owned);
            c.event(EventKind::Health(health))
        };
        self.emit(vec![event]);
        true
    }

    /// Makes the container ignore SIGTERM: a stop waits for its timeout, then kills it (exit 137).
    pub fn ignore_sigterm(&self, container: &str) -> bool {
        let mut state = self.lock();
        let Some(id) = state.find(container) else { return false };
        match state.containers.get_mut(&id) {
            Some(c) => {
                c.ignore_sigterm = true;
                true
            }
            None => false,
        }
    }

    /// Removes a container behind the engine's back (as `docker rm -f` by hand would), without events.
    pub fn forget_container(&self, container: &str) -> bool {
        let mut state = self.lock();
        let Some(id) = state.find(container) else { return false };
        if let Some(c) = state.containers.remove(&id) {
            state.names.remove(&c.spec.runtime_name);
        }
        true
    }

    /// Every call so far, oldest first (empty for a hollow runtime).
    pub fn calls(&self) -> Vec<FakeCall> {
        self.lock().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Definition container names in the order they were started.
    pub fn started(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                FakeCall::Start { container, .. } => Some(container),
                _ => None,
            })
            .collect()
    }

    /// Definition container names in the order their stops completed, with whether SIGKILL was needed.
    pub fn stopped(&self) -> Vec<(String, bool)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                FakeCall::Stop { container, killed, .. } => Some((container, killed)),
                _ => None,
            })
            .collect()
    }

    /// The spec a container was created with.
    pub fn spec(&self, container: &str) -> Option<ContainerSpec> {
        let state = self.lock();
        let id = state.find(container)?;
        state.containers.get(&id).map(|c| c.spec.clone())
    }

    /// The current state of a container, without logging a call.
    pub fn state_of(&self, container: &str) -> Option<ContainerState> {
        let state = self.lock();
        let id = state.find(container)?;
        state.containers.get(&id).map(FakeContainer::state)
    }

    /// Runtime ids of all containers (running or not).
    pub fn container_ids(&self) -> Vec<String> {
        self.lock().containers.keys().cloned().collect()
    }

    /// How many containers are running.
    pub fn running_count(&self) -> usize {
        self.lock().containers.values().filter(|c| c.running).count()
    }

    /// Names of the volumes that exist.
    pub fn volume_names(&self) -> Vec<String> {
        self.lock().volumes.keys().cloned().collect()
    }

    /// A volume's spec, when it exists.
    pub fn volume(&self, name: &str) -> Option<VolumeSpec> {
        self.lock().volumes.get(name).cloned()
    }
}

impl State {
    fn record(&mut self, call: FakeCall) {
        if self.record_calls {
            self.calls.push(call);
        }
    }

    /// Resolves a runtime id, runtime name or definition container name (preferring a running container, then
    /// the newest).
    fn find(&self, key: &str) -> Option<String> {
        if self.containers.contains_key(key) {
            return Some(key.to_owned());
        }
        if let Some(id) = self.names.get(key) {
            return Some(id.clone());
        }
        let mut candidates: Vec<&FakeContainer> =
            self.containers.values().filter(|c| c.spec.definition.name == key).collect();
        candidates.sort_by_key(|c| (c.running, c.id.clone()));
        candidates.last().map(|c| c.id.clone())
    }

    fn container(&self, id: &str) -> Result<&FakeContainer> {
        self.containers.get(id).ok_or_else(|| RuntimeError::NotFound(format!("No such container: {id}")))
    }

    fn failure_for(map: &HashMap<String, String>, spec: &ContainerSpec) -> Option<String> {
        map.get(&spec.definition.name).or_else(|| map.get(&spec.runtime_name)).cloned()
    }

    fn ports_in_use(&self) -> HashSet<(String, u16)> {
        self.containers
            .values()
            .filter(|c| c.running)
            .flat_map(|c| c.ports.iter().map(|p| (p.protocol.clone(), p.host_port)))
            .collect()
    }

    fn dynamic_port(&mut self, used: &HashSet<(String, u16)>, protocol: &str) -> Option<u16> {
        let span = u32::from(u16::MAX - FIRST_DYNAMIC_PORT) + 1;
        for _ in 0..span {
            let port = self.next_port;
            self.next_port = if port == u16::MAX { FIRST_DYNAMIC_PORT } else { port + 1 };
            if !used.contains(&(protocol.to_owned(), port)) {
                return Some(port);
            }
        }
        None
    }

    /// The host ports a container gets when it starts.
    fn assign_ports(&mut self, spec: &ContainerSpec) -> Result<Vec<PortBinding>> {
        if spec.network_mode == "none" {
            return Ok(Vec::new());
        }
        let mut used = self.ports_in_use();
        let mut bindings = Vec::new();
        for mapping in &spec.definition.port_mappings {
            let protocol = mapping.protocol().to_owned();
            let container_ports: Vec<u16> = match (mapping.container_port, mapping.port_range()) {
                (Some(port), _) => u16::try_from(port).into_iter().collect(),
                (None, Some((first, last))) => (first..=last).collect(),
                (None, None) => Vec::new(),
            };
            for container_port in container_ports {
                let fixed = mapping.host_port.and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0);
                let host_port = if spec.network_mode == "host" {
                    container_port
                } else if let Some(port) = fixed {
                    if used.contains(&(protocol.clone(), port)) {
                        return Err(RuntimeError::Rejected(format!(
                            "driver failed programming external connectivity: Bind for 0.0.0.0:{port} failed: \
                             port is already allocated"
                        )));
                    }
                    port
                } else {
                    self.dynamic_port(&used, &protocol)
                        .ok_or_else(|| RuntimeError::Rejected("no free host port".to_owned()))?
                };
                used.insert((protocol.clone(), host_port));
                bindings.push(PortBinding {
                    container_port,
                    protocol: protocol.clone(),
                    host_ip: "0.0.0.0".to_owned(),
                    host_port,
                });
            }
        }
        Ok(bindings)
    }
}

fn now() -> f64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_millis() as f64) / 1000.0
}

/// A stable fake image id for an image reference.
fn image_id(image: &str) -> String {
    // FNV-1a, four lanes, for a 64-hex-digit id that depends only on the reference.
    let mut out = String::from("sha256:");
    for lane in 0u64..4 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ lane;
        for byte in image.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push_str(&format!("{hash:016x}"));
    }
    out
}

fn ignores_sigterm(spec: &ContainerSpec) -> bool {
    let truthy = |v: &str| matches!(v, "1" | "true" | "TRUE" | "True" | "yes");
    let env_says = spec.extra_env.iter().any(|(k, v)| k == IGNORE_SIGTERM_ENV && truthy(v))
        || spec
            .definition
            .environment
            .iter()
            .any(|kv| kv.name.as_deref() == Some(IGNORE_SIGTERM_ENV) && kv.value.as_deref().is_some_and(truthy));
    let traps = |args: &Option<Vec<String>>| {
        args.iter().flatten().any(|a| a.contains("trap '' TERM") || a.contains("trap \"\" TERM"))
    };
    env_says || traps(&spec.definition.command) || traps(&spec.definition.entry_point)
}

#[async_trait]
impl ContainerRuntime for FakeRuntime {
    async fn info(&self) -> Result<RuntimeInfo> {
        Ok(self.lock().info.clone())
    }

    async fn image_present(&self, image: &str) -> Result<bool> {
        let mut state = self.lock();
        state.record(FakeCall::ImagePresent { image: image.to_owned() });
        Ok(!state.missing_images.contains(image))
    }

    async fn pull_image(&self, image: &str, auth: Option<&RegistryAuth>) -> Result<()> {
        let delay = {
            let mut state = self.lock();
            state.record(FakeCall::Pull { image: image.to_owned(), auth: auth.cloned() });
            state.pull_delay
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut state = self.lock();
        if let Some(message) = state.pull_failures.get(image) {
            return Err(RuntimeError::Pull(message.clone()));
        }
        state.missing_images.remove(image);
        Ok(())
    }

    async fn image_command(&self, image: &str) -> Result<ImageCommand> {
        let mut state = self.lock();
        state.record(FakeCall::ImageCommand { image: image.to_owned() });
        if state.missing_images.contains(image) {
            return Err(RuntimeError::NotFound(format!("No such image: {image}")));
        }
        Ok(state
            .image_commands
            .get(image)
            .cloned()
            .unwrap_or_else(|| ImageCommand { entrypoint: Vec::new(), cmd: vec!["sh".to_owned()] }))
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> Result<()> {
        let mut state = self.lock();
        state.record(FakeCall::CreateVolume { name: spec.name.clone() });
        state.volumes.entry(spec.name.clone()).or_insert_with(|| spec.clone());
        Ok(())
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let mut state = self.lock();
        state.record(FakeCall::RemoveVolume { name: name.to_owned() });
        if !state.volumes.contains_key(name) {
            return Err(RuntimeError::NotFound(format!("no such volume: {name}")));
        }
        let in_use = state.containers.values().any(|c| {
            c.spec.definition.mount_points.iter().any(|m| {
                m.source_volume.as_ref().and_then(|v| c.spec.volumes.get(v))
                    == Some(&VolumeSource::Named(name.to_owned()))
            })
        });
        if in_use {
            return Err(RuntimeError::Rejected(format!("remove {name}: volume is in use")));
        }
        state.volumes.remove(name);
        Ok(())
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let mut state = self.lock();
        state.record(FakeCall::Create { name: spec.runtime_name.clone(), container: spec.definition.name.clone() });
        if state.names.contains_key(&spec.runtime_name) {
            return Err(RuntimeError::Rejected(format!(
                "Conflict. The container name \"/{}\" is already in use",
                spec.runtime_name
            )));
        }
        if state.missing_images.contains(&spec.definition.image) {
            return Err(RuntimeError::NotFound(format!("No such image: {}", spec.definition.image)));
        }
        if let Some(message) = State::failure_for(&state.create_failures, spec) {
            return Err(RuntimeError::Rejected(message));
        }
        for (source, _) in &spec.volumes_from {
            state.container(source)?;
        }
        if let Some(owner) = &spec.namespace_owner {
            state.container(owner)?;
        }
        let id = format!("{:064x}", state.next_id);
        state.next_id += 1;
        let ignore_sigterm = ignores_sigterm(spec);
        state.names.insert(spec.runtime_name.clone(), id.clone());
        state.containers.insert(
            id.clone(),
            FakeContainer {
                id: id.clone(),
                spec: spec.clone(),
                running: false,
                exit_code: None,
                oom_killed: false,
                error: None,
                health: None,
                health_output: None,
                created_at: now(),
                started_at: None,
                finished_at: None,
                ports: Vec::new(),
                ip: None,
                ignore_sigterm,
            },
        );
        Ok(id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let events = {
            let mut state = self.lock();
            let container = state.container(id)?.container_name();
            state.record(FakeCall::Start { id: id.to_owned(), container });
            let (spec, running) = {
                let c = state.container(id)?;
                (c.spec.clone(), c.running)
            };
            if running {
                return Ok(());
            }
            if let Some(message) = State::failure_for(&state.start_failures, &spec) {
                if let Some(c) = state.containers.get_mut(id) {
                    c.error = Some(message.clone());
                }
                return Err(RuntimeError::Rejected(message));
            }
            let ports = state.assign_ports(&spec)?;
            let ip = (spec.network_mode == "bridge").then(|| {
                let n = state.next_ip;
                state.next_ip = state.next_ip.wrapping_add(1);
                format!("172.17.{}.{}", (n >> 8) & 0xff, n & 0xff)
            });
            let auto_healthy = state.auto_healthy;
            let Some(c) = state.containers.get_mut(id) else {
                return Err(RuntimeError::NotFound(format!("No such container: {id}")));
            };
            c.running = true;
            c.exit_code = None;
            c.oom_killed = false;
            c.error = None;
            c.started_at = Some(now());
            c.finished_at = None;
            c.ports = ports;
            c.ip = ip;
            let mut events = vec![c.event(EventKind::Start)];
            if c.spec.definition.health_check.is_some() {
                let health = if auto_healthy { Health::Healthy } else { Health::Starting };
                c.health = Some(health);
                if auto_healthy {
                    events.push(c.event(EventKind::Health(health)));
                }
            }
            if let Some(code) = c.env(EXIT_CODE_ENV).and_then(|v| v.trim().parse::<i32>().ok()) {
                events.push(c.exit(code));
            }
            events
        };
        self.emit(events);
        Ok(())
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        let (container, running, ignore) = {
            let state = self.lock();
            let c = state.container(id)?;
            (c.container_name(), c.running, c.ignore_sigterm)
        };
        if !running {
            let mut state = self.lock();
            state.record(FakeCall::Stop { id: id.to_owned(), container, timeout, killed: false });
            return Ok(());
        }
        if ignore && !timeout.is_zero() {
            tokio::time::sleep(timeout).await;
        }
        let event = {
            let mut state = self.lock();
            state.record(FakeCall::Stop { id: id.to_owned(), container, timeout, killed: ignore });
            match state.containers.get_mut(id) {
                // It may have exited (or been removed) while SIGTERM was being ignored.
                Some(c) if c.running => Some(c.exit(if ignore { 137 } else { 143 })),
                _ => None,
            }
        };
        self.emit(event.into_iter().collect());
        Ok(())
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerState> {
        let mut state = self.lock();
        let (container, snapshot) = {
            let c = state.container(id)?;
            (c.container_name(), c.state())
        };
        state.record(FakeCall::Inspect { id: id.to_owned(), container });
        Ok(snapshot)
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let event = {
            let mut state = self.lock();
            let container = state.container(id)?.container_name();
            state.record(FakeCall::Remove { id: id.to_owned(), container });
            let Some(mut c) = state.containers.remove(id) else {
                return Err(RuntimeError::NotFound(format!("No such container: {id}")));
            };
            state.names.remove(&c.spec.runtime_name);
            // Forced removal kills a running container.
            c.running.then(|| c.exit(137))
        };
        self.emit(event.into_iter().collect());
        Ok(())
    }

    async fn list_containers(&self, labels: &[(String, String)]) -> Result<Vec<ContainerState>> {
        let mut state = self.lock();
        state.record(FakeCall::List);
        Ok(state
            .containers
            .values()
            .filter(|c| labels.iter().all(|(k, v)| c.spec.labels.get(k) == Some(v)))
            .map(FakeContainer::state)
            .collect())
    }

    fn events(&self, labels: &[(String, String)]) -> BoxStream<'static, Result<RuntimeEvent>> {
        // Subscribe now, not on first poll: events after this call are not lost.
        let rx = self.events.subscribe();
        let labels: Vec<(String, String)> = labels.to_vec();
        stream::unfold(Some(rx), move |rx| {
            let labels = labels.clone();
            async move {
                let mut rx = rx?;
                loop {
                    match rx.recv().await {
                        Ok(event) => {
                            if labels.iter().all(|(k, v)| event.labels.get(k) == Some(v)) {
                                return Some((Ok(event), Some(rx)));
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            let err = RuntimeError::Unavailable(format!("event stream fell behind by {n} events"));
                            return Some((Err(err), None));
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        })
        .boxed()
    }

    fn logs(&self, id: &str, since: i64, follow: bool) -> BoxStream<'static, Result<LogLine>> {
        let Some(id) = self.lock().find(id) else {
            let err = RuntimeError::NotFound(format!("No such container: {id}"));
            return stream::iter([Err(err)]).boxed();
        };
        let logs = self.logs.clone();
        let since_ns = since.saturating_mul(1_000_000_000);
        // State: (next index, lines ready to hand out).
        stream::unfold((0usize, std::collections::VecDeque::<LogLine>::new()), move |(mut next, mut ready)| {
            let (logs, id) = (logs.clone(), id.clone());
            async move {
                loop {
                    if let Some(line) = ready.pop_front() {
                        return Some((Ok(line), (next, ready)));
                    }
                    let changed = logs.changed.notified();
                    tokio::pin!(changed);
                    changed.as_mut().enable();
                    let (new, running) = logs.read(&id, next);
                    if new.is_empty() {
                        if !(follow && running) {
                            return None;
                        }
                        changed.await;
                        continue;
                    }
                    next += new.len();
                    ready.extend(new.into_iter().filter(|l| l.timestamp_ns >= since_ns));
                }
            }
        })
        .boxed()
    }

    async fn stats(&self, id: &str) -> Result<ContainerStats> {
        let mut state = self.lock();
        state.record(FakeCall::Stats { id: id.to_owned() });
        let c = state.container(id)?;
        let memory_limit = c.spec.definition.memory.map(|m| i64::from(m) << 20).unwrap_or(8 << 30);
        Ok(ContainerStats {
            raw: serde_json::json!({
                "id": c.id,
                "name": format!("/{}", c.spec.runtime_name),
                "read": "0001-01-01T00:00:00Z",
                "cpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0, "online_cpus": 1},
                "precpu_stats": {"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0, "online_cpus": 1},
                "memory_stats": {"usage": 0, "limit": memory_limit},
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_model::taskdef::{ContainerDefinition, KeyValuePair, PortMapping};

    fn definition(name: &str, json: serde_json::Value) -> ContainerDefinition {
        let mut value = serde_json::json!({"name": name, "image": "busybox"});
        if let (Some(obj), Some(extra)) = (value.as_object_mut(), json.as_object()) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(value).unwrap()
    }

    fn spec(name: &str, definition: ContainerDefinition) -> ContainerSpec {
        ContainerSpec {
            labels: BTreeMap::from([("berth.task-arn".to_owned(), "t1".to_owned())]),
            ..ContainerSpec::new(format!("berth-{name}"), definition)
        }
    }

    #[tokio::test]
    async fn hollow_hosts_have_the_size_asked_for() {
        let fake = FakeRuntime::hollow_with(16, 64 << 30);
        let info = fake.info().await.unwrap();
        assert_eq!((info.cpus, info.memory_bytes), (16, 64 << 30));
        // Otherwise a hollow runtime, not a test one: no call log.
        fake.image_present("x").await.unwrap();
        assert!(fake.lock().calls.is_empty());
    }

    #[tokio::test]
    async fn containers_run_until_stopped_with_sigterm() {
        let fake = FakeRuntime::new();
        let id = fake.create_container(&spec("a", definition("a", serde_json::json!({})))).await.unwrap();
        fake.start_container(&id).await.unwrap();
        assert!(fake.inspect_container(&id).await.unwrap().running);
        fake.stop_container(&id, Duration::from_secs(30)).await.unwrap();
        let state = fake.inspect_container(&id).await.unwrap();
        assert!(!state.running);
        assert_eq!(state.exit_code, Some(143));
        assert_eq!(fake.stopped(), vec![("a".to_owned(), false)]);
    }

    #[tokio::test(start_paused = true)]
    async fn sigterm_ignored_means_sigkill_after_the_timeout() {
        let fake = FakeRuntime::new();
        let mut def = definition("a", serde_json::json!({}));
        def.environment.push(KeyValuePair { name: Some(IGNORE_SIGTERM_ENV.into()), value: Some("1".into()) });
        let id = fake.create_container(&spec("a", def)).await.unwrap();
        fake.start_container(&id).await.unwrap();
        let before = tokio::time::Instant::now();
        fake.stop_container(&id, Duration::from_secs(10)).await.unwrap();
        assert!(before.elapsed() >= Duration::from_secs(10));
        assert_eq!(fake.inspect_container(&id).await.unwrap().exit_code, Some(137));
        assert_eq!(fake.stopped(), vec![("a".to_owned(), true)]);
    }

    #[tokio::test]
    async fn dynamic_and_fixed_ports() {
        let fake = FakeRuntime::new();
        let mut def = definition("web", serde_json::json!({}));
        def.port_mappings = vec![
            PortMapping {
                container_port: Some(80),
                host_port: None,
                protocol: None,
                name: None,
                app_protocol: None,
                container_port_range: None,
            },
            PortMapping {
                container_port: Some(81),
                host_port: Some(8081),
                protocol: Some("udp".into()),
                name: None,
                app_protocol: None,
                container_port_range: None,
            },
        ];
        let id = fake.create_container(&spec("web", def.clone())).await.unwrap();
        fake.start_container(&id).await.unwrap();
        let ports = fake.inspect_container(&id).await.unwrap().ports;
        assert_eq!(ports[0].host_port, 49153);
        assert_eq!((ports[1].host_port, ports[1].protocol.as_str()), (8081, "udp"));
        // The fixed port is taken: a second copy cannot start.
        let id2 = fake.create_container(&spec("web2", def)).await.unwrap();
        let err = fake.start_container(&id2).await.unwrap_err();
        assert!(err.to_string().contains("port is already allocated"), "{err}");
    }

    #[tokio::test]
    async fn events_are_filtered_by_labels_and_tests_control_exits() {
        let fake = FakeRuntime::new();
        let mut events = fake.events(&[("berth.task-arn".to_owned(), "t1".to_owned())]);
        let mut other = spec("b", definition("b", serde_json::json!({})));
        other.labels = BTreeMap::from([("berth.task-arn".to_owned(), "t2".to_owned())]);
        let b = fake.create_container(&other).await.unwrap();
        fake.start_container(&b).await.unwrap();
        let a = fake.create_container(&spec("a", definition("a", serde_json::json!({})))).await.unwrap();
        fake.start_container(&a).await.unwrap();
        assert!(fake.exit("a", 3));
        let first = events.next().await.unwrap().unwrap();
        assert_eq!((first.container_id.as_str(), &first.kind), (a.as_str(), &EventKind::Start));
        let second = events.next().await.unwrap().unwrap();
        assert_eq!(second.kind, EventKind::Die);
        assert_eq!(fake.inspect_container(&a).await.unwrap().exit_code, Some(3));
    }

    #[tokio::test]
    async fn pulls_fail_or_make_images_present() {
        let fake = FakeRuntime::new();
        assert!(fake.image_present("x").await.unwrap());
        fake.remove_image("x");
        assert!(!fake.image_present("x").await.unwrap());
        fake.pull_image("x", None).await.unwrap();
        assert!(fake.image_present("x").await.unwrap());
        fake.fail_pull("y", "pull access denied for y");
        assert_eq!(fake.pull_image("y", None).await, Err(RuntimeError::Pull("pull access denied for y".into())));
    }

    #[tokio::test]
    async fn oom_and_one_shot_containers() {
        let fake = FakeRuntime::new();
        let a = fake.create_container(&spec("a", definition("a", serde_json::json!({})))).await.unwrap();
        fake.start_container(&a).await.unwrap();
        assert!(fake.oom("a"));
        let state = fake.inspect_container(&a).await.unwrap();
        assert!(state.oom_killed);
        assert_eq!(state.exit_code, Some(137));

        let mut def = definition("init", serde_json::json!({}));
        def.environment.push(KeyValuePair { name: Some(EXIT_CODE_ENV.into()), value: Some("0".into()) });
        let init = fake.create_container(&spec("init", def)).await.unwrap();
        fake.start_container(&init).await.unwrap();
        let state = fake.inspect_container(&init).await.unwrap();
        assert!(!state.running);
        assert_eq!(state.exit_code, Some(0));
    }
}
