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
use crate::authz::Origin;
use crate::dispatch;
use crate::error::{ApiError, ApiResult, ErrorCode};

pub mod query;

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
        .route("/.well-known/openid-configuration", get(crate::oidc::discovery))
        .route("/.well-known/jwks.json", get(crate::oidc::jwks))
        .merge(crate::console::router())
        .fallback(ecs_endpoint)
        .with_state(api)
}

/// Every API request: JSON 1.1 (`X-Amz-Target`: ECS, CloudWatch Logs, Berth's own) or the query protocol
/// (form-encoded `Action`: IAM, STS), answered in the protocol it came in.
async fn ecs_endpoint(State(api): State<Arc<Api>>, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    let started = std::time::Instant::now();
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok());
    let is_query = query::is_query(content_type, parts.method.as_str(), parts.uri.query().unwrap_or(""));
    let origin = Origin::of(&parts);
    let bytes = read_body(body, &parts.headers).await;
    if is_query {
        let outcome = match bytes {
            Ok(bytes) => handle_query(api.clone(), origin, &parts.method, &parts.uri, &parts.headers, bytes).await,
            Err(e) => QueryOutcome { action: None, service: QueryService::Iam, result: Err(e) },
        };
        return query_response(&api, outcome, &request_id, started);
    }
    let (operation, result) = match bytes {
        Ok(bytes) => handle(api.clone(), origin, &parts.method, &parts.uri, &parts.headers, bytes).await,
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
    log_request(&api, &request_id, operation.as_deref(), status.as_u16(), started);
    let body = serde_json::to_vec(&strip_nulls(payload)).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

fn log_request(api: &Api, request_id: &str, operation: Option<&str>, status: u16, started: std::time::Instant) {
    tracing::debug!(
        request_id,
        operation = operation.unwrap_or("-"),
        status,
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    api.metrics.observe_request(operation, status, started.elapsed());
}

/// The services spoken in the query protocol, picked by the signature's credential scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryService {
    Iam,
    Sts,
}

impl QueryService {
    fn signing_name(self) -> &'static str {
        match self {
            QueryService::Iam => "iam",
            QueryService::Sts => "sts",
        }
    }

    fn namespace(self) -> &'static str {
        match self {
            QueryService::Iam => crate::iam::NAMESPACE,
            QueryService::Sts => crate::sts::NAMESPACE,
        }
    }

    fn version(self) -> &'static str {
        match self {
            QueryService::Iam => crate::iam::VERSION,
            QueryService::Sts => crate::sts::VERSION,
        }
    }
}

/// What a query request came to.
struct QueryOutcome {
    action: Option<String>,
    service: QueryService,
    result: ApiResult<Value>,
}

/// Authenticates, authorizes, decodes and dispatches one query-protocol request.
async fn handle_query(
    api: Arc<Api>,
    origin: Origin,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> QueryOutcome {
    let header_list: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    // The credential scope names the service; an unsigned request is answered as IAM's.
    let service = match berth_sigv4::scope_service(&header_list).as_deref() {
        Some("sts") => QueryService::Sts,
        _ => QueryService::Iam,
    };
    let fail = |action: Option<String>, e: ApiError| QueryOutcome { action, service, result: Err(e) };
    let form = if method == axum::http::Method::GET { uri.query().unwrap_or("").as_bytes() } else { &body[..] };
    // STS's web identity federation is unauthenticated: the token it carries is the credential (a signature, when
    // one is sent, is ignored, as on AWS).
    if (service == QueryService::Sts || !headers.contains_key("authorization"))
        && let Ok(request) = query::parse(form)
        && crate::sts::is_unauthenticated(&request.action)
    {
        return unauthenticated_sts(api, request).await;
    }
    let signed = SignedRequest {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &header_list,
        body: &body,
    };
    let caller = match api.auth.authenticate(&signed, service.signing_name(), api.now()) {
        Ok(c) => c,
        Err(e) => return fail(None, e.into()),
    };
    let request = match query::parse(form) {
        Ok(r) => r,
        Err(e) => return fail(None, e),
    };
    let action = Some(request.action.clone());
    if !request.version.is_empty() && request.version != service.version() {
        let message = format!(
            "Could not find operation {} for version {}.",
            berth_model::names::truncate(&request.action, 128),
            berth_model::names::truncate(&request.version, 32)
        );
        return fail(action, ApiError::new(ErrorCode::InvalidAction, message));
    }
    let (prefix, known) = match service {
        QueryService::Iam => ("iam", crate::iam::find(&request.action).is_some()),
        QueryService::Sts => ("sts", crate::sts::find(&request.action).is_some()),
    };
    if known
        && let Err(e) = crate::authz::authorize(&api, &caller, origin, prefix, &request.action, &request.params).await
    {
        return fail(action, e);
    }
    let result = match service {
        QueryService::Iam => {
            let call = crate::iam::dispatch(api, caller, &request.action, request.params);
            std::panic::AssertUnwindSafe(call).catch_unwind().await
        }
        QueryService::Sts => {
            let call = crate::sts::dispatch(api, caller, &request.action, request.params);
            std::panic::AssertUnwindSafe(call).catch_unwind().await
        }
    };
    let result = result.unwrap_or_else(|_| {
        tracing::error!(operation = request.action, "handler panicked");
        Err(ApiError::server(format!("{} failed inside the server; it may not have been applied.", request.action)))
    });
    QueryOutcome { action, service, result }
}

/// An STS action that needs no signature ([`crate::sts::is_unauthenticated`]).
async fn unauthenticated_sts(api: Arc<Api>, request: query::QueryRequest) -> QueryOutcome {
    let action = Some(request.action.clone());
    let service = QueryService::Sts;
    if !request.version.is_empty() && request.version != service.version() {
        let message = format!(
            "Could not find operation {} for version {}.",
            request.action,
            berth_model::names::truncate(&request.version, 32)
        );
        return QueryOutcome { action, service, result: Err(ApiError::new(ErrorCode::InvalidAction, message)) };
    }
    let call = crate::sts::dispatch_unauthenticated(api, &request.action, request.params);
    let result = std::panic::AssertUnwindSafe(call).catch_unwind().await.unwrap_or_else(|_| {
        tracing::error!(operation = request.action, "handler panicked");
        Err(ApiError::server(format!("{} failed inside the server.", request.action)))
    });
    QueryOutcome { action, service, result }
}

/// The XML answer of a query request.
fn query_response(api: &Api, outcome: QueryOutcome, request_id: &str, started: std::time::Instant) -> Response {
    let (status, body) = match &outcome.result {
        Ok(value) => {
            let action = outcome.action.as_deref().unwrap_or("Unknown");
            (
                StatusCode::OK,
                query::response(action, outcome.service.namespace(), &strip_nulls(value.clone()), request_id),
            )
        }
        Err(e) => {
            if e.code == ErrorCode::ServerException {
                tracing::error!(request_id, error = %e.message, "request failed");
            }
            let (code, status) = query_code(e, outcome.service);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, query::error(code, &e.message, status.as_u16() < 500, request_id))
        }
    };
    log_request(api, request_id, outcome.action.as_deref(), status.as_u16(), started);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    response
}

