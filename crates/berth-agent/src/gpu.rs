//! The host's NVIDIA GPUs: finding them through NVML, for registration to offer as `platformDevices`.
//!
//! NVML (libnvidia-ml) is loaded at run time, so the agent builds and runs on hosts without NVIDIA's driver; there,
//! and on hosts with the driver but no GPU, discovery finds nothing and says so once in the log. It never fails
//! the agent. Handing GPUs to a task's containers is not done here: the server assigns them (`gpuIds`) and the
//! runtime turns them into a Docker device request (`runtime::docker_config`).

use std::ffi::OsStr;

use nvml_wrapper::Nvml;
use nvml_wrapper::error::NvmlError;
use tracing::{debug, info, warn};

use crate::config::GpuDiscovery;

/// Library names tried in turn: the soname driver packages install, then the unversioned development link.
const LIBRARIES: [&str; 2] = ["libnvidia-ml.so.1", "libnvidia-ml.so"];

/// What the host offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostGpus {
    /// NVML's UUIDs (`GPU-8f6d0c1e-...`), in NVML's index order. They become the tasks' `gpuIds`, which Docker's
    /// nvidia device request accepts as they are.
    pub uuids: Vec<String>,
    /// The driver version, e.g. `550.54.15`, when NVML told it.
    pub driver_version: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no NVML library on this host ({0})")]
    NoLibrary(String),
    #[error("NVML: {0}")]
    Nvml(#[from] NvmlError),
}

/// The GPUs to register, as `mode` says. Blocks while NVML initializes (it may take a while on a GPU host), so
/// async callers run it on a blocking thread.
pub fn discover(mode: &GpuDiscovery) -> HostGpus {
    match mode {
        GpuDiscovery::Off => HostGpus::default(),
        GpuDiscovery::List(ids) => HostGpus { uuids: ids.clone(), driver_version: None },
        GpuDiscovery::Auto => match probe() {
            Ok(gpus) => {
                if gpus.uuids.is_empty() {
                    info!("NVML found no GPUs; registering none");
                } else {
                    info!(count = gpus.uuids.len(), driver = ?gpus.driver_version, "found GPUs");
                }
                gpus
            }
            // Most hosts: no NVIDIA driver at all. Not worth more than a debug line.
            Err(e @ GpuError::NoLibrary(_)) => {
                debug!(error = %e, "registering no GPUs");
                HostGpus::default()
            }
            Err(e) => {
                info!(error = %e, "cannot list GPUs through NVML; registering none");
                HostGpus::default()
            }
        },
    }
}

/// Asks NVML for every GPU's UUID and the driver version.
pub fn probe() -> Result<HostGpus, GpuError> {
    let nvml = open()?;
    let count = nvml.device_count()?;
    let mut uuids = Vec::new();
    for index in 0..count {
        match nvml.device_by_index(index).and_then(|device| device.uuid()) {
            Ok(uuid) => uuids.push(uuid),
            // A GPU NVML cannot read is one no task should be given; the others are still fine.
            Err(e) => warn!(index, error = %e, "skipping a GPU that NVML cannot read"),
        }
    }
    let driver_version = nvml.sys_driver_version().ok();
    Ok(HostGpus { uuids, driver_version })
}

fn open() -> Result<Nvml, GpuError> {
    let mut missing = Vec::new();
    for library in LIBRARIES {
        match Nvml::builder().lib_path(OsStr::new(library)).init() {
            Ok(nvml) => return Ok(nvml),
            Err(NvmlError::LibloadingError(e)) => missing.push(e.to_string()),
            // The library loaded but NVML failed (driver not loaded, no permission): another name will not help.
            Err(e) => return Err(e.into()),
        }
    }
    Err(GpuError::NoLibrary(missing.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_and_lists_do_not_ask_nvml() {
        assert_eq!(discover(&GpuDiscovery::Off), HostGpus::default());
        let ids = vec!["GPU-a".to_owned(), "GPU-b".to_owned()];
        assert_eq!(discover(&GpuDiscovery::List(ids.clone())).uuids, ids);
    }

    /// The test machines have no NVIDIA driver: discovery must come back empty, not fail. (On a GPU host it lists
    /// the GPUs instead, each with NVML's `GPU-` prefix.)
    #[test]
    fn auto_discovery_without_a_driver_finds_nothing() {
        let gpus = discover(&GpuDiscovery::Auto);
        match probe() {
            Err(_) => assert_eq!(gpus, HostGpus::default()),
            Ok(found) => {
                assert_eq!(gpus, found);
                assert!(found.uuids.iter().all(|u| u.starts_with("GPU-")), "{found:?}");
            }
        }
    }
}
