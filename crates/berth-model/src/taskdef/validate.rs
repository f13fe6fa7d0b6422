//! ECS's rules for a task definition, applied at registration.
//!
//! `schema` has already checked JSON types and enum values, so this module deals in meaning: names, sizes and
//! ranges, references between containers and volumes, network-mode rules, task-level cpu/memory and Fargate. It
//! also normalises task `cpu`/`memory` and works out `compatibilities`, because both fall out of the same checks.
//! Where ECS's wording is known it is used verbatim (e.g. `Invalid 'cpu' setting for task.`,
//! `Container.image should not be null or empty.`, `Invalid setting for container '<name>'. ...`); elsewhere the
//! message follows ECS's style and always names the field and the container.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{ContainerDefinition, TaskDefinition, shown, units};
use crate::{ModelError, Tag};

/// The most containers ECS allows in one task definition.
pub(super) const MAX_CONTAINERS: usize = 10;
/// ECS's size limit for a task definition, in bytes of JSON.
pub(super) const MAX_DEFINITION_BYTES: usize = 64 * 1024;
/// Placement constraints per task (task definition and RunTask together; the definition alone can use them all).
const MAX_PLACEMENT_CONSTRAINTS: usize = 10;
/// Docker refuses memory limits and reservations below this (MiB).
pub(super) const MIN_CONTAINER_MEMORY_MIB: i32 = 6;
/// EC2/EXTERNAL task cpu bounds, in CPU units (0.125 to 192 vCPU).
const EC2_TASK_CPU: (u64, u64) = (128, 196_608);

fn client(message: impl Into<String>) -> ModelError {
    ModelError::client(message)
}

fn container_error(container: &str, detail: impl std::fmt::Display) -> ModelError {
    client(format!("Invalid setting for container '{}'. {detail}", shown(container)))
}

fn volume_error(volume: &str, detail: impl std::fmt::Display) -> ModelError {
    client(format!("Invalid setting for volume '{}'. {detail}", shown(volume)))
}

/// Up to 255 ASCII letters, digits, hyphens and underscores: families, container names, volume names.
fn is_name(text: &str) -> bool {
    crate::names::is_resource_name(text)
}

fn name_problem(text: &str) -> String {
    if text.len() > 255 {
        format!("is {} characters long; at most 255 are allowed", text.chars().count())
    } else {
        "contains characters other than letters (uppercase and lowercase), numbers, hyphens and underscores".to_owned()
    }
}

fn non_empty_str<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------------------------------------
// Before the typed definition exists: presence of what the typed structs require, size, tags.

/// Checks what must hold before the request can become a [`TaskDefinition`]: the family, the container list and
/// each container's name and image are present; named volumes; typed placement constraints; the size limit.
pub(super) fn request_shape(request: &Map<String, Value>) -> Result<(), ModelError> {
    // Measured on the clean request (tags removed), which is what will be stored.
    let size = serde_json::to_vec(request).map(|bytes| bytes.len()).unwrap_or(usize::MAX);
    if size > MAX_DEFINITION_BYTES {
        return Err(client(format!(
            "The task definition is {size} bytes of JSON; the maximum size of a task definition is \
             {MAX_DEFINITION_BYTES} bytes."
        )));
    }

    let family = non_empty_str(request, "family").ok_or_else(|| client("Family should not be null or empty."))?;
    if !is_name(family) {
        return Err(client(format!(
            "Invalid family '{}': it {}. Up to 255 letters (uppercase and lowercase), numbers, hyphens and \
             underscores are allowed.",
            shown(family),
            name_problem(family)
        )));
    }

    let containers = request.get("containerDefinitions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    if containers.is_empty() {
        return Err(client("Container list cannot be empty."));
    }
    if containers.len() > MAX_CONTAINERS {
        return Err(client(format!(
            "Too many containers: containerDefinitions has {} entries; a task definition can have at most \
             {MAX_CONTAINERS}.",
            containers.len()
        )));
    }
    for container in containers.iter().filter_map(Value::as_object) {
        non_empty_str(container, "name").ok_or_else(|| client("Container.name should not be null or empty."))?;
        non_empty_str(container, "image").ok_or_else(|| client("Container.image should not be null or empty."))?;
    }

    let volumes = request.get("volumes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    for (i, volume) in volumes.iter().enumerate() {
        if volume.as_object().and_then(|v| non_empty_str(v, "name")).is_none() {
            return Err(client(format!("volumes[{i}].name should not be null or empty.")));
        }
    }

    let constraints = request.get("placementConstraints").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    for (i, constraint) in constraints.iter().enumerate() {
        if constraint.get("type").is_none() {
            return Err(client(format!("placementConstraints[{i}].type should not be null or empty.")));
        }
    }
    Ok(())
}

