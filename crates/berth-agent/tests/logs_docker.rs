//! Log shipping against the real Docker daemon with the locally built `berth-test/busybox` image
//! (tests/images/build.sh): containers print 10,000 numbered lines fast and exit, and every line is read back in
//! order through the agent link endpoint, after the container is removed, and after the shipper and store are
//! restarted (also in the middle of the output, with the container exiting while no shipper runs).
//!
//! Everything created carries `berth.test=<uuid>` and is removed when the test ends.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions panic on failure by design.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use berth_agent::logs::{self, LogStore, Shipper};
use berth_agent::runtime::docker::DockerRuntime;
use berth_agent::runtime::{ContainerRuntime, ContainerSpec};
use berth_model::logs::{GetEventsRequest, GetEventsResponse, LinkError, paths};
use serde_json::{Value, json};

const IMAGE: &str = "berth-test/busybox:latest";
const TEST_LABEL: &str = "berth.test";
const GROUP: &str = "/ecs/logs-test";
const LIMITS: logs::Limits = logs::Limits { host_max_bytes: 1 << 30, stream_max_bytes: 100 << 20 };

fn ensure_image() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/images/build.sh");
        let output = Command::new("bash").arg(script).output().expect("run tests/images/build.sh");
        assert!(output.status.success(), "tests/images/build.sh failed: {}", String::from_utf8_lossy(&output.stderr));
    });
}

/// Removes the test's containers when it ends.
struct Cleanup {
    id: String,
}

impl Cleanup {
    fn new() -> Self {
        ensure_image();
        Self { id: uuid::Uuid::new_v4().simple().to_string() }
    }

    /// A spec printing through `sh -c script`, shipped into `GROUP` / `stream`, with the json-file driver the
    /// engine gives awslogs containers.
    fn spec(&self, name: &str, stream: &str, script: &str) -> ContainerSpec {
        let def = serde_json::from_value(json!({"name": name, "image": IMAGE, "command": ["sh", "-c", script]}));
        ContainerSpec {
            labels: BTreeMap::from([
                (TEST_LABEL.to_owned(), self.id.clone()),
                (logs::GROUP_LABEL.to_owned(), GROUP.to_owned()),
                (logs::STREAM_LABEL.to_owned(), stream.to_owned()),
            ]),
            stop_timeout: Duration::from_secs(1),
            log_driver: Some(logs::json_file_driver()),
            ..ContainerSpec::new(format!("berth-test-{}-{name}", &self.id[..12]), def.unwrap())
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let filter = format!("label={TEST_LABEL}={}", self.id);
        let out = Command::new("docker").args(["ps", "-aq", "--filter", &filter]).output();
        let ids: Vec<String> = out
            .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        if !ids.is_empty() {
            let _ = Command::new("docker").args(["rm", "-fv"]).args(&ids).output();
        }
    }
}

/// A store, its shipper and the link endpoint serving it: what an agent runs for logs.
struct Host {
    store: Arc<LogStore>,
    shipper: Arc<Shipper>,
    addr: SocketAddr,
    token: String,
    server: tokio::task::JoinHandle<()>,
}

impl Host {
    async fn start(dir: &std::path::Path, runtime: Arc<DockerRuntime>) -> Host {
        let store = Arc::new(LogStore::open(dir, LIMITS).unwrap());
        let shipper = Shipper::new(runtime, store.clone());
        let token = berth_agent::link::new_token();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = berth_agent::link::router(store.clone(), &token);
        let server = tokio::spawn(async move {
            let _ = berth_agent::link::serve(listener, router).await;
        });
        Host { store, shipper, addr, token, server }
    }

    /// What an agent's shutdown does.
    fn stop(self) {
        self.shipper.stop();
        self.store.close();
        self.server.abort();
    }

    /// POSTs to the link endpoint; returns the status and the JSON answer.
    async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        let (addr, path, token) = (self.addr, path.to_owned(), token.map(str::to_owned));
        tokio::task::spawn_blocking(move || {
            let body = body.to_string();
            let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
            let mut s = TcpStream::connect(addr).unwrap();
            write!(
                s,
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            let mut answer = Vec::new();
            s.read_to_end(&mut answer).unwrap();
            let text = String::from_utf8(answer).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
            (status, serde_json::from_str(body).unwrap_or(Value::Null))
        })
        .await
        .unwrap()
    }

    async fn get_events(&self, stream: &str, token: Option<&str>) -> GetEventsResponse {
        let req = GetEventsRequest {
            log_group_name: GROUP.into(),
            log_stream_name: stream.into(),
            next_token: token.map(str::to_owned),
            limit: 10_000,
            start_from_head: true,
            ..Default::default()
        };
        let (status, body) = self.post(paths::GET_EVENTS, serde_json::to_value(req).unwrap(), Some(&self.token)).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }

