//! The `berth` binary: argument parsing and wiring only.

mod serving;
mod user;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use berth_server::{AuthMode, ServerConfig, bootstrap};
use berth_store::SqliteStore;
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "berth", version, about = "A self-hosted container orchestrator that speaks the Amazon ECS API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Everything for one machine: the control plane with an embedded store and the local agent, a cluster of one.
    Up {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        host: HostArgs,
        #[command(flatten)]
        up: UpArgs,
    },
    /// The control plane alone.
    Server(ServerArgs),
    /// The agent of one host: joins a cluster of the server and runs its tasks on the local Docker Engine.
    Agent(AgentArgs),
    /// Measurements (each prints one JSON line).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The cluster's tasks: status, health, host, ports, CPU and memory.
    Ps(user::ps::PsArgs),
    /// A task's container output (CloudWatch Logs), optionally followed.
    Logs(user::logs::LogsArgs),
    /// Register a new revision of a service's task definition, update the service, and follow the rollout.
    Deploy(user::deploy::DeployArgs),
    /// CPU and memory utilization by service.
    Top(user::top::TopArgs),
    /// Print the data directory's access key for the aws CLI's credential_process.
    Credentials {
        #[arg(long, env = "BERTH_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Signed ECS API load (10% RegisterTaskDefinition, 45% DescribeTaskDefinition, 45% ListTaskDefinitions)
    /// against any ECS endpoint: Berth, or a peer such as moto's server.
    Api {
        /// The endpoint to drive.
        #[arg(long)]
        endpoint: String,
        /// A shared-credentials file with profile `berth` (e.g. <data-dir>/credentials).
        #[arg(long, conflicts_with_all = ["access_key_id", "secret_access_key"])]
        credentials: Option<PathBuf>,
        #[arg(long, requires = "secret_access_key")]
        access_key_id: Option<String>,
        #[arg(long, requires = "access_key_id")]
        secret_access_key: Option<String>,
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// Seconds of measured load.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Requests in flight.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// CA certificates (PEM) to verify an https:// endpoint with (a Berth server's <data dir>/tls/ca.pem).
        #[arg(long, value_name = "FILE")]
        ca_bundle: Option<PathBuf>,
    },
    /// The scheduler alone: placement decisions over a synthetic cluster in memory (spread over zones plus binpack
    /// plus memberOf, then each strategy alone). Prints placements/s and per-decision latency.
    Placement {
        /// Container instances in the synthetic cluster.
        #[arg(long, default_value_t = 10_000)]
        instances: usize,
        /// Placement decisions per scenario.
        #[arg(long, default_value_t = 100_000)]
        tasks: usize,
    },
    /// Hollow agents (the real agent on a fake runtime) join a cluster, RunTask places tasks on them, and the clock
    /// stops when the server counts every placed task RUNNING: tasks/s, RunTask latency and the server's peak
    /// memory. Starts its own server (this executable, a fresh data directory) unless --endpoint is given.
    Cluster {
        /// Hollow agents to register.
        #[arg(long, default_value_t = berth_bench::cluster::DEFAULT_HOLLOW)]
        hollow: usize,
        /// Tasks to place, by RunTask calls of up to 10.
        #[arg(long, default_value_t = berth_bench::cluster::DEFAULT_TASKS)]
        tasks: u64,
        /// RunTask calls in flight.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Agents registering at once.
        #[arg(long, default_value_t = 64)]
        register_concurrency: usize,
        /// vCPUs of each hollow host.
        #[arg(long, default_value_t = berth_bench::cluster::DEFAULT_HOST_CPUS)]
        host_cpus: u32,
        /// MiB of memory of each hollow host.
        #[arg(long, default_value_t = berth_bench::cluster::DEFAULT_HOST_MEMORY_MIB)]
        host_memory: u64,
        /// Seconds from the first RunTask until every placed task must be RUNNING.
        #[arg(long, default_value_t = 300.0)]
        timeout: f64,
        /// Drive this running server instead of starting one (its memory is then not measured).
        #[arg(long)]
        endpoint: Option<String>,
        /// With --endpoint: a shared-credentials file with profile `berth`.
        #[arg(long, requires = "endpoint", conflicts_with_all = ["access_key_id", "secret_access_key"])]
        credentials: Option<PathBuf>,
        #[arg(long, requires_all = ["endpoint", "secret_access_key"])]
        access_key_id: Option<String>,
        #[arg(long, requires = "access_key_id")]
        secret_access_key: Option<String>,
        #[arg(long, default_value = "us-east-1")]
        region: String,
        /// The cluster to fill (default `bench`, or `bench-<unix seconds>` on an existing server).
        #[arg(long)]
        cluster: Option<String>,
    },
}

