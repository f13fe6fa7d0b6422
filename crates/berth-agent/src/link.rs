//! The agent link endpoint: the HTTP server through which the Berth server reads the log streams this host holds
//! (`POST` one of [`berth_model::logs::paths`] with the model's JSON types, `Authorization: Bearer <token>`).
//! Errors are [`LinkError`]s: 400 for a bad request, 401 for a missing or wrong token, 404 for a missing stream or
//! group, 500 for the agent's own failures. Other modules add their routes (`GET /metrics`) with
//! [`axum::Router::merge`]; those carry no token.
//!
//! The token is new on every agent start ([`new_token`]) and reaches the server with the registration
//! (`berthAgentLink`), together with the address the server should use ([`advertise`]). When the server serves
//! HTTPS, so does the link ([`serve_tls`]), with a certificate the server's CA issues for the registered address:
//! the server verifies it on every call, and the agent's key never leaves the host.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use berth_client::Client;
use berth_model::agent::AGENT_TARGET_PREFIX;
use berth_model::logs::{
    DeleteGroupRequest, DescribeStreamsRequest, FilterEventsRequest, GetEventsRequest, LinkCertificate,
    LinkCertificateRequest, LinkError, PutRetentionRequest, paths,
};
use berth_tls::ReloadableCert;
use berth_tls::pki::LinkKey;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;

use crate::channel::Backoff;
use crate::logs::LogStore;
use crate::logs::store::StoreError;

#[derive(Clone)]
struct Link {
    store: Arc<LogStore>,
    token: Arc<str>,
}

/// A fresh random token (64 hex characters).
pub fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The log routes, checking `token`.
pub fn router(store: Arc<LogStore>, token: &str) -> Router {
    let link = Link { store, token: Arc::from(token) };
    Router::new()
        .route(
            paths::GET_EVENTS,
            post(|State(l): State<Link>, h: HeaderMap, body: Bytes| async move {
                call(&l, &h, &body, |s, r: GetEventsRequest| s.get_events(&r)).await
            }),
        )
        .route(
            paths::FILTER_EVENTS,
            post(|State(l): State<Link>, h: HeaderMap, body: Bytes| async move {
                call(&l, &h, &body, |s, r: FilterEventsRequest| s.filter_events(&r)).await
            }),
        )
        .route(
            paths::DESCRIBE_STREAMS,
            post(|State(l): State<Link>, h: HeaderMap, body: Bytes| async move {
                call(&l, &h, &body, |s, r: DescribeStreamsRequest| s.describe_streams(&r)).await
            }),
        )
        .route(
            paths::DELETE_GROUP,
            post(|State(l): State<Link>, h: HeaderMap, body: Bytes| async move {
                call(&l, &h, &body, |s, r: DeleteGroupRequest| s.delete_group(&r.log_group_name).map(|()| empty()))
                    .await
            }),
        )
        .route(
            paths::PUT_RETENTION,
            post(|State(l): State<Link>, h: HeaderMap, body: Bytes| async move {
                call(&l, &h, &body, |s, r: PutRetentionRequest| s.put_retention(&r).map(|()| empty())).await
            }),
        )
        .with_state(link)
}

fn empty() -> serde_json::Value {
    serde_json::json!({})
}

/// Serves `router` on `listener` until the task is aborted: plain HTTP (a server that serves plain HTTP itself).
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(listener, router).await
}

/// How soon a failed certificate request is tried again, at first and at most.
const CERTIFICATE_RETRY: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// Serves `router` on `listener` over TLS with a certificate from the server's CA: a key made here (it never leaves
/// the host), a certificate for it from `GetLinkCertificate` (for the host of the registered link endpoint), the
/// endpoint served once the first certificate is in, and a new certificate when a third of the lifetime is left.
/// Failures are retried with back-off; meanwhile the old certificate is served (or, before the first, nothing).
pub async fn serve_tls(client: Client, cluster: String, instance_arn: String, listener: TcpListener, router: Router) {
    let key = match LinkKey::generate() {
        Ok(key) => key,
        Err(e) => {
            tracing::error!(error = %e, "cannot make the agent link key; the link endpoint is not served");
            return;
        }
    };
    let mut listener = Some(listener);
    let mut router = Some(router);
    let mut serving: Option<Arc<ReloadableCert>> = None;
    let mut backoff = Backoff::new(CERTIFICATE_RETRY.0, CERTIFICATE_RETRY.1);
    loop {
        let wait = match certify(&client, &cluster, &instance_arn, &key).await {
            Ok(cert) => {
                let installed = match &serving {
                    Some(current) => current.replace(&cert.certificate, &key.private_pem()),
                    None => start_tls(&cert, &key, &mut listener, &mut router).map(|c| serving = Some(c)),
                };
                match installed {
                    Ok(()) => {
                        backoff.reset();
                        let left = cert.expires_at - now();
                        tracing::info!(expires_in_s = left as i64, "agent link certificate installed");
                        Duration::from_secs_f64((left * 2.0 / 3.0).max(1.0))
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot use the agent link certificate; asking again");
                        backoff.next_delay()
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot get the agent link certificate; asking again");
                backoff.next_delay()
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// Starts serving the link over TLS with its first certificate.
fn start_tls(
    cert: &LinkCertificate,
    key: &LinkKey,
    listener: &mut Option<TcpListener>,
    router: &mut Option<Router>,
) -> Result<Arc<ReloadableCert>, berth_tls::TlsError> {
    let reloadable = ReloadableCert::new(&cert.certificate, &key.private_pem())?;
    let config = reloadable.server_config()?;
    if let (Some(tcp), Some(router)) = (listener.take(), router.take()) {
        let listener = berth_tls::Listener::new(tcp, Some(config))
            .map_err(|e| berth_tls::TlsError::Config(format!("cannot serve the agent link: {e}")))?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "agent link endpoint stopped");
            }
        });
    }
    Ok(reloadable)
}

async fn certify(client: &Client, cluster: &str, instance_arn: &str, key: &LinkKey) -> Result<LinkCertificate, String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let proof = key.proof(instance_arn).map_err(|e| e.to_string())?;
    let request = LinkCertificateRequest {
        cluster: cluster.to_owned(),
        container_instance: instance_arn.to_owned(),
        public_key: b64.encode(key.public_point()),
        proof: b64.encode(proof),
    };
    client
        .call(&format!("{AGENT_TARGET_PREFIX}GetLinkCertificate"), &request, Some(Duration::from_secs(15)))
        .await
        .map_err(|e| e.to_string())
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(LinkError { code: code.to_owned(), message: message.into() })).into_response()
}

