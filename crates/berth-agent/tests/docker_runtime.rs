//! The Docker runtime against the real daemon (DOCKER_HOST or the local socket), with the locally built
//! `berth-test/busybox` image (tests/images/build.sh; no registry is reachable).
//!
//! Every test labels what it creates `berth.test=<uuid>` and a [`Cleanup`] guard removes those containers and
//! volumes when the test ends, passing or not, so tests run in parallel and leave nothing behind.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions panic on failure by design.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use berth_agent::runtime::docker::DockerRuntime;
use berth_agent::runtime::{
    ContainerRuntime, ContainerSpec, ContainerState, EventKind, Health, RuntimeError, VolumeSource, VolumeSpec,
};
use futures::StreamExt;
use serde_json::{Value, json};

const IMAGE: &str = "berth-test/busybox:latest";
const TEST_LABEL: &str = "berth.test";

/// Builds the test image once per test process.
fn ensure_image() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/images/build.sh");
        let output = Command::new("bash").arg(script).output().expect("run tests/images/build.sh");
        assert!(output.status.success(), "tests/images/build.sh failed: {}", String::from_utf8_lossy(&output.stderr));
    });
}

/// One test's resources: its label value, and removal of everything carrying it on drop.
struct Cleanup {
    id: String,
}

impl Cleanup {
    fn new() -> Self {
        ensure_image();
        Self { id: uuid::Uuid::new_v4().simple().to_string() }
    }

    fn labels(&self) -> Vec<(String, String)> {
        vec![(TEST_LABEL.to_string(), self.id.clone())]
    }

    /// A unique runtime or volume name for this test.
    fn name(&self, suffix: &str) -> String {
        format!("berth-test-{}-{suffix}", &self.id[..12])
    }

    /// A spec for a container of this test running `definition` (merged over name and image) on the bridge.
    fn spec(&self, name: &str, definition: Value) -> ContainerSpec {
        let mut value = json!({"name": name, "image": IMAGE});
        if let (Some(base), Value::Object(more)) = (value.as_object_mut(), definition) {
            base.extend(more);
        }
        ContainerSpec {
            labels: BTreeMap::from([(TEST_LABEL.to_string(), self.id.clone())]),
            stop_timeout: Duration::from_secs(1),
            ..ContainerSpec::new(self.name(name), serde_json::from_value(value).unwrap())
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let filter = format!("label={TEST_LABEL}={}", self.id);
        let ids = |args: &[&str]| -> Vec<String> {
            Command::new("docker")
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().map(str::to_string).collect())
                .unwrap_or_default()
        };
        let containers = ids(&["ps", "-aq", "--filter", &filter]);
        if !containers.is_empty() {
            let _ = Command::new("docker").args(["rm", "-fv"]).args(&containers).output();
        }
        let volumes = ids(&["volume", "ls", "-q", "--filter", &filter]);
        if !volumes.is_empty() {
            let _ = Command::new("docker").args(["volume", "rm", "-f"]).args(&volumes).output();
        }
    }
}

async fn runtime() -> DockerRuntime {
    DockerRuntime::connect().await.expect("connect to Docker")
}

/// Creates and starts a container; returns its id.
async fn run(rt: &DockerRuntime, spec: &ContainerSpec) -> String {
    let id = rt.create_container(spec).await.unwrap();
    rt.start_container(&id).await.unwrap();
    id
}

