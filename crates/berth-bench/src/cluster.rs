//! The cluster benchmark behind `berth bench cluster`: `hollow` hollow agents (the real agent on
//! [`FakeRuntime::hollow_with`], DESIGN.md section 5) join one cluster, RunTask calls place `tasks` tasks on them
//! through the real API, and the clock stops when the server counts every placed task RUNNING.
//!
//! This module owns the whole run: the server (a fresh child process, the current executable's `server`, so that
//! its memory is measured alone and nothing of the bench's own is counted; or an existing endpoint, unmeasured),
//! the hollow agents in this process, the RunTask load, the observation of RUNNING from the server, the memory
//! samples, and the report line. It asserts no timing.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_agent::runtime::fake::FakeRuntime;
use berth_agent::{Agent, AgentConfig};
use berth_client::{AccessKey, Client, ClientError};
use serde_json::{Value, json};

use crate::pct;

/// Defaults of `berth bench cluster`: the target run.
pub const DEFAULT_HOLLOW: usize = 5000;
pub const DEFAULT_TASKS: u64 = 50_000;
/// A hollow host: 16 vCPUs and 64 GiB, so that a few of them hold many small tasks.
pub const DEFAULT_HOST_CPUS: u32 = 16;
pub const DEFAULT_HOST_MEMORY_MIB: u64 = 64 * 1024;

/// The task every RunTask places: one small container (CPU units and MiB), an image the fake runtime has.
const TASK_FAMILY: &str = "berth-bench-hollow";
const TASK_IMAGE: &str = "berth-bench/hollow:latest";
pub const TASK_CPU: u64 = 16;
pub const TASK_MEMORY_MIB: u64 = 32;
/// ECS's largest RunTask count.
const RUN_TASK_COUNT: u64 = 10;
/// A RunTask that has not answered by then counts as an error rather than holding the run.
const RUN_TASK_TIMEOUT: Duration = Duration::from_secs(120);

/// How often the server's counts, the fake runtimes and the server's memory are looked at.
const OBSERVE_INTERVAL: Duration = Duration::from_millis(25);
const STARTED_INTERVAL: Duration = Duration::from_millis(20);
const RSS_INTERVAL: Duration = Duration::from_millis(100);

/// Connections one agent holds to the server: its long poll and its state reports (DESIGN.md section 3).
const CONNECTIONS_PER_AGENT: usize = 2;
/// How long a debug server may take to open its port, and to exit after SIGTERM.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(60);
const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads the admin access key a freshly started server wrote into its data directory. The caller supplies it
/// because the file and its format belong to the server's bootstrap, which this crate does not depend on.
pub type ReadKey = fn(&Path) -> std::io::Result<AccessKey>;

