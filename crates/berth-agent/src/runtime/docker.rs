//! [`ContainerRuntime`] on the Docker Engine API, through bollard: images, volumes, containers, events and stats.
//! Owns the translation of Docker's answers (inspect documents, event messages, error statuses) into the runtime
//! types; the create body itself is built by [`super::docker_config`].

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::errors::Error as DockerError;
use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum, IpamConfig, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, EventsOptions, ListContainersOptions, RemoveContainerOptions,
    RemoveVolumeOptions, StatsOptions, StopContainerOptions, WaitContainerOptions,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::stats::DockerTimings;

use super::{
    ContainerRuntime, ContainerSpec, ContainerState, ContainerStats, EventKind, Health, ImageCommand, PortBinding,
    RegistryAuth, Result, RuntimeError, RuntimeEvent, RuntimeInfo, VolumeSpec, docker_config,
};

/// Longest health check output kept, as the ECS agent keeps it.
const HEALTH_OUTPUT_MAX: usize = 1024;

/// Extra time the stop request is given on top of the container's stop timeout: Docker answers only once the
/// container is gone, and bollard's default request timeout (120 s) would cut long stop timeouts short.
const STOP_REQUEST_GRACE: Duration = Duration::from_secs(60);

/// The Docker Engine runtime. Cheap to clone: bollard shares one connection pool.
#[derive(Debug, Clone)]
pub struct DockerRuntime {
    docker: Docker,
    /// Latency of each Engine API call, by call (`berth_docker_request_duration_seconds`).
    timings: DockerTimings,
}

impl DockerRuntime {
    /// One stats answer of a container, as Docker's JSON.
    async fn stats_sample(&self, id: &str, one_shot: bool) -> Result<ContainerStats> {
        let sample = self
            .docker
            .stats(id, Some(StatsOptions { stream: false, one_shot }))
            .next()
            .await
            .ok_or_else(|| RuntimeError::Unavailable(format!("Docker sent no stats for {id}")))?
            .map_err(docker_error)?;
        let raw =
            serde_json::to_value(sample).map_err(|err| RuntimeError::Unavailable(format!("stats of {id}: {err}")))?;
        Ok(ContainerStats { raw })
    }

    /// Connects to the daemon (`DOCKER_HOST` when set, else the local socket) and negotiates the API version:
    /// bollard's default is newer than older daemons (20.10 speaks 1.41) accept.
    pub async fn connect() -> Result<Self> {
        // Not connect_with_local_defaults: that one ignores a tcp:// DOCKER_HOST.
        let docker = Docker::connect_with_defaults().map_err(docker_error)?;
        let docker = docker.negotiate_version().await.map_err(docker_error)?;
        tracing::debug!(api_version = %docker.client_version(), "connected to Docker");
        Ok(Self { docker, timings: crate::stats::docker_timings() })
    }

    /// Times one call until the returned guard is dropped, however the call ends.
    fn timer(&self, call: &'static str) -> CallTimer<'_> {
        CallTimer { timings: &self.timings, call, started: std::time::Instant::now() }
    }

    /// The bollard handle, for callers that need an API this runtime does not wrap (logs, exec).
    pub fn client(&self) -> &Docker {
        &self.docker
    }
}

/// Observes a Docker call's duration when dropped.
struct CallTimer<'a> {
    timings: &'a DockerTimings,
    call: &'static str,
    started: std::time::Instant,
}

impl Drop for CallTimer<'_> {
    fn drop(&mut self) {
        let labels = crate::stats::CallLabels { call: self.call };
        self.timings.get_or_create(&labels).observe(self.started.elapsed().as_secs_f64());
    }
}

/// The one place bollard errors become runtime errors: 404 is NotFound, any other answer from the daemon is
/// Rejected (4xx) or Unavailable (5xx), and failing to reach the daemon at all is Unavailable.
fn docker_error(err: DockerError) -> RuntimeError {
    match err {
        DockerError::DockerResponseServerError { status_code: 404, message } => RuntimeError::NotFound(message),
        DockerError::DockerResponseServerError { status_code: 400..=499, message } => RuntimeError::Rejected(message),
        DockerError::DockerResponseServerError { status_code, message } => {
            RuntimeError::Unavailable(format!("Docker answered {status_code}: {message}"))
        }
        DockerError::DockerStreamError { error } => RuntimeError::Unavailable(error),
        other => RuntimeError::Unavailable(other.to_string()),
    }
}

