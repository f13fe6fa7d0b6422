//! The agent's settings (flags of `berth agent`, or what `berth up` passes).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use berth_client::AccessKey;

/// Host ports ECS reserves on every instance (SSH, the Docker daemon, the ECS agent's introspection and
/// credentials ports).
pub const DEFAULT_RESERVED_PORTS: [u16; 5] = [22, 2375, 2376, 51678, 51679];

/// Port of the task metadata endpoint on the bridge gateway (ECS serves it on 51679 behind 169.254.170.2).
pub const DEFAULT_METADATA_PORT: u16 = 51679;

/// Docker's and ECS's default ephemeral range for dynamic host ports.
pub const DEFAULT_DYNAMIC_HOST_PORT_RANGE: HostPortRange = HostPortRange { low: 49153, high: 65535 };

#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The server's endpoint, e.g. `http://10.0.0.5:8700`.
    pub server: String,
    pub region: String,
    pub access_key: AccessKey,
    /// The cluster to join.
    pub cluster: String,
    /// Where the agent keeps its state file (the instance ARN) and registry credentials (`secrets/`).
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
}

impl AgentConfig {
    /// The state file holding this host's registration.
    pub fn state_file(&self) -> PathBuf {
        self.data_dir.join("agent-state.json")
    }

    pub fn secrets_dir(&self) -> PathBuf {
        self.data_dir.join("secrets")
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

/// A settings value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "dynamic host port range '{value}': {why} (expected LOW-HIGH with 1 <= LOW <= HIGH <= 65535, e.g. 49153-65535)"
    )]
    HostPortRange { value: String, why: &'static str },
}

/// An inclusive range of host ports, written `LOW-HIGH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPortRange {
    pub low: u16,
    pub high: u16,
}

impl HostPortRange {
    /// `low..=high`; port 0 is not a port, and an empty range would leave the server nothing to assign.
    pub fn new(low: u16, high: u16) -> Result<HostPortRange, ConfigError> {
        let fail = |why| Err(ConfigError::HostPortRange { value: format!("{low}-{high}"), why });
        if low == 0 {
            return fail("ports start at 1");
        }
        if low > high {
            return fail("LOW is above HIGH");
        }
        Ok(HostPortRange { low, high })
    }
}

impl Default for HostPortRange {
    fn default() -> Self {
        DEFAULT_DYNAMIC_HOST_PORT_RANGE
    }
}

impl fmt::Display for HostPortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.low, self.high)
    }
}

impl FromStr for HostPortRange {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |why| ConfigError::HostPortRange { value: s.to_owned(), why };
        let (low, high) = s.trim().split_once('-').ok_or_else(|| fail("no '-' between LOW and HIGH"))?;
        let port = |p: &str| p.trim().parse::<u16>().map_err(|_| fail("LOW and HIGH must be numbers up to 65535"));
        HostPortRange::new(port(low)?, port(high)?).map_err(|e| match e {
            ConfigError::HostPortRange { why, .. } => fail(why),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_ranges_parse_and_print() {
        assert_eq!("49153-65535".parse::<HostPortRange>().unwrap(), HostPortRange::default());
        assert_eq!(" 1000 - 2000 ".parse::<HostPortRange>().unwrap(), HostPortRange { low: 1000, high: 2000 });
        assert_eq!("8080-8080".parse::<HostPortRange>().unwrap().to_string(), "8080-8080");
        for (bad, why) in [
            ("2000-1000", "LOW is above HIGH"),
            ("0-100", "ports start at 1"),
            ("100", "no '-'"),
            ("100-70000", "numbers up to 65535"),
            ("-5-10", "numbers up to 65535"),
            ("a-b", "numbers up to 65535"),
        ] {
            let err = bad.parse::<HostPortRange>().unwrap_err().to_string();
            assert!(err.contains(why) && err.contains(bad), "{bad}: {err}");
        }
    }
}
