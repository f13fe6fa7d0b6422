//! The Berth agent: one per host. It registers the host as a container instance ([`registration`], with the GPUs
//! [`gpu`] finds), holds the work channel to the server ([`channel`]), runs tasks through the container runtime
//! ([`engine`], [`runtime`]), reports what happens to them ([`reporter`]), serves the task metadata endpoint
//! ([`metadata`]) with the task role credentials ([`credentials`]), keeps its containers' output in log streams
//! ([`logs`]) and serves those to the server over its link endpoint ([`link`]).
//!
//! The agent keeps no task state of its own: Docker labels name each container's task, and the server's manifest
//! says what should run, so a restarted agent adopts its containers instead of duplicating or orphaning them.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::mpsc;

pub mod channel;
pub mod config;
pub mod credentials;
pub mod engine;
pub mod gpu;
pub mod identity;
pub mod link;
pub mod logs;
pub mod metadata;
pub mod registration;
pub mod reporter;
pub mod runtime;
pub mod secrets;
pub mod stats;
pub mod task_files;

pub use config::{AgentConfig, GpuDiscovery, HostPortRange};

use crate::engine::{Engine, EngineConfig};
use crate::runtime::ContainerRuntime;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Runtime(#[from] runtime::RuntimeError),
    #[error(transparent)]
    Registration(#[from] registration::RegistrationError),
    #[error(transparent)]
    Client(#[from] berth_client::ClientError),
    #[error("metadata endpoint: {0}")]
    Metadata(std::io::Error),
    #[error("agent link endpoint on {addr}: {source}")]
    Link { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Logs(#[from] logs::store::StoreError),
}

/// A running agent: what `start` set up.
pub struct Agent {
    pub container_instance_arn: String,
    pub metadata_addr: Option<SocketAddr>,
    /// The agent's Prometheus metrics (served as `GET /metrics` on the link endpoint).
    pub metrics: Arc<stats::AgentMetrics>,
    /// Where the link endpoint listens, and how the server was told to reach it.
    pub link_addr: Option<SocketAddr>,
    pub link: Option<berth_model::logs::AgentLink>,
    /// The host's log streams (when the agent ships logs).
    pub logs: Option<Arc<logs::LogStore>>,
    shipper: Option<Arc<logs::Shipper>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Agent {
    /// Stops the agent's loops. Containers keep running; a new agent adopts them, and ships their output from
    /// where this one stopped.
    pub fn shutdown(self) {
        for t in self.tasks {
            t.abort();
        }
        if let Some(shipper) = &self.shipper {
            shipper.stop();
        }
        if let Some(store) = &self.logs {
            store.close();
        }
    }
}

/// Routes other parts of the agent serve on the link endpoint next to the log operations, without its token
/// (`GET /metrics`).
fn extra_link_routes(metrics: Arc<stats::AgentMetrics>) -> axum::Router {
    stats::router(metrics)
}

/// How often retention is applied to the stored streams.
const LOG_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(600);

/// The link endpoint's listener, its advertised link and the log store, set up before registration so the server
/// learns the address with it.
struct LinkSetup {
    listener: tokio::net::TcpListener,
    local: SocketAddr,
    link: berth_model::logs::AgentLink,
    store: Arc<logs::LogStore>,
}

async fn setup_link(config: &AgentConfig) -> Result<Option<LinkSetup>, AgentError> {
    let Some(addr) = config.link_listen else { return Ok(None) };
    // The port is advertised with the registration, so another one works as well: a second agent on a host (tests)
    // takes a free port rather than failing.
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && addr.port() != 0 => {
            tracing::warn!(%addr, "agent link port taken; using a free port");
            let any = SocketAddr::new(addr.ip(), 0);
            tokio::net::TcpListener::bind(any).await.map_err(|source| AgentError::Link { addr: any, source })?
        }
        Err(source) => return Err(AgentError::Link { addr, source }),
    };
    let local = listener.local_addr().map_err(|source| AgentError::Link { addr, source })?;
    let limits = logs::Limits { host_max_bytes: config.log_max_bytes, stream_max_bytes: config.log_stream_max_bytes };
    let dir = config.logs_dir();
    let store = tokio::task::spawn_blocking(move || logs::LogStore::open(dir, limits))
        .await
        .map_err(|e| logs::store::StoreError::Io(std::io::Error::other(e)))??;
    let endpoint = link::advertise(local, config.link_advertise.as_deref(), &config.server).await;
    let link = berth_model::logs::AgentLink { endpoint, token: link::new_token() };
    Ok(Some(LinkSetup { listener, local, link, store: Arc::new(store) }))
}

/// Registers the host and starts the agent's loops on the current runtime.
pub async fn start(config: AgentConfig, runtime: Arc<dyn ContainerRuntime>) -> Result<Agent, AgentError> {
    let client = berth_client::Client::trusting(
        &config.server,
        &config.region,
        &config.access_key,
        4,
        config.ca_bundle.as_deref(),
    )?;
    let info = runtime.info().await?;
    // NVML's initialization blocks; on the agent's single thread it would stall everything else.
    let gpus = {
        let mode = config.gpus.clone();
        tokio::task::spawn_blocking(move || gpu::discover(&mode)).await.unwrap_or_default()
    };
    let link_setup = setup_link(&config).await?;
    let instance = registration::register(&client, &config, &info, &gpus, link_setup.as_ref().map(|l| &l.link)).await?;
    let arn = instance.container_instance_arn.clone();
    tracing::info!(instance = %arn, cluster = %config.cluster, "registered");
    // From here on the agent acts as its instance, not with the key it registered with (see `identity`).
    let mut tasks = Vec::new();
    match identity::assume(&client, &config.cluster, &arn).await {
        Ok(expires) => tasks.push(tokio::spawn(identity::keep(
            client.clone(),
            config.access_key.clone(),
            config.cluster.clone(),
            arn.clone(),
            expires,
        ))),
        Err(e) => tracing::warn!(error = %e, "no instance identity; the agent acts with its registration key"),
    }

    let registry = metadata::Registry::new(runtime.clone());
    let metrics = stats::AgentMetrics::new(runtime.as_ref());
    let (link_addr, link, store) = match link_setup {
        Some(LinkSetup { listener, local, link, store }) => {
            tracing::info!(listen = %local, endpoint = %link.endpoint, "agent link endpoint");
            let router = link::router(store.clone(), &link.token).merge(extra_link_routes(metrics.clone()));
            if link.endpoint.starts_with("https://") {
                tasks.push(tokio::spawn(link::serve_tls(
                    client.clone(),
                    config.cluster.clone(),
                    arn.clone(),
                    listener,
                    router,
                )));
            } else {
                tasks.push(tokio::spawn(async move {
                    if let Err(e) = link::serve(listener, router).await {
                        tracing::error!(error = %e, "agent link endpoint stopped");
                    }
                }));
            }
            let sweeper = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut every = tokio::time::interval(LOG_SWEEP_INTERVAL);
                loop {
                    every.tick().await;
                    let store = sweeper.clone();
                    match tokio::task::spawn_blocking(move || store.sweep()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(error = %e, "log retention sweep failed"),
                        Err(e) => tracing::warn!(error = %e, "log retention sweep failed"),
                    }
                }
            }));
            (Some(local), Some(link), Some(store))
        }
        None => (None, None, None),
    };
    let (metadata_addr, metadata_endpoint, credentials_endpoint) = match metadata_address(&config, &info) {
        Some(addr) => match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => {
                let local = listener.local_addr().map_err(AgentError::Metadata)?;
                let metadata_endpoint = format!("http://{local}");
                let mut listeners = vec![listener];
                // Task role credentials must be on 169.254.170.2 for the SDKs to take them (see `credentials`):
                // the same port there, not 0.0.0.0, so the endpoint stays off the host's other networks.
                let credentials_endpoint = match credentials::host::listen(local.port()).await {
                    Ok(listener) => {
                        let at = listener.local_addr().map_err(AgentError::Metadata)?;
                        listeners.push(listener);
                        format!("http://{at}")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, fallback = %metadata_endpoint,
                            "task role credentials are served on the gateway address only; the AWS SDKs refuse \
                             that address (they take 169.254.170.2 or loopback), only clients that do not check it \
                             can read them");
                        metadata_endpoint.clone()
                    }
                };
                let registry = registry.clone();
                tasks.push(tokio::spawn(async move {
                    if let Err(e) = metadata::server::serve_all(registry, listeners).await {
                        tracing::error!(error = %e, "metadata endpoint stopped");
                    }
                }));
                (Some(local), Some(metadata_endpoint), Some(credentials_endpoint))
            }
            Err(e) => {
                tracing::warn!(%addr, error = %e, "cannot serve the task metadata endpoint; containers get no metadata URI");
                (None, None, None)
            }
        },
        None => (None, None, None),
    };

    let (reports_tx, reports_rx) = mpsc::unbounded_channel();
    let runtime_for_logs = runtime.clone();
    if let Some(interval) = config.stats_interval {
        let collector = stats::Collector::new(
            runtime.clone(),
            registry.clone(),
            metrics.clone(),
            config.cluster.clone(),
            arn.clone(),
        );
        tasks.push(tokio::spawn(stats::run(client.clone(), collector, interval)));
    }
    let engine = Engine::new(
        runtime,
        EngineConfig {
            cluster: config.cluster.clone(),
            container_instance_arn: arn.clone(),
            availability_zone: config.availability_zone.clone(),
            default_stop_timeout: config.default_stop_timeout,
            metadata_endpoint,
            credentials_endpoint,
            cleanup_wait: config.cleanup_wait,
            tasks_dir: Some(config.data_dir.join("tasks")),
            support_dir: Some(config.data_dir.join("task-support")),
            ca_bundle: config.ca_bundle.clone(),
        },
        reports_tx,
        registry,
    );
    engine.set_credentials_source(Arc::new(credentials::ServerSource::new(
        client.clone(),
        config.cluster.clone(),
        arn.clone(),
    )));
    engine.set_secrets_source(Arc::new(secrets::ServerSecrets::new(client.clone())));
    tasks.push(tokio::spawn(reporter::run(client.clone(), reports_rx)));
    // Subscribe to runtime events before looking at existing containers, so an exit in between is not missed.
    {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                engine.run_events().await;
                tracing::warn!("runtime event stream ended; subscribing again");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }));
    }
    let shipper = store.as_ref().map(|store| {
        let shipper = logs::Shipper::new(runtime_for_logs.clone(), store.clone());
        engine.set_log_shipper(shipper.clone());
        let filter = vec![(berth_model::agent::labels::CONTAINER_INSTANCE.to_owned(), arn.clone())];
        tasks.push(tokio::spawn(shipper.clone().run(filter)));
        shipper
    });
    let adopted = engine.adopt_existing().await?;
    if adopted > 0 {
        tracing::info!(adopted, "found containers from an earlier agent");
    }
    tasks.push(tokio::spawn(channel::run(client, config.cluster.clone(), arn.clone(), engine)));
    Ok(Agent { container_instance_arn: arn, metadata_addr, metrics, link_addr, link, logs: store, shipper, tasks })
}

/// Where the metadata endpoint listens: the bridge gateway, reachable from bridge containers and host-network
/// ones but not from other machines (loopback when the runtime has no bridge).
fn metadata_address(config: &AgentConfig, info: &runtime::RuntimeInfo) -> Option<SocketAddr> {
    let port = config.metadata_port?;
    let ip = info.bridge_gateway.as_deref().and_then(|g| g.parse().ok()).unwrap_or([127, 0, 0, 1].into());
    Some(SocketAddr::new(ip, port))
}
