//! The HTTP edge: ECS JSON 1.1 over `POST /` with `X-Amz-Target`, SigV4 checked on every request, errors as
//! `{"__type", "message"}`, and an `x-amzn-RequestId` on every response.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use berth_sigv4::SignedRequest;
use futures::FutureExt;
use serde_json::{Value, json};

use crate::api::Api;
use crate::dispatch;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Oversized bodies up to this size are read and discarded so the client sees the 413.
const DRAIN_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// Target prefix of the ECS API.
const ECS_TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";

/// Target prefix of the CloudWatch Logs API.
pub const LOGS_TARGET_PREFIX: &str = "Logs_20140328.";

/// The router: the ECS endpoint for every path but `/healthz` (clients POST to `/`; anything else gets an ECS-style
/// error rather than an HTML 404).
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(crate::metrics::serve))
        .route("/events", get(crate::events::stream))
        .merge(crate::console::router())
        .fallback(ecs_endpoint)
        .with_state(api)
}

async fn ecs_endpoint(State(api): State<Arc<Api>>, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    let started = std::time::Instant::now();
    let (operation, result) = match read_body(body, &parts.headers).await {
        Ok(bytes) => handle(api.clone(), &parts.method, &parts.uri, &parts.headers, bytes).await,
        Err(e) => (None, Err(e)),
    };
    let (status, payload) = match result {
        Ok(value) => (StatusCode::OK, value),
        Err(e) => {
            if e.code == ErrorCode::ServerException {
                tracing::error!(request_id, error = %e.message, "request failed");
            }
            error_parts(&e)
        }
    };
    tracing::debug!(
        request_id,
        operation = operation.as_deref().unwrap_or("-"),
        status = status.as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    api.metrics.observe_request(operation.as_deref(), status.as_u16(), started.elapsed());
    let body = serde_json::to_vec(&strip_nulls(payload)).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

/// The status and `{"__type", "message"}` body of an error.
fn error_parts(e: &ApiError) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, json!({ "__type": e.code.as_str(), "message": e.message }))
}

/// An error answered outside the JSON 1.1 endpoint (the event stream, ...), in the same shape.
pub fn error_response(e: ApiError) -> Response {
    let (status, payload) = error_parts(&e);
    let mut response = (status, payload.to_string()).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
    response
}

/// Reads the body up to the limit; a larger one is refused before it is buffered when Content-Length says so.
async fn read_body(body: Body, headers: &HeaderMap) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::new(
            ErrorCode::RequestEntityTooLargeException,
            format!("Request body exceeds the limit of {MAX_BODY_BYTES} bytes."),
        )
    };
    let declared = headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        // Read and drop a moderately large body so the client, still sending, receives the error instead of a
        // broken connection; anything far larger is cut off.
        if declared.is_some_and(|n| n <= DRAIN_LIMIT_BYTES) {
            let _ = axum::body::to_bytes(body, DRAIN_LIMIT_BYTES).await;
        }
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| too_large())
}

/// Authenticates, decodes and dispatches one request; returns the operation name when it got that far.
async fn handle(
    api: Arc<Api>,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> (Option<String>, ApiResult<Value>) {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    let (service, operation) = if let Some(op) = target.strip_prefix(ECS_TARGET_PREFIX) {
        (Service::Ecs, Some(op))
    } else if let Some(op) = target.strip_prefix(berth_model::agent::AGENT_TARGET_PREFIX) {
        (Service::Agent, Some(op))
    } else if let Some(op) = target.strip_prefix(LOGS_TARGET_PREFIX) {
        (Service::Logs, Some(op))
    } else if let Some(op) = target.strip_prefix(berth_model::utilization::BERTH_TARGET_PREFIX) {
        (Service::Berth, Some(op))
    } else {
        (Service::Ecs, None)
    };
    let header_list: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    let signed = SignedRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &header_list,
        body: &body,
    };
    // Clients sign for the service they call: `logs` for CloudWatch Logs, `ecs` for the rest.
    let signing_name = if matches!(service, Service::Logs) { "logs" } else { "ecs" };
    if let Err(e) = api.auth.verify(&signed, signing_name) {
        return (None, Err(e.into()));
    }
    let Some(operation) = operation else {
        let message = if target.is_empty() {
            "Missing X-Amz-Target header: requests name their operation as AmazonEC2ContainerServiceV20141113.<Operation>."
                .to_owned()
        } else {
            format!("Unknown target {}.", berth_model::names::truncate(target, 128))
        };
        return (None, Err(ApiError::new(ErrorCode::UnknownOperationException, message)));
    };
    if method != axum::http::Method::POST {
        return (
            Some(operation.to_owned()),
            Err(ApiError::new(ErrorCode::UnknownOperationException, "ECS operations are sent with POST.")),
        );
    }
    let mut input = match parse_body(&body) {
        Ok(v) => v,
        Err(e) => return (Some(operation.to_owned()), Err(e)),
    };
    if matches!(service, Service::Ecs | Service::Logs) {
        absent_empty_strings(&mut input);
    }
    // A panic in a handler is a bug; it must still end in an ECS error for this request, not a dropped connection.
    let outcome = match service {
        Service::Ecs => std::panic::AssertUnwindSafe(dispatch::dispatch(api, operation, input)).catch_unwind().await,
        Service::Agent => {
            std::panic::AssertUnwindSafe(dispatch::dispatch_agent(api, operation, input)).catch_unwind().await
        }
        Service::Logs => {
            std::panic::AssertUnwindSafe(crate::logs::dispatch(api, operation, input)).catch_unwind().await
        }
        Service::Berth => {
            std::panic::AssertUnwindSafe(crate::utilization::dispatch(api, operation, input)).catch_unwind().await
        }
    };
    let result = outcome.unwrap_or_else(|_| {
        tracing::error!(operation, "handler panicked");
        Err(ApiError::server(format!("{operation} failed inside the server; the request may not have been applied.")))
    });
    (Some(operation.to_owned()), result)
}

