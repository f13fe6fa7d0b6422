//! A client for Berth's JSON 1.1 API: every call signed with SigV4 (service `ecs`, or `logs` for CloudWatch Logs), errors decoded from the
//! `{"__type", "message"}` body. The agent, the CLI and the benchmarks all talk to the server through it.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_smithy_runtime_api::client::identity::Identity;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// `X-Amz-Target` prefix of the ECS API.
pub const ECS_TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";

/// `X-Amz-Target` prefix of the CloudWatch Logs API, signed for the service `logs`.
pub const LOGS_TARGET_PREFIX: &str = "Logs_20140328.";

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request did not reach the server or no answer came back (connection refused, timeout, reset).
    #[error("request to {endpoint} failed: {message}")]
    Transport { endpoint: String, message: String },
    /// The server answered with an error.
    #[error("{code}: {message}")]
    Api { status: u16, code: String, message: String },
    /// The answer was not what the operation returns.
    #[error("unexpected response: {0}")]
    Decode(String),
    #[error("signing failed: {0}")]
    Signing(String),
}

impl ClientError {
    /// Whether retrying the same call later may succeed (transport failures and server-side errors).
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Transport { .. } => true,
            ClientError::Api { status, .. } => *status >= 500 || *status == 429,
            ClientError::Decode(_) | ClientError::Signing(_) => false,
        }
    }
}

/// An access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// A signing client for one endpoint.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: String,
    url: String,
    host: String,
    region: String,
    /// Shared by the client's clones, so [`Client::use_credentials`] switches every one of them.
    identity: Arc<RwLock<Identity>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("endpoint", &self.endpoint).field("region", &self.region).finish()
    }
}

impl Client {
    /// A client for `endpoint` (`https://host:port`, or `http://` where the server serves plain HTTP), signing for
    /// `region`, trusting the system's certificate authorities. `max_idle` bounds pooled connections.
    pub fn new(endpoint: &str, region: &str, key: &AccessKey, max_idle: usize) -> Result<Self, ClientError> {
        Self::trusting(endpoint, region, key, max_idle, None)
    }

    /// As [`Client::new`], trusting only the certificates of `ca_bundle` (PEM) when it is given: Berth's own CA,
    /// as the aws profile's `ca_bundle` names it.
    pub fn trusting(
        endpoint: &str,
        region: &str,
        key: &AccessKey,
        max_idle: usize,
        ca_bundle: Option<&str>,
    ) -> Result<Self, ClientError> {
        let endpoint = endpoint.trim_end_matches('/').to_owned();
        let transport = |message: String| ClientError::Transport { endpoint: endpoint.clone(), message };
        let mut builder =
            reqwest::Client::builder().pool_max_idle_per_host(max_idle.max(1)).connect_timeout(Duration::from_secs(5));
        if let Some(pem) = ca_bundle {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| transport(format!("cannot read the CA bundle: {e}")))?;
            if certs.is_empty() {
                return Err(transport("the CA bundle holds no certificate".into()));
            }
            builder = builder.tls_certs_only(certs);
        }
        let http = builder.build().map_err(|e| transport(with_causes(&e)))?;
        let identity = Arc::new(RwLock::new(identity_of(key, None)));
        let host = endpoint
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .split('/')
            .next()
            .unwrap_or("")
            .into();
        Ok(Client { http, url: format!("{endpoint}/"), endpoint, host, region: region.to_owned(), identity })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Signs from now on with `key` (and `session_token`, for temporary credentials), in this client and every
    /// clone of it: an agent switching to its instance identity, or renewing it.
    pub fn use_credentials(&self, key: &AccessKey, session_token: Option<&str>) {
        *self.identity.write().unwrap_or_else(PoisonError::into_inner) = identity_of(key, session_token);
    }

    /// A client of the same endpoint, region and connection pool with an identity of its own: `key` with its
    /// session token (temporary credentials, such as a task's execution role that the agent acts as for the task).
    /// [`Client::use_credentials`] on either leaves the other as it is.
    pub fn with_session(&self, key: &AccessKey, session_token: &str) -> Client {
        Client { identity: Arc::new(RwLock::new(identity_of(key, Some(session_token)))), ..self.clone() }
    }