/// Compares in time independent of where the strings differ.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes()))
}

async fn call<Req, Resp, F>(link: &Link, headers: &HeaderMap, body: &[u8], op: F) -> Response
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    F: FnOnce(&LogStore, Req) -> Result<Resp, StoreError> + Send + 'static,
{
    if !authorized(headers, &link.token) {
        return error(StatusCode::UNAUTHORIZED, "AccessDeniedException", "missing or wrong agent link token");
    }
    let request: Req = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, "InvalidParameterException", format!("invalid request: {e}")),
    };
    let store = link.store.clone();
    match tokio::task::spawn_blocking(move || op(&store, request)).await {
        Ok(Ok(answer)) => Json(answer).into_response(),
        Ok(Err(e)) => {
            let status = match &e {
                StoreError::NotFound(_) => StatusCode::NOT_FOUND,
                StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
                StoreError::Io(_) | StoreError::Closed => {
                    tracing::error!(error = %e, "log store failed");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            error(status, e.code(), e.to_string())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "ServiceUnavailableException", e.to_string()),
    }
}

/// The endpoint the server should call: `configured` when given (`host:port` or a URL); else the bound address,
/// with an unspecified IP (0.0.0.0) replaced by this host's address on the route to `server`.
pub async fn advertise(bound: SocketAddr, configured: Option<&str>, server: &str) -> String {
    // The link is TLS when the server is: the server's CA then issues the link's certificate.
    let scheme = if server.starts_with("https://") { "https" } else { "http" };
    if let Some(c) = configured.map(str::trim).filter(|c| !c.is_empty()) {
        return if c.contains("://") { c.trim_end_matches('/').to_owned() } else { format!("{scheme}://{c}") };
    }
    let ip = if bound.ip().is_unspecified() {
        route_ip(server).await.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    } else {
        bound.ip()
    };
    format!("{scheme}://{}", SocketAddr::new(ip, bound.port()))
}

/// The local address the host would send from to reach `server` (a URL): a UDP socket is connected, which picks
/// the route without sending anything.
async fn route_ip(server: &str) -> Option<IpAddr> {
    let (scheme, rest) = server.split_once("://").unwrap_or(("http", server));
    let authority = rest.split('/').next()?;
    let has_port =
        authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) && !authority.ends_with(']');
    let target = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:{}", if scheme == "https" { 443 } else { 80 })
    };
    let addr = tokio::net::lookup_host(target).await.ok()?.next()?;
    let local = if addr.is_ipv4() {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0))
    };
    let socket = std::net::UdpSocket::bind(local).ok()?;
    socket.connect(addr).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, &t));
        h.insert(header::AUTHORIZATION, format!("Bearer {t}").parse().unwrap());
        assert!(authorized(&h, &t));
        h.insert(header::AUTHORIZATION, format!("Bearer {}", &t[..63]).parse().unwrap());
        assert!(!authorized(&h, &t));
        h.insert(header::AUTHORIZATION, "Basic x".parse().unwrap());
        assert!(!authorized(&h, &t));
    }

    #[tokio::test]
    async fn advertised_addresses() {
        let loopback: SocketAddr = "127.0.0.1:4567".parse().unwrap();
        assert_eq!(advertise(loopback, None, "http://127.0.0.1:8700").await, "http://127.0.0.1:4567");
        let any: SocketAddr = "0.0.0.0:8701".parse().unwrap();
        assert_eq!(advertise(any, None, "http://127.0.0.1:8700").await, "http://127.0.0.1:8701");
        assert_eq!(advertise(any, Some("10.0.0.7:9000"), "http://x").await, "http://10.0.0.7:9000");
        assert_eq!(advertise(any, Some("http://h:1/"), "http://x").await, "http://h:1");
        assert_eq!(advertise(loopback, None, "https://127.0.0.1:8700").await, "https://127.0.0.1:4567");
        assert_eq!(advertise(any, Some("10.0.0.7:9000"), "https://x").await, "https://10.0.0.7:9000");
    }
}