    /// Every message of a stream, paging forward until the token comes back unchanged.
    async fn read_all(&self, stream: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.get_events(stream, token.as_deref()).await;
            out.extend(page.events.into_iter().map(|e| e.message));
            if token.as_deref() == Some(page.next_forward_token.as_str()) {
                return out;
            }
            token = Some(page.next_forward_token);
        }
    }
}

fn numbers(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

async fn wait_exit(rt: &DockerRuntime, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while rt.inspect_container(id).await.unwrap().running {
        assert!(Instant::now() < deadline, "container {id} did not exit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_stored(host: &Host, stream: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    // The follower creates the stream once it runs: until then the stream answers 404.
    let exists = || async {
        let req = json!({"logGroupName": GROUP, "logStreamName": stream, "limit": 1, "startFromHead": true});
        host.post(paths::GET_EVENTS, req, Some(&host.token)).await.0 == 200
    };
    while !exists().await || host.read_all(stream).await.len() < n {
        assert!(Instant::now() < deadline, "{stream}: fewer than {n} lines stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_lines_survive_removal_and_restart() {
    let cleanup = Cleanup::new();
    let runtime = Arc::new(DockerRuntime::connect().await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let stream = format!("ecs/seq/{}", cleanup.id);
    let spec = cleanup.spec("seq", &stream, "seq 1 10000");

    let host = Host::start(dir.path(), runtime.clone()).await;
    let id = runtime.create_container(&spec).await.unwrap();
    runtime.start_container(&id).await.unwrap();
    host.shipper.ensure(&id, &spec.labels, true);
    wait_exit(&runtime, &id).await;
    // What the engine does before removing a container.
    host.shipper.drain(&id, Duration::from_secs(30)).await;
    assert_eq!(host.read_all(&stream).await, numbers(1..=10_000));

    runtime.remove_container(&id).await.unwrap();
    assert_eq!(host.read_all(&stream).await, numbers(1..=10_000), "after the container is removed");

    // Bad input through the link: no token, a token of another stream, a missing stream.
    let req = json!({"logGroupName": GROUP, "logStreamName": stream, "limit": 10});
    let (status, body) = host.post(paths::GET_EVENTS, req.clone(), None).await;
    assert_eq!(status, 401, "{body}");
    let other = format!("ecs/other/{}", cleanup.id);
    host.store.ensure_stream(GROUP, &other).unwrap();
    let foreign = host.get_events(&other, None).await.next_forward_token;
    let mut with_foreign = req.clone();
    with_foreign["nextToken"] = json!(foreign);
    let (status, body) = host.post(paths::GET_EVENTS, with_foreign, Some(&host.token)).await;
    let err: LinkError = serde_json::from_value(body).unwrap();
    assert_eq!((status, err.code.as_str()), (400, "InvalidParameterException"));
    assert_eq!(err.message, "The specified nextToken is invalid.");
    let missing = json!({"logGroupName": GROUP, "logStreamName": "nope", "limit": 10});
    let (status, body) = host.post(paths::GET_EVENTS, missing, Some(&host.token)).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("ResourceNotFoundException")));

    // An agent restart: a new store on the same directory has everything, once.
    host.stop();
    let host = Host::start(dir.path(), runtime.clone()).await;
    assert_eq!(host.read_all(&stream).await, numbers(1..=10_000), "after a restart");
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_resumes_after_a_restart_in_the_middle_without_duplicates() {
    let cleanup = Cleanup::new();
    let runtime = Arc::new(DockerRuntime::connect().await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let stream = format!("ecs/halves/{}", cleanup.id);
    let spec = cleanup.spec("halves", &stream, "seq 1 5000; sleep 3; seq 5001 10000");

    let host = Host::start(dir.path(), runtime.clone()).await;
    let id = runtime.create_container(&spec).await.unwrap();
    runtime.start_container(&id).await.unwrap();
    host.shipper.ensure(&id, &spec.labels, true);
    wait_stored(&host, &stream, 5000).await;
    // The agent stops while the container sleeps; the container prints the rest and exits meanwhile.
    host.stop();
    wait_exit(&runtime, &id).await;

    let host = Host::start(dir.path(), runtime.clone()).await;
    let state = runtime.inspect_container(&id).await.unwrap();
    host.shipper.ensure(&id, &state.labels, state.running);
    host.shipper.drain(&id, Duration::from_secs(30)).await;
    assert_eq!(host.read_all(&stream).await, numbers(1..=10_000));
    // Another pass over the same container (a rescan) adds nothing.
    host.stop();
    let host = Host::start(dir.path(), runtime.clone()).await;
    host.shipper.drain(&id, Duration::from_secs(30)).await;
    assert_eq!(host.read_all(&stream).await, numbers(1..=10_000));
    host.stop();
}