/// Builds the request's tags from their (schema-checked) JSON and applies the crate's tag rules.
pub(super) fn tags(value: Option<Value>) -> Result<Vec<Tag>, ModelError> {
    let Some(value) = value else { return Ok(Vec::new()) };
    for (i, tag) in value.as_array().map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
        if tag.get("key").is_none() {
            return Err(client(format!("tags[{i}].key should not be null or empty.")));
        }
    }
    let tags: Vec<Tag> = super::from_clean(value, "tags")?;
    crate::names::check_tags(&tags)?;
    Ok(tags)
}

// ---------------------------------------------------------------------------------------------------------------
// The typed definition.

/// Applies every rule to the typed definition, normalising `cpu`/`memory` and setting `compatibilities`.
pub(super) fn definition(def: &mut TaskDefinition) -> Result<(), ModelError> {
    drop_valueless_environment(def);
    normalise_size(def)?;
    let names = container_names(def)?;
    let volume_names = volumes(def)?;
    for container in &def.container_definitions {
        container_fields(def, container, &names, &volume_names)?;
    }
    if !def.container_definitions.iter().any(ContainerDefinition::is_essential) {
        return Err(client(
            "Invalid setting: at least one container in the task definition must be essential (set 'essential' to \
             true, or leave it out, on at least one container).",
        ));
    }
    secrets_need_an_execution_role(def)?;
    dependency_cycles(def)?;
    port_mappings(def)?;
    task_resources(def)?;
    placement_constraints(def)?;
    task_level_fields(def)?;
    compatibilities(def)
}

/// Container secrets are read with the execution role, so ECS refuses them without one (in ECS's words). RunTask's
/// `executionRoleArn` override cannot stand in: the check is the definition's.
fn secrets_need_an_execution_role(def: &TaskDefinition) -> Result<(), ModelError> {
    let has_secrets = def.container_definitions.iter().any(|c| c.secrets.as_ref().is_some_and(|s| !s.is_empty()));
    if has_secrets && def.execution_role_arn().is_none_or(str::is_empty) {
        return Err(client(
            "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
        ));
    }
    Ok(())
}

/// ECS leaves environment variables registered without a value (absent or empty) out of the definition, so the
/// container does not get them; Berth does the same, so that a definition reads back as ECS would return it.
fn drop_valueless_environment(def: &mut TaskDefinition) {
    for container in &mut def.container_definitions {
        container.environment.retain(|e| e.value.as_deref().is_some_and(|v| !v.is_empty()));
    }
}

/// Parses task `cpu`/`memory` into CPU units and MiB and stores them as integer strings.
fn normalise_size(def: &mut TaskDefinition) -> Result<(), ModelError> {
    if let Some(cpu) = &def.cpu {
        def.cpu = Some(units::parse_cpu(cpu)?.to_string());
    }
    if let Some(memory) = &def.memory {
        def.memory = Some(units::parse_memory(memory)?.to_string());
    }
    Ok(())
}

fn container_names(def: &TaskDefinition) -> Result<HashSet<&str>, ModelError> {
    let mut names = HashSet::new();
    for container in &def.container_definitions {
        let name = container.name.as_str();
        if !is_name(name) {
            return Err(client(format!(
                "Invalid container name '{}': it {}. Up to 255 letters (uppercase and lowercase), numbers, hyphens \
                 and underscores are allowed.",
                shown(name),
                name_problem(name)
            )));
        }
        if !names.insert(name) {
            return Err(client(format!(
                "Duplicate container name '{name}': container names must be unique within a task definition."
            )));
        }
    }
    Ok(names)
}

fn volumes(def: &TaskDefinition) -> Result<HashSet<&str>, ModelError> {
    let mut names = HashSet::new();
    let mut configured_at_launch = None;
    for volume in &def.volumes {
        let name = volume.name.as_str();
        if !is_name(name) {
            return Err(client(format!(
                "Invalid volume name '{}': it {}. Up to 255 letters (uppercase and lowercase), numbers, hyphens and \
                 underscores are allowed.",
                shown(name),
                name_problem(name)
            )));
        }
        if !names.insert(name) {
            return Err(client(format!("Duplicate volume name '{name}': volume names must be unique.")));
        }
        let kinds: Vec<&str> = [
            ("host", volume.host.is_some()),
            ("dockerVolumeConfiguration", volume.docker_volume_configuration.is_some()),
            ("efsVolumeConfiguration", volume.extra.contains_key("efsVolumeConfiguration")),
            (
                "fsxWindowsFileServerVolumeConfiguration",
                volume.extra.contains_key("fsxWindowsFileServerVolumeConfiguration"),
            ),
            ("s3filesVolumeConfiguration", volume.extra.contains_key("s3filesVolumeConfiguration")),
            ("configuredAtLaunch", volume.configured_at_launch == Some(true)),
        ]
        .into_iter()
        .filter_map(|(kind, set)| set.then_some(kind))
        .collect();
        if kinds.len() > 1 {
            return Err(volume_error(
                name,
                format!("A volume can have only one type, but it sets {}.", kinds.join(" and ")),
            ));
        }
        if volume.configured_at_launch == Some(true)
            && let Some(first) = configured_at_launch.replace(name)
        {
            return Err(volume_error(
                name,
                format!("Only one volume can be configured at launch, and '{first}' already is."),
            ));
        }
        if let Some(docker) = &volume.docker_volume_configuration {
            if docker.autoprovision == Some(true) && docker.scope.as_deref() != Some("shared") {
                return Err(volume_error(
                    name,
                    "dockerVolumeConfiguration.autoprovision can only be true when dockerVolumeConfiguration.scope is \
                     'shared'.",
                ));
            }
            if docker.driver.as_deref() == Some("") {
                return Err(volume_error(name, "dockerVolumeConfiguration.driver should not be empty."));
            }
        }
        if let Some(efs) = volume.extra.get("efsVolumeConfiguration") {
            efs_volume(name, efs)?;
        }
    }
    Ok(names)
}

