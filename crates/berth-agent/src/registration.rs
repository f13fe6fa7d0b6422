//! Registering the host as a container instance: its resources and attributes from the runtime, and the state
//! file that keeps the instance ARN so a restarted agent is the same instance.

use std::path::Path;

use berth_client::{Client, ClientError};
use berth_model::instance::{ContainerInstance, PlatformDevice, Resource, VersionInfo};
use berth_model::ports::DYNAMIC_PORT_RANGE_ATTRIBUTE;
use berth_model::{Attribute, arn};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::AgentConfig;
use crate::gpu::HostGpus;
use crate::runtime::RuntimeInfo;

/// The agent's version, as registered in `versionInfo`.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the state file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentState {
    pub cluster: String,
    pub container_instance_arn: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("registration failed: {0}")]
    Api(#[from] ClientError),
    #[error("state file {path}: {message}")]
    StateFile { path: String, message: String },
}

/// Registers (or re-registers, when the state file names an instance of this cluster) and saves the state.
pub async fn register(
    client: &Client,
    config: &AgentConfig,
    info: &RuntimeInfo,
    gpus: &HostGpus,
    link: Option<&berth_model::logs::AgentLink>,
) -> Result<ContainerInstance, RegistrationError> {
    let path = config.state_file();
    let previous = read_state(&path)?.filter(|s| s.cluster == config.cluster);
    let mut body = request(config, info, gpus);
    // How the server reaches this agent's link endpoint (a Berth extension; ECS ignores unknown fields).
    if let Some(link) = link {
        body["berthAgentLink"] = json!(link);
    }
    if let Some(state) = &previous {
        body["containerInstanceArn"] = json!(state.container_instance_arn);
    }
    let response: Value = match client.ecs("RegisterContainerInstance", &body).await {
        // The earlier instance was deregistered or the server lost it: join as a new one.
        Err(ClientError::Api { code, .. }) if previous.is_some() && code == "InvalidParameterException" => {
            tracing::warn!("the instance in the state file is no longer registered; registering a new one");
            body.as_object_mut().map(|b| b.remove("containerInstanceArn"));
            client.ecs("RegisterContainerInstance", &body).await?
        }
        other => other?,
    };
    let instance: ContainerInstance = serde_json::from_value(response["containerInstance"].clone())
        .map_err(|e| ClientError::Decode(format!("RegisterContainerInstance: {e}")))?;
    let state =
        AgentState { cluster: config.cluster.clone(), container_instance_arn: instance.container_instance_arn.clone() };
    write_state(&path, &state)?;
    Ok(instance)
}

/// The RegisterContainerInstance request for this host. GPUs go in `platformDevices`, as the ECS agent sends them;
/// the server makes them the instance's GPU resource.
pub fn request(config: &AgentConfig, info: &RuntimeInfo, gpus: &HostGpus) -> Value {
    let memory_mib = (info.memory_bytes / (1024 * 1024)).saturating_sub(config.reserved_memory_mib);
    let ports = |list: &[u16]| list.iter().map(u16::to_string).collect::<Vec<_>>();
    let resources = vec![
        Resource::integer("CPU", i64::from(info.cpus) * 1024),
        Resource::integer("MEMORY", memory_mib as i64),
        Resource::string_set("PORTS", ports(&config.reserved_ports)),
        Resource::string_set("PORTS_UDP", ports(&config.reserved_udp_ports)),
    ];
    let mut body = json!({
        "cluster": config.cluster,
        "totalResources": resources,
        "versionInfo": VersionInfo {
            agent_version: Some(AGENT_VERSION.into()),
            agent_hash: None,
            docker_version: Some(format!("DockerVersion: {}", info.version)),
        },
        "attributes": attributes(config, info, gpus),
    });
    if !gpus.uuids.is_empty() {
        let devices: Vec<PlatformDevice> =
            gpus.uuids.iter().map(|id| PlatformDevice { id: id.clone(), kind: "GPU".to_owned() }).collect();
        body["platformDevices"] = json!(devices);
    }
    body
}

