//! Following the server's event stream (`GET /events`, server-sent events of store changes) to learn at once when
//! something of a cluster changed. It only says *that* something changed: the commands then read the state with the
//! ordinary Describe calls, and keep polling on their own when the stream is unavailable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use berth_client::Client;
use serde_json::Value;
use tokio::sync::Notify;

/// A change the stream announced.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `task`, `service`, `instance`, `cluster`, or `hello`/`reset` (which ask for a fresh read).
    pub kind: String,
    pub data: Value,
}

/// A running follower of the stream: `changed` is notified on every change of the cluster, `live` tells whether
/// the stream is connected now.
pub struct Watch {
    pub changed: Arc<Notify>,
    pub live: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts following the cluster's events; `interesting` picks the events worth a notification.
pub fn watch(client: Client, cluster: String, interesting: impl Fn(&Event) -> bool + Send + 'static) -> Watch {
    let changed = Arc::new(Notify::new());
    let live = Arc::new(AtomicBool::new(false));
    let (c, l) = (changed.clone(), live.clone());
    let task = tokio::spawn(async move {
        let mut since: Option<String> = None;
        loop {
            let path = match &since {
                Some(rev) => format!("/events?cluster={cluster}&since={rev}"),
                None => format!("/events?cluster={cluster}"),
            };
            match client.get_stream(&path, &[]).await {
                Ok(mut body) => {
                    l.store(true, Ordering::Relaxed);
                    let mut parser = Parser::default();
                    loop {
                        match body.chunk().await {
                            Ok(Some(bytes)) => {
                                for (id, event) in parser.feed(&bytes) {
                                    if let Some(id) = id {
                                        since = Some(id);
                                    }
                                    if interesting(&event) {
                                        c.notify_one();
                                    }
                                }
                            }
                            Ok(None) => break,
                            Err(e) => {
                                tracing::debug!("event stream: {e}");
                                break;
                            }
                        }
                    }
                    l.store(false, Ordering::Relaxed);
                    // Whatever happened while reconnecting is read by the next Describe anyway.
                    c.notify_one();
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => {
                    tracing::debug!("event stream unavailable: {e}");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    });
    Watch { changed, live, task }
}

/// Splits a `text/event-stream` body into events as its bytes arrive.
#[derive(Default)]
pub struct Parser {
    buffer: Vec<u8>,
}

impl Parser {
    /// Feeds bytes; returns the events completed by them, each with its `id:` when it had one.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<(Option<String>, Event)> {
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        // An event ends at a blank line; carriage returns are accepted as the spec allows.
        while let Some(end) = find_blank_line(&self.buffer) {
            let block: Vec<u8> = self.buffer.drain(..end.0).collect();
            self.buffer.drain(..end.1);
            let text = String::from_utf8_lossy(&block).replace("\r\n", "\n");
            let (mut id, mut kind, mut data) = (None, String::from("message"), String::new());
            for line in text.lines() {
                if line.starts_with(':') {
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => id = Some(value.to_owned()),
                    "event" => kind = value.to_owned(),
                    "data" => {
                        if !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(value);
                    }
                    _ => {}
                }
            }
            if data.is_empty() && id.is_none() {
                continue; // a comment (keepalive) alone
            }
            let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
            events.push((id, Event { kind, data }));
        }
        events
    }
}

/// Where the first blank line is: (end of the event, length of the separator).
fn find_blank_line(buffer: &[u8]) -> Option<(usize, usize)> {
    let lf = buffer.windows(2).position(|w| w == b"\n\n").map(|p| (p, 2));
    let crlf = buffer.windows(4).position(|w| w == b"\r\n\r\n").map(|p| (p, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_across_chunks() {
        let mut p = Parser::default();
        assert!(p.feed(b"event: hello\ndata: {\"revision\": 3}\n").is_empty());
        let first = p.feed(b"\n: keepalive\n\nid: 4\nevent: service\ndata: {\"kind\":\"service\",\"id\":\"web\"}\n\n");
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].0, None);
        assert_eq!(first[0].1.kind, "hello");
        assert_eq!(first[0].1.data["revision"], 3);
        assert_eq!(first[1].0.as_deref(), Some("4"));
        assert_eq!(first[1].1.kind, "service");
        assert_eq!(first[1].1.data["id"], "web");
    }
}