/// EFS access points and IAM authorisation only work over TLS, and an access point fixes the root directory.
fn efs_volume(name: &str, efs: &Value) -> Result<(), ModelError> {
    let authorization = efs.get("authorizationConfig");
    let access_point = authorization.and_then(|a| a.get("accessPointId")).and_then(Value::as_str);
    let iam = authorization.and_then(|a| a.get("iam")).and_then(Value::as_str) == Some("ENABLED");
    let encrypted = efs.get("transitEncryption").and_then(Value::as_str) == Some("ENABLED");
    if (access_point.is_some() || iam) && !encrypted {
        return Err(volume_error(
            name,
            "efsVolumeConfiguration.transitEncryption must be ENABLED when an access point or IAM authorization is \
             used.",
        ));
    }
    let root = efs.get("rootDirectory").and_then(Value::as_str);
    if access_point.is_some() && !matches!(root, None | Some("") | Some("/")) {
        return Err(volume_error(
            name,
            "efsVolumeConfiguration.rootDirectory must be omitted or '/' when an access point is used.",
        ));
    }
    Ok(())
}

/// Per-container rules that need only the container and the task's names.
fn container_fields(
    def: &TaskDefinition,
    c: &ContainerDefinition,
    names: &HashSet<&str>,
    volume_names: &HashSet<&str>,
) -> Result<(), ModelError> {
    let name = c.name.as_str();
    let err = |detail: String| container_error(name, detail);
    image(name, &c.image)?;
    container_memory(def, c)?;
    if let Some(cpu) = c.cpu.filter(|&cpu| cpu < 0) {
        return Err(err(format!("'cpu' must not be negative, got {cpu}.")));
    }
    for (field, value) in [("startTimeout", c.start_timeout), ("stopTimeout", c.stop_timeout)] {
        if let Some(seconds) = value.filter(|&s| s < 0) {
            return Err(err(format!("'{field}' must not be negative, got {seconds}.")));
        }
    }

    for (i, dependency) in c.dependencies().iter().enumerate() {
        let target = dependency.container_name.as_str();
        let field = format!("dependsOn[{i}].containerName");
        if target == name {
            return Err(err(format!("{field} names the container itself; a container cannot depend on itself.")));
        }
        let Some(target_def) = def.container(target) else {
            return Err(err(format!("{field} '{}' is not a container in this task definition.", shown(target))));
        };
        match dependency.condition.as_str() {
            "HEALTHY" if target_def.health_check.is_none() => {
                return Err(err(format!(
                    "dependsOn[{i}] waits for container '{target}' to be HEALTHY, but '{target}' has no healthCheck."
                )));
            }
            condition @ ("COMPLETE" | "SUCCESS") if target_def.is_essential() => {
                return Err(err(format!(
                    "dependsOn[{i}] uses condition {condition} on container '{target}', which is essential; \
                     COMPLETE and SUCCESS can only be used on non-essential containers."
                )));
            }
            _ => {}
        }
    }

    if let Some(links) = &c.links {
        if def.network_mode() != "bridge" && !links.is_empty() {
            return Err(err(format!(
                "'links' are only supported when networkMode=bridge, and this task uses networkMode={}.",
                def.network_mode()
            )));
        }
        for (i, link) in links.iter().enumerate() {
            let (target, alias) = link.split_once(':').unwrap_or((link, link));
            if !is_name(target) || !is_name(alias) {
                return Err(err(format!(
                    "links[{i}] '{}' must be 'name' or 'name:alias', each up to 255 letters, numbers, hyphens and \
                     underscores.",
                    shown(link)
                )));
            }
            if target == name || !names.contains(target) {
                return Err(err(format!("links[{i}] '{target}' must name another container in this task definition.")));
            }
        }
    }

    let mut container_paths = HashSet::new();
    for (i, mount) in c.mount_points.iter().enumerate() {
        let Some(source) = mount.source_volume.as_deref().filter(|s| !s.is_empty()) else {
            return Err(err(format!("mountPoints[{i}].sourceVolume should not be null or empty.")));
        };
        if !volume_names.contains(source) {
            return Err(err(format!(
                "mountPoints[{i}].sourceVolume '{}' is not a volume of this task definition.",
                shown(source)
            )));
        }
        let Some(path) = mount.container_path.as_deref().filter(|p| !p.is_empty()) else {
            return Err(err(format!("mountPoints[{i}].containerPath should not be null or empty.")));
        };
        if !container_paths.insert(path) {
            return Err(err(format!("mountPoints[{i}].containerPath '{}' is mounted more than once.", shown(path))));
        }
    }
    for (i, from) in c.volumes_from.iter().enumerate() {
        let Some(source) = from.source_container.as_deref().filter(|s| !s.is_empty()) else {
            return Err(err(format!("volumesFrom[{i}].sourceContainer should not be null or empty.")));
        };
        if source == name || !names.contains(source) {
            return Err(err(format!(
                "volumesFrom[{i}].sourceContainer '{}' must name another container in this task definition.",
                shown(source)
            )));
        }
    }

    if let Some(check) = &c.health_check {
        health_check(name, check)?;
    }

    let mut ulimit_names = HashSet::new();
    for (i, ulimit) in c.ulimits.iter().flatten().enumerate() {
        if !ulimit_names.insert(ulimit.name.as_str()) {
            return Err(err(format!("ulimits[{i}]: the ulimit '{}' is set more than once.", ulimit.name)));
        }
        let (soft, hard) = (ulimit.soft_limit, ulimit.hard_limit);
        // -1 is "unlimited" to Docker; any other negative number is meaningless.
        if soft < -1 || hard < -1 || (hard != -1 && (soft == -1 || soft > hard)) {
            return Err(err(format!(
                "ulimits[{i}] ({}): softLimit {soft} must not exceed hardLimit {hard} (-1 means unlimited).",
                ulimit.name
            )));
        }
    }

    let mut resource_types = HashSet::new();
    for (i, requirement) in c.resource_requirements.iter().flatten().enumerate() {
        if !resource_types.insert(requirement.r#type.as_str()) {
            return Err(err(format!(
                "resourceRequirements[{i}]: type {} is given more than once.",
                requirement.r#type
            )));
        }
        match requirement.r#type.as_str() {
            "GPU" => {
                let value = requirement.value.as_str();
                let count = value.parse::<u32>().ok().filter(|&n| n > 0 && value.bytes().all(|b| b.is_ascii_digit()));
                if count.is_none() {
                    return Err(err(format!(
                        "resourceRequirements[{i}].value '{}' must be a positive whole number of GPUs.",
                        shown(value)
                    )));
                }
            }
            _ => {
                let devices = def.extra.get("inferenceAccelerators").and_then(Value::as_array);
                let known = devices
                    .into_iter()
                    .flatten()
                    .any(|d| d.get("deviceName").and_then(Value::as_str) == Some(requirement.value.as_str()));
                if !known {
                    return Err(err(format!(
                        "resourceRequirements[{i}].value '{}' must be the deviceName of one of the task's \
                         inferenceAccelerators.",
                        shown(&requirement.value)
                    )));
                }
            }
        }
    }

    let secrets = c.secrets.iter().flatten().map(|s| ("secrets", s));
    let log_secrets = c
        .log_configuration
        .iter()
        .flat_map(|l| l.secret_options.iter().flatten())
        .map(|s| ("logConfiguration.secretOptions", s));
    for (field, secret) in secrets.chain(log_secrets) {
        if secret.name.is_empty() || secret.value_from.is_empty() {
            return Err(err(format!("{field}: every secret needs a non-empty name and valueFrom.")));
        }
    }

    if let Some(log) = &c.log_configuration
        && log.log_driver == "awsfirelens"
        && !def.container_definitions.iter().any(|other| other.extra.contains_key("firelensConfiguration"))
    {
        return Err(err(
            "logConfiguration.logDriver is awsfirelens, but no container of the task has a firelensConfiguration."
                .to_owned(),
        ));
    }

    if def.network_mode() == "awsvpc" {
        if c.hostname.is_some() {
            return Err(err("'hostname' is not supported when networkMode=awsvpc.".to_owned()));
        }
        if c.extra_hosts.as_ref().is_some_and(|hosts| !hosts.is_empty()) {
            return Err(err("'extraHosts' is not supported when networkMode=awsvpc.".to_owned()));
        }
    }

    if let Some(linux) = &c.linux_parameters {
        linux_parameters(name, linux)?;
    }
    if let Some(policy) = &c.restart_policy {
        if let Some(period) = policy.restart_attempt_period.filter(|p| !(60..=1800).contains(p)) {
            return Err(err(format!(
                "restartPolicy.restartAttemptPeriod must be between 60 and 1800 seconds, got {period}."
            )));
        }
        if policy.ignored_exit_codes.as_ref().is_some_and(|codes| codes.len() > 50) {
            return Err(err("restartPolicy.ignoredExitCodes can list at most 50 exit codes.".to_owned()));
        }
    }
    if c.extra.get("credentialSpecs").and_then(Value::as_array).is_some_and(|specs| specs.len() > 1) {
        return Err(err("'credentialSpecs' can hold at most one ARN.".to_owned()));
    }
    Ok(())
}