#[derive(Args, Clone)]
struct ServerArgs {
    /// Address to serve the API on.
    #[arg(long, default_value = "127.0.0.1:8700", env = "BERTH_LISTEN")]
    listen: SocketAddr,
    /// Where the store and credentials live (default ~/.berth).
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Region named in ARNs and expected in signatures' scope.
    #[arg(long, default_value = "us-east-1", env = "BERTH_REGION")]
    region: String,
    /// 12-digit account id named in ARNs.
    #[arg(long, default_value = "000000000000", env = "BERTH_ACCOUNT_ID")]
    account_id: String,
    /// `sigv4` checks every request's signature; `none` accepts anything (prints a warning).
    #[arg(long, value_enum, default_value_t = AuthArg::Sigv4)]
    auth: AuthArg,
    /// Do not write the `berth` profile into the aws config.
    #[arg(long)]
    no_aws_profile: bool,
    /// Seconds an agent may be silent before its instance is disconnected and its tasks are marked lost.
    #[arg(long, default_value_t = 60, env = "BERTH_AGENT_DEADLINE")]
    agent_deadline: u64,
    /// Seconds stopped tasks stay visible before they are deleted.
    #[arg(long, default_value_t = 3600, env = "BERTH_TASK_RETENTION")]
    task_retention: u64,
    /// The OIDC issuer URL of task web identity tokens (default: the server's URL, as the aws profile names it).
    #[arg(long, value_name = "URL", env = "BERTH_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    #[command(flatten)]
    tls: serving::TlsArgs,
}

/// What describes the host an agent runs on.
#[derive(Args, Clone)]
struct HostArgs {
    /// `ecs.availability-zone` attribute of this host.
    #[arg(long, env = "BERTH_AVAILABILITY_ZONE")]
    availability_zone: Option<String>,
    /// `ecs.instance-type` attribute of this host.
    #[arg(long, default_value = "berth.host", env = "BERTH_INSTANCE_TYPE")]
    instance_type: String,
    /// MiB of host memory kept back from tasks.
    #[arg(long, default_value_t = 256, env = "BERTH_RESERVED_MEMORY")]
    reserved_memory: u64,
    /// Port of the task metadata endpoint on the Docker bridge gateway (0: any free port).
    #[arg(long, default_value_t = berth_agent::config::DEFAULT_METADATA_PORT, env = "BERTH_METADATA_PORT")]
    metadata_port: u16,
    /// Default seconds between SIGTERM and SIGKILL when stopping a container without a stopTimeout.
    #[arg(long, default_value_t = 30, env = "BERTH_STOP_TIMEOUT")]
    stop_timeout: u64,
    /// Seconds a stopped task's containers stay on the host before they are removed.
    #[arg(long, default_value_t = 3600, env = "BERTH_CLEANUP_WAIT")]
    cleanup_wait: u64,
    /// Extra instance attribute NAME=VALUE (or NAME); repeatable.
    #[arg(long = "attribute", value_name = "NAME[=VALUE]")]
    attributes: Vec<String>,
    /// `auto` registers the host's NVIDIA GPUs (found through NVML; none without the driver), `none` registers none.
    #[arg(long, value_enum, default_value_t = GpusArg::Auto, env = "BERTH_GPUS")]
    gpus: GpusArg,
    /// Host ports the server may assign to bridge port mappings without a hostPort.
    #[arg(long, value_name = "LOW-HIGH", default_value_t = berth_agent::config::DEFAULT_DYNAMIC_HOST_PORT_RANGE,
          env = "BERTH_DYNAMIC_HOST_PORT_RANGE")]
    dynamic_host_port_range: berth_agent::HostPortRange,
    /// Where the agent link endpoint (log streams for the server) listens [`berth up`: 127.0.0.1:0; `berth agent`:
    /// 0.0.0.0:8701].
    #[arg(long, value_name = "IP:PORT", env = "BERTH_LINK_LISTEN")]
    link_listen: Option<SocketAddr>,
    /// The link endpoint's address as the server reaches it (HOST:PORT or URL); default: derived from the listen
    /// address and the route to the server.
    #[arg(long, value_name = "HOST:PORT", env = "BERTH_LINK_ADVERTISE")]
    link_advertise: Option<String>,
    /// Bytes of container logs kept on this host, all streams together (oldest dropped first).
    #[arg(long, default_value_t = berth_agent::logs::DEFAULT_HOST_MAX_BYTES, env = "BERTH_LOG_MAX_BYTES")]
    log_max_bytes: u64,
    /// Bytes kept of one log stream.
    #[arg(long, default_value_t = berth_agent::logs::DEFAULT_STREAM_MAX_BYTES, env = "BERTH_LOG_STREAM_MAX_BYTES")]
    log_stream_max_bytes: u64,
    /// Seconds between samples of the running containers' CPU and memory (reported to the server for
    /// utilization, and shown on the agent's /metrics); 0 turns sampling off.
    #[arg(long, default_value_t = 10.0, env = "BERTH_STATS_INTERVAL")]
    stats_interval: f64,
}