/// Polls inspect until `done` holds, failing after `limit`.
async fn wait_for(
    rt: &DockerRuntime,
    id: &str,
    limit: Duration,
    what: &str,
    done: impl Fn(&ContainerState) -> bool,
) -> ContainerState {
    let deadline = Instant::now() + limit;
    loop {
        let state = rt.inspect_container(id).await.unwrap();
        if done(&state) {
            return state;
        }
        assert!(Instant::now() < deadline, "container {id} not {what} after {limit:?}: {state:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_exit(rt: &DockerRuntime, id: &str) -> ContainerState {
    wait_for(rt, id, Duration::from_secs(20), "exited", |s| !s.running && s.exit_code.is_some()).await
}

/// Runs a container to completion; returns its final state and its output.
async fn run_to_exit(rt: &DockerRuntime, spec: &ContainerSpec) -> (ContainerState, String) {
    let id = run(rt, spec).await;
    let state = wait_exit(rt, &id).await;
    (state, logs(&id))
}

fn logs(id: &str) -> String {
    let output = Command::new("docker").args(["logs", id]).output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn shell(script: &str) -> Value {
    json!({"entryPoint": ["sh", "-c"], "command": [script]})
}

#[tokio::test]
async fn info_is_sane() {
    let _cleanup = Cleanup::new();
    let info = runtime().await.info().await.unwrap();
    assert!(!info.version.is_empty(), "{info:?}");
    assert!(info.api_version.starts_with("1."), "{info:?}");
    assert!(info.cpus >= 1, "{info:?}");
    assert!(info.memory_bytes > 64 * 1024 * 1024, "{info:?}");
    assert_eq!(info.os_type, "linux");
    assert!(!info.architecture.is_empty(), "{info:?}");
    assert!(info.log_drivers.iter().any(|d| d == "json-file"), "{info:?}");
    let gateway = info.bridge_gateway.expect("default bridge has a gateway");
    assert!(gateway.parse::<std::net::Ipv4Addr>().is_ok(), "{gateway}");
}

#[tokio::test]
async fn missing_images() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    assert!(rt.image_present(IMAGE).await.unwrap());
    assert!(rt.image_present("berth-test/busybox").await.unwrap(), "no tag means latest");
    let missing = format!("berth-test/missing-{}", cleanup.id);
    assert!(!rt.image_present(&missing).await.unwrap());

    // Creating from a missing image is refused, in Docker's words.
    match rt.create_container(&cleanup.spec("c", json!({"image": missing}))).await {
        Err(RuntimeError::Rejected(message)) => assert!(message.contains("No such image"), "{message}"),
        other => panic!("expected Rejected, got {other:?}"),
    }

    // No registry is reachable: the pull fails on name resolution or connection. Bounded, since a host with a
    // black-holed resolver could take long to say so.
    let pull = rt.pull_image("registry.berth.invalid/nothing/here:1", None);
    match tokio::time::timeout(Duration::from_secs(10), pull).await {
        Ok(Err(RuntimeError::Pull(message))) => assert!(!message.is_empty()),
        Ok(other) => panic!("expected a Pull error, got {other:?}"),
        Err(_) => eprintln!("pull did not fail within 10 s; skipping the pull check"),
    }
}

#[tokio::test]
async fn web_container_on_a_dynamic_host_port() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let spec = cleanup.spec(
        "web",
        json!({"command": ["httpd", "-f", "-p", "80", "-h", "/www"], "portMappings": [{"containerPort": 80}]}),
    );
    let id = run(&rt, &spec).await;
    let state = rt.inspect_container(&id).await.unwrap();
    assert!(state.running, "{state:?}");
    assert_eq!(state.name, spec.runtime_name);
    assert_eq!(state.exit_code, None);
    assert!(state.started_at.is_some() && state.finished_at.is_none(), "{state:?}");
    assert!(state.networks.contains_key("bridge"), "{state:?}");
    let binding = state
        .ports
        .iter()
        .find(|p| p.container_port == 80 && p.protocol == "tcp" && p.host_port > 0)
        .unwrap_or_else(|| panic!("no host port for 80/tcp: {state:?}"));

    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        match http_get(binding.host_port) {
            Ok(body) if body.contains("berth ok") => break body,
            other => {
                assert!(Instant::now() < deadline, "no answer from port {}: {other:?}", binding.host_port);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert!(body.starts_with("HTTP/1."), "{body}");

    let stats = rt.stats(&id).await.unwrap();
    assert!(stats.raw["cpu_stats"].is_object(), "{}", stats.raw);
    assert!(stats.raw["memory_stats"]["usage"].as_u64().unwrap_or(0) > 0, "{}", stats.raw);

    rt.stop_container(&id, Duration::from_secs(1)).await.unwrap();
    let state = rt.inspect_container(&id).await.unwrap();
    assert!(!state.running && state.exit_code.is_some() && state.finished_at.is_some(), "{state:?}");
}

fn http_get(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut body = String::new();
    stream.read_to_string(&mut body)?;
    Ok(body)
}

#[tokio::test]
async fn environment_command_and_labels_arrive() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let mut definition = shell(r#"echo "$FOO|$EXTRA|$(pwd)|$(id -u)|$(hostname)"; exit 3"#);
    definition.as_object_mut().unwrap().extend(
        json!({
            "environment": [{"name": "FOO", "value": "bar"}],
            "workingDirectory": "/tmp",
            "user": "1000",
            "hostname": "berth-host",
        })
        .as_object()
        .unwrap()
        .clone(),
    );
    let mut spec = cleanup.spec("env", definition);
    spec.extra_env = vec![("EXTRA".to_string(), "x y".to_string())];
    spec.labels.insert("berth.container-name".to_string(), "env".to_string());

    let (state, output) = run_to_exit(&rt, &spec).await;
    assert_eq!(output.trim(), "bar|x y|/tmp|1000|berth-host");
    assert_eq!(state.exit_code, Some(3));
    assert!(!state.oom_killed);
    assert_eq!(state.labels.get("berth.container-name").map(String::as_str), Some("env"));
    assert_eq!(state.labels.get(TEST_LABEL), Some(&cleanup.id));
    assert_eq!(state.image, IMAGE);
    assert!(state.image_id.starts_with("sha256:"), "{state:?}");
    let (started, finished) = (state.started_at.unwrap(), state.finished_at.unwrap());
    // Docker may stamp a container that exits at once as finished a little before it stamps it started (the exit
    // event can be handled before the start's bookkeeping), so only creation is ordered against both.
    let created = state.created_at.unwrap();
    assert!(created <= started && created <= finished && (finished - started).abs() < 60.0, "{state:?}");
}

/// `sh` ignores SIGTERM (and as PID 1 would anyway), so only the SIGKILL after the timeout ends it: 128 + 9.
#[tokio::test]
async fn stop_kills_after_the_timeout() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let id = run(&rt, &cleanup.spec("stubborn", shell(r#"trap "" TERM; sleep 1000"#))).await;

    let started = Instant::now();
    rt.stop_container(&id, Duration::from_secs(1)).await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(15), "stop took {took:?}");
    let state = rt.inspect_container(&id).await.unwrap();
    assert!(!state.running);
    assert_eq!(state.exit_code, Some(137));

    // Stopping a stopped container succeeds; removal is idempotent; then it is gone.
    rt.stop_container(&id, Duration::from_secs(1)).await.unwrap();
    rt.remove_container(&id).await.unwrap();
    rt.remove_container(&id).await.unwrap();
    assert!(matches!(rt.inspect_container(&id).await, Err(RuntimeError::NotFound(_))));
    assert!(matches!(rt.start_container(&id).await, Err(RuntimeError::NotFound(_))));
}

/// OOM trigger: `head -c 200000000 /dev/zero | tr "\0" a` captured in a shell variable makes the shell hold
/// ~200 MB of text, far over a 32 MiB limit (Docker's default swap allowance is another 32 MiB), so the kernel's
/// OOM killer ends the container (exit 137, State.OOMKilled). Checked against Docker 20.10 on cgroup v1.
#[tokio::test]
async fn oom_kill_is_reported() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let mut definition = shell(r#"x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived"#);
    definition["memory"] = json!(32);
    let (state, output) = run_to_exit(&rt, &cleanup.spec("hog", definition)).await;
    assert!(state.oom_killed, "{state:?} {output}");
    assert_eq!(state.exit_code, Some(137));
    assert!(!output.contains("survived"));
}

#[tokio::test]
async fn health_check_and_events() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let mut events = rt.events(&cleanup.labels());
    // The stream subscribes on first poll; poll once so no event of ours is missed.
    assert!(tokio::time::timeout(Duration::from_millis(500), events.next()).await.is_err());

    let mut definition = json!({"command": ["sleep", "1000"]});
    definition["healthCheck"] =
        json!({"command": ["CMD-SHELL", "echo checked"], "interval": 1, "timeout": 2, "retries": 1});
    let id = run(&rt, &cleanup.spec("healthy", definition)).await;
    let state = wait_for(&rt, &id, Duration::from_secs(20), "healthy", |s| s.health == Some(Health::Healthy)).await;
    assert_eq!(state.health_output.as_deref().map(str::trim), Some("checked"));
    rt.stop_container(&id, Duration::from_secs(1)).await.unwrap();

    let mut kinds = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !kinds.contains(&EventKind::Die) {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("no die event; got {kinds:?}"))
            .expect("event stream ended")
            .unwrap();
        assert_eq!(event.container_id, id);
        assert_eq!(event.labels.get(TEST_LABEL), Some(&cleanup.id));
        kinds.push(event.kind);
    }
    let position = |kind: &EventKind| kinds.iter().position(|k| k == kind);
    let (start, healthy, die) = (
        position(&EventKind::Start).expect("start event"),
        position(&EventKind::Health(Health::Healthy)).expect("healthy event"),
        position(&EventKind::Die).expect("die event"),
    );
    assert!(start < healthy && healthy < die, "{kinds:?}");
}

#[tokio::test]
async fn unhealthy_check() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let mut definition = json!({"command": ["sleep", "1000"]});
    definition["healthCheck"] = json!({"command": ["CMD", "false"], "interval": 1, "timeout": 2, "retries": 1});
    let id = run(&rt, &cleanup.spec("sick", definition)).await;
    let state = rt.inspect_container(&id).await.unwrap();
    assert!(matches!(state.health, Some(Health::Starting | Health::Unhealthy)), "{state:?}");
    wait_for(&rt, &id, Duration::from_secs(20), "unhealthy", |s| s.health == Some(Health::Unhealthy)).await;
}

#[tokio::test]
async fn list_containers_by_labels() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let mut a = cleanup.spec("a", json!({"command": ["true"]}));
    a.labels.insert("berth.role".to_string(), "a".to_string());
    let mut b = cleanup.spec("b", json!({"command": ["sleep", "1000"]}));
    b.labels.insert("berth.role".to_string(), "b".to_string());
    let a_id = rt.create_container(&a).await.unwrap(); // created, never started
    let b_id = run(&rt, &b).await;

    let mut all: Vec<String> = rt.list_containers(&cleanup.labels()).await.unwrap().into_iter().map(|s| s.id).collect();
    all.sort();
    let mut expected = vec![a_id.clone(), b_id.clone()];
    expected.sort();
    assert_eq!(all, expected);

    let mut labels = cleanup.labels();
    labels.push(("berth.role".to_string(), "a".to_string()));
    let only_a = rt.list_containers(&labels).await.unwrap();
    assert_eq!(only_a.len(), 1);
    assert_eq!(only_a[0].id, a_id);
    assert!(!only_a[0].running);
    assert_eq!(only_a[0].exit_code, None, "never started: {:?}", only_a[0]);

    labels[1].1 = "nobody".to_string();
    assert!(rt.list_containers(&labels).await.unwrap().is_empty());

    // A second container of the same name is refused.
    assert!(matches!(rt.create_container(&a).await, Err(RuntimeError::Rejected(_))));
}