/// Image references as ECS documents them: up to 255 characters of letters, digits, `-`, `_`, `:`, `.`, `/` and `#`,
/// optionally followed by `@sha256:` and 64 hex digits.
fn image(container: &str, image: &str) -> Result<(), ModelError> {
    let (reference, digest) = match image.split_once('@') {
        Some((reference, digest)) => (reference, Some(digest)),
        None => (image, None),
    };
    let reference_ok = !reference.is_empty()
        && reference.len() <= 255
        && reference.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_:./#".contains(&b));
    let digest_ok = digest.is_none_or(|d| {
        d.strip_prefix("sha256:").is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    if !reference_ok || !digest_ok {
        return Err(container_error(
            container,
            format!(
                "Container.image '{}' is not a valid image reference: up to 255 letters, numbers, hyphens, \
                 underscores, colons, periods, forward slashes and number signs, optionally followed by \
                 @sha256:<64 hex digits>.",
                shown(image)
            ),
        ));
    }
    Ok(())
}

fn container_memory(def: &TaskDefinition, c: &ContainerDefinition) -> Result<(), ModelError> {
    let err = |detail: String| container_error(&c.name, detail);
    for (field, value) in [("memory", c.memory), ("memoryReservation", c.memory_reservation)] {
        if let Some(mib) = value.filter(|&mib| mib < MIN_CONTAINER_MEMORY_MIB) {
            return Err(err(format!(
                "'{field}' must be at least {MIN_CONTAINER_MEMORY_MIB} MiB (Docker's minimum), got {mib}."
            )));
        }
    }
    match (c.memory, c.memory_reservation) {
        (Some(limit), Some(reservation)) if reservation > limit => {
            return Err(err(format!(
                "The memory reservation value ('memoryReservation', {reservation} MiB) must not be greater than the \
                 memory value ('memory', {limit} MiB)."
            )));
        }
        // A Fargate definition without task memory gets Fargate's own message below instead.
        (None, None) if def.memory.is_none() && !def.requires_compatibilities.iter().any(|c| c == "FARGATE") => {
            return Err(err("At least one of 'memory' or 'memoryReservation' must be specified.".to_owned()));
        }
        _ => {}
    }
    if let (Some(limit), Some(task)) = (c.memory, def.memory_mib())
        && i64::from(limit) > task as i64
    {
        return Err(err(format!("'memory' ({limit} MiB) is greater than the task's 'memory' ({task} MiB).")));
    }
    Ok(())
}

fn health_check(container: &str, check: &super::HealthCheck) -> Result<(), ModelError> {
    let err = |detail: String| container_error(container, detail);
    match check.command.first().map(String::as_str) {
        Some("NONE") => {}
        Some("CMD" | "CMD-SHELL") if check.command.len() >= 2 => {}
        Some("CMD" | "CMD-SHELL") => {
            return Err(err(format!("healthCheck.command needs the command to run after '{}'.", check.command[0])));
        }
        _ => {
            return Err(err(
                "healthCheck.command must start with CMD (run the arguments directly), CMD-SHELL (run them with the \
                 container's shell) or NONE."
                    .to_owned(),
            ));
        }
    }
    let ranges = [
        ("interval", check.interval, 5, 300),
        ("timeout", check.timeout, 2, 60),
        ("retries", check.retries, 1, 10),
        ("startPeriod", check.start_period, 0, 300),
    ];
    for (field, value, low, high) in ranges {
        if let Some(v) = value.filter(|v| !(low..=high).contains(v)) {
            return Err(err(format!("healthCheck.{field} must be between {low} and {high}, got {v}.")));
        }
    }
    Ok(())
}

fn linux_parameters(container: &str, linux: &Value) -> Result<(), ModelError> {
    let err = |detail: String| container_error(container, detail);
    let int = |key: &str| linux.get(key).and_then(Value::as_i64);
    if let Some(size) = int("sharedMemorySize").filter(|&s| s <= 0) {
        return Err(err(format!("linuxParameters.sharedMemorySize must be a positive number of MiB, got {size}.")));
    }
    if let Some(swap) = int("maxSwap").filter(|&s| s < 0) {
        return Err(err(format!("linuxParameters.maxSwap must be 0 or a positive number of MiB, got {swap}.")));
    }
    if let Some(swappiness) = int("swappiness").filter(|s| !(0..=100).contains(s)) {
        return Err(err(format!("linuxParameters.swappiness must be between 0 and 100, got {swappiness}.")));
    }
    for (i, tmpfs) in linux.get("tmpfs").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if tmpfs.get("containerPath").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(err(format!("linuxParameters.tmpfs[{i}].containerPath should not be null or empty.")));
        }
        if let Some(size) = tmpfs.get("size").and_then(Value::as_i64).filter(|&s| s <= 0) {
            return Err(err(format!("linuxParameters.tmpfs[{i}].size must be a positive number of MiB, got {size}.")));
        }
    }
    for (i, device) in linux.get("devices").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if device.get("hostPath").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(err(format!("linuxParameters.devices[{i}].hostPath should not be null or empty.")));
        }
    }
    Ok(())
}

