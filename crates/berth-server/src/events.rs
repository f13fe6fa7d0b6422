//! The event stream: `GET /events`, server-sent events of every change to clusters, tasks, services and container
//! instances, for the console and the CLI to follow instead of polling Describe*.
//!
//! What it owns: turning store watch events into SSE frames (`id` = store revision, `event` = kind, `data` = the
//! object as Describe* shows it), resuming from a revision (`since=` or `Last-Event-ID`), and telling a client to
//! list again (`event: reset`) when the revision it asks for has been compacted or the watch fell behind.
//! Requests are signed like any other (SigV4 for `ecs`, a GET with an empty body).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use berth_model::cluster::Cluster;
use berth_model::instance::ContainerInstance;
use berth_model::task::Task;
use berth_sigv4::SignedRequest;
use berth_store::{EventKind, StoreError, WatchEvent};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::api::Api;
use crate::error::{ApiError, ApiResult};
use crate::ops::services::StoredService;
use crate::ops::{instances, services, tasks};

/// A comment line this often keeps proxies and clients from timing the stream out.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Frames buffered for a slow client before the stream is cut (it resumes with `since`).
const BUFFER: usize = 1024;

/// The kinds of objects the stream carries: key prefix and event name.
const KINDS: [(&str, &str); 4] =
    [("clusters/", "cluster"), ("tasks/", "task"), ("services/", "service"), ("instances/", "instance")];

/// `GET /events`: authenticates, then streams.
pub async fn stream(State(api): State<Arc<Api>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let header_list: Vec<(&str, &[u8])> = parts.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &header_list,
        body: b"",
    };
    let caller = match api.auth.authenticate(&signed, "ecs", api.now()) {
        Ok(c) => c,
        Err(e) => return crate::wire::error_response(e.into()),
    };
    // The stream shows what Describe* would: an IAM user or role needs `berth:GetEvents`.
    let origin = crate::authz::Origin::of(&parts);
    let input = serde_json::json!({});
    if let Err(e) = crate::authz::authorize(&api, &caller, origin, "berth", "GetEvents", &input).await {
        return crate::wire::error_response(e);
    }
    let last_event_id = parts.headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let query = match Query::parse(parts.uri.query().unwrap_or(""), last_event_id) {
        Ok(q) => q,
        Err(e) => return crate::wire::error_response(e),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(BUFFER);
    tokio::spawn(pump(api, query, tx));
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|frame| (Ok::<_, Infallible>(frame), rx))
    }));
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("text/event-stream"));
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// What the client asked for.
#[derive(Debug, Default, PartialEq)]
struct Query {
    cluster: Option<String>,
    since: Option<i64>,
}

impl Query {
    fn parse(query: &str, last_event_id: Option<&str>) -> ApiResult<Query> {
        let mut q = Query::default();
        let revision = |name: &str, v: &str| {
            v.parse::<i64>().ok().filter(|r| *r >= 0).ok_or_else(|| {
                ApiError::invalid(format!("{name}: expected a store revision (a whole number), got '{v}'."))
            })
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value);
            match name {
                "cluster" => q.cluster = Some(berth_model::arn::cluster_name(&value).to_owned()),
                "since" => q.since = Some(revision("since", &value)?),
                other => {
                    return Err(ApiError::invalid(format!(
                        "Unknown query parameter '{}': /events takes cluster and since.",
                        berth_model::names::truncate(other, 64)
                    )));
                }
            }
        }
        if q.since.is_none()
            && let Some(id) = last_event_id.filter(|v| !v.is_empty())
        {
            q.since = Some(revision("Last-Event-ID", id)?);
        }
        Ok(q)
    }

    /// The event name of a key this client wants, and the object's cluster and id.
    fn wants<'k>(&self, key: &'k str) -> Option<(&'static str, &'k str, &'k str)> {
        let (prefix, kind) = KINDS.iter().find(|(p, _)| key.starts_with(p))?;
        let rest = &key[prefix.len()..];
        let (cluster, id) = match *kind {
            "cluster" => (rest, rest),
            _ => rest.split_once('/')?,
        };
        if self.cluster.as_deref().is_some_and(|c| c != cluster) {
            return None;
        }
        Some((kind, cluster, id))
    }
}

/// Feeds one client until it goes away or the server shuts down.
async fn pump(api: Arc<Api>, query: Query, tx: mpsc::Sender<Bytes>) {
    let mut closing = api.closing.subscribe();
    let closed = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    tokio::pin!(closed);
    let mut from = match query.since {
        Some(r) => r,
        None => match api.store.current_revision().await {
            Ok(r) => {
                if tx.send(frame(None, "hello", &json!({ "revision": r }))).await.is_err() {
                    return;
                }
                r
            }
            Err(e) => {
                tracing::warn!(error = %e, "event stream: store unavailable");
                return;
            }
        },
    };
    loop {
        // One watch over every key: the kinds are filtered here, so events of all kinds stay in revision order.
        let mut events = match api.store.watch("", from).await {
            Ok(events) => events,
            Err(e) => match reset(&api, &tx, &e).await {
                Some(r) => {
                    from = r;
                    continue;
                }
                None => return,
            },
        };
        let mut keepalive = tokio::time::interval(KEEPALIVE);
        keepalive.tick().await;
        loop {
            tokio::select! {
                _ = &mut closed => return,
                _ = keepalive.tick() => {
                    if tx.send(Bytes::from_static(b": keepalive\n\n")).await.is_err() {
                        return;
                    }
                }
                event = events.next() => match event {
                    Some(Ok(event)) => {
                        from = event.kv.mod_revision;
                        if let Some(f) = event_frame(&query, &event)
                            && tx.send(f).await.is_err()
                        {
                            return;
                        }
                    }
                    Some(Err(e)) => match reset(&api, &tx, &e).await {
                        Some(r) => {
                            from = r;
                            break;
                        }
                        None => return,
                    },
                    None => break,
                },
            }
        }
    }
}