/// For create and start, Docker reports problems with the container itself (port already allocated, OCI runtime
/// failures, missing image) as 5xx too; those are the container's fault, not the daemon's, so they are Rejected.
fn container_error(err: DockerError) -> RuntimeError {
    match err {
        DockerError::DockerResponseServerError { status_code: 500.., message } => RuntimeError::Rejected(message),
        other => docker_error(other),
    }
}

/// Splits an image reference into repository and tag (`latest` when none is given) or digest. The tag is after
/// the last `:` of the last path component, so a registry port (`host:5000/app`) is not mistaken for one.
fn split_image(image: &str) -> (&str, Option<&str>) {
    if image.contains('@') {
        return (image, None);
    }
    let last_component = image.rfind('/').map_or(0, |slash| slash + 1);
    match image[last_component..].rfind(':') {
        Some(colon) => {
            let at = last_component + colon;
            (&image[..at], Some(&image[at + 1..]))
        }
        None => (image, Some("latest")),
    }
}

fn full_image_ref(image: &str) -> String {
    match split_image(image) {
        (repo, Some(tag)) => format!("{repo}:{tag}"),
        (reference, None) => reference.to_string(),
    }
}

/// Docker's RFC 3339 timestamps as seconds since the epoch; its zero time (year 1) means "never".
fn epoch_seconds(timestamp: Option<&str>) -> Option<f64> {
    let timestamp: jiff::Timestamp = timestamp?.parse().ok()?;
    if timestamp.as_second() <= 0 {
        return None;
    }
    Some(timestamp.as_second() as f64 + f64::from(timestamp.subsec_nanosecond()) / 1e9)
}

/// At most `max` bytes of `text`, cut on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn health(status: Option<HealthStatusEnum>) -> Option<Health> {
    match status? {
        HealthStatusEnum::STARTING => Some(Health::Starting),
        HealthStatusEnum::HEALTHY => Some(Health::Healthy),
        HealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
        HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => None,
    }
}

fn sorted(map: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    map.unwrap_or_default().into_iter().collect()
}

/// An inspect document as the runtime's [`ContainerState`].
fn container_state(inspect: ContainerInspectResponse) -> ContainerState {
    let state = inspect.state.unwrap_or_default();
    let config = inspect.config.unwrap_or_default();
    let network = inspect.network_settings.unwrap_or_default();
    let finished_at = epoch_seconds(state.finished_at.as_deref());
    // Docker reports exit code 0 for containers that never ran; only a finished container has a real one.
    let exited = matches!(state.status, Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD))
        || (state.running != Some(true) && finished_at.is_some());
    let (health_status, health_output) = match state.health {
        Some(h) => {
            let output = h.log.and_then(|log| log.into_iter().last()).and_then(|result| result.output);
            (health(h.status), output.map(|o| truncate(o, HEALTH_OUTPUT_MAX)))
        }
        None => (None, None),
    };

    let mut ports: Vec<PortBinding> = network
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(key, bindings)| {
            let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let container_port: u16 = port.parse().ok()?;
            let protocol = protocol.to_string();
            Some(bindings?.into_iter().filter_map(move |binding| {
                Some(PortBinding {
                    container_port,
                    protocol: protocol.clone(),
                    host_ip: binding.host_ip.unwrap_or_default(),
                    host_port: binding.host_port?.parse().ok()?,
                })
            }))
        })
        .flatten()
        .collect();
    ports.sort_by_key(|p| (p.container_port, p.protocol.clone(), p.host_ip.clone(), p.host_port));

    ContainerState {
        id: inspect.id.unwrap_or_default(),
        name: inspect.name.unwrap_or_default().trim_start_matches('/').to_string(),
        labels: sorted(config.labels),
        running: state.running.unwrap_or(false),
        exit_code: if exited { state.exit_code.and_then(|c| i32::try_from(c).ok()) } else { None },
        oom_killed: state.oom_killed.unwrap_or(false),
        error: state.error.filter(|e| !e.is_empty()),
        health: health_status,
        health_output,
        started_at: epoch_seconds(state.started_at.as_deref()),
        finished_at,
        ports,
        image: config.image.unwrap_or_default(),
        image_id: inspect.image.unwrap_or_default(),
        networks: network
            .networks
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, endpoint)| Some((name, endpoint.ip_address.filter(|ip| !ip.is_empty())?)))
            .collect(),
        created_at: epoch_seconds(inspect.created.as_deref()),
    }
}