/// The query protocol's code and HTTP status for an error: authentication and authorization failures have their
/// own names there (`InvalidClientTokenId`, `SignatureDoesNotMatch`, `AccessDenied`, ...).
fn query_code(e: &ApiError, service: QueryService) -> (&'static str, u16) {
    match e.code {
        ErrorCode::UnrecognizedClientException => ("InvalidClientTokenId", 403),
        ErrorCode::ExpiredTokenException => ("ExpiredToken", 400),
        ErrorCode::InvalidSignatureException => ("SignatureDoesNotMatch", 403),
        ErrorCode::IncompleteSignatureException => ("IncompleteSignature", 403),
        ErrorCode::MissingAuthenticationTokenException => ("MissingAuthenticationToken", 403),
        ErrorCode::AccessDeniedException | ErrorCode::AccessDenied => ("AccessDenied", 403),
        ErrorCode::InvalidParameterException | ErrorCode::SerializationException => ("ValidationError", 400),
        ErrorCode::UnknownOperationException => ("InvalidAction", 400),
        ErrorCode::ServerException if service == QueryService::Iam => ("ServiceFailure", 500),
        ErrorCode::ServerException => ("InternalFailure", 500),
        code => (code.as_str(), code.http_status()),
    }
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
    origin: Origin,
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
    } else if let Some(op) = target.strip_prefix(crate::secrets::TARGET_PREFIX) {
        (Service::SecretsManager, Some(op))
    } else if let Some(op) = target.strip_prefix(crate::ssm::TARGET_PREFIX) {
        (Service::Ssm, Some(op))
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
    let signing_name = match service {
        Service::Logs => "logs",
        Service::SecretsManager => crate::secrets::SIGNING_NAME,
        Service::Ssm => crate::ssm::SIGNING_NAME,
        Service::Ecs | Service::Agent | Service::Berth => "ecs",
    };
    let caller = match api.auth.authenticate(&signed, signing_name, api.now()) {
        Ok(c) => c,
        Err(e) => return (None, Err(e.into())),
    };
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
    // Operations of the models that Berth does not serve answer that they are unsupported, unauthorized.
    let authorized_as = match service {
        Service::Ecs => dispatch::find(operation).and_then(|o| o.handler).map(|_| "ecs"),
        Service::Logs => crate::logs::find(operation).and_then(|o| o.handler).map(|_| "logs"),
        Service::SecretsManager => crate::secrets::find(operation).and_then(|o| o.handler).map(|_| "secretsmanager"),
        Service::Ssm => crate::ssm::find(operation).and_then(|o| o.handler).map(|_| "ssm"),
        // The agent channel's Poll is ECS's (on the container instance); Berth's own operations are `berth:`.
        Service::Agent if operation == "Poll" => Some("ecs"),
        Service::Agent | Service::Berth => Some("berth"),
    };
    if let Some(prefix) = authorized_as
        && let Err(e) = crate::authz::authorize(&api, &caller, origin, prefix, operation, &input).await
    {
        return (Some(operation.to_owned()), Err(e));
    }
    // A panic in a handler is a bug; it must still end in an ECS error for this request, not a dropped connection.
    let outcome = match service {
        // ECS handlers may depend on who asks (account settings).
        Service::Ecs => {
            std::panic::AssertUnwindSafe(dispatch::dispatch_as(api, caller, operation, input)).catch_unwind().await
        }
        Service::Agent => {
            std::panic::AssertUnwindSafe(dispatch::dispatch_agent(api, operation, input)).catch_unwind().await
        }
        Service::Logs => {
            std::panic::AssertUnwindSafe(crate::logs::dispatch(api, operation, input)).catch_unwind().await
        }
        Service::SecretsManager => {
            std::panic::AssertUnwindSafe(crate::secrets::dispatch(api, operation, input)).catch_unwind().await
        }
        Service::Ssm => std::panic::AssertUnwindSafe(crate::ssm::dispatch(api, operation, input)).catch_unwind().await,
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
    /// Secrets Manager (`secretsmanager`), signed for `secretsmanager`.
    SecretsManager,
    /// SSM Parameter Store (`AmazonSSM`), signed for `ssm`.
    Ssm,
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