/// ECS (and the agent's dependency graph) refuse definitions whose containers wait on each other in a circle,
/// counting `links` and `volumesFrom` as well as `dependsOn`: each needs its target created first.
fn dependency_cycles(def: &TaskDefinition) -> Result<(), ModelError> {
    let index: HashMap<&str, usize> =
        def.container_definitions.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
    let edges: Vec<Vec<usize>> = def
        .container_definitions
        .iter()
        .map(|c| {
            let depends = c.dependencies().iter().map(|d| d.container_name.as_str());
            let links = c.links.iter().flatten().map(|l| l.split_once(':').map_or(l.as_str(), |(target, _)| target));
            let volumes = c.volumes_from.iter().filter_map(|v| v.source_container.as_deref());
            depends.chain(links).chain(volumes).filter_map(|name| index.get(name).copied()).collect()
        })
        .collect();

    // Depth-first search with the usual three colours; at most 10 containers, so recursion depth is trivial.
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        New,
        OnPath,
        Done,
    }
    fn visit(node: usize, edges: &[Vec<usize>], colour: &mut [Colour], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        colour[node] = Colour::OnPath;
        path.push(node);
        for &next in &edges[node] {
            match colour[next] {
                Colour::OnPath => {
                    let start = path.iter().position(|&n| n == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next);
                    return Some(cycle);
                }
                Colour::New => {
                    if let Some(cycle) = visit(next, edges, colour, path) {
                        return Some(cycle);
                    }
                }
                Colour::Done => {}
            }
        }
        path.pop();
        colour[node] = Colour::Done;
        None
    }

    let mut colour = vec![Colour::New; edges.len()];
    for start in 0..edges.len() {
        if colour[start] == Colour::New
            && let Some(cycle) = visit(start, &edges, &mut colour, &mut Vec::new())
        {
            let names: Vec<&str> = cycle.iter().map(|&i| def.container_definitions[i].name.as_str()).collect();
            return Err(container_error(
                names[0],
                format!(
                    "Circular container dependency through dependsOn, links or volumesFrom: {}.",
                    names.join(" -> ")
                ),
            ));
        }
    }
    Ok(())
}