/// The IPv4 gateway of one IPAM pool. The default bridge often lists only its subnet (the daemon adopted an
/// existing docker0 address); Docker's gateway is then the subnet's first host address, as its IPAM assigns it.
fn ipv4_gateway(config: &IpamConfig) -> Option<String> {
    if let Some(gateway) = config.gateway.as_deref().filter(|g| g.parse::<Ipv4Addr>().is_ok()) {
        return Some(gateway.to_string());
    }
    let (network, prefix) = config.subnet.as_deref()?.split_once('/')?;
    let (network, prefix): (Ipv4Addr, u32) = (network.parse().ok()?, prefix.parse().ok()?);
    (prefix < 31).then(|| Ipv4Addr::from(u32::from(network) + 1).to_string())
}

fn label_filters(labels: &[(String, String)]) -> Vec<String> {
    labels.iter().map(|(key, value)| format!("{key}={value}")).collect()
}

/// A Docker event action as an [`EventKind`]; other actions are not the engine's business.
fn event_kind(action: &str) -> Option<EventKind> {
    match action {
        "start" => Some(EventKind::Start),
        "die" => Some(EventKind::Die),
        "oom" => Some(EventKind::Oom),
        _ => match action.strip_prefix("health_status:")?.trim() {
            "healthy" => Some(EventKind::Health(Health::Healthy)),
            "unhealthy" => Some(EventKind::Health(Health::Unhealthy)),
            "starting" => Some(EventKind::Health(Health::Starting)),
            _ => None,
        },
    }
}

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    async fn info(&self) -> Result<RuntimeInfo> {
        let _timer = self.timer("info");
        let version = self.docker.version().await.map_err(docker_error)?;
        let info = self.docker.info().await.map_err(docker_error)?;
        let bridge_gateway = match self.docker.inspect_network("bridge", None).await {
            Ok(network) => network.ipam.and_then(|ipam| ipam.config).unwrap_or_default().iter().find_map(ipv4_gateway),
            Err(err) => match docker_error(err) {
                RuntimeError::NotFound(_) => None,
                other => return Err(other),
            },
        };
        Ok(RuntimeInfo {
            version: version.version.unwrap_or_default(),
            api_version: self.docker.client_version().to_string(),
            cpus: info.ncpu.and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
            memory_bytes: info.mem_total.and_then(|m| u64::try_from(m).ok()).unwrap_or(0),
            os_type: info.os_type.unwrap_or_default(),
            architecture: info.architecture.unwrap_or_default(),
            log_drivers: info.plugins.and_then(|plugins| plugins.log).unwrap_or_default(),
            bridge_gateway,
        })
    }

    async fn image_present(&self, image: &str) -> Result<bool> {
        let _timer = self.timer("image_present");
        match self.docker.inspect_image(&full_image_ref(image)).await.map_err(docker_error) {
            Ok(_) => Ok(true),
            Err(RuntimeError::NotFound(_)) => Ok(false),
            Err(err) => Err(err),
        }
    }

    async fn image_command(&self, image: &str) -> Result<ImageCommand> {
        let _timer = self.timer("image_command");
        let inspect = self.docker.inspect_image(&full_image_ref(image)).await.map_err(docker_error)?;
        let config = inspect.config.unwrap_or_default();
        Ok(ImageCommand { entrypoint: config.entrypoint.unwrap_or_default(), cmd: config.cmd.unwrap_or_default() })
    }

    async fn pull_image(&self, image: &str, auth: Option<&RegistryAuth>) -> Result<()> {
        let _timer = self.timer("pull_image");
        let (repository, tag) = split_image(image);
        let options = CreateImageOptions {
            from_image: Some(repository.to_string()),
            tag: tag.map(str::to_string),
            ..Default::default()
        };
        let credentials = auth.map(|auth| DockerCredentials {
            username: Some(auth.username.clone()),
            password: Some(auth.password.clone()),
            serveraddress: auth.server_address.clone(),
            ..Default::default()
        });
        tracing::info!(image, "pulling image");
        let mut progress = self.docker.create_image(Some(options), None, credentials);
        while let Some(item) = progress.next().await {
            // The engine adds ECS's "CannotPullContainerError: " prefix; Docker's own words are kept as they are.
            match item {
                Ok(_) => {}
                Err(DockerError::DockerStreamError { error }) => return Err(RuntimeError::Pull(error)),
                Err(DockerError::DockerResponseServerError { message, .. }) => return Err(RuntimeError::Pull(message)),
                Err(other) => return Err(docker_error(other)),
            }
        }
        Ok(())
    }

    async fn create_volume(&self, spec: &VolumeSpec) -> Result<()> {
        let _timer = self.timer("create_volume");
        match self.docker.inspect_volume(&spec.name).await.map_err(docker_error) {
            Ok(_) => return Ok(()),
            Err(RuntimeError::NotFound(_)) => {}
            Err(err) => return Err(err),
        }
        let request = VolumeCreateRequest {
            name: Some(spec.name.clone()),
            driver: spec.driver.clone(),
            driver_opts: Some(spec.driver_opts.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            labels: Some(spec.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            ..Default::default()
        };
        match self.docker.create_volume(request).await {
            Ok(_) => Ok(()),
            // Created concurrently by another task sharing it: keep that one.
            Err(DockerError::DockerResponseServerError { status_code: 409, .. }) => Ok(()),
            Err(err) => Err(docker_error(err)),
        }
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        let _timer = self.timer("remove_volume");
        match self.docker.remove_volume(name, None::<RemoveVolumeOptions>).await.map_err(docker_error) {
            Ok(()) | Err(RuntimeError::NotFound(_)) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let _timer = self.timer("create_container");
        let body = docker_config::create_body(spec)?;
        let options = CreateContainerOptions { name: Some(spec.runtime_name.clone()), ..Default::default() };
        let created = self.docker.create_container(Some(options), body).await.map_err(|err| match err {
            // A missing image is a 404 here; for the engine that is a refused container, not a missing one.
            DockerError::DockerResponseServerError { status_code: 404, message } => RuntimeError::Rejected(message),
            other => container_error(other),
        })?;
        for warning in &created.warnings {
            tracing::warn!(container = %spec.runtime_name, %warning, "Docker warning on create");
        }
        tracing::debug!(container = %spec.runtime_name, id = %created.id, "created container");
        Ok(created.id)
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let _timer = self.timer("start_container");
        // 304 (already started) is a success for bollard.
        self.docker.start_container(id, None).await.map_err(container_error)
    }

    async fn stop_container(&self, id: &str, timeout: Duration) -> Result<()> {
        let _timer = self.timer("stop_container");
        let seconds = i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptions { t: Some(seconds), signal: None };
        // Docker sends the stop signal, waits `t` seconds, then SIGKILLs; 304 (already stopped) is a success.
        let docker = self.docker.clone().with_timeout(timeout + STOP_REQUEST_GRACE);
        docker.stop_container(id, Some(options)).await.map_err(docker_error)?;
        let wait = WaitContainerOptions { condition: "not-running".to_string() };
        let mut exits = docker.wait_container(id, Some(wait));
        while let Some(item) = exits.next().await {
            match item {
                Ok(_) => {}
                // bollard reports a non-zero exit as an error: the container has exited, which is all we want.
                Err(DockerError::DockerContainerWaitError { .. }) => {}
                // Removed meanwhile: certainly not running.
                Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => {}
                Err(err) => return Err(docker_error(err)),
            }
        }
        Ok(())
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerState> {
        let _timer = self.timer("inspect_container");
        let inspect = self.docker.inspect_container(id, None).await.map_err(docker_error)?;
        Ok(container_state(inspect))
    }

    async fn remove_container(&self, id: &str) -> Result<()> {
        let _timer = self.timer("remove_container");
        let options = RemoveContainerOptions { force: true, v: true, link: false };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            // Someone else is already removing it: the outcome is the same.
            Err(DockerError::DockerResponseServerError { status_code: 409, message })
                if message.contains("already in progress") =>
            {
                Ok(())
            }
            Err(err) => Err(docker_error(err)),
        }
    }

    async fn list_containers(&self, labels: &[(String, String)]) -> Result<Vec<ContainerState>> {
        let _timer = self.timer("list_containers");
        let filters = (!labels.is_empty()).then(|| HashMap::from([("label".to_string(), label_filters(labels))]));
        let options = ListContainersOptions { all: true, filters, ..Default::default() };
        let summaries = self.docker.list_containers(Some(options)).await.map_err(docker_error)?;
        let mut states = Vec::with_capacity(summaries.len());
        for id in summaries.into_iter().filter_map(|summary| summary.id) {
            match self.inspect_container(&id).await {
                Ok(state) => states.push(state),
                // Removed between the list and the inspect.
                Err(RuntimeError::NotFound(_)) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(states)
    }

    fn events(&self, labels: &[(String, String)]) -> BoxStream<'static, Result<RuntimeEvent>> {
        let mut filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            // Docker matches "health_status" against every "health_status: <status>" action.
            ("event".to_string(), ["start", "die", "oom", "health_status"].map(str::to_string).to_vec()),
        ]);
        if !labels.is_empty() {
            filters.insert("label".to_string(), label_filters(labels));
        }
        let options = EventsOptions { filters: Some(filters), ..Default::default() };
        self.docker
            .events(Some(options))
            .filter_map(|item| async move {
                match item {
                    Ok(message) => {
                        let kind = event_kind(message.action.as_deref()?)?;
                        let actor = message.actor?;
                        Some(Ok(RuntimeEvent {
                            container_id: actor.id?,
                            kind,
                            // Container labels, plus Docker's own attributes (name, image, exitCode).
                            labels: sorted(actor.attributes),
                        }))
                    }
                    Err(err) => Some(Err(docker_error(err))),
                }
            })
            .boxed()
    }

    async fn stats(&self, id: &str) -> Result<ContainerStats> {
        let _timer = self.timer("stats");
        // stream=false without one-shot: Docker takes two samples a second apart, so precpu_stats is filled and
        // CPU usage can be computed from one call.
        self.stats_sample(id, false).await
    }

    async fn stats_one_shot(&self, id: &str) -> Result<ContainerStats> {
        let _timer = self.timer("stats_one_shot");
        // one-shot: Docker answers with the current counters at once instead of waiting for a second sample.
        self.stats_sample(id, true).await
    }

    fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        crate::stats::register_docker_timings(registry, &self.timings);
    }

    fn logs(&self, id: &str, since: i64, follow: bool) -> BoxStream<'static, Result<super::LogLine>> {
        let options = bollard::query_parameters::LogsOptions {
            follow,
            stdout: true,
            stderr: true,
            timestamps: true,
            since: i32::try_from(since.max(0)).unwrap_or(i32::MAX),
            ..Default::default()
        };
        self.docker
            .logs(id, Some(options))
            .flat_map(|item| {
                let lines: Vec<Result<super::LogLine>> = match item {
                    Ok(output) => log_lines(&output).into_iter().map(Ok).collect(),
                    Err(e) => vec![Err(docker_error(e))],
                };
                futures::stream::iter(lines)
            })
            .boxed()
    }
}