    fn current_identity(&self) -> Identity {
        self.identity.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Calls an ECS operation and decodes its output.
    pub async fn ecs<I: Serialize, O: DeserializeOwned>(&self, operation: &str, input: &I) -> Result<O, ClientError> {
        self.call(&format!("{ECS_TARGET_PREFIX}{operation}"), input, None).await
    }

    /// Calls a CloudWatch Logs operation and decodes its output.
    pub async fn logs<I: Serialize, O: DeserializeOwned>(&self, operation: &str, input: &I) -> Result<O, ClientError> {
        self.call(&format!("{LOGS_TARGET_PREFIX}{operation}"), input, None).await
    }

    /// Calls `target` (the full `X-Amz-Target`) with an optional per-call timeout and decodes the output.
    pub async fn call<I: Serialize, O: DeserializeOwned>(
        &self,
        target: &str,
        input: &I,
        timeout: Option<Duration>,
    ) -> Result<O, ClientError> {
        let body = serde_json::to_vec(input).map_err(|e| ClientError::Signing(e.to_string()))?;
        let (status, bytes) = self.send(target, body, timeout).await?;
        if status >= 400 {
            let error: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let code = error.get("__type").and_then(Value::as_str).unwrap_or("UnknownError");
            let code = code.rsplit('#').next().unwrap_or(code).to_owned();
            let message = error.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
            return Err(ClientError::Api { status, code, message });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(format!("{target}: {e}")))
    }

    /// A signed `GET` of `path_and_query` (e.g. `/events?cluster=default`), signed for `ecs` with an empty body,
    /// answered as a byte stream read chunk by chunk: for long-lived answers such as the server's event stream.
    /// `headers` are sent (and signed) as given. An error status is read whole and decoded like any API error.
    pub async fn get_stream(&self, path_and_query: &str, headers: &[(&str, &str)]) -> Result<ByteStream, ClientError> {
        let url = format!("{}{path_and_query}", self.endpoint);
        let mut signed: Vec<(&str, &str)> = vec![("host", self.host.as_str())];
        signed.extend(headers.iter().copied());
        let identity = self.current_identity();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("ecs")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ClientError::Signing(e.to_string()))?
            .into();
        let signable = SignableRequest::new("GET", &url, signed.iter().copied(), SignableBody::Bytes(&[]))
            .map_err(|e| ClientError::Signing(e.to_string()))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| ClientError::Signing(e.to_string()))?.into_parts();
        let mut request = self.http.get(&url);
        for (name, value) in signed.iter().filter(|(n, _)| *n != "host") {
            request = request.header(*name, *value);
        }
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let transport =
            |e: reqwest::Error| ClientError::Transport { endpoint: self.endpoint.clone(), message: with_causes(&e) };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        if status >= 400 {
            let bytes = response.bytes().await.map_err(transport)?;
            let error: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let code = error.get("__type").and_then(Value::as_str).unwrap_or("UnknownError");
            let code = code.rsplit('#').next().unwrap_or(code).to_owned();
            let message = error.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
            return Err(ClientError::Api { status, code, message });
        }
        Ok(ByteStream { response, endpoint: self.endpoint.clone() })
    }

    /// Signs and sends one request; returns the status and the whole body, signed for the target's service
    /// ([`signing_name`]).
    pub async fn send(
        &self,
        target: &str,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let headers =
            [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target), ("host", self.host.as_str())];
        let identity = self.current_identity();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(signing_name(target))
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ClientError::Signing(e.to_string()))?
            .into();
        let signable = SignableRequest::new("POST", &self.url, headers.iter().copied(), SignableBody::Bytes(&body))
            .map_err(|e| ClientError::Signing(e.to_string()))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| ClientError::Signing(e.to_string()))?.into_parts();
        let mut request = self.http.post(&self.url);
        for (name, value) in headers.iter().filter(|(n, _)| *n != "host") {
            request = request.header(*name, *value);
        }
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        if let Some(t) = timeout {
            request = request.timeout(t);
        }
        let transport =
            |e: reqwest::Error| ClientError::Transport { endpoint: self.endpoint.clone(), message: with_causes(&e) };
        let response = request.body(body).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        // Read the whole body: the connection is reused only after it.
        let bytes = response.bytes().await.map_err(transport)?;
        Ok((status, bytes.to_vec()))
    }
}

/// The body of a [`Client::get_stream`] answer, read as it arrives.
#[derive(Debug)]
pub struct ByteStream {
    response: reqwest::Response,
    endpoint: String,
}

impl ByteStream {
    /// The next piece of the body; `None` once the server has ended it.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        match self.response.chunk().await {
            Ok(chunk) => Ok(chunk.map(|b| b.to_vec())),
            Err(e) => Err(ClientError::Transport { endpoint: self.endpoint.clone(), message: e.to_string() }),
        }
    }
}

/// An error with its causes ("error sending request: ...: invalid peer certificate: UnknownIssuer"): reqwest's
/// own message alone does not say why a connection failed.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

fn identity_of(key: &AccessKey, session_token: Option<&str>) -> Identity {
    Credentials::new(&key.access_key_id, &key.secret_access_key, session_token.map(str::to_owned), None, "berth").into()
}

/// The service a target's requests are signed for: `logs`, `secretsmanager` and `ssm` by their prefixes, `ecs` for
/// ECS and Berth's own operations.
pub fn signing_name(target: &str) -> &'static str {
    if target.starts_with(LOGS_TARGET_PREFIX) {
        "logs"
    } else if target.starts_with("secretsmanager.") {
        "secretsmanager"
    } else if target.starts_with("AmazonSSM.") {
        "ssm"
    } else {
        "ecs"
    }
}