/// Which server to drive.
#[derive(Debug, Clone)]
pub enum Server {
    /// Start `exe server` on a fresh data directory under the run's temporary directory and a free loopback port.
    Spawn { exe: PathBuf, read_key: ReadKey },
    /// Drive a running server; its memory is not measured. Each run uses a cluster of its own there.
    Existing { endpoint: String, key: AccessKey },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ClusterLoad {
    pub server: Server,
    pub region: String,
    /// The cluster to create and fill; `None`: `bench` on a spawned server, `bench-<unix seconds>` on an existing
    /// one (whose earlier runs' instances are gone but still registered).
    pub cluster: Option<String>,
    pub hollow: usize,
    pub tasks: u64,
    /// RunTask calls in flight.
    pub concurrency: usize,
    /// Agents registering at once.
    pub register_concurrency: usize,
    pub host_cpus: u32,
    pub host_memory_mib: u64,
    /// From the first RunTask to the last placed task RUNNING.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid load: {0}")]
    Invalid(String),
    #[error("{0}")]
    FileLimit(String),
    #[error("temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error("server: {0}")]
    Server(String),
    #[error("{operation}: {source}")]
    Api { operation: &'static str, source: ClientError },
    #[error("hollow agent {index}: {source}")]
    Agent { index: usize, source: berth_agent::AgentError },
}

/// The report line, and whether every placed task reached RUNNING before the timeout.
#[derive(Debug)]
pub struct Outcome {
    pub report: Value,
    pub all_running: bool,
}

/// Runs the benchmark; the server it started is stopped and its directory removed whatever happens.
pub async fn run(load: &ClusterLoad) -> Result<Outcome, ClusterError> {
    check(load)?;
    let nofile = raise_nofile_limit();
    let addresses = match load.server {
        Server::Spawn { .. } => loopback_addresses(load.hollow, ephemeral_ports()),
        Server::Existing { .. } => 1,
    };
    // Each side of every agent connection is a descriptor in this process and, for a spawned server (which
    // inherits the raised limit), in the server.
    let needed = load.hollow * CONNECTIONS_PER_AGENT + load.concurrency + 256;
    if nofile < needed as u64 {
        return Err(ClusterError::FileLimit(format!(
            "{} hollow agents need about {needed} open files, but the limit is {nofile} (raise the hard limit, \
             e.g. `ulimit -Hn`, or run fewer agents)",
            load.hollow
        )));
    }
    let dir = tempfile::Builder::new().prefix("berth-bench-cluster-").tempdir().map_err(ClusterError::TempDir)?;
    let mut target = Target::new(load, dir.path(), addresses).await?;
    let measured = measure(load, &target, dir.path()).await;
    // The agents are gone by now (measure drops them), so no long poll holds the server's graceful shutdown.
    let server = target.stop().await;
    let mut figures = measured?;
    if let Some(obj) = figures.as_object_mut() {
        obj.insert("server_peak_rss_mib".into(), json!(server.peak_rss_kib.map(mib)));
        obj.insert("server_stopped_cleanly".into(), json!(server.stopped_cleanly));
        obj.insert("server_cpu_secs".into(), json!(server.cpu_secs.map(|c| round(c, 2))));
        obj.insert("bench_rss_mib".into(), json!(proc_status_kib("self", "VmHWM").map(mib)));
        obj.insert("bench_cpu_secs".into(), json!(proc_cpu_secs("self").map(|c| round(c, 2))));
        obj.insert("loopback_addresses".into(), json!(addresses));
        obj.insert("nofile_limit".into(), json!(nofile));
    }
    let all_running = figures.get("all_running").and_then(Value::as_bool).unwrap_or(false);
    Ok(Outcome { report: figures, all_running })
}

fn check(load: &ClusterLoad) -> Result<(), ClusterError> {
    if load.hollow == 0 || load.tasks == 0 || load.concurrency == 0 || load.register_concurrency == 0 {
        return Err(ClusterError::Invalid("--hollow, --tasks and the concurrencies must be positive".into()));
    }
    if load.timeout.is_zero() {
        return Err(ClusterError::Invalid("--timeout must be positive".into()));
    }
    let per_host = (u64::from(load.host_cpus) * 1024 / TASK_CPU).min(load.host_memory_mib / TASK_MEMORY_MIB);
    if per_host.saturating_mul(load.hollow as u64) < load.tasks {
        return Err(ClusterError::Invalid(format!(
            "{} tasks do not fit on {} hollow hosts of {} vCPUs and {} MiB ({per_host} tasks of {TASK_CPU} CPU \
             units and {TASK_MEMORY_MIB} MiB each)",
            load.tasks, load.hollow, load.host_cpus, load.host_memory_mib
        )));
    }
    Ok(())
}

/// The run's figures, before the server's memory and the limits are added.
async fn measure(load: &ClusterLoad, target: &Target, dir: &Path) -> Result<Value, ClusterError> {
    let cluster = match (&load.cluster, &load.server) {
        (Some(c), _) => c.clone(),
        (None, Server::Spawn { .. }) => "bench".to_owned(),
        (None, Server::Existing { .. }) => format!("bench-{}", unix_seconds()),
    };
    let client = Client::new(&target.endpoint, &load.region, &target.key, load.concurrency + 1)
        .map_err(|source| ClusterError::Api { operation: "client", source })?;
    // Only the default cluster appears when an agent registers into it; any other must exist first.
    ecs(&client, "CreateCluster", &json!({ "clusterName": cluster })).await?;
    ecs(&client, "RegisterTaskDefinition", &task_definition()).await?;

    let registering = Instant::now();
    let hollow = start_agents(load, target, &cluster, dir).await?;
    let register_secs = registering.elapsed().as_secs_f64();
    let rss_registered = target.rss_kib();

    let start = Instant::now();
    let deadline = start + load.timeout;
    let started = watch_started(hollow.fakes.clone(), start);
    let runs = run_tasks(load, &client, &cluster, deadline).await;
    let placement_secs = start.elapsed().as_secs_f64();
    let observed = observe_running(&client, &cluster, runs.placed, deadline, start).await;
    started.stop.store(true, Ordering::Relaxed);
    let timeline = started.task.await.unwrap_or_default();
    drop(hollow);

    let containers_started_secs = (runs.placed > 0)
        .then(|| timeline.iter().find(|(_, n)| *n as u64 >= runs.placed).map(|(t, _)| t.as_secs_f64()))
        .flatten();
    let all_running = observed.running_at.is_some();
    let tasks_per_sec = observed.running_at.filter(|t| *t > 0.0).map(|t| round(runs.placed as f64 / t, 1));
    let mut latencies = runs.latencies_us;
    latencies.sort_unstable();
    Ok(json!({
        "bench": "cluster",
        "endpoint": target.endpoint,
        "server": if target.spawned.is_some() { "spawned" } else { "existing" },
        "cluster": cluster,
        "hollow": load.hollow,
        "host_cpus": load.host_cpus,
        "host_memory_mib": load.host_memory_mib,
        "task_cpu": TASK_CPU,
        "task_memory_mib": TASK_MEMORY_MIB,
        "tasks": load.tasks,
        "requested": runs.requested,
        "concurrency": load.concurrency,
        "placed": runs.placed,
        "failed": load.tasks - runs.placed,
        "failure_reasons": runs.reasons,
        "run_task_errors": runs.errors,
        "first_error": runs.first_error,
        "running": observed.running,
        "all_running": all_running,
        "tasks_per_sec": tasks_per_sec,
        "placements_per_sec": (placement_secs > 0.0).then(|| round(runs.placed as f64 / placement_secs, 1)),
        "run_task_calls": latencies.len(),
        "run_task_p50_ms": pct(&latencies, 50.0),
        "run_task_p99_ms": pct(&latencies, 99.0),
        "run_task_max_ms": latencies.last().map_or(0.0, |l| f64::from(*l) / 1000.0),
        "register_secs": round(register_secs, 2),
        "registrations_per_sec": round(load.hollow as f64 / register_secs.max(1e-9), 1),
        "placement_secs": round(placement_secs, 2),
        "containers_started_secs": containers_started_secs.map(|t| round(t, 2)),
        "running_secs": observed.running_at.map(|t| round(t, 2)),
        "observe_polls": observed.polls,
        "observe_poll_mean_ms": round(observed.poll_ms_mean, 2),
        "server_rss_registered_mib": rss_registered.map(mib),
    }))
}

fn task_definition() -> Value {
    json!({
        "family": TASK_FAMILY,
        "networkMode": "bridge",
        "containerDefinitions": [{
            "name": "hollow",
            "image": TASK_IMAGE,
            "cpu": TASK_CPU,
            "memory": TASK_MEMORY_MIB,
            "essential": true,
        }],
    })
}

async fn ecs(client: &Client, operation: &'static str, body: &Value) -> Result<Value, ClusterError> {
    client.ecs::<_, Value>(operation, body).await.map_err(|source| ClusterError::Api { operation, source })
}

// ---- the server ----

/// The server under test: where to reach it, with which key, and the child process when this run started it.
struct Target {
    endpoint: String,
    key: AccessKey,
    /// Endpoints the agents use, round robin: several loopback addresses of one port when there are more agents
    /// than one address's ephemeral ports can connect.
    agent_endpoints: Vec<String>,
    spawned: Option<Spawned>,
}

struct Spawned {
    child: Child,
    log: PathBuf,
    /// The largest VmRSS sampled so far (KiB), for when VmHWM cannot be read.
    sampled_peak_kib: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

/// What stopping the server found.
struct Stopped {
    peak_rss_kib: Option<u64>,
    /// CPU seconds (user and system) the server used from its start.
    cpu_secs: Option<f64>,
    stopped_cleanly: Option<bool>,
}

impl Target {
    async fn new(load: &ClusterLoad, dir: &Path, addresses: usize) -> Result<Target, ClusterError> {
        match &load.server {
            Server::Existing { endpoint, key } => Ok(Target {
                endpoint: endpoint.clone(),
                key: key.clone(),
                agent_endpoints: vec![endpoint.clone()],
                spawned: None,
            }),
            Server::Spawn { exe, read_key } => spawn(exe, *read_key, &load.region, dir, addresses).await,
        }
    }

    fn rss_kib(&self) -> Option<u64> {
        let spawned = self.spawned.as_ref()?;
        proc_status_kib(&spawned.child.id().to_string(), "VmRSS")
    }

    /// Reads the server's peak memory, then stops it: SIGTERM, and SIGKILL if it is still there after
    /// [`SERVER_STOP_TIMEOUT`].
    async fn stop(&mut self) -> Stopped {
        let Some(spawned) = self.spawned.as_mut() else {
            return Stopped { peak_rss_kib: None, cpu_secs: None, stopped_cleanly: None };
        };
        spawned.sampler.abort();
        let pid = spawned.child.id().to_string();
        let hwm = proc_status_kib(&pid, "VmHWM");
        let cpu_secs = proc_cpu_secs(&pid);
        let sampled = Some(spawned.sampled_peak_kib.load(Ordering::Relaxed)).filter(|k| *k > 0);
        let peak_rss_kib = hwm.max(sampled);
        let signalled = rustix::process::kill_process(
            rustix::process::Pid::from_child(&spawned.child),
            rustix::process::Signal::TERM,
        )
        .is_ok();
        let until = Instant::now() + SERVER_STOP_TIMEOUT;
        let mut clean = false;
        while signalled && Instant::now() < until {
            match spawned.child.try_wait() {
                Ok(Some(status)) => {
                    clean = status.success();
                    break;
                }
                Ok(None) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(_) => break,
            }
        }
        if !clean {
            eprintln!("berth bench: the server did not stop cleanly; its log:\n{}", log_tail(&spawned.log));
        }
        // Kills it if it is still running; a no-op otherwise.
        let _ = spawned.child.kill();
        let _ = spawned.child.wait();
        self.spawned = None;
        Stopped { peak_rss_kib, cpu_secs, stopped_cleanly: Some(clean) }
    }
}

impl Drop for Spawned {
    /// An error path that never reached [`Target::stop`] must not leave the server running.
    fn drop(&mut self) {
        self.sampler.abort();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `exe server` and waits until its port is open (the admin key is written before that).
async fn spawn(
    exe: &Path,
    read_key: ReadKey,
    region: &str,
    dir: &Path,
    addresses: usize,
) -> Result<Target, ClusterError> {
    let data_dir = dir.join("server");
    let log = dir.join("server.log");
    let port = free_port().map_err(|e| ClusterError::Server(format!("finding a free port: {e}")))?;
    // More than one agent address needs a listener that answers on all of 127.0.0.0/8; a wildcard listener is the
    // only one the server offers. It is reachable from the network for the run, behind SigV4 and a fresh key.
    let listen: SocketAddr = if addresses > 1 {
        eprintln!(
            "berth bench: {addresses} loopback addresses for the agents' connections; the server listens on \
             0.0.0.0:{port} for this run"
        );
        (Ipv4Addr::UNSPECIFIED, port).into()
    } else {
        (Ipv4Addr::LOCALHOST, port).into()
    };
    let out = std::fs::File::create(&log).map_err(|e| ClusterError::Server(format!("{}: {e}", log.display())))?;
    let err = out.try_clone().map_err(|e| ClusterError::Server(format!("{}: {e}", log.display())))?;
    let child = Command::new(exe)
        .arg("server")
        // Loopback, and measuring scheduling rather than TLS (`bench/api_bench.py --tls` measures that).
        .arg("--insecure-http")
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--listen")
        .arg(listen.to_string())
        .arg("--region")
        .arg(region)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| ClusterError::Server(format!("starting {}: {e}", exe.display())))?;
    let pid = child.id();
    let sampled_peak_kib = Arc::new(AtomicU64::new(0));
    let sampler = {
        let peak = sampled_peak_kib.clone();
        tokio::spawn(async move {
            let pid = pid.to_string();
            loop {
                if let Some(kib) = proc_status_kib(&pid, "VmRSS") {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(RSS_INTERVAL).await;
            }
        })
    };
    let mut spawned = Spawned { child, log, sampled_peak_kib, sampler };

    let until = Instant::now() + SERVER_START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = spawned.child.try_wait() {
            return Err(ClusterError::Server(format!(
                "exited ({status}) before serving; its log:\n{}",
                log_tail(&spawned.log)
            )));
        }
        if tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await.is_ok() {
            break;
        }
        if Instant::now() > until {
            return Err(ClusterError::Server(format!(
                "port {port} not open after {SERVER_START_TIMEOUT:?}; its log:\n{}",
                log_tail(&spawned.log)
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let key = read_key(&data_dir).map_err(|e| ClusterError::Server(format!("reading the admin key: {e}")))?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let agent_endpoints = (0..addresses).map(|i| format!("http://{}:{port}", loopback(i))).collect();
    Ok(Target { endpoint, key, agent_endpoints, spawned: Some(spawned) })
}

// ---- hollow agents ----

/// The running hollow agents; dropping them stops their loops (their fake containers go with them).
struct Hollow {
    agents: Vec<Agent>,
    fakes: Arc<Vec<Arc<FakeRuntime>>>,
}

impl Drop for Hollow {
    fn drop(&mut self) {
        for agent in self.agents.drain(..) {
            agent.shutdown();
        }
    }
}

/// One registered agent: its index (registration order differs), the agent, and its fake runtime.
type StartedAgent = (usize, Agent, Arc<FakeRuntime>);

/// Registers `load.hollow` agents, `load.register_concurrency` at a time; the first failure ends the run.
async fn start_agents(load: &ClusterLoad, target: &Target, cluster: &str, dir: &Path) -> Result<Hollow, ClusterError> {
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let started: Arc<Mutex<Vec<StartedAgent>>> = Arc::default();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..load.register_concurrency.min(load.hollow) {
        let (next, failed, started) = (next.clone(), failed.clone(), started.clone());
        let endpoints = target.agent_endpoints.clone();
        let (key, region, cluster) = (target.key.clone(), load.region.clone(), cluster.to_owned());
        let (cpus, memory) = (load.host_cpus, load.host_memory_mib << 20);
        let (hollow, agents_dir) = (load.hollow, dir.join("agents"));
        workers.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= hollow || failed.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let config = AgentConfig {
                    server: endpoints[index % endpoints.len()].clone(),
                    ca_bundle: None,
                    region: region.clone(),
                    access_key: key.clone(),
                    cluster: cluster.clone(),
                    data_dir: agents_dir.join(index.to_string()),
                    availability_zone: None,
                    instance_type: "berth.hollow".to_owned(),
                    reserved_memory_mib: 0,
                    reserved_ports: berth_agent::config::DEFAULT_RESERVED_PORTS.to_vec(),
                    reserved_udp_ports: Vec::new(),
                    // Thousands of agents share one host: no metadata endpoint (nothing reads it).
                    metadata_port: None,
                    default_stop_timeout: Duration::from_secs(30),
                    cleanup_wait: Duration::from_secs(3600),
                    attributes: Vec::new(),
                    // A hollow host has no GPUs, and asking NVML thousands of times would only slow registration.
                    gpus: berth_agent::config::GpuDiscovery::Off,
                    dynamic_host_port_range: berth_agent::config::HostPortRange::default(),
                    // Hollow agents keep no logs: no link endpoint, no shipping.
                    link_listen: None,
                    link_advertise: None,
                    log_max_bytes: berth_agent::logs::DEFAULT_HOST_MAX_BYTES,
                    log_stream_max_bytes: berth_agent::logs::DEFAULT_STREAM_MAX_BYTES,
                    // Fake containers have no stats worth sampling, and thousands of samplers would load the host.
                    stats_interval: None,
                };
                let fake = Arc::new(FakeRuntime::hollow_with(cpus, memory));
                match berth_agent::start(config, fake.clone()).await {
                    Ok(agent) => started.lock().unwrap_or_else(|p| p.into_inner()).push((index, agent, fake)),
                    Err(source) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(ClusterError::Agent { index, source });
                    }
                }
            }
        });
    }
    let mut first_error = None;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(ClusterError::Server(format!("registration worker: {e}")));
            }
        }
    }
    let mut started = std::mem::take(&mut *started.lock().unwrap_or_else(|p| p.into_inner()));
    started.sort_by_key(|(index, _, _)| *index);
    let mut agents = Vec::with_capacity(started.len());
    let mut fakes = Vec::with_capacity(started.len());
    for (_, agent, fake) in started {
        agents.push(agent);
        fakes.push(fake);
    }
    let hollow = Hollow { agents, fakes: Arc::new(fakes) };
    match first_error {
        Some(e) => Err(e), // `hollow` drops here: the agents that did start stop.
        None => Ok(hollow),
    }
}

/// Counts the containers the hollow agents run, every [`STARTED_INTERVAL`] until stopped: the moment the agents
/// have started every task, as against the moment the server has heard of it.
struct StartedWatch {
    stop: Arc<AtomicBool>,
    /// (time since the start, running containers) at each change.
    task: tokio::task::JoinHandle<Vec<(Duration, usize)>>,
}

fn watch_started(fakes: Arc<Vec<Arc<FakeRuntime>>>, start: Instant) -> StartedWatch {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let task = tokio::spawn(async move {
        let mut timeline: Vec<(Duration, usize)> = Vec::new();
        while !flag.load(Ordering::Relaxed) {
            let running: usize = fakes.iter().map(|f| f.running_count()).sum();
            if timeline.last().is_none_or(|(_, n)| *n != running) {
                timeline.push((start.elapsed(), running));
            }
            tokio::time::sleep(STARTED_INTERVAL).await;
        }
        timeline
    });
    StartedWatch { stop, task }
}

// ---- load ----

/// What the RunTask workers saw, all together.
#[derive(Debug, Default)]
struct Runs {
    requested: u64,
    placed: u64,
    errors: u64,
    first_error: Option<String>,
    /// Failure entries by reason (ECS lists one per instance and reason, not one per task).
    reasons: BTreeMap<String, u64>,
    latencies_us: Vec<u32>,
}

impl Runs {
    fn merge(&mut self, other: Runs) {
        self.requested += other.requested;
        self.placed += other.placed;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        for (reason, n) in other.reasons {
            *self.reasons.entry(reason).or_default() += n;
        }
        self.latencies_us.extend(other.latencies_us);
    }
}

/// RunTask calls of up to [`RUN_TASK_COUNT`] tasks from `load.concurrency` workers until `load.tasks` are asked
/// for (or the deadline passes).
async fn run_tasks(load: &ClusterLoad, client: &Client, cluster: &str, deadline: Instant) -> Runs {
    let claimed = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..load.concurrency {
        let (client, claimed, cluster, total) = (client.clone(), claimed.clone(), cluster.to_owned(), load.tasks);
        workers.spawn(async move {
            let mut runs = Runs::default();
            let target = format!("{}RunTask", berth_client::ECS_TARGET_PREFIX);
            loop {
                let first = claimed.fetch_add(RUN_TASK_COUNT, Ordering::Relaxed);
                if first >= total || Instant::now() >= deadline {
                    return runs;
                }
                let count = RUN_TASK_COUNT.min(total - first);
                let body = json!({
                    "cluster": cluster,
                    "taskDefinition": TASK_FAMILY,
                    "count": count,
                    "launchType": "EC2",
                    "startedBy": "berth-bench",
                });
                runs.requested += count;
                let sent = Instant::now();
                let answer = client.call::<_, Value>(&target, &body, Some(RUN_TASK_TIMEOUT)).await;
                runs.latencies_us.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                match answer {
                    Ok(answer) => {
                        runs.placed += answer.get("tasks").and_then(Value::as_array).map_or(0, Vec::len) as u64;
                        for f in answer.get("failures").and_then(Value::as_array).into_iter().flatten() {
                            let reason = f.get("reason").and_then(Value::as_str).unwrap_or("(no reason)");
                            *runs.reasons.entry(reason.to_owned()).or_default() += 1;
                        }
                    }
                    Err(e) => {
                        runs.errors += 1;
                        runs.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
        });
    }
    let mut all = Runs::default();
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(runs) => all.merge(runs),
            Err(e) => {
                all.errors += 1;
                all.first_error.get_or_insert_with(|| format!("RunTask worker: {e}"));
            }
        }
    }
    all
}

/// What the server's counts showed.
#[derive(Debug, Default)]
struct Observed {
    /// Seconds from the start until the server counted every placed task RUNNING.
    running_at: Option<f64>,
    /// The last runningTasksCount seen.
    running: u64,
    polls: u64,
    poll_ms_mean: f64,
}

/// Polls DescribeClusters, one call at a time, until `runningTasksCount` reaches `placed`. Polling starts only
/// after the last RunTask has answered: before that the count cannot be complete, and each call reads every task
/// of the cluster, load the placements should not compete with.
async fn observe_running(client: &Client, cluster: &str, placed: u64, deadline: Instant, start: Instant) -> Observed {
    let mut observed = Observed::default();
    let mut poll_time = Duration::ZERO;
    let body = json!({ "clusters": [cluster] });
    loop {
        let sent = Instant::now();
        let answer = client.ecs::<_, Value>("DescribeClusters", &body).await;
        poll_time += sent.elapsed();
        observed.polls += 1;
        if let Ok(answer) = answer {
            let running = answer
                .get("clusters")
                .and_then(|c| c.get(0))
                .and_then(|c| c.get("runningTasksCount"))
                .and_then(Value::as_u64);
            if let Some(running) = running {
                observed.running = running;
                if running >= placed {
                    observed.running_at = Some(start.elapsed().as_secs_f64());
                    break;
                }
            }
        }
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(OBSERVE_INTERVAL).await;
    }
    observed.poll_ms_mean = poll_time.as_secs_f64() * 1000.0 / observed.polls.max(1) as f64;
    observed
}

// ---- the host ----

/// Raises the soft limit on open files to the hard limit (a spawned server inherits it); returns the limit now
/// in force.
fn raise_nofile_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let raised = rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum };
    if limit.current != limit.maximum && setrlimit(Resource::Nofile, raised).is_ok() {
        return limit.maximum.unwrap_or(u64::MAX);
    }
    limit.current.unwrap_or(u64::MAX)
}

/// How many ephemeral ports a connection to one address and port can use.
fn ephemeral_ports() -> usize {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok();
    let parsed = range.as_deref().and_then(|r| {
        let mut parts = r.split_whitespace().map(str::parse::<usize>);
        match (parts.next(), parts.next()) {
            (Some(Ok(low)), Some(Ok(high))) if high >= low => Some(high - low + 1),
            _ => None,
        }
    });
    // Linux's default range, 32768 to 60999.
    parsed.unwrap_or(28_232)
}

/// Loopback addresses the agents need: every connection to one server address and port takes an ephemeral port,
/// so past some thousands of agents they are spread over 127.0.0.1, 127.0.0.2, .... A third of the range is left
/// for the load client and connections in TIME_WAIT.
fn loopback_addresses(hollow: usize, ephemeral_ports: usize) -> usize {
    let per_address = (ephemeral_ports * 2 / 3 / CONNECTIONS_PER_AGENT).max(1);
    hollow.div_ceil(per_address).clamp(1, 250)
}

/// The i-th loopback address: 127.0.0.1, 127.0.0.2, ...
fn loopback(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 1 + (i % 250) as u8)
}