/// A port interval a mapping occupies, for overlap checks.
struct Occupied<'a> {
    protocol: &'a str,
    first: i32,
    last: i32,
    container: &'a str,
}

/// Reports the first pair of overlapping intervals (same protocol) as (earlier, later).
fn first_overlap(mut spans: Vec<Occupied<'_>>) -> Option<(Occupied<'_>, Occupied<'_>)> {
    spans.sort_by(|a, b| (a.protocol, a.first, a.last).cmp(&(b.protocol, b.first, b.last)));
    let mut spans = spans.into_iter();
    let mut widest = spans.next()?;
    for span in spans {
        if span.protocol == widest.protocol && span.first <= widest.last {
            return Some((widest, span));
        }
        if span.protocol != widest.protocol || span.last > widest.last {
            widest = span;
        }
    }
    None
}

fn port_mappings(def: &TaskDefinition) -> Result<(), ModelError> {
    let mode = def.network_mode();
    let mut host_spans = Vec::new();
    let mut mapping_names: HashMap<&str, &str> = HashMap::new();
    for c in &def.container_definitions {
        let name = c.name.as_str();
        let err = |detail: String| container_error(name, detail);
        if mode == "none" && !c.port_mappings.is_empty() {
            return Err(err("Port mappings are not supported when networkMode=none.".to_owned()));
        }
        let mut container_spans = Vec::new();
        let mut ranges = 0;
        for (i, mapping) in c.port_mappings.iter().enumerate() {
            let protocol = mapping.protocol();
            if let Some(port) = mapping.host_port.filter(|p| !(0..=65535).contains(p)) {
                return Err(err(format!("portMappings[{i}].hostPort must be between 0 and 65535, got {port}.")));
            }
            let (first, last) = match (mapping.container_port, &mapping.container_port_range) {
                (Some(_), Some(_)) => {
                    return Err(err(format!(
                        "portMappings[{i}] sets both containerPort and containerPortRange; set one of them."
                    )));
                }
                (None, None) => {
                    return Err(err(format!("portMappings[{i}] must set containerPort or containerPortRange.")));
                }
                (Some(port), None) => {
                    if !(1..=65535).contains(&port) {
                        return Err(err(format!(
                            "portMappings[{i}].containerPort must be between 1 and 65535, got {port}."
                        )));
                    }
                    (port, port)
                }
                (None, Some(range)) => {
                    ranges += 1;
                    let Some((first, last)) = mapping.port_range().filter(|&(a, b)| a >= 1 && a < b) else {
                        return Err(err(format!(
                            "portMappings[{i}].containerPortRange '{}' must be 'first-last' with \
                             1 <= first < last <= 65535.",
                            shown(range)
                        )));
                    };
                    if mapping.host_port.is_some() {
                        return Err(err(format!(
                            "portMappings[{i}] sets hostPort with containerPortRange; leave hostPort out, host ports \
                             for a range are assigned by ECS."
                        )));
                    }
                    if !matches!(mode, "bridge" | "awsvpc") {
                        return Err(err(format!(
                            "portMappings[{i}].containerPortRange is only supported when networkMode is bridge or \
                             awsvpc."
                        )));
                    }
                    (i32::from(first), i32::from(last))
                }
            };
            if matches!(mode, "awsvpc" | "host")
                && let Some(host) = mapping.host_port.filter(|&h| h != 0 && h != first)
            {
                return Err(err(format!(
                    "When networkMode={mode}, the host ports and container ports in port mappings must match \
                         (portMappings[{i}]: hostPort {host}, containerPort {first})."
                )));
            }
            if let Some(mapping_name) = &mapping.name {
                let valid = !mapping_name.is_empty()
                    && mapping_name.len() <= 64
                    && !mapping_name.starts_with('-')
                    && mapping_name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
                if !valid {
                    return Err(err(format!(
                        "portMappings[{i}].name '{}' must be up to 64 lowercase letters, numbers, underscores and \
                         hyphens, not starting with a hyphen.",
                        shown(mapping_name)
                    )));
                }
                if let Some(other) = mapping_names.insert(mapping_name, name) {
                    return Err(err(format!(
                        "portMappings[{i}].name '{mapping_name}' is already used by a port mapping of container \
                         '{other}'; port mapping names must be unique within a task definition."
                    )));
                }
            }
            container_spans.push(Occupied { protocol, first, last, container: name });
            // The host side: awsvpc and host map each port to itself; bridge occupies a host port only when one is
            // given (0 or none means a dynamic port from the ephemeral range, and ranges are always dynamic).
            let host = match mode {
                "awsvpc" | "host" => Some((first, last)),
                _ => mapping.host_port.filter(|&h| h != 0).map(|h| (h, h)),
            };
            if let Some((first, last)) = host {
                host_spans.push(Occupied { protocol, first, last, container: name });
            }
        }
        if ranges > 100 {
            return Err(err(format!("portMappings has {ranges} containerPortRange entries; at most 100 are allowed.")));
        }
        if let Some((_, later)) = first_overlap(container_spans) {
            return Err(err(format!(
                "Container port {}/{} is included in more than one port mapping; a port can be in only one port \
                 mapping per container.",
                later.first, later.protocol
            )));
        }
    }
    if let Some((earlier, later)) = first_overlap(host_spans) {
        let whose = if earlier.container == later.container {
            "another port mapping of the same container".to_owned()
        } else {
            format!("container '{}'", earlier.container)
        };
        return Err(container_error(
            later.container,
            format!("Host port {}/{} in portMappings is already used by {whose}.", later.first, later.protocol),
        ));
    }
    Ok(())
}

