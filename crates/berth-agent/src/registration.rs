//! Registering the host as a container instance: its resources and attributes from the runtime, and the state
//! file that keeps the instance ARN so a restarted agent is the same instance.

use std::path::Path;

use berth_client::{Client, ClientError};
use berth_model::instance::{ContainerInstance, Resource, VersionInfo};
use berth_model::{Attribute, arn};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::AgentConfig;
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
) -> Result<ContainerInstance, RegistrationError> {
    let path = config.state_file();
    let previous = read_state(&path)?.filter(|s| s.cluster == config.cluster);
    let mut body = request(config, info);
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

/// The RegisterContainerInstance request for this host.
pub fn request(config: &AgentConfig, info: &RuntimeInfo) -> Value {
    let memory_mib = (info.memory_bytes / (1024 * 1024)).saturating_sub(config.reserved_memory_mib);
    let ports = |list: &[u16]| list.iter().map(u16::to_string).collect::<Vec<_>>();
    let resources = vec![
        Resource::integer("CPU", i64::from(info.cpus) * 1024),
        Resource::integer("MEMORY", memory_mib as i64),
        Resource::string_set("PORTS", ports(&config.reserved_ports)),
        Resource::string_set("PORTS_UDP", ports(&config.reserved_udp_ports)),
    ];
    json!({
        "cluster": config.cluster,
        "totalResources": resources,
        "versionInfo": VersionInfo {
            agent_version: Some(AGENT_VERSION.into()),
            agent_hash: None,
            docker_version: Some(format!("DockerVersion: {}", info.version)),
        },
        "attributes": attributes(config, info),
    })
}

/// The instance's attributes: ECS's built-in ones, the capabilities this agent implements (the names
/// `requiresAttributes` uses, so task definitions written for ECS place here), and the configured extras.
pub fn attributes(config: &AgentConfig, info: &RuntimeInfo) -> Vec<Attribute> {
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
        "pid-ipc-namespace-sharing",
        "network.container-port-range",
    ] {
        out.push(Attribute::new(format!("{new}{cap}"), None));
    }
    out.push(Attribute::new(format!("{old}privileged-container"), None));
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
            attributes: vec![("gpu".into(), Some("none".into()))],
        }
    }

    #[test]
    fn registers_cores_memory_ports_and_capabilities() {
        let body = request(&config(), &info());
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
            "gpu",
        ] {
            assert!(names.contains(&expected), "missing {expected}");
        }
        assert!(!names.contains(&"com.amazonaws.ecs.capability.docker-remote-api.1.42"));
        assert_eq!(body["versionInfo"]["dockerVersion"], "DockerVersion: 20.10.24");
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