#[derive(Clone, Copy, ValueEnum)]
enum GpusArg {
    Auto,
    None,
}

/// `berth up`'s own flags.
#[derive(Args, Clone)]
struct UpArgs {
    /// Serve the API without the local agent (a machine without Docker, or a control plane for remote agents
    /// that still writes the aws profile).
    #[arg(long)]
    no_agent: bool,
}

#[derive(Args, Clone)]
struct AgentArgs {
    /// The server's endpoint, e.g. http://10.0.0.5:8700.
    #[arg(long, env = "BERTH_SERVER")]
    server: String,
    /// The cluster to join.
    #[arg(long, default_value = "default", env = "BERTH_CLUSTER")]
    cluster: String,
    /// Where the agent keeps its state (default ~/.berth).
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A shared-credentials file with profile `berth`; otherwise AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    #[arg(long, env = "BERTH_CREDENTIALS")]
    credentials: Option<PathBuf>,
    /// The CA certificates (PEM) to verify the server with: the server's `<data dir>/tls/ca.pem` (default: the
    /// system's certificate authorities).
    #[arg(long, value_name = "FILE", env = "BERTH_CA_BUNDLE")]
    ca_bundle: Option<PathBuf>,
    #[arg(long, default_value = "us-east-1", env = "BERTH_REGION")]
    region: String,
    #[command(flatten)]
    host: HostArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuthArg {
    Sigv4,
    None,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG").unwrap_or_else(|_| "berth=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // The agent alone runs on one thread: it mostly waits on Docker and the server, and stays small.
    let runtime = match &cli.command {
        Command::Agent(_) => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        _ => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
    }
    .context("starting the runtime")?;
    match cli.command {
        Command::Up { server, host, up } => runtime.block_on(run_server(server, Some((host, !up.no_agent)))),
        Command::Server(args) => runtime.block_on(run_server(args, None)),
        Command::Agent(args) => runtime.block_on(run_agent(args)),
        Command::Credentials { data_dir } => print_credentials(&resolve_data_dir(data_dir)?),
        Command::Bench(bench) => runtime.block_on(run_bench(bench)),
        Command::Ps(args) => user::finish(runtime.block_on(user::ps::run(args))),
        Command::Logs(args) => user::finish(runtime.block_on(user::logs::run(args))),
        Command::Deploy(args) => user::finish(runtime.block_on(user::deploy::run(args))),
        Command::Top(args) => user::finish(runtime.block_on(user::top::run(args))),
    }
}

fn resolve_data_dir(arg: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = match arg {
        Some(d) => d,
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set; pass --data-dir")?).join(".berth"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating data directory {}", dir.display()))?;
    dir.canonicalize().with_context(|| format!("resolving {}", dir.display()))
}