/// Task-level cpu/memory against EC2's bounds and the containers' reservations.
fn task_resources(def: &TaskDefinition) -> Result<(), ModelError> {
    if let Some(cpu) = def.cpu_units() {
        let (low, high) = EC2_TASK_CPU;
        if !(low..=high).contains(&cpu) {
            return Err(client(format!(
                "Invalid 'cpu' setting for task. Task cpu must be between {low} and {high} CPU units (0.125 to 192 \
                 vCPU), got {cpu}."
            )));
        }
        let total: i64 = def.container_definitions.iter().filter_map(|c| c.cpu).map(i64::from).sum();
        if total > cpu as i64 {
            return Err(client(format!(
                "Invalid 'cpu' setting for task. The containers' cpu adds up to {total} units, more than the task's \
                 cpu of {cpu} units."
            )));
        }
    }
    if let Some(memory) = def.memory_mib() {
        let total: i64 =
            def.container_definitions.iter().filter_map(ContainerDefinition::reserved_memory_mib).map(i64::from).sum();
        if total > memory as i64 {
            return Err(client(format!(
                "Invalid 'memory' setting for task. The containers reserve {total} MiB in all (memoryReservation, or \
                 memory where no reservation is set), more than the task's memory of {memory} MiB."
            )));
        }
    }
    Ok(())
}

fn placement_constraints(def: &TaskDefinition) -> Result<(), ModelError> {
    if def.placement_constraints.len() > MAX_PLACEMENT_CONSTRAINTS {
        return Err(client(format!(
            "placementConstraints has {} entries; at most {MAX_PLACEMENT_CONSTRAINTS} are allowed.",
            def.placement_constraints.len()
        )));
    }
    for (i, constraint) in def.placement_constraints.iter().enumerate() {
        let Some(expression) = constraint.expression.as_deref().filter(|e| !e.trim().is_empty()) else {
            return Err(client(format!(
                "placementConstraints[{i}].expression should not be null or empty: a memberOf constraint needs an \
                 expression."
            )));
        };
        crate::query::parse(expression).map_err(|e| {
            ModelError::invalid(format!("placementConstraints[{i}].expression is not a valid cluster query: {e}"))
        })?;
    }
    Ok(())
}

