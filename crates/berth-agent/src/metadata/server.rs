//! The task metadata endpoint's HTTP server (v4, and the same documents under v3): it turns the snapshots the engine
//! publishes into the [`Registry`] into the JSON documents AWS's agent serves, answers the container and task
//! stats paths from the container runtime, and rate-limits each container's token.
//!
//! What it owns: the routes, the JSON shapes (field names, omissions, timestamp and number formatting, following
//! `ecs-agent/tmds/handlers/v4/state/response.go` and the v2 response it embeds) and the per-token token buckets.
//! What it does not own: the data (the engine publishes it), the tokens (the engine mints them with
//! [`Registry::new_token`] and injects `ECS_CONTAINER_METADATA_URI_V4`), and where it listens (the caller hands
//! [`serve`] a bound listener, so the link-local address and any DNAT stay the agent's business).
//!
//! Routes, for `{v}` in `v4` and `v3` (`{token}` is the per-container secret):
//!
//! | path                       | answer                                                         |
//! |----------------------------|----------------------------------------------------------------|
//! | `/{v}/{token}`              | this container's document                                      |
//! | `/{v}/{token}/task`         | the task document with all its containers                      |
//! | `/{v}/{token}/taskWithTags` | the task document plus `TaskTags` and `ContainerInstanceTags`  |
//! | `/{v}/{token}/stats`        | this container's Docker stats JSON                             |
//! | `/{v}/{token}/task/stats`   | Docker id -> stats JSON (or `null`) for the task's containers  |
//!
//! Errors are JSON strings, as AWS's handlers write them: 404 for an unknown token or path, 429 past the rate
//! limit, 500 when the runtime fails.
//!
//! Task role credentials (see [`crate::credentials`]) are on `GET /v2/credentials/{id}`, the path ECS's
//! credentials endpoint uses, answering `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"}` with
//! `Expiration` in ISO 8601 UTC. The `Authorization` header must be the task's token, exactly as the SDKs send
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN`; the id alone is not enough, so a task that learns another task's id still
//! cannot read its credentials. Errors there are ECS's `{"code", "message"}` objects: 401 without a token, 404 for
//! an unknown id (also once the task stopped), 403 for another token, 429 past the rate limit, 503 while a
//! restarted agent has not fetched the credentials yet.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use super::{ContainerMetadata, HealthMetadata, Registry, TaskMetadata};
use crate::runtime::RuntimeError;

/// ECS's default steady request rate per endpoint (`ECS_TASK_METADATA_RPS_LIMIT` = "40,60").
const RATE_PER_SECOND: f64 = 40.0;
/// ECS's default burst.
const RATE_BURST: f64 = 60.0;
/// Above this many buckets, full ones are dropped: a full bucket behaves exactly like a missing one, so pruning
/// loses nothing, and tokens of removed tasks do not pile up.
const PRUNE_AT: usize = 256;

/// The metadata endpoint's routes, answering from `registry`.
pub fn router(registry: Arc<Registry>) -> Router {
    router_with_limiter(registry, RateLimiter::new(RATE_PER_SECOND, RATE_BURST))
}

/// Serves [`router`] on `listener` until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    registry: Arc<Registry>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(registry)).with_graceful_shutdown(shutdown).await
}

/// Serves one [`router`] on every listener (the bridge gateway and 169.254.170.2) until the task is aborted or one
/// of them fails; the listeners share the rate limits.
pub async fn serve_all(registry: Arc<Registry>, listeners: Vec<tokio::net::TcpListener>) -> std::io::Result<()> {
    let app = router(registry);
    let servers = listeners.into_iter().map(|listener| {
        let app = app.clone();
        async move { axum::serve(listener, app).await }
    });
    futures::future::try_join_all(servers).await.map(|_| ())
}

fn router_with_limiter(registry: Arc<Registry>, limiter: RateLimiter) -> Router {
    let state = AppState { registry, limiter: Arc::new(limiter) };
    // v3 serves the v4 documents: v4 only added fields, and clients of v3 ignore what they do not know.
    let endpoints = Router::new()
        .route("/{token}", get(container_metadata))
        .route("/{token}/task", get(task_metadata))
        .route("/{token}/taskWithTags", get(task_metadata_with_tags))
        .route("/{token}/stats", get(container_stats))
        .route("/{token}/task/stats", get(task_stats));
    Router::new()
        .nest("/v4", endpoints.clone())
        .nest("/v3", endpoints)
        .route("/v2/credentials/{id}", get(task_credentials))
        .fallback(not_found)
        .with_state(state)
}

#[derive(Clone)]
struct AppState {
    registry: Arc<Registry>,
    limiter: Arc<RateLimiter>,
}

impl AppState {
    /// The task and container behind `token`: 404 when the token is unknown, 429 when it is over its rate. Unknown
    /// tokens are not metered, so the bucket map only ever holds live tokens.
    fn admit(&self, token: &str) -> Result<(TaskMetadata, ContainerMetadata), ApiError> {
        let found = self
            .registry
            .lookup(token)
            .ok_or(ApiError::new(StatusCode::NOT_FOUND, "task metadata: no container has this endpoint token"))?;
        if !self.limiter.allow(token) {
            return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "task metadata: rate limit exceeded"));
        }
        Ok(found)
    }
}

/// An error answer: a JSON string body, the way AWS's TMDS handlers write errors.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: Cow<'static, str>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError { status, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.message)).into_response()
    }
}

type Answer = Result<Response, ApiError>;

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "task metadata: no such path")
}

async fn container_metadata(State(state): State<AppState>, Path(token): Path<String>) -> Answer {
    let (_, container) = state.admit(&token)?;
    Ok(Json(ContainerDoc::new(&container)).into_response())
}

async fn task_metadata(State(state): State<AppState>, Path(token): Path<String>) -> Answer {
    let (task, _) = state.admit(&token)?;
    Ok(Json(TaskDoc::new(&task, false)).into_response())
}

async fn task_metadata_with_tags(State(state): State<AppState>, Path(token): Path<String>) -> Answer {
    let (task, _) = state.admit(&token)?;
    Ok(Json(TaskDoc::new(&task, true)).into_response())
}

async fn container_stats(State(state): State<AppState>, Path(token): Path<String>) -> Answer {
    let (_, container) = state.admit(&token)?;
    // Like AWS's ErrorStatsLookupFailure: a container the runtime has not created yet has no stats to find.
    let docker_id = container
        .docker_id
        .filter(|id| !id.is_empty())
        .ok_or(ApiError::new(StatusCode::NOT_FOUND, "container stats: the container has not been created yet"))?;
    match state.registry.runtime.stats(&docker_id).await {
        Ok(stats) => Ok(Json(stats.raw).into_response()),
        Err(RuntimeError::NotFound(_)) => {
            Err(ApiError::new(StatusCode::NOT_FOUND, "container stats: the runtime no longer knows the container"))
        }
        Err(err) => {
            tracing::warn!(container = %docker_id, error = %err, "metadata endpoint: container stats failed");
            Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("container stats: {err}")))
        }
    }
}

async fn task_stats(State(state): State<AppState>, Path(token): Path<String>) -> Answer {
    let (task, _) = state.admit(&token)?;
    let ids: Vec<String> =
        task.containers.into_iter().filter_map(|c| c.docker_id).filter(|id| !id.is_empty()).collect();
    let runtime = &state.registry.runtime;
    // Concurrently: a Docker stats sample can take a second or two per container.
    let samples = futures::future::join_all(ids.iter().map(|id| runtime.stats(id))).await;
    let stats: BTreeMap<String, Value> = ids
        .into_iter()
        .zip(samples)
        .map(|(id, sample)| {
            // One container's failure (stopped, being removed) must not hide its siblings' stats: it becomes null,
            // as in AWS's task stats.
            let value = match sample {
                Ok(stats) => stats.raw,
                Err(err) => {
                    tracing::debug!(container = %id, error = %err, "metadata endpoint: task stats sample failed");
                    Value::Null
                }
            };
            (id, value)
        })
        .collect();
    Ok(Json(stats).into_response())
}

/// An error of the credentials route, in the shape of ECS's credentials endpoint.
#[derive(Debug, Serialize)]
struct CredentialsError {
    code: &'static str,
    message: &'static str,
}

fn credentials_error(status: StatusCode, code: &'static str, message: &'static str) -> Response {
    (status, Json(CredentialsError { code, message })).into_response()
}

/// ECS's credentials document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct CredentialsDoc<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
    role_arn: &'a str,
}

async fn task_credentials(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let presented = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()).filter(|v| !v.is_empty());
    let Some(presented) = presented else {
        return credentials_error(
            StatusCode::UNAUTHORIZED,
            "NoAuthorizationToken",
            "credentials: the Authorization header must hold AWS_CONTAINER_AUTHORIZATION_TOKEN",
        );
    };
    let Some(entry) = state.registry.credentials().get(&id) else {
        return credentials_error(
            StatusCode::NOT_FOUND,
            "InvalidIdInRequest",
            "credentials: no credentials for this id",
        );
    };
    if !crate::link::same(presented, entry.token.as_bytes()) {
        return credentials_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "credentials: the authorization token does not match these credentials",
        );
    }
    // Metered after the token check, so only the task itself can spend its bucket.
    if !state.limiter.allow(&format!("credentials/{id}")) {
        return credentials_error(StatusCode::TOO_MANY_REQUESTS, "Throttled", "credentials: rate limit exceeded");
    }
    let Some(credentials) = entry.credentials.as_ref() else {
        return credentials_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "CredentialsUninitialized",
            "credentials: not fetched yet; try again shortly",
        );
    };
    // Whole seconds, rounded down: a client must never believe the credentials last longer than they do.
    let Some(expiration) = rfc3339(credentials.expiration.floor()) else {
        return credentials_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "credentials: the expiration is not a time",
        );
    };
    Json(CredentialsDoc {
        access_key_id: &credentials.access_key_id,
        secret_access_key: &credentials.secret_access_key,
        token: &credentials.token,
        expiration,
        role_arn: &credentials.role_arn,
    })
    .into_response()
}

/// The v4 task document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskDoc<'a> {
    cluster: &'a str,
    #[serde(rename = "TaskARN")]
    task_arn: &'a str,
    family: &'a str,
    revision: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    desired_status: &'a str,
    known_status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<LimitsDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_stopped_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    execution_stopped_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    availability_zone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_tags: Option<BTreeMap<&'a str, &'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container_instance_tags: Option<BTreeMap<&'a str, &'a str>>,
    launch_type: &'a str,
    containers: Vec<ContainerDoc<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_name: Option<&'a str>,
}

impl<'a> TaskDoc<'a> {
    fn new(task: &'a TaskMetadata, with_tags: bool) -> Self {
        let limits = LimitsDoc { cpu: task.cpu_limit.and_then(go_number), memory: task.memory_limit };
        TaskDoc {
            cluster: &task.cluster,
            task_arn: &task.task_arn,
            family: &task.family,
            revision: &task.revision,
            desired_status: &task.desired_status,
            known_status: &task.known_status,
            limits: (limits.cpu.is_some() || limits.memory.is_some()).then_some(limits),
            pull_started_at: task.pull_started_at.and_then(rfc3339),
            pull_stopped_at: task.pull_stopped_at.and_then(rfc3339),
            execution_stopped_at: task.execution_stopped_at.and_then(rfc3339),
            availability_zone: task.availability_zone.as_deref().filter(|az| !az.is_empty()),
            task_tags: with_tags
                .then(|| task.task_tags.iter().map(|t| (t.key.as_str(), t.value.as_deref().unwrap_or(""))).collect()),
            // Always empty: Berth does not expose the container instance's tags to the containers running on it
            // (AWS fetches them with the instance's credentials; an instance's tags are the operator's, not the
            // task's). The key is kept so clients that index it still find an object.
            container_instance_tags: with_tags.then(BTreeMap::new),
            // Berth only runs tasks on its own hosts, which is what ECS calls EC2.
            launch_type: if task.launch_type.is_empty() { "EC2" } else { &task.launch_type },
            containers: task.containers.iter().map(ContainerDoc::new).collect(),
            service_name: task.service_name.as_deref().filter(|s| !s.is_empty()),
        }
    }
}

/// The v4 container document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerDoc<'a> {
    /// Empty until the runtime has created the container, as AWS serves it.
    docker_id: &'a str,
    name: &'a str,
    docker_name: &'a str,
    image: &'a str,
    /// Empty until the image is pulled; AWS always sends the key.
    #[serde(rename = "ImageID")]
    image_id: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<PortDoc<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    desired_status: &'a str,
    known_status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    limits: LimitsDoc,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
    /// AWS's container type; Berth has no agent-internal (pause, firelens) containers to show.
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<HealthDoc<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_driver: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    log_options: &'a BTreeMap<String, String>,
    #[serde(rename = "ContainerARN", skip_serializing_if = "str::is_empty")]
    container_arn: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    networks: Vec<NetworkDoc<'a>>,
    /// Only for containers with a restart policy, as AWS serves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    restart_count: Option<u32>,
}

impl<'a> ContainerDoc<'a> {
    fn new(c: &'a ContainerMetadata) -> Self {
        ContainerDoc {
            docker_id: c.docker_id.as_deref().unwrap_or(""),
            name: &c.name,
            docker_name: &c.docker_name,
            image: &c.image,
            image_id: c.image_id.as_deref().unwrap_or(""),
            ports: c
                .ports
                .iter()
                .map(|p| PortDoc {
                    container_port: p.container_port.filter(|&port| port != 0),
                    protocol: p.protocol.as_deref().filter(|s| !s.is_empty()),
                    host_port: p.host_port.filter(|&port| port != 0),
                    host_ip: p.bind_ip.as_deref().filter(|s| !s.is_empty()),
                })
                .collect(),
            labels: &c.labels,
            desired_status: &c.desired_status,
            known_status: &c.known_status,
            exit_code: c.exit_code,
            limits: LimitsDoc { cpu: Some(c.cpu_limit.into()), memory: c.memory_limit },
            created_at: c.created_at.and_then(rfc3339),
            started_at: c.started_at.and_then(rfc3339),
            finished_at: c.finished_at.and_then(rfc3339),
            kind: "NORMAL",
            health: c.health.as_ref().map(HealthDoc::new),
            log_driver: c.log_driver.as_deref().filter(|s| !s.is_empty()),
            log_options: &c.log_options,
            container_arn: &c.container_arn,
            restart_count: c.restart_count,
            networks: c
                .networks
                .iter()
                .map(|(mode, ip)| NetworkDoc {
                    network_mode: mode,
                    ipv4_addresses: if ip.is_empty() { Vec::new() } else { vec![ip.as_str()] },
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct LimitsDoc {
    #[serde(rename = "CPU", skip_serializing_if = "Option::is_none")]
    cpu: Option<serde_json::Number>,
    #[serde(rename = "Memory", skip_serializing_if = "Option::is_none")]
    memory: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PortDoc<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    container_port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_ip: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct NetworkDoc<'a> {
    #[serde(rename = "NetworkMode", skip_serializing_if = "str::is_empty")]
    network_mode: &'a str,
    #[serde(rename = "IPv4Addresses", skip_serializing_if = "Vec::is_empty")]
    ipv4_addresses: Vec<&'a str>,
}

/// `Health`: the one object whose keys AWS writes in lower camel case (it is the agent's own health struct).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct HealthDoc<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a str>,
}

impl<'a> HealthDoc<'a> {
    fn new(h: &'a HealthMetadata) -> Self {
        HealthDoc {
            status: &h.status,
            status_since: h.status_since.and_then(rfc3339),
            exit_code: h.exit_code,
            output: h.output.as_deref(),
        }
    }
}

/// Seconds since the epoch as RFC 3339 in UTC with as many fractional digits as needed, the shape of Go's
/// `time.RFC3339Nano` that AWS's agent emits ("2023-07-21T15:45:33.532811081Z"). The engine's `f64` seconds
/// only carry about a quarter of a microsecond near the present, so the value is rounded to the microsecond
/// rather than printing made-up nanoseconds. `None` for a value no timestamp can hold.
fn rfc3339(epoch_seconds: f64) -> Option<String> {
    if !epoch_seconds.is_finite() {
        return None;
    }
    // `as` saturates; jiff rejects what is outside its range.
    let micros = (epoch_seconds * 1e6).round() as i64;
    jiff::Timestamp::from_microsecond(micros).ok().map(|t| t.to_string())
}

/// A float as Go's JSON encoder writes it: integral values without a fraction (`1`, not `1.0`), so that task
/// limits read exactly like AWS's. `None` for NaN and infinities, which JSON cannot carry.
fn go_number(value: f64) -> Option<serde_json::Number> {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 9.0e15 {
        Some((value as i64).into())
    } else {
        serde_json::Number::from_f64(value)
    }
}

/// Per-token token buckets: each container may make `per_second` requests a second on average and `burst` at
/// once, like ECS's limiter on its metadata endpoint. A plain mutex is enough: the critical section is a few
/// float operations and the endpoint serves one host's containers.
struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    fn new(per_second: f64, burst: f64) -> Self {
        RateLimiter { per_second, burst, buckets: Mutex::default() }
    }

    fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &str, now: Instant) -> bool {
        // The map stays consistent even if a holder panicked mid-way (every update is a single assignment), so a
        // poisoned lock is still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let (per_second, burst) = (self.per_second, self.burst);
        let refilled =
            |b: &Bucket| (b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * per_second).min(burst);
        if buckets.len() >= PRUNE_AT && !buckets.contains_key(key) {
            buckets.retain(|_, b| refilled(b) < burst);
        }
        let bucket = match buckets.get_mut(key) {
            Some(bucket) => bucket,
            None => buckets.entry(key.to_owned()).or_insert(Bucket { tokens: burst, updated: now }),
        };
        let tokens = refilled(bucket);
        let allowed = tokens >= 1.0;
        *bucket = Bucket { tokens: if allowed { tokens - 1.0 } else { tokens }, updated: now };
        allowed
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::SocketAddr;
    use std::time::Duration;

    use async_trait::async_trait;
    use berth_model::Tag;
    use berth_model::task::NetworkBinding;
    use futures::stream::BoxStream;
    use serde_json::json;

    use super::*;
    use crate::runtime::{
        ContainerRuntime, ContainerSpec, ContainerState, ContainerStats, RegistryAuth, Result as RuntimeResult,
        RuntimeEvent, RuntimeInfo, VolumeSpec,
    };

    /// Test stub: a runtime that only knows stats, from a fixed map; every other call fails.
    struct StubRuntime {
        stats: HashMap<String, Value>,
    }

    fn unsupported<T>() -> RuntimeResult<T> {
        Err(RuntimeError::Unavailable("StubRuntime only serves stats".to_owned()))
    }

    #[async_trait]
    impl ContainerRuntime for StubRuntime {
        async fn info(&self) -> RuntimeResult<RuntimeInfo> {
            unsupported()
        }
        async fn image_present(&self, _image: &str) -> RuntimeResult<bool> {
            unsupported()
        }
        async fn pull_image(&self, _image: &str, _auth: Option<&RegistryAuth>) -> RuntimeResult<()> {
            unsupported()
        }
        async fn create_volume(&self, _spec: &VolumeSpec) -> RuntimeResult<()> {
            unsupported()
        }
        async fn remove_volume(&self, _name: &str) -> RuntimeResult<()> {
            unsupported()
        }
        async fn create_container(&self, _spec: &ContainerSpec) -> RuntimeResult<String> {
            unsupported()
        }
        async fn start_container(&self, _id: &str) -> RuntimeResult<()> {
            unsupported()
        }
        async fn stop_container(&self, _id: &str, _timeout: Duration) -> RuntimeResult<()> {
            unsupported()
        }
        async fn inspect_container(&self, _id: &str) -> RuntimeResult<ContainerState> {
            unsupported()
        }
        async fn remove_container(&self, _id: &str) -> RuntimeResult<()> {
            unsupported()
        }
        async fn list_containers(&self, _labels: &[(String, String)]) -> RuntimeResult<Vec<ContainerState>> {
            unsupported()
        }
        fn events(&self, _labels: &[(String, String)]) -> BoxStream<'static, RuntimeResult<RuntimeEvent>> {
            Box::pin(futures::stream::empty())
        }
        async fn stats(&self, id: &str) -> RuntimeResult<ContainerStats> {
            match self.stats.get(id) {
                Some(raw) => Ok(ContainerStats { raw: raw.clone() }),
                None => Err(RuntimeError::NotFound(id.to_owned())),
            }
        }
    }

    const TASK_ARN: &str = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef";
    // 2023-07-21T15:45:33Z and fractions of it.
    const T0: f64 = 1_689_954_333.0;

    fn web() -> ContainerMetadata {
        ContainerMetadata {
            token: "tok-web".to_owned(),
            name: "web".to_owned(),
            docker_id: Some("abc123".to_owned()),
            docker_name: "berth-app-3-web-0123".to_owned(),
            image: "nginx:1.25".to_owned(),
            image_id: Some("sha256:feed".to_owned()),
            ports: vec![NetworkBinding {
                bind_ip: Some("0.0.0.0".to_owned()),
                container_port: Some(80),
                host_port: Some(32768),
                protocol: Some("tcp".to_owned()),
                container_port_range: None,
                host_port_range: None,
            }],
            labels: BTreeMap::from([("com.amazonaws.ecs.container-name".to_owned(), "web".to_owned())]),
            desired_status: "RUNNING".to_owned(),
            known_status: "STOPPED".to_owned(),
            exit_code: Some(137),
            cpu_limit: 256,
            memory_limit: Some(512),
            created_at: Some(T0 + 0.25),
            started_at: Some(T0 + 1.5),
            finished_at: Some(T0 + 60.0),
            container_arn: "arn:aws:ecs:us-east-1:000000000000:container/default/0123456789abcdef/web".to_owned(),
            networks: vec![("bridge".to_owned(), "172.17.0.2".to_owned())],
            restart_count: None,
            health: Some(HealthMetadata {
                status: "HEALTHY".to_owned(),
                status_since: Some(T0 + 2.0),
                exit_code: Some(0),
                output: Some("ok".to_owned()),
            }),
            log_driver: Some("json-file".to_owned()),
            log_options: BTreeMap::from([("max-size".to_owned(), "10m".to_owned())]),
        }
    }

    /// A container with nothing optional set: not yet created, no image id, ports, health or times.
    fn sidecar() -> ContainerMetadata {
        ContainerMetadata {
            token: "tok-sidecar".to_owned(),
            name: "sidecar".to_owned(),
            docker_name: "berth-app-3-sidecar-0123".to_owned(),
            image: "busybox".to_owned(),
            desired_status: "RUNNING".to_owned(),
            known_status: "PENDING".to_owned(),
            cpu_limit: 2,
            ..ContainerMetadata::default()
        }
    }

    fn task() -> TaskMetadata {
        TaskMetadata {
            cluster: "default".to_owned(),
            task_arn: TASK_ARN.to_owned(),
            family: "app".to_owned(),
            revision: "3".to_owned(),
            service_name: Some("app-svc".to_owned()),
            desired_status: "RUNNING".to_owned(),
            known_status: "RUNNING".to_owned(),
            cpu_limit: Some(0.25),
            memory_limit: Some(1024),
            pull_started_at: Some(T0 + 0.532811),
            pull_stopped_at: Some(T0 + 3.0),
            execution_stopped_at: Some(T0 + 61.0),
            availability_zone: Some("us-east-1a".to_owned()),
            launch_type: "EC2".to_owned(),
            containers: vec![web(), sidecar()],
            task_tags: vec![
                Tag { key: "team".to_owned(), value: Some("payments".to_owned()) },
                Tag { key: "bare".to_owned(), value: None },
            ],
            container_instance_arn: "arn:aws:ecs:us-east-1:000000000000:container-instance/default/i-1".to_owned(),
        }
    }

    fn registry(tasks: Vec<TaskMetadata>) -> Arc<Registry> {
        let runtime = StubRuntime {
            stats: HashMap::from([("abc123".to_owned(), json!({"id": "abc123", "cpu_stats": {"online_cpus": 2}}))]),
        };
        let registry = Registry::new(Arc::new(runtime));
        for t in tasks {
            registry.update_task(t);
        }
        registry
    }

    async fn start(app: Router) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    async fn start_default(tasks: Vec<TaskMetadata>) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(serve(registry(tasks), listener, std::future::pending()));
        addr
    }

    /// A plain HTTP/1.1 GET on a blocking socket (off the runtime's thread): status and body, parsed as JSON.
    async fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
        get_authorized(addr, path, None).await
    }

    /// [`get`] with an `Authorization` header, sent as the SDKs send `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    async fn get_authorized(addr: SocketAddr, path: &str, authorization: Option<&str>) -> (u16, Value) {
        let path = path.to_owned();
        let header = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
        tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(addr).expect("connect");
            write!(stream, "GET {path} HTTP/1.1\r\nHost: 169.254.170.2\r\n{header}Connection: close\r\n\r\n")
                .expect("send");
            let mut raw = String::new();
            stream.read_to_string(&mut raw).expect("read");
            let (head, body) = raw.split_once("\r\n\r\n").expect("end of headers");
            assert!(!head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "unexpected chunked body");
            let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
            let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
            (status, body)
        })
        .await
        .expect("client thread")
    }

    fn web_doc() -> Value {
        json!({
            "DockerId": "abc123",
            "Name": "web",
            "DockerName": "berth-app-3-web-0123",
            "Image": "nginx:1.25",
            "ImageID": "sha256:feed",
            "Ports": [{"ContainerPort": 80, "Protocol": "tcp", "HostPort": 32768, "HostIp": "0.0.0.0"}],
            "Labels": {"com.amazonaws.ecs.container-name": "web"},
            "DesiredStatus": "RUNNING",
            "KnownStatus": "STOPPED",
            "ExitCode": 137,
            "Limits": {"CPU": 256, "Memory": 512},
            "CreatedAt": "2023-07-21T15:45:33.25Z",
            "StartedAt": "2023-07-21T15:45:34.5Z",
            "FinishedAt": "2023-07-21T15:46:33Z",
            "Type": "NORMAL",
            "Health": {"status": "HEALTHY", "statusSince": "2023-07-21T15:45:35Z", "exitCode": 0, "output": "ok"},
            "LogDriver": "json-file",
            "LogOptions": {"max-size": "10m"},
            "ContainerARN": "arn:aws:ecs:us-east-1:000000000000:container/default/0123456789abcdef/web",
            "Networks": [{"NetworkMode": "bridge", "IPv4Addresses": ["172.17.0.2"]}],
        })
    }

    fn sidecar_doc() -> Value {
        json!({
            "DockerId": "",
            "Name": "sidecar",
            "DockerName": "berth-app-3-sidecar-0123",
            "Image": "busybox",
            "ImageID": "",
            "DesiredStatus": "RUNNING",
            "KnownStatus": "PENDING",
            "Limits": {"CPU": 2},
            "Type": "NORMAL",
        })
    }

    fn task_doc() -> Value {
        json!({
            "Cluster": "default",
            "TaskARN": TASK_ARN,
            "Family": "app",
            "Revision": "3",
            "ServiceName": "app-svc",
            "DesiredStatus": "RUNNING",
            "KnownStatus": "RUNNING",
            "Limits": {"CPU": 0.25, "Memory": 1024},
            "PullStartedAt": "2023-07-21T15:45:33.532811Z",
            "PullStoppedAt": "2023-07-21T15:45:36Z",
            "ExecutionStoppedAt": "2023-07-21T15:46:34Z",
            "AvailabilityZone": "us-east-1a",
            "LaunchType": "EC2",
            "Containers": [web_doc(), sidecar_doc()],
        })
    }

    #[tokio::test]
    async fn container_document_has_every_field() {
        let addr = start_default(vec![task()]).await;
        assert_eq!(get(addr, "/v4/tok-web").await, (200, web_doc()));
    }

    #[tokio::test]
    async fn container_document_omits_what_is_not_set() {
        let addr = start_default(vec![task()]).await;
        assert_eq!(get(addr, "/v4/tok-sidecar").await, (200, sidecar_doc()));
    }

    #[tokio::test]
    async fn task_document_has_every_field() {
        let addr = start_default(vec![task()]).await;
        assert_eq!(get(addr, "/v4/tok-web/task").await, (200, task_doc()));
        // Either container's token leads to the same task.
        assert_eq!(get(addr, "/v4/tok-sidecar/task").await, (200, task_doc()));
    }

    #[tokio::test]
    async fn v3_serves_the_same_documents() {
        let addr = start_default(vec![task()]).await;
        assert_eq!(get(addr, "/v3/tok-web").await, (200, web_doc()));
        assert_eq!(get(addr, "/v3/tok-web/task").await, (200, task_doc()));
    }

    #[tokio::test]
    async fn task_document_omits_what_is_not_set() {
        let bare = TaskMetadata {
            cluster: "default".to_owned(),
            task_arn: TASK_ARN.to_owned(),
            family: "app".to_owned(),
            revision: "3".to_owned(),
            known_status: "PENDING".to_owned(),
            containers: vec![sidecar()],
            ..TaskMetadata::default()
        };
        let addr = start_default(vec![bare]).await;
        let expected = json!({
            "Cluster": "default",
            "TaskARN": TASK_ARN,
            "Family": "app",
            "Revision": "3",
            "KnownStatus": "PENDING",
            "LaunchType": "EC2",
            "Containers": [sidecar_doc()],
        });
        assert_eq!(get(addr, "/v4/tok-sidecar/task").await, (200, expected));
    }

    #[tokio::test]
    async fn task_with_tags_adds_task_tags_and_empty_instance_tags() {
        let addr = start_default(vec![task()]).await;
        let mut expected = task_doc();
        expected["TaskTags"] = json!({"team": "payments", "bare": ""});
        expected["ContainerInstanceTags"] = json!({});
        assert_eq!(get(addr, "/v4/tok-web/taskWithTags").await, (200, expected));
    }

    #[tokio::test]
    async fn container_stats_come_from_the_runtime() {
        let addr = start_default(vec![task()]).await;
        let expected = json!({"id": "abc123", "cpu_stats": {"online_cpus": 2}});
        assert_eq!(get(addr, "/v4/tok-web/stats").await, (200, expected));
        // Not created yet: nothing to ask the runtime about.
        assert_eq!(get(addr, "/v4/tok-sidecar/stats").await.0, 404);
    }

    #[tokio::test]
    async fn task_stats_map_docker_ids_and_null_failures() {
        let mut t = task();
        // A third container the runtime cannot sample.
        t.containers.push(ContainerMetadata {
            token: "tok-gone".to_owned(),
            docker_id: Some("gone".to_owned()),
            ..sidecar()
        });
        let addr = start_default(vec![t]).await;
        let expected = json!({
            "abc123": {"id": "abc123", "cpu_stats": {"online_cpus": 2}},
            "gone": null,
        });
        assert_eq!(get(addr, "/v4/tok-sidecar/task/stats").await, (200, expected));
        assert_eq!(get(addr, "/v4/tok-gone/stats").await.0, 404);
    }

    #[tokio::test]
    async fn unknown_token_and_unknown_path_are_404() {
        let addr = start_default(vec![task()]).await;
        for path in
            ["/v4/nope", "/v4/nope/task", "/v4/nope/taskWithTags", "/v4/nope/stats", "/v4/nope/task/stats", "/v3/nope"]
        {
            let (status, body) = get(addr, path).await;
            assert_eq!(status, 404, "{path}");
            assert!(body.as_str().is_some_and(|s| s.contains("token")), "{path}: {body}");
        }
        for path in ["/", "/v4", "/v2/tok-web", "/v4/tok-web/nope", "/v4/tok-web/task/nope"] {
            assert_eq!(get(addr, path).await.0, 404, "{path}");
        }
    }

    #[tokio::test]
    async fn removed_task_tokens_stop_working() {
        let registry = registry(vec![task()]);
        let addr = start(router(registry.clone())).await;
        assert_eq!(get(addr, "/v4/tok-web").await.0, 200);
        registry.remove_task(TASK_ARN);
        assert_eq!(get(addr, "/v4/tok-web").await.0, 404);
    }

    #[tokio::test]
    async fn rate_limit_answers_429_after_the_burst() {
        // The real burst with a refill too slow to matter, so the count is exact however slow the machine is.
        let app = router_with_limiter(registry(vec![task()]), RateLimiter::new(1e-6, RATE_BURST));
        let addr = start(app).await;
        for i in 0..60 {
            // v3 and v4 share the token's bucket.
            let path = if i % 2 == 0 { "/v4/tok-web" } else { "/v3/tok-web/task" };
            assert_eq!(get(addr, path).await.0, 200, "request {i}");
        }
        let (status, body) = get(addr, "/v4/tok-web/stats").await;
        assert_eq!(status, 429);
        assert!(body.as_str().is_some_and(|s| s.contains("rate")), "{body}");
        // Buckets are per token.
        assert_eq!(get(addr, "/v4/tok-sidecar").await.0, 200);
    }

    #[test]
    fn bucket_refills_at_the_steady_rate() {
        let limiter = RateLimiter::new(RATE_PER_SECOND, RATE_BURST);
        let t0 = Instant::now();
        assert!((0..60).all(|_| limiter.allow_at("a", t0)));
        assert!(!limiter.allow_at("a", t0));
        // 100 ms at 40/s buys four more requests, not five.
        let t1 = t0 + Duration::from_millis(100);
        assert!((0..4).all(|_| limiter.allow_at("a", t1)));
        assert!(!limiter.allow_at("a", t1));
        // A long pause refills to the burst, never beyond.
        let t2 = t1 + Duration::from_secs(3600);
        assert!((0..60).all(|_| limiter.allow_at("a", t2)));
        assert!(!limiter.allow_at("a", t2));
        assert!(limiter.allow_at("b", t2));
    }

    #[test]
    fn pruning_drops_only_full_buckets() {
        let limiter = RateLimiter::new(RATE_PER_SECOND, RATE_BURST);
        let t0 = Instant::now();
        assert!((0..60).all(|_| limiter.allow_at("busy", t0)));
        for i in 0..PRUNE_AT {
            assert!(limiter.allow_at(&format!("idle-{i}"), t0));
        }
        // A second later the idle buckets are full again and go; the busy one is not, and keeps its debt.
        let t1 = t0 + Duration::from_secs(1);
        assert!(limiter.allow_at("new", t1));
        let buckets = limiter.buckets.lock().expect("lock");
        assert_eq!(buckets.len(), 2, "{:?}", buckets.keys().collect::<Vec<_>>());
        assert!(buckets["busy"].tokens < 41.0);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(T0).as_deref(), Some("2023-07-21T15:45:33Z"));
        assert_eq!(rfc3339(T0 + 0.532811).as_deref(), Some("2023-07-21T15:45:33.532811Z"));
        assert_eq!(rfc3339(T0 + 0.5).as_deref(), Some("2023-07-21T15:45:33.5Z"));
        assert_eq!(rfc3339(0.0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(rfc3339(f64::NAN), None);
        assert_eq!(rfc3339(f64::INFINITY), None);
        assert_eq!(rfc3339(1e300), None);
    }

    #[test]
    fn numbers_print_like_go() {
        assert_eq!(serde_json::to_string(&go_number(1.0)).expect("json"), "1");
        assert_eq!(serde_json::to_string(&go_number(0.25)).expect("json"), "0.25");
        assert_eq!(go_number(f64::NAN), None);
    }

    const ROLE: &str = "arn:aws:iam::000000000000:role/app";
    const OTHER_TASK: &str = "arn:aws:ecs:us-east-1:000000000000:task/default/fedcba9876543210";

    fn session(key: &str, expiration: f64) -> berth_model::agent::TaskCredentials {
        berth_model::agent::TaskCredentials {
            access_key_id: key.to_owned(),
            secret_access_key: format!("{key}-secret"),
            token: format!("{key}-session"),
            expiration,
            role_arn: ROLE.to_owned(),
        }
    }

    /// Two tasks with credentials: `id-a` (token `tok-a`) and `id-b` (token `tok-b`).
    fn with_credentials() -> Arc<Registry> {
        let registry = registry(vec![task()]);
        let store = registry.credentials();
        store.register("id-a", TASK_ARN, "tok-a");
        store.set("id-a", session("ASIAA", T0 + 0.75));
        store.register("id-b", OTHER_TASK, "tok-b");
        store.set("id-b", session("ASIAB", T0));
        registry
    }

    #[tokio::test]
    async fn credentials_answer_ecs_json_to_their_task_token() {
        let addr = start(router(with_credentials())).await;
        let expected = json!({
            "AccessKeyId": "ASIAA",
            "SecretAccessKey": "ASIAA-secret",
            "Token": "ASIAA-session",
            // Whole seconds, rounded down.
            "Expiration": "2023-07-21T15:45:33Z",
            "RoleArn": ROLE,
        });
        assert_eq!(get_authorized(addr, "/v2/credentials/id-a", Some("tok-a")).await, (200, expected));
        let (status, body) = get_authorized(addr, "/v2/credentials/id-b", Some("tok-b")).await;
        assert_eq!((status, body["AccessKeyId"].as_str()), (200, Some("ASIAB")));
        // A refresh shows at once.
        let registry = with_credentials();
        let addr = start(router(registry.clone())).await;
        registry.credentials().set("id-a", session("ASIANEW", T0 + 3600.0));
        let (_, body) = get_authorized(addr, "/v2/credentials/id-a", Some("tok-a")).await;
        assert_eq!(
            (body["AccessKeyId"].as_str(), body["Expiration"].as_str()),
            (Some("ASIANEW"), Some("2023-07-21T16:45:33Z"))
        );
    }

    #[tokio::test]
    async fn credentials_refuse_a_missing_wrong_or_other_tasks_token() {
        let addr = start(router(with_credentials())).await;
        let (status, body) = get(addr, "/v2/credentials/id-a").await;
        assert_eq!((status, body["code"].as_str()), (401, Some("NoAuthorizationToken")));
        assert_eq!(get_authorized(addr, "/v2/credentials/id-a", Some("")).await.0, 401);
        // Task B's token does not open task A's credentials, though B knows A's id.
        let (status, body) = get_authorized(addr, "/v2/credentials/id-a", Some("tok-b")).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("AccessDenied")));
        assert!(body.get("AccessKeyId").is_none());
        for wrong in ["tok-", "tok-aa", "Bearer tok-a", "TOK-A"] {
            assert_eq!(get_authorized(addr, "/v2/credentials/id-a", Some(wrong)).await.0, 403, "{wrong}");
        }
        // Metadata tokens are not credentials ids, and the other way round.
        assert_eq!(get_authorized(addr, "/v2/credentials/tok-web", Some("tok-a")).await.0, 404);
        assert_eq!(get(addr, "/v4/id-a").await.0, 404);
        assert_eq!(get_authorized(addr, "/v2/credentials", Some("tok-a")).await.0, 404);
    }

    #[tokio::test]
    async fn credentials_are_gone_once_removed_and_wait_until_fetched() {
        let registry = with_credentials();
        let addr = start(router(registry.clone())).await;
        assert_eq!(get_authorized(addr, "/v2/credentials/id-a", Some("tok-a")).await.0, 200);
        registry.credentials().remove("id-a");
        let (status, body) = get_authorized(addr, "/v2/credentials/id-a", Some("tok-a")).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("InvalidIdInRequest")));
        // The other task is untouched.
        assert_eq!(get_authorized(addr, "/v2/credentials/id-b", Some("tok-b")).await.0, 200);
        // Registered by a restarted agent, not fetched yet.
        registry.credentials().register("id-c", TASK_ARN, "tok-c");
        let (status, body) = get_authorized(addr, "/v2/credentials/id-c", Some("tok-c")).await;
        assert_eq!((status, body["code"].as_str()), (503, Some("CredentialsUninitialized")));
    }

    #[tokio::test]
    async fn serve_all_answers_on_every_listener() {
        let registry = with_credentials();
        let first = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let second = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addrs = [first.local_addr().expect("addr"), second.local_addr().expect("addr")];
        tokio::spawn(serve_all(registry, vec![first, second]));
        for addr in addrs {
            assert_eq!(get_authorized(addr, "/v2/credentials/id-a", Some("tok-a")).await.0, 200);
            assert_eq!(get(addr, "/v4/tok-web").await.0, 200);
        }
    }

    #[tokio::test]
    async fn serve_stops_on_shutdown() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(registry(vec![]), listener, async {
            let _ = stopped.await;
        }));
        let _ = stop.send(());
        let result = tokio::time::timeout(Duration::from_secs(5), server).await.expect("stopped in time");
        assert!(result.expect("server task").is_ok());
    }
}