/// Serves the API; with `host` (berth up) the aws profile is written and, when asked, the local agent runs beside
/// the server.
async fn run_server(args: ServerArgs, host: Option<(HostArgs, bool)>) -> anyhow::Result<()> {
    if args.account_id.len() != 12 || !args.account_id.bytes().all(|b| b.is_ascii_digit()) {
        bail!("--account-id must be 12 digits, got '{}'", args.account_id);
    }
    let data_dir = resolve_data_dir(args.data_dir.clone())?;
    let serving = serving::prepare(&args.tls, args.listen, &data_dir)?;
    let store = SqliteStore::open(&bootstrap::store_path(&data_dir))
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let auth = match args.auth {
        AuthArg::Sigv4 => AuthMode::SigV4,
        AuthArg::None => AuthMode::Disabled,
    };
    let mut config = ServerConfig::new(&args.region, &args.account_id, auth);
    config.secrets_key = Some(data_dir.join("secrets.key"));
    config.agent_deadline = std::time::Duration::from_secs(args.agent_deadline.max(1));
    config.task_retention = std::time::Duration::from_secs(args.task_retention);
    config.tls_authority = serving.authority.clone();
    config.oidc_issuer = args.oidc_issuer.clone();
    let api = berth_server::build_api(Arc::new(store), &config).await.context("loading state from the store")?;
    // The admin key exists before the port opens, so whoever sees the port open finds the credentials file.
    let credentials = bootstrap::credentials_path(&data_dir);
    let created_key = bootstrap::ensure_admin_key(&api, &data_dir).await.context("creating the admin access key")?;
    let tcp =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("listening on {}", args.listen))?;
    let listener = berth_tls::Listener::new(tcp, serving.tls.clone()).context("serving the listener")?;
    let endpoint = endpoint_url(serving.scheme(), listener.local_addr());
    api.oidc.set_default_issuer(&endpoint);
    println!(
        "berth {} listening on {endpoint} (region {}, account {})",
        env!("CARGO_PKG_VERSION"),
        args.region,
        args.account_id
    );
    println!("store: {}", bootstrap::store_path(&data_dir).display());
    if auth == AuthMode::Disabled {
        eprintln!(
            "WARNING: --auth none: requests are not authenticated; anyone who can reach {endpoint} has full control."
        );
    }
    if let Some(key) = created_key {
        println!("admin access key created: {} (secret, shown once: {})", key.access_key_id, key.secret_access_key);
        println!("credentials written to {} (profile {})", credentials.display(), bootstrap::PROFILE);
    } else {
        println!("credentials: {} (profile {})", credentials.display(), bootstrap::PROFILE);
    }
    match &serving.ca_bundle {
        Some((path, _)) => println!("TLS: clients verify the server with {}", path.display()),
        None if serving.tls.is_none() => {
            eprintln!("WARNING: --insecure-http: the API is served in plain HTTP on {endpoint}")
        }
        None => {}
    }
    if host.is_some() && !args.no_aws_profile {
        write_profile(&args.region, &endpoint, &data_dir, serving.ca_bundle.as_ref().map(|(p, _)| p.as_path()));
    }

    // The local agent stops first, so its open poll does not hold the server's graceful shutdown.
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let (agent_gone_tx, agent_gone_rx) = tokio::sync::oneshot::channel::<()>();
    let server_shutdown = async move {
        shutdown_signal().await;
        let _ = stopping_tx.send(());
        let _ = agent_gone_rx.await;
    };
    let server = tokio::spawn(berth_server::serve(api, listener, server_shutdown));
    let agent = match host {
        Some((host, true)) => {
            let (id, secret) = bootstrap::read_credentials(&credentials)
                .with_context(|| format!("reading {}", credentials.display()))?;
            let key = berth_client::AccessKey { access_key_id: id, secret_access_key: secret };
            let mut reserved = host_reserved_ports();
            reserved.push(listener_port(&endpoint));
            let mut config =
                agent_config(&host, endpoint.clone(), args.region.clone(), key, "default", data_dir, reserved);
            config.ca_bundle = serving.ca_bundle.as_ref().map(|(_, pem)| pem.clone());
            // The local agent's link endpoint is only for this server.
            config.link_listen = Some(host.link_listen.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))));
            start_agent(config).await
        }
        _ => None,
    };
    let _ = stopping_rx.await;
    if let Some(agent) = agent {
        agent.shutdown();
    }
    let _ = agent_gone_tx.send(());
    server.await.context("serving the API")?.context("serving the API")?;
    println!("berth stopped");
    Ok(())
}

/// Starts the local agent of `berth up`; without a usable Docker Engine the server goes on alone.
async fn start_agent(config: berth_agent::AgentConfig) -> Option<berth_agent::Agent> {
    let runtime = match berth_agent::runtime::docker::DockerRuntime::connect().await {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("agent not started: cannot reach the Docker Engine ({e}); serving the API only");
            return None;
        }
    };
    match berth_agent::start(config, runtime).await {
        Ok(agent) => {
            println!("agent registered as {}", agent.container_instance_arn);
            if let (Some(addr), Some(link)) = (agent.link_addr, &agent.link) {
                let scheme = if link.endpoint.starts_with("https://") { "https" } else { "http" };
                println!("agent metrics: {scheme}://{addr}/metrics");
            }
            Some(agent)
        }
        Err(e) => {
            eprintln!("agent not started: {e}; serving the API only");
            None
        }
    }
}

