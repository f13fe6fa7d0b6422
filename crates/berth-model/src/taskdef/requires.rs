//! `requiresAttributes`: the instance capabilities a task definition needs, computed at registration.
//!
//! ECS derives these from the definition and placement only considers instances whose attributes include them all.
//! The names are the ones the ECS agent advertises (`agent/app/agent_capability.go`): the older
//! `com.amazonaws.ecs.capability.*` prefix and the newer `ecs.capability.*` one. ECS does not publish its mapping;
//! this one comes from the API model's notes on which Docker Remote API version a parameter needs, the Docker API
//! history for parameters it is silent on, and the agent's capability for each feature. Berth's agent must advertise
//! the same names.
//!
//! | Definition uses | Requires |
//! |---|---|
//! | `dockerLabels`, `ulimits`, `logConfiguration` | `docker-remote-api.1.18` (model) |
//! | `logConfiguration.options` | `docker-remote-api.1.19` (model) |
//! | `logConfiguration.logDriver` d | `com.amazonaws.ecs.capability.logging-driver.<d>` |
//! | `memoryReservation` | `docker-remote-api.1.21` (Docker's MemoryReservation) |
//! | `linuxParameters.sharedMemorySize` / `tmpfs` | `docker-remote-api.1.22` (Docker's ShmSize / Tmpfs) |
//! | `healthCheck` | `ecs.capability.container-health-check`, `docker-remote-api.1.24` |
//! | `linuxParameters.initProcessEnabled` | `docker-remote-api.1.25` (model) |
//! | `dependsOn` | `ecs.capability.container-ordering` |
//! | `secrets` | `ecs.capability.secrets.{asm,ssm}.environment-variables` |
//! | `logConfiguration.secretOptions` | `ecs.capability.secrets.{asm,ssm}.bootstrap.log-driver` |
//! | `repositoryCredentials` | `ecs.capability.private-registry-authentication.secretsmanager` |
//! | `environmentFiles` | `ecs.capability.env-files.s3` |
//! | `firelensConfiguration` type t | `ecs.capability.firelens.<t>` |
//! | `containerPortRange` | `ecs.capability.network.container-port-range` |
//! | an ECR image | `com.amazonaws.ecs.capability.ecr-auth` |
//! | an ECR image and an execution role | `ecs.capability.execution-role-ecr-pull` |
//! | awslogs with an execution role | `ecs.capability.execution-role-awslogs` |
//! | `taskRoleArn` | `com.amazonaws.ecs.capability.task-iam-role` (+ `-network-host` with networkMode host) |
//! | networkMode awsvpc | `ecs.capability.task-eni` |
//! | `pidMode` / `ipcMode` | `ecs.capability.pid-ipc-namespace-sharing` |
//! | `proxyConfiguration` | `ecs.capability.aws-appmesh` |
//! | `inferenceAccelerators` | `ecs.capability.task-eia` |
//! | EFS volume (with IAM/access point) | `ecs.capability.efs` (+ `ecs.capability.efsAuth`) |
//! | FSx for Windows volume | `ecs.capability.fsxWindowsFileServer` |
//! | Docker volume with driver d | `ecs.capability.docker-plugin.<d>` |
//!
//! GPUs are matched through instance resources, not attributes, so they add nothing here. The list is in the order
//! features are first met (containers in order, then the task), without duplicates, so it is stable for a given
//! definition.

use serde_json::Value;

use super::TaskDefinition;
use crate::Attribute;

const OLD: &str = "com.amazonaws.ecs.capability.";
const NEW: &str = "ecs.capability.";