/// After a watch failure: tells the client to list again from the current revision (when history it needs is
/// gone) and returns where to watch from, or `None` when the client has gone or the store is unusable.
async fn reset(api: &Api, tx: &mpsc::Sender<Bytes>, error: &StoreError) -> Option<i64> {
    if !matches!(error, StoreError::Compacted { .. } | StoreError::Lagged) {
        tracing::warn!(error = %error, "event stream: watch failed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let revision = api.store.current_revision().await.ok()?;
    tx.send(frame(None, "reset", &json!({ "revision": revision }))).await.ok()?;
    Some(revision)
}

/// The frame for one store change, or `None` for keys the client does not follow.
fn event_frame(query: &Query, event: &WatchEvent) -> Option<Bytes> {
    let (kind, cluster, id) = query.wants(&event.kv.key)?;
    let revision = event.kv.mod_revision;
    let mut data = json!({ "revision": revision, "kind": kind, "cluster": cluster, "id": id });
    match event.kind {
        EventKind::Delete => data["op"] = json!("delete"),
        EventKind::Put => {
            data["op"] = json!("put");
            match present(kind, &event.kv.value) {
                Ok(value) => data["value"] = value,
                Err(e) => {
                    tracing::warn!(key = event.kv.key, error = %e, "event stream: unreadable record skipped");
                    return None;
                }
            }
        }
    }
    Some(frame(Some(revision), kind, &data))
}

/// A stored record as Describe* shows it (tags included, Berth's bookkeeping removed).
fn present(kind: &str, raw: &[u8]) -> Result<Value, serde_json::Error> {
    match kind {
        "task" => serde_json::to_value(tasks::present(serde_json::from_slice::<Task>(raw)?, true)),
        "service" => {
            serde_json::to_value(services::present(serde_json::from_slice::<StoredService>(raw)?.service, true))
        }
        "instance" => serde_json::to_value(instances::present(serde_json::from_slice::<ContainerInstance>(raw)?, true)),
        _ => serde_json::to_value(serde_json::from_slice::<Cluster>(raw)?),
    }
}

fn frame(id: Option<i64>, event: &str, data: &Value) -> Bytes {
    let mut out = String::new();
    if let Some(id) = id {
        out.push_str(&format!("id: {id}\n"));
    }
    // serde_json never writes a raw newline, so the data fits on one `data:` line.
    out.push_str(&format!("event: {event}\ndata: {data}\n\n"));
    Bytes::from(out)
}

/// Decodes `%XX` escapes and `+` in a query value; a malformed escape is kept as it is.
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], escaped) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse_and_refuse_nonsense() {
        let q = Query::parse("cluster=ml&since=42", None).expect("parse");
        assert_eq!(q, Query { cluster: Some("ml".into()), since: Some(42) });
        let q = Query::parse("", Some("17")).expect("parse");
        assert_eq!(q.since, Some(17));
        let q = Query::parse("cluster=arn%3Aaws%3Aecs%3Aus-east-1%3A1%3Acluster%2Fml", None).expect("parse");
        assert_eq!(q.cluster.as_deref(), Some("ml"));
        assert!(Query::parse("since=abc", None).expect_err("bad").message.contains("since"));
        assert!(Query::parse("bogus=1", None).expect_err("bad").message.contains("bogus"));
        assert!(Query::parse("", Some("x")).expect_err("bad").message.contains("Last-Event-ID"));
    }

    #[test]
    fn keys_map_to_kinds_and_clusters() {
        let all = Query::default();
        assert_eq!(all.wants("tasks/default/abc"), Some(("task", "default", "abc")));
        assert_eq!(all.wants("services/ml/web"), Some(("service", "ml", "web")));
        assert_eq!(all.wants("clusters/ml"), Some(("cluster", "ml", "ml")));
        assert_eq!(all.wants("auth/keys/AKIA"), None);
        assert_eq!(all.wants("assignments/default/i/t"), None);
        let ml = Query { cluster: Some("ml".into()), since: None };
        assert_eq!(ml.wants("tasks/default/abc"), None);
        assert_eq!(ml.wants("instances/ml/i1"), Some(("instance", "ml", "i1")));
    }

    #[test]
    fn frames_are_single_line_sse() {
        let f = frame(Some(7), "task", &json!({"a": "line\nbreak"}));
        assert_eq!(&f[..], b"id: 7\nevent: task\ndata: {\"a\":\"line\\nbreak\"}\n\n");
    }
}
