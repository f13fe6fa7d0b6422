//! The Berth agent: one per host. It registers the host as a container instance ([`registration`], with the GPUs
//! [`gpu`] finds), holds the work channel to the server ([`channel`]), runs tasks through the container runtime
//! ([`engine`], [`runtime`]), reports what happens to them ([`reporter`]) and serves the task metadata endpoint
//! ([`metadata`]).
//!
//! The agent keeps no task state of its own: Docker labels name each container's task, and the server's manifest
//! says what should run, so a restarted agent adopts its containers instead of duplicating or orphaning them.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::mpsc;

pub mod channel;
pub mod config;
pub mod engine;
pub mod gpu;
pub mod metadata;
pub mod registration;
pub mod reporter;
pub mod runtime;

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
}

/// A running agent: what `start` set up.
pub struct Agent {
    pub container_instance_arn: String,
    pub metadata_addr: Option<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Agent {
    /// Stops the agent's loops. Containers keep running; a new agent adopts them.
    pub fn shutdown(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

/// Registers the host and starts the agent's loops on the current runtime.
pub async fn start(config: AgentConfig, runtime: Arc<dyn ContainerRuntime>) -> Result<Agent, AgentError> {
    let client = berth_client::Client::new(&config.server, &config.region, &config.access_key, 4)?;
    let info = runtime.info().await?;
    // NVML's initialization blocks; on the agent's single thread it would stall everything else.
    let gpus = {
        let mode = config.gpus.clone();
        tokio::task::spawn_blocking(move || gpu::discover(&mode)).await.unwrap_or_default()
    };
    let instance = registration::register(&client, &config, &info, &gpus).await?;
    let arn = instance.container_instance_arn.clone();
    tracing::info!(instance = %arn, cluster = %config.cluster, "registered");

    let registry = metadata::Registry::new(runtime.clone());
    let mut tasks = Vec::new();
    let (metadata_addr, metadata_endpoint) = match metadata_address(&config, &info) {
        Some(addr) => match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => {
                let local = listener.local_addr().map_err(AgentError::Metadata)?;
                let registry = registry.clone();
                tasks.push(tokio::spawn(async move {
                    if let Err(e) = metadata::server::serve(registry, listener, std::future::pending()).await {
                        tracing::error!(error = %e, "metadata endpoint stopped");
                    }
                }));
                (Some(local), Some(format!("http://{local}")))
            }
            Err(e) => {
                tracing::warn!(%addr, error = %e, "cannot serve the task metadata endpoint; containers get no metadata URI");
                (None, None)
            }
        },
        None => (None, None),
    };

    let (reports_tx, reports_rx) = mpsc::unbounded_channel();
    let engine = Engine::new(
        runtime,
        EngineConfig {
            cluster: config.cluster.clone(),
            container_instance_arn: arn.clone(),
            availability_zone: config.availability_zone.clone(),
            default_stop_timeout: config.default_stop_timeout,
            metadata_endpoint,
            secrets_dir: Some(config.secrets_dir()),
            cleanup_wait: config.cleanup_wait,
        },
        reports_tx,
        registry,
    );
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
    let adopted = engine.adopt_existing().await?;
    if adopted > 0 {
        tracing::info!(adopted, "found containers from an earlier agent");
    }
    tasks.push(tokio::spawn(channel::run(client, config.cluster.clone(), arn.clone(), engine)));
    Ok(Agent { container_instance_arn: arn, metadata_addr, tasks })
}

/// Where the metadata endpoint listens: the bridge gateway, reachable from bridge containers and host-network
/// ones but not from other machines (loopback when the runtime has no bridge).
fn metadata_address(config: &AgentConfig, info: &runtime::RuntimeInfo) -> Option<SocketAddr> {
    let port = config.metadata_port?;
    let ip = info.bridge_gateway.as_deref().and_then(|g| g.parse().ok()).unwrap_or([127, 0, 0, 1].into());
    Some(SocketAddr::new(ip, port))
}