/// The attributes an instance needs to run `def`; names only.
pub(super) fn attributes(def: &TaskDefinition) -> Vec<Attribute> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: String| {
        if !names.contains(&name) {
            names.push(name);
        }
    };
    let docker = |version: &str| format!("{OLD}docker-remote-api.{version}");
    let has_execution_role = def.execution_role_arn().is_some();

    for c in &def.container_definitions {
        if is_ecr_image(&c.image) {
            add(format!("{OLD}ecr-auth"));
            if has_execution_role {
                add(format!("{NEW}execution-role-ecr-pull"));
            }
        }
        if c.extra.contains_key("repositoryCredentials") {
            add(format!("{NEW}private-registry-authentication.secretsmanager"));
        }
        if c.memory_reservation.is_some() {
            add(docker("1.21"));
        }
        if c.docker_labels.as_ref().is_some_and(|labels| !labels.is_empty()) {
            add(docker("1.18"));
        }
        if c.ulimits.as_ref().is_some_and(|ulimits| !ulimits.is_empty()) {
            add(docker("1.18"));
        }
        if let Some(log) = &c.log_configuration {
            add(docker("1.18"));
            add(format!("{OLD}logging-driver.{}", log.log_driver));
            if log.options.as_ref().is_some_and(|options| !options.is_empty()) {
                add(docker("1.19"));
            }
            if log.log_driver == "awslogs" && has_execution_role {
                add(format!("{NEW}execution-role-awslogs"));
            }
            for secret in log.secret_options.iter().flatten() {
                add(format!("{NEW}secrets.{}.bootstrap.log-driver", secret_store(&secret.value_from)));
            }
        }
        if c.health_check.is_some() {
            add(format!("{NEW}container-health-check"));
            add(docker("1.24"));
        }
        if !c.dependencies().is_empty() {
            add(format!("{NEW}container-ordering"));
        }
        for secret in c.secrets.iter().flatten() {
            add(format!("{NEW}secrets.{}.environment-variables", secret_store(&secret.value_from)));
        }
        if c.extra.get("environmentFiles").and_then(Value::as_array).is_some_and(|files| !files.is_empty()) {
            add(format!("{NEW}env-files.s3"));
        }
        if let Some(kind) = c.extra.get("firelensConfiguration").and_then(|f| f.get("type")).and_then(Value::as_str) {
            add(format!("{NEW}firelens.{kind}"));
        }
        if c.port_mappings.iter().any(|p| p.container_port_range.is_some()) {
            add(format!("{NEW}network.container-port-range"));
        }
        if let Some(linux) = &c.linux_parameters {
            if linux.get("sharedMemorySize").is_some()
                || linux.get("tmpfs").and_then(Value::as_array).is_some_and(|t| !t.is_empty())
            {
                add(docker("1.22"));
            }
            if linux.get("initProcessEnabled").and_then(Value::as_bool) == Some(true) {
                add(docker("1.25"));
            }
        }
    }

    if def.task_role_arn().is_some() {
        add(format!("{OLD}task-iam-role"));
        if def.network_mode() == "host" {
            add(format!("{OLD}task-iam-role-network-host"));
        }
    }
    if def.network_mode() == "awsvpc" {
        add(format!("{NEW}task-eni"));
    }
    if def.pid_mode().is_some() || def.ipc_mode().is_some() {
        add(format!("{NEW}pid-ipc-namespace-sharing"));
    }
    if def.extra.contains_key("proxyConfiguration") {
        add(format!("{NEW}aws-appmesh"));
    }
    if def.extra.get("inferenceAccelerators").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
        add(format!("{NEW}task-eia"));
    }
    for volume in &def.volumes {
        if let Some(efs) = volume.extra.get("efsVolumeConfiguration") {
            add(format!("{NEW}efs"));
            let authorization = efs.get("authorizationConfig");
            let uses_auth = authorization.and_then(|a| a.get("accessPointId")).is_some()
                || authorization.and_then(|a| a.get("iam")).and_then(Value::as_str) == Some("ENABLED");
            if uses_auth {
                add(format!("{NEW}efsAuth"));
            }
        }
        if volume.extra.contains_key("fsxWindowsFileServerVolumeConfiguration") {
            add(format!("{NEW}fsxWindowsFileServer"));
        }
        if let Some(driver) = volume.docker_volume_configuration.as_ref().and_then(|d| d.driver.as_deref()) {
            add(format!("{NEW}docker-plugin.{driver}"));
        }
    }

    names.into_iter().map(|name| Attribute::new(name, None)).collect()
}

/// Images in a private Amazon ECR registry: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/...`.
fn is_ecr_image(image: &str) -> bool {
    let host = image.split('/').next().unwrap_or_default();
    image.contains('/')
        && host.contains(".dkr.ecr.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

/// Which store a secret comes from: Secrets Manager ARNs name the `secretsmanager` service; everything else
/// (SSM parameter ARNs and bare parameter names) is Parameter Store.
fn secret_store(value_from: &str) -> &'static str {
    if value_from.starts_with("arn:") && value_from.split(':').nth(2) == Some("secretsmanager") { "asm" } else { "ssm" }
}