/// Which dispatch table a target belongs to.
enum Service {
    Ecs,
    Agent,
    /// CloudWatch Logs (`Logs_20140328`), served from the agents' streams.
    Logs,
    /// Berth's own client operations (`BerthV20261206`: DescribeUtilization), signed for `ecs`.
    Berth,
}

/// The body as a JSON object; an empty body is `{}`.
fn parse_body(body: &[u8]) -> ApiResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(ErrorCode::SerializationException, format!("Request body is not valid JSON: {e}."))
    })?;
    if !value.is_object() {
        return Err(ApiError::new(ErrorCode::SerializationException, "Request body must be a JSON object."));
    }
    Ok(value)
}

/// Members whose value is a map from string to string in the ECS and Logs models (`ContainerDefinition.dockerLabels`,
/// `DockerVolumeConfiguration.driverOpts` and `labels`, `LogConfiguration.options`, `FirelensConfiguration.options`,
/// and the Logs `tags`): an empty string there is a value like any other.
const STRING_MAPS: [&str; 5] = ["dockerLabels", "driverOpts", "labels", "options", "tags"];

/// Drops every object member whose value is the empty string, as ECS and CloudWatch Logs treat such a member as
/// absent (ecs-deploy, for one, re-registers definitions with `"taskRoleArn": ""`). A required member sent empty
/// is then missing, and its operation says so. Kept: strings in lists (`command: [""]`), the values of string maps
/// ([`STRING_MAPS`]) and `Tag.value` in ECS tag lists, where an empty value is a real one.
fn absent_empty_strings(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, v| v.as_str() != Some(""));
            for (name, member) in members.iter_mut() {
                match member {
                    Value::Object(_) if STRING_MAPS.contains(&name.as_str()) => {}
                    Value::Array(tags) if name == "tags" => {
                        for tag in tags.iter_mut().filter_map(Value::as_object_mut) {
                            tag.retain(|k, v| k == "value" || v.as_str() != Some(""));
                        }
                    }
                    other => absent_empty_strings(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(absent_empty_strings),
        _ => {}
    }
}

/// Drops null members: the ECS API omits absent fields rather than sending null.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_optional_strings_are_absent_but_map_values_tag_values_and_list_items_are_kept() {
        let mut body = json!({
            "family": "web",
            "taskRoleArn": "",
            "executionRoleArn": "",
            "containerDefinitions": [{
                "name": "main",
                "hostname": "",
                "command": ["sh", ""],
                "dockerLabels": {"team": ""},
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": ""}},
                "environment": [{"name": "A", "value": ""}],
            }],
            "volumes": [{"name": "v", "dockerVolumeConfiguration": {"driver": "", "labels": {"l": ""}}}],
            "tags": [{"key": "team", "value": ""}],
        });
        absent_empty_strings(&mut body);
        assert_eq!(
            body,
            json!({
                "family": "web",
                "containerDefinitions": [{
                    "name": "main",
                    "command": ["sh", ""],
                    "dockerLabels": {"team": ""},
                    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": ""}},
                    "environment": [{"name": "A"}],
                }],
                "volumes": [{"name": "v", "dockerVolumeConfiguration": {"labels": {"l": ""}}}],
                "tags": [{"key": "team", "value": ""}],
            })
        );
        // CloudWatch Logs tags are a map.
        let mut logs = json!({"logGroupName": "g", "kmsKeyId": "", "tags": {"team": ""}});
        absent_empty_strings(&mut logs);
        assert_eq!(logs, json!({"logGroupName": "g", "tags": {"team": ""}}));
    }
}