#[tokio::test]
async fn host_and_named_volumes() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let host_dir = tempfile::tempdir().unwrap();
    let volume = VolumeSpec {
        name: cleanup.name("shared"),
        driver: None,
        driver_opts: BTreeMap::new(),
        labels: BTreeMap::from([(TEST_LABEL.to_string(), cleanup.id.clone())]),
    };
    rt.create_volume(&volume).await.unwrap();
    rt.create_volume(&volume).await.unwrap(); // an existing volume is kept

    let volumes = BTreeMap::from([
        ("host".to_string(), VolumeSource::HostPath(host_dir.path().to_string_lossy().into_owned())),
        ("shared".to_string(), VolumeSource::Named(volume.name.clone())),
    ]);
    let mut writer = cleanup.spec("writer", shell("echo from-writer > /shared/note && echo on-host > /host/file"));
    writer.definition.mount_points = serde_json::from_value(json!([
        {"sourceVolume": "shared", "containerPath": "/shared"},
        {"sourceVolume": "host", "containerPath": "/host"},
    ]))
    .unwrap();
    writer.volumes = volumes.clone();
    let (state, output) = run_to_exit(&rt, &writer).await;
    assert_eq!(state.exit_code, Some(0), "{output}");
    assert_eq!(std::fs::read_to_string(host_dir.path().join("file")).unwrap(), "on-host\n");

    let mut reader = cleanup.spec("reader", shell("cat /shared/note; touch /shared/other && echo writable"));
    reader.definition.mount_points =
        serde_json::from_value(json!([{"sourceVolume": "shared", "containerPath": "/shared", "readOnly": true}]))
            .unwrap();
    reader.volumes = volumes;
    let (_, output) = run_to_exit(&rt, &reader).await;
    assert!(output.contains("from-writer"), "{output}");
    assert!(!output.contains("writable"), "read-only mount was writable: {output}");

    let mut broken = cleanup.spec("broken", json!({}));
    broken.definition.mount_points =
        serde_json::from_value(json!([{"sourceVolume": "nope", "containerPath": "/x"}])).unwrap();
    assert!(matches!(rt.create_container(&broken).await, Err(RuntimeError::Rejected(m)) if m.contains("nope")));

    // In use: refused. Once the containers are gone it can go, and going twice is fine.
    assert!(matches!(rt.remove_volume(&volume.name).await, Err(RuntimeError::Rejected(_))));
    for state in rt.list_containers(&cleanup.labels()).await.unwrap() {
        rt.remove_container(&state.id).await.unwrap();
    }
    rt.remove_volume(&volume.name).await.unwrap();
    rt.remove_volume(&volume.name).await.unwrap();
}