/// The lines of one piece of Docker's log output with `timestamps=1`: each log entry is `<RFC 3339 timestamp>
/// <text>`, one entry per frame (a TTY container's raw stream may bring several lines in one piece).
fn log_lines(output: &bollard::container::LogOutput) -> Vec<super::LogLine> {
    use bollard::container::LogOutput;
    let (stderr, bytes) = match output {
        LogOutput::StdErr { message } => (true, message),
        LogOutput::StdOut { message } | LogOutput::Console { message } => (false, message),
        LogOutput::StdIn { .. } => return Vec::new(),
    };
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut last_ns = None;
    for line in text.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let stamped = line.split_once(' ').and_then(|(ts, rest)| {
            let ts: jiff::Timestamp = ts.parse().ok()?;
            Some((i64::try_from(ts.as_nanosecond()).ok()?, rest))
        });
        let (ns, message) = match stamped {
            Some(found) => found,
            // Not Docker's format: keep the text, at the time of the line before (or now).
            None => (last_ns.unwrap_or_else(|| jiff::Timestamp::now().as_nanosecond() as i64), line),
        };
        last_ns = Some(ns);
        out.push(super::LogLine { timestamp_ns: ns, stderr, message: message.to_owned() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_frames_become_lines_with_docker_timestamps() {
        use bollard::container::LogOutput;
        let out = LogOutput::StdOut { message: "2024-05-01T10:00:00.123456789Z hello world\n".into() };
        let lines = log_lines(&out);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].message, "hello world");
        assert_eq!(lines[0].timestamp_ns, 1_714_557_600_123_456_789);
        assert!(!lines[0].stderr);
        // A piece of an over-long line has no newline; an empty line stays empty.
        let err = LogOutput::StdErr { message: "2024-05-01T10:00:01Z partial".into() };
        assert_eq!(log_lines(&err)[0].message, "partial");
        assert!(log_lines(&err)[0].stderr);
        let empty = LogOutput::StdOut { message: "2024-05-01T10:00:01Z \n".into() };
        assert_eq!(log_lines(&empty)[0].message, "");
        let tty = LogOutput::Console { message: "2024-05-01T10:00:01Z a\r\n2024-05-01T10:00:02Z b\r\n".into() };
        let msgs: Vec<String> = log_lines(&tty).into_iter().map(|l| l.message).collect();
        assert_eq!(msgs, vec!["a", "b"]);
    }

    #[test]
    fn image_references() {
        assert_eq!(split_image("busybox"), ("busybox", Some("latest")));
        assert_eq!(split_image("berth-test/busybox:1.0"), ("berth-test/busybox", Some("1.0")));
        assert_eq!(split_image("registry:5000/app"), ("registry:5000/app", Some("latest")));
        assert_eq!(split_image("registry:5000/app:v2"), ("registry:5000/app", Some("v2")));
        assert_eq!(split_image("app@sha256:abcd"), ("app@sha256:abcd", None));
        assert_eq!(full_image_ref("busybox"), "busybox:latest");
        assert_eq!(full_image_ref("a/b:c"), "a/b:c");
    }

    #[test]
    fn timestamps() {
        assert_eq!(epoch_seconds(Some("0001-01-01T00:00:00Z")), None);
        assert_eq!(epoch_seconds(Some("")), None);
        assert_eq!(epoch_seconds(None), None);
        assert_eq!(epoch_seconds(Some("2024-01-01T00:00:00.5Z")), Some(1_704_067_200.5));
        assert_eq!(epoch_seconds(Some("2024-01-01T00:00:01.123456789Z")).map(|s| s.floor()), Some(1_704_067_201.0));
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("abc".to_string(), 2), "ab");
        assert_eq!(truncate("é".repeat(600), 1024).len(), 1024);
        assert_eq!(truncate(format!("a{}", "é".repeat(600)), 1024).len(), 1023);
        assert_eq!(truncate("short".to_string(), 1024), "short");
    }

    #[test]
    fn bridge_gateway() {
        let pool = |subnet: Option<&str>, gateway: Option<&str>| IpamConfig {
            subnet: subnet.map(str::to_string),
            gateway: gateway.map(str::to_string),
            ..Default::default()
        };
        assert_eq!(ipv4_gateway(&pool(Some("172.17.0.0/16"), Some("172.17.0.9"))).as_deref(), Some("172.17.0.9"));
        assert_eq!(ipv4_gateway(&pool(Some("172.17.0.0/16"), None)).as_deref(), Some("172.17.0.1"));
        assert_eq!(ipv4_gateway(&pool(Some("fd00::/64"), Some("fd00::1"))), None);
        assert_eq!(ipv4_gateway(&pool(None, None)), None);
    }

    #[test]
    fn event_actions() {
        assert_eq!(event_kind("start"), Some(EventKind::Start));
        assert_eq!(event_kind("die"), Some(EventKind::Die));
        assert_eq!(event_kind("oom"), Some(EventKind::Oom));
        assert_eq!(event_kind("health_status: healthy"), Some(EventKind::Health(Health::Healthy)));
        assert_eq!(event_kind("health_status: unhealthy"), Some(EventKind::Health(Health::Unhealthy)));
        assert_eq!(event_kind("health_status: starting"), Some(EventKind::Health(Health::Starting)));
        assert_eq!(event_kind("exec_start: sh"), None);
        assert_eq!(event_kind("create"), None);
    }

    #[test]
    fn errors_map_by_status() {
        let server = |status_code, message: &str| DockerError::DockerResponseServerError {
            status_code,
            message: message.to_string(),
        };
        assert_eq!(docker_error(server(404, "no such container")), RuntimeError::NotFound("no such container".into()));
        assert_eq!(docker_error(server(409, "conflict")), RuntimeError::Rejected("conflict".into()));
        assert!(matches!(docker_error(server(500, "boom")), RuntimeError::Unavailable(_)));
        assert_eq!(
            container_error(server(500, "port is already allocated")),
            RuntimeError::Rejected("port is already allocated".into())
        );
        assert!(matches!(docker_error(DockerError::RequestTimeoutError), RuntimeError::Unavailable(_)));
    }

    #[test]
    fn inspect_document_to_state() {
        let inspect: ContainerInspectResponse = serde_json::from_value(serde_json::json!({
            "Id": "abc",
            "Name": "/berth-web",
            "Created": "2024-01-01T00:00:00Z",
            "Image": "sha256:1234",
            "State": {
                "Status": "exited", "Running": false, "OOMKilled": true, "ExitCode": 137, "Error": "",
                "StartedAt": "2024-01-01T00:00:01Z", "FinishedAt": "2024-01-01T00:00:02Z",
                "Health": {"Status": "unhealthy", "FailingStreak": 3, "Log": [
                    {"ExitCode": 1, "Output": "first"}, {"ExitCode": 1, "Output": "last"}
                ]}
            },
            "Config": {"Image": "berth-test/busybox", "Labels": {"berth.task-arn": "arn"}},
            "NetworkSettings": {
                "Ports": {
                    "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49153"}, {"HostIp": "::", "HostPort": "49153"}],
                    "81/tcp": null,
                    "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "49154"}]
                },
                "Networks": {"bridge": {"IPAddress": "172.17.0.2"}, "none": {"IPAddress": ""}}
            }
        }))
        .unwrap();
        let state = container_state(inspect);
        assert_eq!(state.id, "abc");
        assert_eq!(state.name, "berth-web");
        assert_eq!(state.exit_code, Some(137));
        assert!(state.oom_killed);
        assert!(!state.running);
        assert_eq!(state.error, None);
        assert_eq!(state.health, Some(Health::Unhealthy));
        assert_eq!(state.health_output.as_deref(), Some("last"));
        assert_eq!(state.created_at, Some(1_704_067_200.0));
        assert_eq!(state.started_at, Some(1_704_067_201.0));
        assert_eq!(state.finished_at, Some(1_704_067_202.0));
        assert_eq!(state.image, "berth-test/busybox");
        assert_eq!(state.image_id, "sha256:1234");
        assert_eq!(state.labels, BTreeMap::from([("berth.task-arn".to_string(), "arn".to_string())]));
        assert_eq!(state.networks, BTreeMap::from([("bridge".to_string(), "172.17.0.2".to_string())]));
        let binding = |container_port, protocol: &str, host_ip: &str, host_port| PortBinding {
            container_port,
            protocol: protocol.to_string(),
            host_ip: host_ip.to_string(),
            host_port,
        };
        assert_eq!(
            state.ports,
            vec![
                binding(53, "udp", "0.0.0.0", 49154),
                binding(80, "tcp", "0.0.0.0", 49153),
                binding(80, "tcp", "::", 49153),
            ]
        );
    }

    #[test]
    fn never_started_container_has_no_exit_code() {
        let inspect: ContainerInspectResponse = serde_json::from_value(serde_json::json!({
            "Id": "abc",
            "State": {"Status": "created", "Running": false, "ExitCode": 0,
                      "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"}
        }))
        .unwrap();
        let state = container_state(inspect);
        assert_eq!(state.exit_code, None);
        assert_eq!(state.started_at, None);
        assert_eq!(state.finished_at, None);
        assert_eq!(state.health, None);
    }
}
