//! The agent's settings (flags of `berth agent`, or what `berth up` passes).

use std::path::PathBuf;
use std::time::Duration;

use berth_client::AccessKey;

/// Host ports ECS reserves on every instance (SSH, the Docker daemon, the ECS agent's introspection and
/// credentials ports).
pub const DEFAULT_RESERVED_PORTS: [u16; 5] = [22, 2375, 2376, 51678, 51679];

/// Port of the task metadata endpoint on the bridge gateway (ECS serves it on 51679 behind 169.254.170.2).
pub const DEFAULT_METADATA_PORT: u16 = 51679;

/// Port of the agent link endpoint on `berth agent` hosts (the server reads log streams through it).
pub const DEFAULT_LINK_PORT: u16 = 8701;

pub use berth_model::ports::{DEFAULT_DYNAMIC_HOST_PORT_RANGE, HostPortRange, PortRangeError};

#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The server's endpoint, e.g. `https://10.0.0.5:8700`.
    pub server: String,
    /// The certificates (PEM) the agent trusts for the server's TLS certificate: Berth's CA, from the server's
    /// `tls/ca.pem`. `None`: the system's certificate authorities.
    pub ca_bundle: Option<String>,
    pub region: String,
    pub access_key: AccessKey,
    /// The cluster to join.
    pub cluster: String,
    /// Where the agent keeps its state file (the instance ARN), log streams, per-task files (`tasks/`) and the files
    /// it mounts into containers (`task-support/`: the env shim, Berth's CA).
    pub data_dir: PathBuf,
    /// `ecs.availability-zone` of this host.
    pub availability_zone: Option<String>,
    /// `ecs.instance-type` of this host.
    pub instance_type: String,
    /// MiB of host memory kept back from tasks (ECS_RESERVED_MEMORY).
    pub reserved_memory_mib: u64,
    /// Host ports tasks may not take.
    pub reserved_ports: Vec<u16>,
    pub reserved_udp_ports: Vec<u16>,
    /// Port of the metadata endpoint on the bridge gateway address ([`DEFAULT_METADATA_PORT`]; 0 picks a free
    /// one, so several agents can share a host in tests); `None` turns the endpoint off.
    pub metadata_port: Option<u16>,
    /// SIGTERM-to-SIGKILL grace for containers without a stopTimeout (ECS_CONTAINER_STOP_TIMEOUT).
    pub default_stop_timeout: Duration,
    /// How long a stopped task's containers stay on the host (ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION).
    pub cleanup_wait: Duration,
    /// Extra attributes for the instance (ECS_INSTANCE_ATTRIBUTES).
    pub attributes: Vec<(String, Option<String>)>,
    /// Which GPUs the host registers (ECS_ENABLE_GPU_SUPPORT, but on by default: a host without NVIDIA's driver
    /// simply has none).
    pub gpus: GpuDiscovery,
    /// Host ports the server may assign to bridge portMappings without a hostPort (ECS_DYNAMIC_HOST_PORT_RANGE),
    /// registered as the `berth.dynamic-host-port-range` attribute.
    pub dynamic_host_port_range: HostPortRange,
    /// Where the agent link endpoint listens (`berth agent`: 0.0.0.0:8701; `berth up`: 127.0.0.1:0). `None`: no
    /// endpoint, and no log shipping (hollow agents), since nothing could read the streams.
    pub link_listen: Option<std::net::SocketAddr>,
    /// The link endpoint's address as the servers reach it (`host:port` or a URL); unset: derived from the bound
    /// address (see `link::advertise`).
    pub link_advertise: Option<String>,
    /// Bytes of container logs kept on this host, all streams together; the oldest segments go first.
    pub log_max_bytes: u64,
    /// Bytes kept of one log stream.
    pub log_stream_max_bytes: u64,
    /// How often the running containers' CPU and memory are sampled and reported (`None`: not at all).
    pub stats_interval: Option<Duration>,
}

impl AgentConfig {
    /// The state file holding this host's registration.
    pub fn state_file(&self) -> PathBuf {
        self.data_dir.join("agent-state.json")
    }

    /// Where the host's log streams live.
    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
}

/// Where the host's GPUs come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GpuDiscovery {
    /// Ask NVML (see [`crate::gpu`]); no driver or no GPU means none.
    #[default]
    Auto,
    /// Register no GPUs, whatever the host has.
    Off,
    /// Register these GPU ids without asking NVML (tests, hollow agents).
    List(Vec<String>),
}