#[tokio::test]
async fn volumes_from_another_container() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let volume = VolumeSpec {
        name: cleanup.name("data"),
        driver: None,
        driver_opts: BTreeMap::new(),
        labels: BTreeMap::from([(TEST_LABEL.to_string(), cleanup.id.clone())]),
    };
    rt.create_volume(&volume).await.unwrap();
    let mut source = cleanup.spec("source", shell("echo shared-data > /data/f"));
    source.definition.mount_points =
        serde_json::from_value(json!([{"sourceVolume": "data", "containerPath": "/data"}])).unwrap();
    source.volumes = BTreeMap::from([("data".to_string(), VolumeSource::Named(volume.name.clone()))]);
    let source_id = run(&rt, &source).await;
    assert_eq!(wait_exit(&rt, &source_id).await.exit_code, Some(0));

    let mut reader = cleanup.spec("reader", shell("cat /data/f; touch /data/g && echo writable"));
    reader.volumes_from = vec![(source_id.clone(), true)];
    let (_, output) = run_to_exit(&rt, &reader).await;
    assert!(output.contains("shared-data"), "{output}");
    assert!(!output.contains("writable"), "{output}");

    let mut writer = cleanup.spec("writer", shell("touch /data/g && echo writable"));
    writer.volumes_from = vec![(source_id, false)];
    let (_, output) = run_to_exit(&rt, &writer).await;
    assert!(output.contains("writable"), "{output}");
}

