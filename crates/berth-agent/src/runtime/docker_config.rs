//! Turns a [`ContainerSpec`] into the body of Docker's `POST /containers/create`, the way amazon-ecs-agent renders
//! a container definition: config (command, environment, labels, health check, ...) and host config (network mode,
//! ports, resources, mounts, Linux parameters, log driver). Pure: no I/O, so every mapping is unit-tested here.

use std::collections::HashMap;

use berth_model::taskdef::ContainerDefinition;
use bollard::models::{
    ContainerCreateBody, DeviceMapping, DeviceRequest, HealthConfig, HostConfig, HostConfigLogConfig, PortBinding,
    PortMap, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};
use serde_json::Value;

use super::{ContainerSpec, Result, RuntimeError, VolumeSource};

const MIB: i64 = 1024 * 1024;
const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// ECS health check defaults (seconds, and tries), applied when the definition leaves a field out.
const HEALTH_INTERVAL_S: i32 = 30;
const HEALTH_TIMEOUT_S: i32 = 5;
const HEALTH_RETRIES: i32 = 3;
const HEALTH_START_PERIOD_S: i32 = 0;

/// Docker's smallest CPU share; the ECS agent sends it for a `cpu` of null, 0 or 1.
const MIN_CPU_SHARES: i64 = 2;

/// The create body for `spec`. Fails with [`RuntimeError::Rejected`] when a mount point names a volume the task
/// does not have.
pub fn create_body(spec: &ContainerSpec) -> Result<ContainerCreateBody> {
    let def = &spec.definition;
    let network_mode = network_mode(&spec.network_mode);
    let (exposed_ports, port_bindings) = if network_mode == "bridge" {
        ports(def)
    } else {
        // Docker ignores published ports outside bridge mode (host mode uses the container's ports directly).
        (Vec::new(), PortMap::new())
    };

    let host_config = HostConfig {
        network_mode: Some(network_mode.to_string()),
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        cpu_shares: Some(cpu_shares(def.cpu)),
        memory: def.memory.filter(|m| *m > 0).map(|m| i64::from(m) * MIB),
        memory_reservation: def.memory_reservation.filter(|m| *m > 0).map(|m| i64::from(m) * MIB),
        ulimits: def.ulimits.as_ref().map(|limits| {
            limits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(i64::from(u.soft_limit)),
                    hard: Some(i64::from(u.hard_limit)),
                })
                .collect()
        }),
        extra_hosts: def
            .extra_hosts
            .as_ref()
            .map(|hosts| hosts.iter().map(|h| format!("{}:{}", h.hostname, h.ip_address)).collect()),
        dns: def.dns_servers.clone(),
        dns_search: def.dns_search_domains.clone(),
        security_opt: def.docker_security_options.clone(),
        sysctls: def.system_controls.as_ref().map(|controls| {
            controls.iter().filter_map(|c| Some((c.namespace.clone()?, c.value.clone().unwrap_or_default()))).collect()
        }),
        privileged: def.privileged,
        readonly_rootfs: def.readonly_root_filesystem,
        binds: non_empty(binds(spec)?),
        volumes_from: non_empty(
            spec.volumes_from
                .iter()
                .map(|(id, read_only)| if *read_only { format!("{id}:ro") } else { id.clone() })
                .collect(),
        ),
        device_requests: (!spec.gpu_ids.is_empty()).then(|| {
            vec![DeviceRequest {
                driver: Some("nvidia".to_string()),
                device_ids: Some(spec.gpu_ids.clone()),
                capabilities: Some(vec![vec!["gpu".to_string()]]),
                ..Default::default()
            }]
        }),
        pid_mode: pid_mode(spec.pid_mode.as_deref(), spec.namespace_owner.as_deref()),
        ipc_mode: ipc_mode(spec.ipc_mode.as_deref(), spec.namespace_owner.as_deref()),
        log_config: spec.log_driver.as_ref().map(|(driver, options)| HostConfigLogConfig {
            typ: Some(driver.clone()),
            config: Some(options.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        }),
        // The task engine decides about restarts (restartPolicy, essential containers); Docker must not.
        restart_policy: Some(RestartPolicy { name: Some(RestartPolicyNameEnum::NO), maximum_retry_count: None }),
        ..Default::default()
    };
    let host_config = apply_linux_parameters(host_config, def);

    Ok(ContainerCreateBody {
        image: Some(def.image.clone()),
        cmd: def.command.clone(),
        entrypoint: def.entry_point.clone(),
        env: Some(environment(spec)),
        labels: Some(spec.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        user: def.user.clone(),
        working_dir: def.working_directory.clone(),
        hostname: def.hostname.clone(),
        tty: def.pseudo_terminal,
        open_stdin: def.interactive,
        network_disabled: def.disable_networking,
        stop_timeout: Some(i64::try_from(spec.stop_timeout.as_secs()).unwrap_or(i64::MAX)),
        healthcheck: health_check(def),
        exposed_ports: non_empty(exposed_ports),
        host_config: Some(host_config),
        ..Default::default()
    })
}