fn task_level_fields(def: &TaskDefinition) -> Result<(), ModelError> {
    if let Some(size) = def.extra.get("ephemeralStorage").and_then(|e| e.get("sizeInGiB")).and_then(Value::as_i64)
        && !(21..=200).contains(&size)
    {
        return Err(client(format!("ephemeralStorage.sizeInGiB must be between 21 and 200, got {size}.")));
    }
    if let Some(proxy) = def.extra.get("proxyConfiguration") {
        let target = proxy.get("containerName").and_then(Value::as_str).unwrap_or_default();
        if def.container(target).is_none() {
            return Err(client(format!(
                "proxyConfiguration.containerName '{}' is not a container in this task definition.",
                shown(target)
            )));
        }
    }
    let mut devices = HashSet::new();
    for (i, accelerator) in
        def.extra.get("inferenceAccelerators").and_then(Value::as_array).into_iter().flatten().enumerate()
    {
        let device = accelerator.get("deviceName").and_then(Value::as_str).unwrap_or_default();
        if device.is_empty() || !devices.insert(device) {
            return Err(client(format!(
                "inferenceAccelerators[{i}].deviceName '{}' must be non-empty and unique.",
                shown(device)
            )));
        }
    }
    Ok(())
}

/// Sets `compatibilities`, refusing the definition when it asked for FARGATE and breaks one of Fargate's rules.
fn compatibilities(def: &mut TaskDefinition) -> Result<(), ModelError> {
    let requested = |kind: &str| def.requires_compatibilities.iter().any(|c| c == kind);
    let fargate = match fargate_problem(def) {
        None => true,
        Some(problem) if requested("FARGATE") => return Err(problem),
        Some(_) => false,
    };
    let mut compatibilities = vec!["EC2".to_owned()];
    for (kind, compatible) in [
        ("FARGATE", fargate),
        ("EXTERNAL", requested("EXTERNAL")),
        ("MANAGED_INSTANCES", requested("MANAGED_INSTANCES")),
    ] {
        if compatible {
            compatibilities.push(kind.to_owned());
        }
    }
    def.compatibilities = compatibilities;
    Ok(())
}

/// The first Fargate rule the definition breaks, if any. Also decides whether a definition that did not ask for
/// FARGATE is nonetheless Fargate-compatible, as ECS reports in `compatibilities`.
fn fargate_problem(def: &TaskDefinition) -> Option<ModelError> {
    if def.network_mode() != "awsvpc" {
        return Some(client("Fargate only supports network mode 'awsvpc'."));
    }
    let Some(cpu) = def.cpu_units() else {
        return Some(client("Fargate requires that 'cpu' be defined at the task level."));
    };
    let Some(memory) = def.memory_mib() else {
        return Some(client("Fargate requires that 'memory' be defined at the task level."));
    };
    if units::fargate_memory_options(cpu).is_none() {
        return Some(client(format!(
            "Invalid 'cpu' setting for task. Fargate task cpu must be one of 256, 512, 1024, 2048, 4096, 8192 or \
             16384 units, got {cpu}."
        )));
    }
    if !units::is_fargate_size(cpu, memory) {
        return Some(client(format!(
            "Invalid 'memory' setting for task. No Fargate configuration exists for given values: {cpu} CPU, {memory} \
             memory. See the Amazon ECS documentation for the valid values."
        )));
    }
    if let Some(mode) = def.pid_mode().filter(|&m| m != "task") {
        return Some(client(format!(
            "Tasks using the Fargate launch type do not support pidMode '{mode}'. The supported value for pidMode is \
             'task'."
        )));
    }
    if def.ipc_mode().is_some() {
        return Some(client("Tasks using the Fargate launch type do not support 'ipcMode'."));
    }
    for volume in &def.volumes {
        if volume.docker_volume_configuration.is_some() {
            return Some(volume_error(
                &volume.name,
                "Docker volumes (dockerVolumeConfiguration) are not supported on Fargate.",
            ));
        }
        if volume.host.as_ref().is_some_and(|h| h.source_path.is_some()) {
            return Some(volume_error(&volume.name, "host.sourcePath is not supported on Fargate."));
        }
    }
    for c in &def.container_definitions {
        let err = |detail: &str| Some(container_error(&c.name, detail));
        if c.privileged == Some(true) {
            return err("'privileged' is not supported on Fargate.");
        }
        for (field, value) in [("startTimeout", c.start_timeout), ("stopTimeout", c.stop_timeout)] {
            if value.is_some_and(|s| !(2..=120).contains(&s)) {
                return err(&format!("'{field}' must be between 2 and 120 seconds on Fargate."));
            }
        }
        if let Some(linux) = &c.linux_parameters {
            for field in ["devices", "maxSwap", "swappiness", "sharedMemorySize"] {
                if linux.get(field).is_some() {
                    return err(&format!("linuxParameters.{field} is not supported on Fargate."));
                }
            }
        }
    }
    None
}