#[tokio::test]
async fn readonly_rootfs_and_tmpfs() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let mut definition = shell(
        "touch /scratch/ok && echo tmpfs-writable; touch /root-file && echo root-writable; grep ' /scratch ' /proc/mounts",
    );
    definition["readonlyRootFilesystem"] = json!(true);
    definition["linuxParameters"] =
        json!({"tmpfs": [{"containerPath": "/scratch", "size": 8, "mountOptions": ["noexec"]}]});
    let (state, output) = run_to_exit(&rt, &cleanup.spec("ro", definition)).await;
    assert_eq!(state.exit_code, Some(0), "{output}");
    assert!(output.contains("tmpfs-writable"), "{output}");
    assert!(!output.contains("root-writable"), "{output}");
    assert!(output.contains("Read-only file system"), "{output}");
    let mount = output.lines().find(|l| l.contains(" /scratch ")).unwrap_or_default();
    assert!(mount.starts_with("tmpfs") && mount.contains("size=8192k") && mount.contains("noexec"), "{output}");
}

#[tokio::test]
async fn init_process_and_ulimits() {
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let mut definition = shell(r#"echo "$(cat /proc/1/comm) $(ulimit -n) $(ulimit -Hn)""#);
    definition["linuxParameters"] = json!({"initProcessEnabled": true});
    definition["ulimits"] = json!([{"name": "nofile", "softLimit": 1234, "hardLimit": 2345}]);
    let (state, output) = run_to_exit(&rt, &cleanup.spec("init", definition)).await;
    assert_eq!(state.exit_code, Some(0), "{output}");
    assert_eq!(output.trim(), "docker-init 1234 2345");

    let (_, output) = run_to_exit(&rt, &cleanup.spec("no-init", shell("cat /proc/1/comm; true"))).await;
    assert_eq!(output.trim(), "sh");
}

/// A bridge container reaches the credentials route on 169.254.170.2 (through its default gateway) with the
/// environment the engine gives it, and reads its own credentials; another task's id with its token is refused.
/// Skipped where the host does not have, and may not add, 169.254.170.2.
#[tokio::test]
async fn bridge_container_reads_its_credentials_on_169_254_170_2() {
    use berth_agent::credentials;
    use berth_agent::metadata::{Registry, server};
    use std::sync::Arc;

    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let gateway: std::net::IpAddr = rt.info().await.unwrap().bridge_gateway.unwrap().parse().unwrap();
    let first = tokio::net::TcpListener::bind((gateway, 0)).await.unwrap();
    let port = first.local_addr().unwrap().port();
    let second = match credentials::host::listen(port).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let registry = Registry::new(Arc::new(runtime().await));
    let store = registry.credentials().clone();
    let (id, token) = (credentials::new_id(), credentials::new_token());
    store.register(&id, "arn:aws:ecs:us-east-1:000000000000:task/c/mine", &token);
    store.set(
        &id,
        berth_model::agent::TaskCredentials {
            access_key_id: "ASIAMINE".into(),
            secret_access_key: "s".into(),
            token: "t".into(),
            expiration: 2_000_000_000.0,
            role_arn: "arn:aws:iam::000000000000:role/app".into(),
        },
    );
    let other = credentials::new_id();
    store.register(&other, "arn:aws:ecs:us-east-1:000000000000:task/c/other", &credentials::new_token());
    let server = tokio::spawn(server::serve_all(registry, vec![first, second]));

    let mut spec = cleanup.spec(
        "creds",
        shell(
            r#"wget -q -O - --header "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; echo
               wget -q -O - --header "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "${AWS_CONTAINER_CREDENTIALS_FULL_URI%/*}/$OTHER" || echo refused"#,
        ),
    );
    spec.extra_env = credentials::env(&format!("http://169.254.170.2:{port}"), &id, &token);
    spec.extra_env.push(("OTHER".into(), other));
    let (state, output) = run_to_exit(&rt, &spec).await;
    server.abort();
    let mine: Value = serde_json::from_str(output.lines().next().unwrap_or_default()).unwrap_or(Value::Null);
    assert_eq!(mine["AccessKeyId"], "ASIAMINE", "{output}");
    assert_eq!(mine["Expiration"], "2033-05-18T03:33:20Z", "{output}");
    assert!(output.contains("403 Forbidden") && output.contains("refused"), "{output}");
    assert_eq!(state.exit_code, Some(0));
}

/// The env shim in the test image (a static busybox: no libc in the image): the container's real command runs with
/// the secrets from its file in its environment, as root and as another user, while `docker inspect` shows
/// neither the values nor the variables.
#[tokio::test]
async fn the_env_shim_gives_a_container_its_secrets_without_docker_s_environment() {
    use berth_agent::secrets::shim;
    let cleanup = Cleanup::new();
    let rt = runtime().await;
    let root = tempfile::tempdir().unwrap();
    let shim_path = shim::install(&root.path().join("support")).unwrap();
    let dir = shim::container_dir(&root.path().join("tasks"), "t1", "app");
    let token = format!("hf_{}", cleanup.id);
    let entries = [("HF_TOKEN".to_owned(), token.clone()), ("MULTI".to_owned(), "line one\nline two".to_owned())];
    shim::write_env(&dir, &shim::encode("app", &entries).unwrap()).unwrap();

    // The image's own command, for a definition that sets none: the test image runs `sh`.
    let image = rt.image_command(IMAGE).await.unwrap();
    assert_eq!((image.entrypoint.as_slice(), image.cmd.as_slice()), (&[][..], &["sh".to_owned()][..]));

    // (This test's container prints the token so the test can compare; a real task's output is its own business.)
    let check = r#"test "$MULTI" = "$(printf 'line %s\nline %s' one two)" && test "$PLAIN" = 1 && echo "token=$HF_TOKEN ok as $(id -u) in $(pwd)""#;
    for (name, user) in [("root", None), ("app", Some("1000"))] {
        let mut spec = cleanup.spec(
            name,
            json!({"command": ["sh", "-c", check], "environment": [{"name": "PLAIN", "value": "1"}],
                   "workingDirectory": "/tmp", "user": user}),
        );
        spec.volumes = BTreeMap::from([
            ("secrets".to_owned(), VolumeSource::HostPath(dir.to_string_lossy().into_owned())),
            ("shim".to_owned(), VolumeSource::HostPath(shim_path.to_string_lossy().into_owned())),
        ]);
        spec.definition.mount_points = serde_json::from_value(json!([
            {"sourceVolume": "secrets", "containerPath": shim::SECRETS_DIR, "readOnly": true},
            {"sourceVolume": "shim", "containerPath": shim::SHIM_PATH, "readOnly": true},
        ]))
        .unwrap();
        let needs = shim::needs_image(&spec.definition);
        shim::wrap(&mut spec.definition, needs.then_some(&image)).unwrap();
        let id = run(&rt, &spec).await;
        let state = wait_exit(&rt, &id).await;
        let output = logs(&id);
        let uid = user.unwrap_or("0");
        assert_eq!(state.exit_code, Some(0), "{name}: {output}");
        assert!(output.contains(&format!("token={token} ok as {uid} in /tmp")), "{name}: {output}");
        let inspect = Command::new("docker").args(["inspect", &id]).output().unwrap();
        let inspect = String::from_utf8_lossy(&inspect.stdout);
        assert!(!inspect.contains(&token) && !inspect.contains("line two"), "docker inspect shows a secret: {inspect}");
        let config: Value = serde_json::from_str(&inspect).unwrap();
        let env = config[0]["Config"]["Env"].to_string();
        assert!(!env.contains("HF_TOKEN") && !env.contains("MULTI"), "{env}");
        assert_eq!(config[0]["Config"]["Entrypoint"], json!([shim::SHIM_PATH, "/run/berth/secrets/env"]));
        assert_eq!(config[0]["Config"]["Cmd"], json!(["sh", "-c", check]));
    }

    // Without its file the container does not run its command at all.
    std::fs::remove_file(dir.join(shim::ENV_FILE)).unwrap();
    let mut spec = cleanup.spec("nofile", json!({"command": ["echo", "ran"]}));
    spec.volumes = BTreeMap::from([
        ("secrets".to_owned(), VolumeSource::HostPath(dir.to_string_lossy().into_owned())),
        ("shim".to_owned(), VolumeSource::HostPath(shim_path.to_string_lossy().into_owned())),
    ]);
    spec.definition.mount_points = serde_json::from_value(json!([
        {"sourceVolume": "secrets", "containerPath": shim::SECRETS_DIR, "readOnly": true},
        {"sourceVolume": "shim", "containerPath": shim::SHIM_PATH, "readOnly": true},
    ]))
    .unwrap();
    shim::wrap(&mut spec.definition, Some(&image)).unwrap();
    let (state, output) = run_to_exit(&rt, &spec).await;
    assert_eq!(state.exit_code, Some(127), "{output}");
    assert!(output.contains("cannot read the secrets file") && !output.contains("ran\n"), "{output}");
}