/// awsvpc tasks run on the bridge here (no ENIs); an unset mode is ECS's EC2 default, bridge.
fn network_mode(mode: &str) -> &str {
    match mode {
        "" | "awsvpc" => "bridge",
        other => other,
    }
}

fn cpu_shares(cpu: Option<i32>) -> i64 {
    match cpu {
        Some(units) if i64::from(units) >= MIN_CPU_SHARES => i64::from(units),
        _ => MIN_CPU_SHARES,
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

/// The definition's environment (entries without a name are dropped, as Docker would reject them), then the
/// agent's.
fn environment(spec: &ContainerSpec) -> Vec<String> {
    let own = spec.definition.environment.iter().filter_map(|pair| {
        let name = pair.name.as_deref().filter(|n| !n.is_empty())?;
        Some(format!("{name}={}", pair.value.as_deref().unwrap_or_default()))
    });
    let extra = spec.extra_env.iter().map(|(name, value)| format!("{name}={value}"));
    own.chain(extra).collect()
}

/// ExposedPorts and PortBindings for bridge mode. A host port of 0 or none (and every port of a
/// `containerPortRange`) is published with an empty HostPort, so Docker picks one from its ephemeral range.
fn ports(def: &ContainerDefinition) -> (Vec<String>, PortMap) {
    let mut exposed = Vec::new();
    let mut bindings = PortMap::new();
    let mut publish = |container_port: i64, protocol: &str, host_port: String| {
        let key = format!("{container_port}/{protocol}");
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding { host_ip: None, host_port: Some(host_port) });
    };
    for mapping in &def.port_mappings {
        let protocol = mapping.protocol();
        if let Some((first, last)) = mapping.port_range() {
            for port in first..=last {
                publish(i64::from(port), protocol, String::new());
            }
        } else if let Some(container_port) = mapping.container_port {
            let host_port = match mapping.host_port {
                Some(port) if port > 0 => port.to_string(),
                _ => String::new(),
            };
            publish(i64::from(container_port), protocol, host_port);
        }
    }
    (exposed, bindings)
}

/// `mountPoints` as Docker binds: `source:containerPath[:ro]`, where source is a host path or a volume name.
fn binds(spec: &ContainerSpec) -> Result<Vec<String>> {
    spec.definition
        .mount_points
        .iter()
        .map(|mount| {
            let name = mount.source_volume.as_deref().unwrap_or_default();
            let source = match spec.volumes.get(name) {
                Some(VolumeSource::HostPath(path)) => path,
                Some(VolumeSource::Named(volume)) => volume,
                None => {
                    return Err(RuntimeError::Rejected(format!(
                        "mount point of container {} names unknown volume '{name}'",
                        spec.definition.name
                    )));
                }
            };
            let Some(target) = mount.container_path.as_deref().filter(|p| !p.is_empty()) else {
                return Err(RuntimeError::Rejected(format!(
                    "mount point of volume '{name}' in container {} has no containerPath",
                    spec.definition.name
                )));
            };
            let suffix = if mount.read_only.unwrap_or(false) { ":ro" } else { "" };
            Ok(format!("{source}:{target}{suffix}"))
        })
        .collect()
}

/// PidMode: `host` shares the host's; `task` joins the task's first container (which itself keeps its own).
fn pid_mode(mode: Option<&str>, owner: Option<&str>) -> Option<String> {
    match (mode?, owner) {
        ("host", _) => Some("host".to_string()),
        ("task", Some(owner)) => Some(format!("container:{owner}")),
        _ => None,
    }
}

/// IpcMode: as [`pid_mode`], but the task's first container must be `shareable` for the others to join it, and
/// `none` exists.
fn ipc_mode(mode: Option<&str>, owner: Option<&str>) -> Option<String> {
    match (mode?, owner) {
        ("host", _) => Some("host".to_string()),
        ("task", Some(owner)) => Some(format!("container:{owner}")),
        ("task", None) => Some("shareable".to_string()),
        ("none", _) => Some("none".to_string()),
        _ => None,
    }
}

fn health_check(def: &ContainerDefinition) -> Option<HealthConfig> {
    let check = def.health_check.as_ref().filter(|c| !c.command.is_empty())?;
    let nanos = |seconds: Option<i32>, default: i32| i64::from(seconds.unwrap_or(default)) * NANOS_PER_SECOND;
    Some(HealthConfig {
        test: Some(check.command.clone()),
        interval: Some(nanos(check.interval, HEALTH_INTERVAL_S)),
        timeout: Some(nanos(check.timeout, HEALTH_TIMEOUT_S)),
        retries: Some(i64::from(check.retries.unwrap_or(HEALTH_RETRIES))),
        start_period: Some(nanos(check.start_period, HEALTH_START_PERIOD_S)),
        ..Default::default()
    })
}

/// `linuxParameters` (kept as JSON in the model): init, capabilities, devices, shared memory, tmpfs, swap.
fn apply_linux_parameters(mut host: HostConfig, def: &ContainerDefinition) -> HostConfig {
    let Some(params) = def.linux_parameters.as_ref() else {
        return host;
    };
    if let Some(init) = params.get("initProcessEnabled").and_then(Value::as_bool) {
        host.init = Some(init);
    }
    let capabilities = params.get("capabilities");
    host.cap_add = capabilities.and_then(|c| strings(c.get("add")));
    host.cap_drop = capabilities.and_then(|c| strings(c.get("drop")));

    if let Some(devices) = params.get("devices").and_then(Value::as_array) {
        host.devices = non_empty(devices.iter().filter_map(device).collect());
    }
    if let Some(shm) = params.get("sharedMemorySize").and_then(Value::as_i64) {
        host.shm_size = Some(shm * MIB);
    }
    if let Some(mounts) = params.get("tmpfs").and_then(Value::as_array) {
        let tmpfs: HashMap<String, String> = mounts.iter().filter_map(tmpfs).collect();
        host.tmpfs = (!tmpfs.is_empty()).then_some(tmpfs);
    }
    // maxSwap is on top of the hard limit; Docker's MemorySwap is memory plus swap, so 0 means no swap.
    if let (Some(max_swap), Some(memory)) = (params.get("maxSwap").and_then(Value::as_i64), host.memory) {
        host.memory_swap = Some(memory + max_swap.max(0) * MIB);
    }
    if let Some(swappiness) = params.get("swappiness").and_then(Value::as_i64) {
        host.memory_swappiness = Some(swappiness);
    }
    host
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    let items: Vec<String> = value?.as_array()?.iter().filter_map(Value::as_str).map(str::to_string).collect();
    non_empty(items)
}

/// One `devices` entry: the container path defaults to the host path, permissions (read, write, mknod) to all.
fn device(entry: &Value) -> Option<DeviceMapping> {
    let host_path = entry.get("hostPath")?.as_str()?;
    let container_path = entry.get("containerPath").and_then(Value::as_str).unwrap_or(host_path);
    let granted = strings(entry.get("permissions")).unwrap_or_default();
    let permissions: String = [("read", 'r'), ("write", 'w'), ("mknod", 'm')]
        .iter()
        .filter(|(name, _)| granted.iter().any(|g| g == name))
        .map(|(_, letter)| *letter)
        .collect();
    Some(DeviceMapping {
        path_on_host: Some(host_path.to_string()),
        path_in_container: Some(container_path.to_string()),
        cgroup_permissions: Some(if permissions.is_empty() { "rwm".to_string() } else { permissions }),
    })
}

/// One `tmpfs` entry as Docker's path -> mount options, size in MiB first.
fn tmpfs(entry: &Value) -> Option<(String, String)> {
    let path = entry.get("containerPath")?.as_str()?;
    let mut options = Vec::new();
    if let Some(size) = entry.get("size").and_then(Value::as_i64) {
        options.push(format!("size={size}m"));
    }
    options.extend(strings(entry.get("mountOptions")).unwrap_or_default());
    Some((path.to_string(), options.join(",")))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use berth_model::taskdef::ContainerDefinition;
    use serde_json::json;

    use super::*;

    fn definition(extra: Value) -> ContainerDefinition {
        let mut value = json!({"name": "web", "image": "berth-test/busybox"});
        if let (Some(base), Value::Object(more)) = (value.as_object_mut(), extra) {
            base.extend(more);
        }
        serde_json::from_value(value).unwrap()
    }

    fn spec(extra: Value) -> ContainerSpec {
        ContainerSpec {
            labels: BTreeMap::from([("berth.task-arn".to_string(), "arn:x".to_string())]),
            extra_env: vec![("ECS_CONTAINER_METADATA_URI_V4".to_string(), "http://169.254.170.2/v4/x".to_string())],
            ..ContainerSpec::new("berth-fam-1-web-abc", definition(extra))
        }
    }

    fn body(spec: &ContainerSpec) -> ContainerCreateBody {
        create_body(spec).unwrap()
    }

    fn host(spec: &ContainerSpec) -> HostConfig {
        body(spec).host_config.unwrap()
    }

    fn strs(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn config_fields() {
        let s = spec(json!({
            "command": ["sh", "-c", "echo $FOO"],
            "entryPoint": ["/bin/busybox"],
            "environment": [{"name": "FOO", "value": "bar"}, {"value": "nameless"}, {"name": "EMPTY"}],
            "user": "1000:1000",
            "workingDirectory": "/tmp",
            "hostname": "web-1",
            "pseudoTerminal": true,
            "interactive": true,
            "disableNetworking": true,
        }));
        let b = body(&s);
        assert_eq!(b.image.as_deref(), Some("berth-test/busybox"));
        assert_eq!(b.cmd, Some(strs(&["sh", "-c", "echo $FOO"])));
        assert_eq!(b.entrypoint, Some(strs(&["/bin/busybox"])));
        assert_eq!(
            b.env,
            Some(strs(&["FOO=bar", "EMPTY=", "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/x"]))
        );
        assert_eq!(b.labels, Some(HashMap::from([("berth.task-arn".to_string(), "arn:x".to_string())])));
        assert_eq!(b.user.as_deref(), Some("1000:1000"));
        assert_eq!(b.working_dir.as_deref(), Some("/tmp"));
        assert_eq!(b.hostname.as_deref(), Some("web-1"));
        assert_eq!(b.tty, Some(true));
        assert_eq!(b.open_stdin, Some(true));
        assert_eq!(b.network_disabled, Some(true));
        assert_eq!(b.stop_timeout, Some(30));
        assert_eq!(b.healthcheck, None);
    }

    #[test]
    fn unset_fields_stay_unset() {
        let b = body(&spec(json!({})));
        assert_eq!(b.cmd, None);
        assert_eq!(b.entrypoint, None);
        assert_eq!(b.user, None);
        assert_eq!(b.exposed_ports, None);
        let h = b.host_config.unwrap();
        assert_eq!(h.memory, None);
        assert_eq!(h.memory_reservation, None);
        assert_eq!(h.memory_swap, None);
        assert_eq!(h.port_bindings, None);
        assert_eq!(h.binds, None);
        assert_eq!(h.log_config, None);
        assert_eq!(h.pid_mode, None);
        assert_eq!(h.ipc_mode, None);
        assert_eq!(h.init, None);
        assert_eq!(h.device_requests, None);
        assert_eq!(h.restart_policy.unwrap().name, Some(RestartPolicyNameEnum::NO));
    }

    #[test]
    fn health_check_defaults_and_nanoseconds() {
        let b = body(&spec(json!({"healthCheck": {"command": ["CMD-SHELL", "wget -q -O- localhost || exit 1"]}})));
        let h = b.healthcheck.unwrap();
        assert_eq!(h.test, Some(strs(&["CMD-SHELL", "wget -q -O- localhost || exit 1"])));
        assert_eq!(h.interval, Some(30_000_000_000));
        assert_eq!(h.timeout, Some(5_000_000_000));
        assert_eq!(h.retries, Some(3));
        assert_eq!(h.start_period, Some(0));

        let b = body(&spec(json!({"healthCheck": {
            "command": ["CMD", "true"], "interval": 5, "timeout": 2, "retries": 10, "startPeriod": 60
        }})));
        let h = b.healthcheck.unwrap();
        assert_eq!(h.test, Some(strs(&["CMD", "true"])));
        assert_eq!(h.interval, Some(5_000_000_000));
        assert_eq!(h.timeout, Some(2_000_000_000));
        assert_eq!(h.retries, Some(10));
        assert_eq!(h.start_period, Some(60_000_000_000));
    }

    #[test]
    fn network_modes() {
        for (mode, expected) in [("bridge", "bridge"), ("awsvpc", "bridge"), ("host", "host"), ("none", "none")] {
            let mut s = spec(json!({}));
            s.network_mode = mode.to_string();
            assert_eq!(host(&s).network_mode.as_deref(), Some(expected), "{mode}");
        }
    }

    #[test]
    fn port_mappings_in_bridge_mode() {
        let s = spec(json!({"portMappings": [
            {"containerPort": 80},
            {"containerPort": 443, "hostPort": 8443, "protocol": "tcp"},
            {"containerPort": 53, "hostPort": 0, "protocol": "udp"},
            {"containerPortRange": "9000-9002"},
            {"containerPort": 80, "hostPort": 8080},
        ]}));
        let b = body(&s);
        assert_eq!(b.exposed_ports, Some(strs(&["80/tcp", "443/tcp", "53/udp", "9000/tcp", "9001/tcp", "9002/tcp"])));
        let bindings = b.host_config.unwrap().port_bindings.unwrap();
        let ports = |key: &str| -> Vec<String> {
            bindings[key].as_ref().unwrap().iter().map(|b| b.host_port.clone().unwrap()).collect()
        };
        assert_eq!(ports("80/tcp"), strs(&["", "8080"]));
        assert_eq!(ports("443/tcp"), strs(&["8443"]));
        assert_eq!(ports("53/udp"), strs(&[""]));
        assert_eq!(ports("9000/tcp"), strs(&[""]));
        assert_eq!(ports("9002/tcp"), strs(&[""]));
        assert_eq!(bindings.len(), 6);
        assert!(bindings.values().flatten().flatten().all(|b| b.host_ip.is_none()));
    }

    #[test]
    fn no_port_bindings_outside_bridge_mode() {
        for mode in ["host", "none"] {
            let mut s = spec(json!({"portMappings": [{"containerPort": 80, "hostPort": 80}]}));
            s.network_mode = mode.to_string();
            let b = body(&s);
            assert_eq!(b.exposed_ports, None, "{mode}");
            assert_eq!(b.host_config.unwrap().port_bindings, None, "{mode}");
        }
        let mut s = spec(json!({"portMappings": [{"containerPort": 80}]}));
        s.network_mode = "awsvpc".to_string();
        assert_eq!(body(&s).exposed_ports, Some(strs(&["80/tcp"])));
    }

    #[test]
    fn cpu_shares_minimum() {
        for (cpu, shares) in [(None, 2), (Some(0), 2), (Some(1), 2), (Some(2), 2), (Some(256), 256), (Some(1024), 1024)]
        {
            let mut s = spec(json!({}));
            s.definition.cpu = cpu;
            assert_eq!(host(&s).cpu_shares, Some(shares), "{cpu:?}");
        }
    }

    #[test]
    fn memory_limits_in_bytes() {
        let h = host(&spec(json!({"memory": 512, "memoryReservation": 128})));
        assert_eq!(h.memory, Some(512 * MIB));
        assert_eq!(h.memory_reservation, Some(128 * MIB));
    }

    #[test]
    fn host_config_lists() {
        let h = host(&spec(json!({
            "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
            "extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.5"}],
            "dnsServers": ["1.1.1.1"],
            "dnsSearchDomains": ["example.internal"],
            "dockerSecurityOptions": ["no-new-privileges"],
            "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}, {"value": "orphan"}],
            "privileged": true,
            "readonlyRootFilesystem": true,
        })));
        assert_eq!(
            h.ulimits,
            Some(vec![ResourcesUlimits { name: Some("nofile".to_string()), soft: Some(1024), hard: Some(4096) }])
        );
        assert_eq!(h.extra_hosts, Some(strs(&["db:10.0.0.5"])));
        assert_eq!(h.dns, Some(strs(&["1.1.1.1"])));
        assert_eq!(h.dns_search, Some(strs(&["example.internal"])));
        assert_eq!(h.security_opt, Some(strs(&["no-new-privileges"])));
        assert_eq!(h.sysctls, Some(HashMap::from([("net.core.somaxconn".to_string(), "1024".to_string())])));
        assert_eq!(h.privileged, Some(true));
        assert_eq!(h.readonly_rootfs, Some(true));
    }

    #[test]
    fn linux_parameters() {
        let h = host(&spec(json!({
            "memory": 256,
            "linuxParameters": {
                "initProcessEnabled": true,
                "capabilities": {"add": ["SYS_PTRACE", "NET_ADMIN"], "drop": ["NET_RAW"]},
                "devices": [
                    {"hostPath": "/dev/fuse"},
                    {"hostPath": "/dev/null", "containerPath": "/dev/mynull", "permissions": ["read", "write"]},
                    {"hostPath": "/dev/zero", "permissions": ["mknod", "read"]},
                ],
                "sharedMemorySize": 64,
                "tmpfs": [
                    {"containerPath": "/scratch", "size": 16, "mountOptions": ["noexec", "nosuid"]},
                    {"containerPath": "/run", "size": 8},
                ],
                "maxSwap": 128,
                "swappiness": 10,
            }
        })));
        assert_eq!(h.init, Some(true));
        assert_eq!(h.cap_add, Some(strs(&["SYS_PTRACE", "NET_ADMIN"])));
        assert_eq!(h.cap_drop, Some(strs(&["NET_RAW"])));
        let device = |host: &str, container: &str, perms: &str| DeviceMapping {
            path_on_host: Some(host.to_string()),
            path_in_container: Some(container.to_string()),
            cgroup_permissions: Some(perms.to_string()),
        };
        assert_eq!(
            h.devices,
            Some(vec![
                device("/dev/fuse", "/dev/fuse", "rwm"),
                device("/dev/null", "/dev/mynull", "rw"),
                device("/dev/zero", "/dev/zero", "rm"),
            ])
        );
        assert_eq!(h.shm_size, Some(64 * MIB));
        assert_eq!(
            h.tmpfs,
            Some(HashMap::from([
                ("/scratch".to_string(), "size=16m,noexec,nosuid".to_string()),
                ("/run".to_string(), "size=8m".to_string()),
            ]))
        );
        assert_eq!(h.memory_swap, Some((256 + 128) * MIB));
        assert_eq!(h.memory_swappiness, Some(10));
    }

    #[test]
    fn max_swap_zero_disables_swap_and_needs_memory() {
        let h = host(&spec(json!({"memory": 64, "linuxParameters": {"maxSwap": 0}})));
        assert_eq!(h.memory_swap, Some(64 * MIB));
        let h = host(&spec(json!({"memoryReservation": 64, "linuxParameters": {"maxSwap": 100}})));
        assert_eq!(h.memory_swap, None);
        let h = host(&spec(json!({"linuxParameters": {"initProcessEnabled": false}})));
        assert_eq!(h.init, Some(false));
        assert_eq!(h.cap_add, None);
        assert_eq!(h.devices, None);
        assert_eq!(h.tmpfs, None);
    }

    #[test]
    fn mount_points_resolve_task_volumes() {
        let mut s = spec(json!({"mountPoints": [
            {"sourceVolume": "data", "containerPath": "/data"},
            {"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": true},
            {"sourceVolume": "data", "containerPath": "/data-ro", "readOnly": true},
        ]}));
        s.volumes = BTreeMap::from([
            ("data".to_string(), VolumeSource::HostPath("/srv/data".to_string())),
            ("scratch".to_string(), VolumeSource::Named("berth-task-scratch".to_string())),
        ]);
        assert_eq!(
            host(&s).binds,
            Some(strs(&["/srv/data:/data", "berth-task-scratch:/scratch:ro", "/srv/data:/data-ro:ro"]))
        );
    }

    #[test]
    fn unknown_source_volume_is_rejected() {
        let s = spec(json!({"mountPoints": [{"sourceVolume": "missing", "containerPath": "/x"}]}));
        match create_body(&s) {
            Err(RuntimeError::Rejected(message)) => assert!(message.contains("'missing'"), "{message}"),
            other => panic!("expected Rejected, got {other:?}"),
        }
    }

    #[test]
    fn volumes_from_with_read_only() {
        let mut s = spec(json!({}));
        s.volumes_from = vec![("abc123".to_string(), false), ("def456".to_string(), true)];
        assert_eq!(host(&s).volumes_from, Some(strs(&["abc123", "def456:ro"])));
    }

    #[test]
    fn gpus_as_nvidia_device_request() {
        let mut s = spec(json!({}));
        s.gpu_ids = strs(&["GPU-0", "GPU-1"]);
        assert_eq!(
            host(&s).device_requests,
            Some(vec![DeviceRequest {
                driver: Some("nvidia".to_string()),
                count: None,
                device_ids: Some(strs(&["GPU-0", "GPU-1"])),
                capabilities: Some(vec![strs(&["gpu"])]),
                options: None,
            }])
        );
    }

    #[test]
    fn pid_and_ipc_modes() {
        let modes = |pid: Option<&str>, ipc: Option<&str>, owner: Option<&str>| {
            let mut s = spec(json!({}));
            s.pid_mode = pid.map(str::to_string);
            s.ipc_mode = ipc.map(str::to_string);
            s.namespace_owner = owner.map(str::to_string);
            let h = host(&s);
            (h.pid_mode, h.ipc_mode)
        };
        let some = |s: &str| Some(s.to_string());
        assert_eq!(modes(Some("host"), Some("host"), None), (some("host"), some("host")));
        assert_eq!(modes(Some("task"), Some("task"), Some("c0")), (some("container:c0"), some("container:c0")));
        assert_eq!(modes(Some("task"), Some("task"), None), (None, some("shareable")));
        assert_eq!(modes(None, Some("none"), None), (None, some("none")));
        assert_eq!(modes(None, None, Some("c0")), (None, None));
    }

    #[test]
    fn log_driver_passed_through() {
        let mut s = spec(json!({}));
        s.log_driver = Some(("json-file".to_string(), BTreeMap::from([("max-size".to_string(), "10m".to_string())])));
        assert_eq!(
            host(&s).log_config,
            Some(HostConfigLogConfig {
                typ: Some("json-file".to_string()),
                config: Some(HashMap::from([("max-size".to_string(), "10m".to_string())])),
            })
        );
    }

    #[test]
    fn stop_timeout_in_seconds() {
        let mut s = spec(json!({}));
        s.stop_timeout = Duration::from_secs(2);
        assert_eq!(body(&s).stop_timeout, Some(2));
    }

    #[test]
    fn serializes_with_docker_names() {
        let mut s = spec(json!({"portMappings": [{"containerPort": 80}], "memory": 32}));
        s.runtime_name = "ignored-in-body".to_string();
        let json = serde_json::to_value(body(&s)).unwrap();
        assert_eq!(json["ExposedPorts"], json!({"80/tcp": {}}));
        assert_eq!(json["HostConfig"]["PortBindings"], json!({"80/tcp": [{"HostPort": ""}]}));
        assert_eq!(json["HostConfig"]["Memory"], json!(32 * MIB));
        assert_eq!(json["HostConfig"]["RestartPolicy"]["Name"], json!("no"));
    }
}