/// The instance's attributes: ECS's built-in ones, the capabilities this agent implements (the names
/// `requiresAttributes` uses, so task definitions written for ECS place here), and the configured extras.
pub fn attributes(config: &AgentConfig, info: &RuntimeInfo, gpus: &HostGpus) -> Vec<Attribute> {
    let mut out = vec![
        Attribute::new("ecs.os-type", Some(&info.os_type)),
        Attribute::new("ecs.os-family", Some("LINUX")),
        Attribute::new("ecs.cpu-architecture", Some(cpu_architecture(&info.architecture))),
        Attribute::new("ecs.instance-type", Some(&config.instance_type)),
    ];
    if let Some(az) = &config.availability_zone {
        out.push(Attribute::new("ecs.availability-zone", Some(az)));
    }
    let old = "com.amazonaws.ecs.capability.";
    let new = "ecs.capability.";
    for v in docker_api_versions(&info.api_version) {
        out.push(Attribute::new(format!("{old}docker-remote-api.{v}"), None));
    }
    let mut drivers: Vec<&str> = info.log_drivers.iter().map(String::as_str).collect();
    // awslogs output is kept by the agent itself, so it is offered whatever Docker has.
    if !drivers.contains(&"awslogs") {
        drivers.push("awslogs");
    }
    for d in drivers {
        out.push(Attribute::new(format!("{old}logging-driver.{d}"), None));
    }
    for cap in [
        "container-health-check",
        "container-ordering",
        "task-cpu-mem-limit",
        "execution-role-awslogs",
        "private-registry-authentication.secretsmanager",
        "secrets.asm.environment-variables",
        "secrets.ssm.environment-variables",
        "secrets.asm.bootstrap.log-driver",
        "secrets.ssm.bootstrap.log-driver",
        "pid-ipc-namespace-sharing",
        "network.container-port-range",
    ] {
        out.push(Attribute::new(format!("{new}{cap}"), None));
    }
    out.push(Attribute::new(format!("{old}privileged-container"), None));
    // Task role credentials are served by `credentials`, on 169.254.170.2, which host-mode containers reach too.
    out.push(Attribute::new(format!("{old}task-iam-role"), None));
    out.push(Attribute::new(format!("{old}task-iam-role-network-host"), None));
    // The ECS agent's driver attribute, so task definitions that require a driver version place here. Only with
    // GPUs to offer, and only a version that is a valid attribute name, so a strange driver string cannot fail
    // the registration.
    if let Some(version) = gpus.driver_version.as_deref().filter(|_| !gpus.uuids.is_empty())
        && (1..=64).contains(&version.len())
        && version.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        out.push(Attribute::new(format!("{new}nvidia-driver-version.{version}"), None));
    }
    out.push(Attribute::new(DYNAMIC_PORT_RANGE_ATTRIBUTE, Some(&config.dynamic_host_port_range.to_string())));
    for (name, value) in &config.attributes {
        out.push(Attribute::new(name.clone(), value.as_deref()));
    }
    out
}

/// ECS names architectures `x86_64` and `arm64`.
fn cpu_architecture(docker_arch: &str) -> &str {
    match docker_arch {
        "aarch64" | "arm64" => "arm64",
        "x86_64" | "amd64" => "x86_64",
        other => other,
    }
}

/// Every Docker remote API version from 1.17 up to the negotiated one, as the ECS agent advertises them.
fn docker_api_versions(negotiated: &str) -> Vec<String> {
    let minor = negotiated.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()).unwrap_or(17);
    (17..=minor.max(17)).map(|m| format!("1.{m}")).collect()
}

pub fn read_state(path: &Path) -> Result<Option<AgentState>, RegistrationError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RegistrationError::StateFile { path: path.display().to_string(), message: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RegistrationError::StateFile { path: path.display().to_string(), message: e.to_string() }),
    }
}

fn write_state(path: &Path, state: &AgentState) -> Result<(), RegistrationError> {
    let fail =
        |e: std::io::Error| RegistrationError::StateFile { path: path.display().to_string(), message: e.to_string() };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| fail(std::io::Error::other(e)))?;
    // Write then rename, so a crash never leaves a torn state file.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// The instance id of an ARN.