fn free_port() -> std::io::Result<u16> {
    // The port is free now; a race with another process taking it first shows as the server failing to listen.
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// A `/proc/<pid>/status` field in KiB (`pid` may be `self`).
fn proc_status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, field)
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// CPU seconds, user and system, all threads, a process has used (`pid` may be `self`): where the run's time went.
fn proc_cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_cpu_ticks(&stat).map(|ticks| ticks as f64 / rustix::param::clock_ticks_per_second() as f64)
}

/// utime + stime of a `/proc/<pid>/stat` line, in clock ticks. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from its last `)`.
fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    // After the name: state is field 3, utime field 14, stime field 15.
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// The end of the server's log, for error messages.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn mib(kib: u64) -> f64 {
    round(kib as f64 / 1024.0, 1)
}

fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(hollow: usize, tasks: u64) -> ClusterLoad {
        ClusterLoad {
            server: Server::Existing {
                endpoint: "http://127.0.0.1:1".into(),
                key: AccessKey { access_key_id: "a".into(), secret_access_key: "b".into() },
            },
            region: "us-east-1".into(),
            cluster: None,
            hollow,
            tasks,
            concurrency: 4,
            register_concurrency: 4,
            host_cpus: DEFAULT_HOST_CPUS,
            host_memory_mib: DEFAULT_HOST_MEMORY_MIB,
            timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn tasks_must_fit_on_the_hollow_hosts() {
        // 16 vCPUs hold 1024 tasks of 16 CPU units; 64 GiB would hold 2048 of 32 MiB.
        assert!(check(&load(2, 2048)).is_ok());
        assert!(matches!(check(&load(2, 2049)), Err(ClusterError::Invalid(_))));
        assert!(matches!(check(&load(0, 1)), Err(ClusterError::Invalid(_))));
    }

    #[test]
    fn agents_spread_over_loopback_addresses_past_one_address_worth_of_ports() {
        assert_eq!(loopback_addresses(5000, 28_232), 1);
        assert_eq!(loopback_addresses(10_000, 28_232), 2);
        assert_eq!(loopback_addresses(50_000, 28_232), 6);
        assert_eq!(loopback(0), Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(loopback(5), Ipv4Addr::new(127, 0, 0, 6));
    }

    #[test]
    fn status_fields_in_kib() {
        let status = "Name:\tberth\nVmHWM:\t  123456 kB\nVmRSS:\t   65536 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(123_456));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(65_536));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
        assert_eq!(mib(65_536), 64.0);
        assert!(proc_status_kib("self", "VmRSS").is_some_and(|k| k > 0));
    }

    #[test]
    fn cpu_time_from_stat() {
        let stat = "4242 (ber th) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 9 0 12345 0 0";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(280));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
        assert!(proc_cpu_secs("self").is_some());
    }

    #[test]
    fn the_soft_file_limit_is_raised_to_the_hard_one() {
        let limit = raise_nofile_limit();
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(Some(limit), now.current.or(Some(u64::MAX)));
        assert_eq!(now.current, now.maximum);
    }
}