async fn run_agent(args: AgentArgs) -> anyhow::Result<()> {
    let data_dir = resolve_data_dir(args.data_dir.clone())?;
    let key = match &args.credentials {
        Some(path) => {
            let (id, secret) =
                bootstrap::read_credentials(path).with_context(|| format!("reading {}", path.display()))?;
            berth_client::AccessKey { access_key_id: id, secret_access_key: secret }
        }
        None => match (std::env::var("AWS_ACCESS_KEY_ID"), std::env::var("AWS_SECRET_ACCESS_KEY")) {
            (Ok(id), Ok(secret)) => berth_client::AccessKey { access_key_id: id, secret_access_key: secret },
            _ => bail!("give --credentials FILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        },
    };
    let mut config = agent_config(
        &args.host,
        args.server.clone(),
        args.region.clone(),
        key,
        &args.cluster,
        data_dir,
        host_reserved_ports(),
    );
    if let Some(path) = &args.ca_bundle {
        config.ca_bundle =
            Some(std::fs::read_to_string(path).with_context(|| format!("reading the CA bundle {}", path.display()))?);
    }
    let runtime = Arc::new(
        berth_agent::runtime::docker::DockerRuntime::connect().await.context("connecting to the Docker Engine")?,
    );
    let agent = berth_agent::start(config, runtime).await.context("starting the agent")?;
    println!("agent registered as {}", agent.container_instance_arn);
    shutdown_signal().await;
    agent.shutdown();
    println!("agent stopped; its containers keep running and the next agent adopts them");
    Ok(())
}

fn host_reserved_ports() -> Vec<u16> {
    berth_agent::config::DEFAULT_RESERVED_PORTS.to_vec()
}

fn listener_port(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(8700)
}

fn agent_config(
    host: &HostArgs,
    server: String,
    region: String,
    access_key: berth_client::AccessKey,
    cluster: &str,
    data_dir: PathBuf,
    mut reserved_ports: Vec<u16>,
) -> berth_agent::AgentConfig {
    if host.metadata_port != 0 && !reserved_ports.contains(&host.metadata_port) {
        reserved_ports.push(host.metadata_port);
    }
    let mut attributes = Vec::new();
    for a in &host.attributes {
        match a.split_once('=') {
            Some((name, value)) => attributes.push((name.to_owned(), Some(value.to_owned()))),
            None => attributes.push((a.clone(), None)),
        }
    }
    berth_agent::AgentConfig {
        server,
        ca_bundle: None,
        region,
        access_key,
        cluster: cluster.to_owned(),
        data_dir,
        availability_zone: host.availability_zone.clone(),
        instance_type: host.instance_type.clone(),
        reserved_memory_mib: host.reserved_memory,
        reserved_ports,
        reserved_udp_ports: vec![],
        metadata_port: Some(host.metadata_port),
        default_stop_timeout: std::time::Duration::from_secs(host.stop_timeout),
        cleanup_wait: std::time::Duration::from_secs(host.cleanup_wait),
        attributes,
        gpus: match host.gpus {
            GpusArg::Auto => berth_agent::GpuDiscovery::Auto,
            GpusArg::None => berth_agent::GpuDiscovery::Off,
        },
        dynamic_host_port_range: host.dynamic_host_port_range,
        link_listen: Some(
            host.link_listen.unwrap_or(SocketAddr::from(([0, 0, 0, 0], berth_agent::config::DEFAULT_LINK_PORT))),
        ),
        link_advertise: host.link_advertise.clone(),
        log_max_bytes: host.log_max_bytes,
        log_stream_max_bytes: host.log_stream_max_bytes,
        stats_interval: std::time::Duration::try_from_secs_f64(host.stats_interval).ok().filter(|d| !d.is_zero()),
    }
}

fn write_profile(region: &str, endpoint: &str, data_dir: &Path, ca_bundle: Option<&Path>) {
    let Some(path) = bootstrap::aws_config_path() else {
        eprintln!("no HOME or AWS_CONFIG_FILE: not writing the aws profile");
        return;
    };
    let exe = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "berth".into());
    let process = format!("\"{exe}\" credentials --data-dir \"{}\"", data_dir.display());
    match bootstrap::write_aws_profile(&path, region, endpoint, &process, ca_bundle) {
        Ok(()) => println!(
            "aws profile '{}' written to {}: try  aws --profile {} ecs list-clusters",
            bootstrap::PROFILE,
            path.display(),
            bootstrap::PROFILE
        ),
        Err(e) => eprintln!("could not write the aws profile to {}: {e}", path.display()),
    }
}

/// The URL clients use: a wildcard listen address is reached through loopback.
fn endpoint_url(scheme: &str, addr: SocketAddr) -> String {
    let host = match addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("{scheme}://{host}:{}", addr.port())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    println!("shutting down");
}

async fn run_bench(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Api {
            endpoint,
            credentials,
            access_key_id,
            secret_access_key,
            region,
            duration,
            concurrency,
            ca_bundle,
        } => {
            let (access_key_id, secret_access_key) = bench_key(credentials, access_key_id, secret_access_key)?;
            let ca_bundle = match ca_bundle {
                Some(path) => Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading the CA bundle {}", path.display()))?,
                ),
                None => None,
            };
            if !(duration > 0.0 && duration.is_finite()) || concurrency == 0 {
                bail!("--duration and --concurrency must be positive");
            }
            let load = berth_bench::api::ApiLoad {
                endpoint,
                region,
                access_key_id,
                secret_access_key,
                duration: std::time::Duration::from_secs_f64(duration),
                concurrency,
                ca_bundle,
            };
            let report = berth_bench::api::run(&load).await?;
            println!("{report}");
            Ok(())
        }
        BenchCommand::Placement { instances, tasks } => {
            if instances == 0 || tasks == 0 {
                bail!("--instances and --tasks must be positive");
            }
            let report = berth_bench::placement::run(&berth_bench::placement::PlacementLoad { instances, tasks })
                .map_err(anyhow::Error::msg)?;
            println!("{report}");
            Ok(())
        }
        BenchCommand::Cluster {
            hollow,
            tasks,
            concurrency,
            register_concurrency,
            host_cpus,
            host_memory,
            timeout,
            endpoint,
            credentials,
            access_key_id,
            secret_access_key,
            region,
            cluster,
        } => {
            if !(timeout > 0.0 && timeout.is_finite()) {
                bail!("--timeout must be positive");
            }
            let server = match endpoint {
                Some(endpoint) => {
                    let (access_key_id, secret_access_key) = bench_key(credentials, access_key_id, secret_access_key)?;
                    let key = berth_client::AccessKey { access_key_id, secret_access_key };
                    berth_bench::cluster::Server::Existing { endpoint, key }
                }
                None => berth_bench::cluster::Server::Spawn {
                    exe: std::env::current_exe().context("finding the berth executable")?,
                    read_key: |data_dir| {
                        let (access_key_id, secret_access_key) =
                            bootstrap::read_credentials(&bootstrap::credentials_path(data_dir))?;
                        Ok(berth_client::AccessKey { access_key_id, secret_access_key })
                    },
                },
            };
            let load = berth_bench::cluster::ClusterLoad {
                server,
                region,
                cluster,
                hollow,
                tasks,
                concurrency,
                register_concurrency,
                host_cpus,
                host_memory_mib: host_memory,
                timeout: std::time::Duration::from_secs_f64(timeout),
            };
            let outcome = berth_bench::cluster::run(&load).await?;
            println!("{}", outcome.report);
            if !outcome.all_running {
                bail!("not every placed task was RUNNING within --timeout");
            }
            Ok(())
        }
    }
}

/// The access key a benchmark signs with: a credentials file's, or the one given on the command line.
fn bench_key(
    credentials: Option<PathBuf>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
) -> anyhow::Result<(String, String)> {
    match (credentials, access_key_id, secret_access_key) {
        (Some(path), _, _) => bootstrap::read_credentials(&path).with_context(|| format!("reading {}", path.display())),
        (None, Some(id), Some(secret)) => Ok((id, secret)),
        _ => bail!("give --credentials FILE or --access-key-id and --secret-access-key"),
    }
}

/// Output for the aws CLI's `credential_process`.
fn print_credentials(data_dir: &Path) -> anyhow::Result<()> {
    let path = bootstrap::credentials_path(data_dir);
    let (id, secret) = bootstrap::read_credentials(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc = serde_json::json!({ "Version": 1, "AccessKeyId": id, "SecretAccessKey": secret });
    println!("{doc}");
    Ok(())
}