pub fn instance_id(container_instance_arn: &str) -> &str {
    arn::scoped_id(container_instance_arn, "container-instance").1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RuntimeInfo {
        RuntimeInfo {
            version: "20.10.24".into(),
            api_version: "1.41".into(),
            cpus: 2,
            memory_bytes: 4 * 1024 * 1024 * 1024,
            os_type: "linux".into(),
            architecture: "x86_64".into(),
            log_drivers: vec!["json-file".into(), "none".into()],
            bridge_gateway: Some("172.17.0.1".into()),
        }
    }

    fn config() -> AgentConfig {
        AgentConfig {
            server: "http://127.0.0.1:8700".into(),
            ca_bundle: None,
            region: "us-east-1".into(),
            access_key: berth_client::AccessKey { access_key_id: "a".into(), secret_access_key: "b".into() },
            cluster: "ml".into(),
            data_dir: std::env::temp_dir(),
            availability_zone: Some("lab-a".into()),
            instance_type: "berth.host".into(),
            reserved_memory_mib: 256,
            reserved_ports: vec![22, 8700],
            reserved_udp_ports: vec![],
            metadata_port: None,
            default_stop_timeout: std::time::Duration::from_secs(30),
            cleanup_wait: std::time::Duration::from_secs(3600),
            attributes: vec![("stack".into(), Some("ml".into()))],
            gpus: crate::config::GpuDiscovery::Off,
            dynamic_host_port_range: crate::config::HostPortRange::default(),
            link_listen: None,
            link_advertise: None,
            log_max_bytes: crate::logs::DEFAULT_HOST_MAX_BYTES,
            log_stream_max_bytes: crate::logs::DEFAULT_STREAM_MAX_BYTES,
            stats_interval: None,
        }
    }

    fn attribute<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
        body["attributes"].as_array().unwrap().iter().find(|a| a["name"] == name)
    }

    #[test]
    fn registers_cores_memory_ports_and_capabilities() {
        let body = request(&config(), &info(), &HostGpus::default());
        let resources = body["totalResources"].as_array().unwrap();
        assert_eq!(resources[0]["integerValue"], 2048);
        assert_eq!(resources[1]["integerValue"], 4096 - 256);
        assert_eq!(resources[2]["stringSetValue"], json!(["22", "8700"]));
        let names: Vec<&str> =
            body["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        for expected in [
            "ecs.os-type",
            "ecs.cpu-architecture",
            "ecs.availability-zone",
            "ecs.instance-type",
            "com.amazonaws.ecs.capability.docker-remote-api.1.17",
            "com.amazonaws.ecs.capability.docker-remote-api.1.41",
            "com.amazonaws.ecs.capability.logging-driver.json-file",
            "com.amazonaws.ecs.capability.logging-driver.awslogs",
            "ecs.capability.container-health-check",
            "ecs.capability.container-ordering",
            "com.amazonaws.ecs.capability.task-iam-role",
            "stack",
        ] {
            assert!(names.contains(&expected), "missing {expected}");
        }
        assert!(!names.contains(&"com.amazonaws.ecs.capability.docker-remote-api.1.42"));
        assert_eq!(body["versionInfo"]["dockerVersion"], "DockerVersion: 20.10.24");
    }

    #[test]
    fn gpus_are_platform_devices() {
        let gpus = HostGpus {
            uuids: vec![
                "GPU-11111111-2222-3333-4444-555555555555".into(),
                "GPU-66666666-7777-8888-9999-000000000000".into(),
            ],
            driver_version: Some("550.54.15".into()),
        };
        let body = request(&config(), &info(), &gpus);
        assert_eq!(
            body["platformDevices"],
            json!([
                {"id": "GPU-11111111-2222-3333-4444-555555555555", "type": "GPU"},
                {"id": "GPU-66666666-7777-8888-9999-000000000000", "type": "GPU"},
            ])
        );
        // The server derives the GPU resource from platformDevices; the agent does not send it twice.
        let resources = body["totalResources"].as_array().unwrap();
        assert!(resources.iter().all(|r| r["name"] != "GPU"));
        let driver = attribute(&body, "ecs.capability.nvidia-driver-version.550.54.15").unwrap();
        assert!(driver.get("value").is_none());
        // What the server reads back.
        let devices: Vec<PlatformDevice> = serde_json::from_value(body["platformDevices"].clone()).unwrap();
        assert_eq!(devices.len(), 2);
    }

    #[test]
    fn no_gpus_no_devices_nor_driver_attribute() {
        let no_gpus = HostGpus { uuids: vec![], driver_version: Some("550.54.15".into()) };
        for gpus in [HostGpus::default(), no_gpus] {
            let body = request(&config(), &info(), &gpus);
            assert!(body.get("platformDevices").is_none(), "{body}");
            let names: Vec<&str> =
                body["attributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
            assert!(!names.iter().any(|n| n.contains("driver-version")), "{names:?}");
        }
        // A driver string that is no valid attribute name is left out rather than failing the registration.
        let odd = HostGpus { uuids: vec!["GPU-1".into()], driver_version: Some("550 beta".into()) };
        let body = request(&config(), &info(), &odd);
        assert!(
            !body["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["name"].as_str().unwrap().contains("driver-version"))
        );
    }

    #[test]
    fn registers_the_dynamic_host_port_range() {
        let body = request(&config(), &info(), &HostGpus::default());
        assert_eq!(attribute(&body, DYNAMIC_PORT_RANGE_ATTRIBUTE).unwrap()["value"], "49153-65535");
        let mut custom = config();
        custom.dynamic_host_port_range = "20000-29999".parse().unwrap();
        let body = request(&custom, &info(), &HostGpus::default());
        assert_eq!(attribute(&body, DYNAMIC_PORT_RANGE_ATTRIBUTE).unwrap()["value"], "20000-29999");
    }

    #[test]
    fn state_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent-state.json");
        assert_eq!(read_state(&path).unwrap(), None);
        let state = AgentState { cluster: "ml".into(), container_instance_arn: "arn:x".into() };
        write_state(&path, &state).unwrap();
        assert_eq!(read_state(&path).unwrap(), Some(state));
        std::fs::write(&path, b"{").unwrap();
        assert!(read_state(&path).is_err());
    }
}
