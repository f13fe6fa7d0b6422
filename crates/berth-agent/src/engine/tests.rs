//! Engine tests against the fake runtime, in paused tokio time (timeouts and SIGKILL waits pass instantly).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_model::agent::{AssignedTask, TaskCredentials, TaskRole, TaskStateChange, TaskWebIdentityToken};
use berth_model::task::{ESSENTIAL_CONTAINER_EXITED_REASON, Task, stop_code};
use berth_model::taskdef::TaskDefinition;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::*;
use crate::credentials::{self, CredentialsSource, FetchError};
use crate::metadata::Registry;
use crate::runtime::fake::{FakeCall, FakeRuntime};
use crate::runtime::{ContainerRuntime, Health, VolumeSource};

mod task_secrets;

const INSTANCE: &str = "arn:aws:ecs:us-east-1:000000000000:container-instance/c1/i-1";
const ENDPOINT: &str = "http://172.17.0.1:51679";
const CREDENTIALS_ENDPOINT: &str = "http://169.254.170.2:51679";
const ROLE: &str = "arn:aws:iam::000000000000:role/app";
const EXECUTION_ROLE: &str = "arn:aws:iam::000000000000:role/exec";
/// How long the fake server's credentials last (ECS's task credentials: 6 hours).
const LIFETIME: Duration = Duration::from_secs(6 * 3600);

/// The server's side of `GetTaskCredentials`: a new session of [`ROLE`] on every call, unless failures are queued;
/// for the execution role, a session of [`EXECUTION_ROLE`] (logged and failed apart).
#[derive(Default)]
struct FakeCredentials {
    calls: Mutex<Vec<String>>,
    failures: Mutex<VecDeque<FetchError>>,
    /// Execution role fetches (task ARNs), and their queued failures.
    execution_calls: Mutex<Vec<String>>,
    execution_failures: Mutex<VecDeque<FetchError>>,
    /// `GetTaskWebIdentityToken` calls: (task, audience).
    token_calls: Mutex<Vec<(String, String)>>,
    token_failures: Mutex<VecDeque<FetchError>>,
}

impl FakeCredentials {
    fn fail_next(&self, error: FetchError) {
        self.failures.lock().unwrap().push_back(error);
    }

    /// The task ARNs asked about, in order.
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl CredentialsSource for FakeCredentials {
    async fn fetch(&self, task_arn: &str, role: TaskRole) -> Result<TaskCredentials, FetchError> {
        if role == TaskRole::Execution {
            let n = {
                let mut calls = self.execution_calls.lock().unwrap();
                calls.push(task_arn.to_owned());
                calls.len()
            };
            if let Some(error) = self.execution_failures.lock().unwrap().pop_front() {
                return Err(error);
            }
            return Ok(TaskCredentials {
                access_key_id: format!("ASIAEXEC{n}"),
                secret_access_key: format!("exec-secret-{n}"),
                token: format!("exec-session-{n}"),
                expiration: credentials::epoch_now() + LIFETIME.as_secs_f64(),
                role_arn: EXECUTION_ROLE.to_owned(),
            });
        }
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(task_arn.to_owned());
            calls.len()
        };
        if let Some(error) = self.failures.lock().unwrap().pop_front() {
            return Err(error);
        }
        Ok(TaskCredentials {
            access_key_id: format!("ASIA{n}"),
            secret_access_key: format!("secret-{n}"),
            token: format!("session-{n}"),
            expiration: credentials::epoch_now() + LIFETIME.as_secs_f64(),
            role_arn: ROLE.to_owned(),
        })
    }

    /// A new token for the audience on every call (`<audience>.<task>.<n>`), valid an hour.
    async fn web_identity_token(&self, task_arn: &str, audience: &str) -> Result<TaskWebIdentityToken, FetchError> {
        let n = {
            let mut calls = self.token_calls.lock().unwrap();
            calls.push((task_arn.to_owned(), audience.to_owned()));
            calls.len()
        };
        if let Some(error) = self.token_failures.lock().unwrap().pop_front() {
            return Err(error);
        }
        let id = task_arn.rsplit('/').next().unwrap_or_default();
        Ok(TaskWebIdentityToken {
            token: format!("{audience}.{id}.{n}"),
            expiration: credentials::epoch_now() + TOKEN_LIFETIME.as_secs_f64(),
        })
    }
}

/// How long the fake server's web identity tokens last (Berth's: an hour).
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// Where an engine keeps its files, and the CA it has for tasks.
#[derive(Clone, Default)]
struct Dirs {
    tasks: Option<std::path::PathBuf>,
    support: Option<std::path::PathBuf>,
    ca_bundle: Option<String>,
}

struct Harness {
    fake: Arc<FakeRuntime>,
    creds: Arc<FakeCredentials>,
    secrets: Arc<task_secrets::FakeSecrets>,
    engine: Arc<Engine>,
    registry: Arc<Registry>,
    reports: mpsc::UnboundedReceiver<TaskStateChange>,
    seen: Vec<TaskStateChange>,
    events: JoinHandle<()>,
    dirs: Dirs,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_runtime(Arc::new(FakeRuntime::new()))
    }

    fn with_runtime(fake: Arc<FakeRuntime>) -> Harness {
        Harness::with_cleanup_wait(fake, Duration::ZERO)
    }

    fn with_cleanup_wait(fake: Arc<FakeRuntime>, cleanup_wait: Duration) -> Harness {
        Harness::build(fake, cleanup_wait, Dirs::default())
    }

    /// An engine that keeps task files (web identity tokens) under `tasks_dir`.
    fn with_tasks_dir(tasks_dir: &std::path::Path) -> Harness {
        Harness::with_dirs(Dirs { tasks: Some(tasks_dir.to_owned()), ..Dirs::default() })
    }

    fn with_dirs(dirs: Dirs) -> Harness {
        Harness::build(Arc::new(FakeRuntime::new()), Duration::ZERO, dirs)
    }

    fn build(fake: Arc<FakeRuntime>, cleanup_wait: Duration, dirs: Dirs) -> Harness {
        let runtime: Arc<dyn ContainerRuntime> = fake.clone();
        let registry = Registry::new(runtime.clone());
        let (tx, reports) = mpsc::unbounded_channel();
        let config = EngineConfig {
            cluster: "c1".into(),
            container_instance_arn: INSTANCE.into(),
            availability_zone: Some("us-east-1a".into()),
            default_stop_timeout: Duration::from_secs(30),
            metadata_endpoint: Some(ENDPOINT.into()),
            credentials_endpoint: Some(CREDENTIALS_ENDPOINT.into()),
            cleanup_wait,
            tasks_dir: dirs.tasks.clone(),
            support_dir: dirs.support.clone(),
            ca_bundle: dirs.ca_bundle.clone(),
        };
        let engine = Engine::new(runtime, config, tx, registry.clone());
        let creds = Arc::new(FakeCredentials::default());
        engine.set_credentials_source(creds.clone());
        let secrets = Arc::new(task_secrets::FakeSecrets::default());
        engine.set_secrets_source(secrets.clone());
        let events = {
            let engine = engine.clone();
            tokio::spawn(async move {
                loop {
                    engine.run_events().await;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        Harness { fake, creds, secrets, engine, registry, reports, seen: Vec::new(), events, dirs }
    }

    /// A new engine on the same runtime, as after an agent restart (the old one is dropped).
    async fn restart(self) -> Harness {
        let Harness { fake, engine, events, dirs, .. } = self;
        events.abort();
        let _ = events.await;
        drop(engine);
        // Let the old actors see their engine is gone.
        tokio::time::sleep(Duration::from_millis(10)).await;
        Harness::build(fake, Duration::ZERO, dirs)
    }

    /// Waits for a report matching `pred`, keeping every report seen.
    async fn until(&mut self, what: &str, pred: impl Fn(&TaskStateChange) -> bool) -> TaskStateChange {
        let wait = async {
            loop {
                let Some(report) = self.reports.recv().await else { panic!("report channel closed") };
                self.seen.push(report.clone());
                if pred(&report) {
                    return report;
                }
            }
        };
        match tokio::time::timeout(Duration::from_secs(600), wait).await {
            Ok(report) => report,
            Err(_) => panic!("no report {what}; seen: {:#?}", self.seen),
        }
    }

    async fn status(&mut self, status: &str) -> TaskStateChange {
        self.until(status, |r| r.status.as_deref() == Some(status)).await
    }

    /// Lets every actor run until nothing is left to do; returns the reports that came meanwhile.
    async fn settle(&mut self) -> Vec<TaskStateChange> {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut out = Vec::new();
        while let Ok(report) = self.reports.try_recv() {
            self.seen.push(report.clone());
            out.push(report);
        }
        out
    }

    async fn apply(&self, tasks: &[&AssignedTask]) {
        self.engine.apply_manifest(tasks.iter().map(|t| (*t).clone()).collect()).await;
    }

    fn creates(&self) -> Vec<String> {
        self.fake
            .calls()
            .into_iter()
            .filter_map(|c| match c {
                FakeCall::Create { container, .. } => Some(container),
                _ => None,
            })
            .collect()
    }
}

fn container<'a>(report: &'a TaskStateChange, name: &str) -> &'a berth_model::agent::ContainerStateChange {
    report.containers.iter().find(|c| c.container_name.as_deref() == Some(name)).expect("container in report")
}

/// A task of family `web` revision 3 with these container definitions and extra task definition fields.
fn task(id: &str, containers: Value, extra: Value) -> AssignedTask {
    let mut def = json!({"family": "web", "revision": 3, "containerDefinitions": containers});
    if let (Some(obj), Some(extra)) = (def.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    let def: TaskDefinition = serde_json::from_value(def).unwrap();
    let arn = format!("arn:aws:ecs:us-east-1:000000000000:task/c1/{id}");
    let task: Task = serde_json::from_value(json!({
        "taskArn": arn,
        "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/c1",
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3",
        "containerInstanceArn": INSTANCE,
        "lastStatus": "PENDING",
        "desiredStatus": "RUNNING",
        "containers": def.container_definitions.iter().map(|c| json!({
            "containerArn": format!("arn:aws:ecs:us-east-1:000000000000:container/c1/{id}/{}", c.name),
            "taskArn": arn,
            "name": c.name,
            "image": c.image,
            "lastStatus": "PENDING",
        })).collect::<Vec<_>>(),
        "overrides": {"containerOverrides": []},
        "createdAt": 1.0,
        "version": 1,
    }))
    .unwrap();
    AssignedTask { task, task_definition: def }
}

fn stopped(t: &AssignedTask) -> AssignedTask {
    let mut t = t.clone();
    t.task.desired_status = "STOPPED".into();
    t
}

/// The task as the server knows it after `report` (what a restarted agent's manifest carries).
fn as_reported(t: &AssignedTask, report: &TaskStateChange) -> AssignedTask {
    let mut t = t.clone();
    if let Some(status) = &report.status {
        t.task.last_status = status.clone();
    }
    t.task.started_at = report.started_at;
    t.task.pull_started_at = report.pull_started_at;
    t.task.pull_stopped_at = report.pull_stopped_at;
    for c in &report.containers {
        if let Some(server) = t.task.containers.iter_mut().find(|s| Some(&s.name) == c.container_name.as_ref()) {
            server.runtime_id = c.runtime_id.clone();
            server.last_status = c.status.clone().unwrap_or_default();
            server.exit_code = c.exit_code;
        }
    }
    t
}

#[tokio::test(start_paused = true)]
async fn lifecycle_pending_running_stopped() {
    let mut h = Harness::new();
    let t = task(
        "t1",
        json!([{"name": "app", "image": "busybox", "cpu": 256, "memory": 128,
                "portMappings": [{"containerPort": 80}]}]),
        json!({"cpu": "512", "memory": "1024"}),
    );
    h.apply(&[&t]).await;

    let pending = h.status("PENDING").await;
    assert_eq!(pending.cluster.as_deref(), Some("c1"));
    assert_eq!(pending.task.as_deref(), Some(t.task.task_arn.as_str()));
    assert!(pending.pull_started_at.is_some());
    assert_eq!(container(&pending, "app").status.as_deref(), Some("PENDING"));

    let running = h.status("RUNNING").await;
    let app = container(&running, "app");
    assert_eq!(app.status.as_deref(), Some("RUNNING"));
    assert!(app.runtime_id.is_some());
    assert!(app.image_digest.as_deref().is_some_and(|d| d.starts_with("sha256:")));
    assert_eq!(app.health_status, None);
    let binding = &app.network_bindings[0];
    assert_eq!(binding.bind_ip.as_deref(), Some("0.0.0.0"));
    assert_eq!((binding.container_port, binding.host_port), (Some(80), Some(49153)));
    assert_eq!(binding.protocol.as_deref(), Some("tcp"));
    let (pull_started, pull_stopped, started) =
        (running.pull_started_at.unwrap(), running.pull_stopped_at.unwrap(), running.started_at.unwrap());
    assert!(pull_started <= pull_stopped && pull_stopped <= started);
    assert_eq!(running.stop_code, None);
    assert_eq!(h.engine.active_tasks(), 1);

    // The metadata endpoint sees the task through the container's token.
    let spec = h.fake.spec("app").unwrap();
    let token = spec.labels.get(METADATA_TOKEN_LABEL).unwrap().clone();
    assert!(spec.extra_env.contains(&("ECS_CONTAINER_METADATA_URI_V4".into(), format!("{ENDPOINT}/v4/{token}"))));
    assert!(spec.extra_env.contains(&("ECS_CONTAINER_METADATA_URI".into(), format!("{ENDPOINT}/v3/{token}"))));
    let (meta, meta_container) = h.registry.lookup(&token).unwrap();
    assert_eq!(meta.known_status, "RUNNING");
    assert_eq!(meta.desired_status, "RUNNING");
    assert_eq!(meta.cpu_limit, Some(0.5));
    assert_eq!(meta.memory_limit, Some(1024));
    assert_eq!(meta.family, "web");
    assert_eq!(meta.revision, "3");
    assert_eq!(meta.availability_zone.as_deref(), Some("us-east-1a"));
    assert_eq!(meta_container.docker_id, app.runtime_id);
    assert_eq!(meta_container.known_status, "RUNNING");
    assert_eq!(meta_container.cpu_limit, 256);
    assert_eq!(meta_container.memory_limit, Some(128));
    assert_eq!(meta_container.ports[0].host_port, Some(49153));
    assert_eq!(meta_container.networks.len(), 1);
    assert!(!meta_container.labels.contains_key(METADATA_TOKEN_LABEL));
    assert_eq!(meta_container.labels.get("berth.task-arn"), Some(&t.task.task_arn));

    // StopTask.
    h.apply(&[&stopped(&t)]).await;
    let stopping = h.status("STOPPING").await;
    assert!(stopping.stopping_at.is_some());
    assert_eq!(stopping.stop_code, None);
    let done = h.status("STOPPED").await;
    let app = container(&done, "app");
    assert_eq!((app.status.as_deref(), app.exit_code), (Some("STOPPED"), Some(143)));
    assert!(done.execution_stopped_at.unwrap() >= done.stopping_at.unwrap());
    assert_eq!(done.stop_code, None);
    assert_eq!(h.engine.active_tasks(), 0);
    assert_eq!(h.registry.lookup(&token).unwrap().0.known_status, "STOPPED");

    // Still in the manifest: nothing is removed. Gone from it: cleaned up.
    h.apply(&[&stopped(&t)]).await;
    h.settle().await;
    assert_eq!(h.fake.container_ids().len(), 1);
    h.apply(&[]).await;
    h.settle().await;
    assert!(h.fake.container_ids().is_empty());
    assert!(h.registry.lookup(&token).is_none());
    // Every report carried the container list.
    assert!(h.seen.iter().all(|r| r.containers.len() == 1 && r.cluster.as_deref() == Some("c1")));
}

#[tokio::test(start_paused = true)]
async fn specs_carry_overrides_labels_and_options() {
    let mut h = Harness::new();
    let mut t = task(
        "t-over",
        json!([
            {"name": "app", "image": "busybox", "command": ["sleep", "1"], "cpu": 10, "memory": 64,
             "environment": [{"name": "A", "value": "1"}], "stopTimeout": 7,
             "dockerLabels": {"team": "x"},
             "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}},
             "volumesFrom": [{"sourceContainer": "data", "readOnly": true}]},
            {"name": "data", "image": "busybox",
             "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "1m"}}}
        ]),
        json!({"networkMode": "awsvpc", "pidMode": "task"}),
    );
    t.task.overrides = serde_json::from_value(json!({"containerOverrides": [
        {"name": "app", "command": ["sleep", "2"], "environment": [{"name": "A", "value": "2"}, {"name": "B", "value": "3"}],
         "memory": 96}
    ]}))
    .unwrap();
    t.task.containers[0].gpu_ids = vec!["0".into()];
    h.apply(&[&t]).await;
    h.status("RUNNING").await;

    // volumesFrom: data is created first.
    assert_eq!(h.creates(), vec!["data", "app"]);
    let data = h.fake.spec("data").unwrap();
    let app = h.fake.spec("app").unwrap();
    let data_id = h.fake.state_of("data").unwrap().id;
    assert_eq!(app.runtime_name, "berth-web-3-app-t-over");
    assert_eq!(app.definition.command, Some(vec!["sleep".into(), "2".into()]));
    let env: Vec<(Option<String>, Option<String>)> =
        app.definition.environment.iter().map(|e| (e.name.clone(), e.value.clone())).collect();
    assert_eq!(env, vec![(Some("A".into()), Some("2".into())), (Some("B".into()), Some("3".into()))]);
    assert_eq!((app.definition.cpu, app.definition.memory), (Some(10), Some(96)));
    assert_eq!(app.network_mode, "bridge");
    assert_eq!(app.stop_timeout, Duration::from_secs(7));
    assert_eq!(data.stop_timeout, Duration::from_secs(30));
    // awslogs (or nothing) runs as a bounded json-file the agent ships from.
    assert_eq!(app.log_driver, Some(crate::logs::json_file_driver()));
    assert_eq!(data.log_driver.as_ref().map(|(d, _)| d.as_str()), Some("json-file"));
    assert_eq!(app.volumes_from, vec![(data_id.clone(), true)]);
    assert_eq!(app.gpu_ids, vec!["0".to_owned()]);
    assert_eq!(app.pid_mode.as_deref(), Some("task"));
    assert_eq!(app.namespace_owner.as_deref(), Some(data_id.as_str()));
    assert_eq!(data.namespace_owner, None);
    for (k, v) in [
        ("team", "x"),
        ("berth.task-arn", t.task.task_arn.as_str()),
        ("berth.container-name", "app"),
        ("berth.cluster", "c1"),
        ("berth.container-instance", INSTANCE),
        ("berth.task-definition-family", "web"),
        ("berth.task-definition-version", "3"),
    ] {
        assert_eq!(app.labels.get(k).map(String::as_str), Some(v), "label {k}");
    }
}

#[tokio::test(start_paused = true)]
async fn containers_publish_the_host_ports_the_server_assigned() {
    let mut h = Harness::new();
    let mut t = task(
        "t-ports",
        json!([{"name": "app", "image": "busybox", "portMappings": [
            {"containerPort": 80},
            {"containerPort": 53, "protocol": "udp"},
            {"containerPort": 443, "hostPort": 8443},
            {"containerPort": 9000, "hostPort": 0}
        ]}]),
        json!({}),
    );
    t.task.containers[0].network_bindings = serde_json::from_value(json!([
        {"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 50080, "protocol": "tcp"},
        {"bindIP": "0.0.0.0", "containerPort": 53, "hostPort": 50053, "protocol": "udp"}
    ]))
    .unwrap();
    h.apply(&[&t]).await;
    let running = h.status("RUNNING").await;

    let spec = h.fake.spec("app").unwrap();
    let host_ports: Vec<Option<i32>> = spec.definition.port_mappings.iter().map(|m| m.host_port).collect();
    assert_eq!(host_ports, vec![Some(50080), Some(50053), Some(8443), Some(0)]);
    // The report carries what the runtime published: the server's ports, the fixed one, and one the runtime
    // picked for the mapping the server assigned nothing.
    let reported: Vec<(Option<i32>, Option<i32>, Option<&str>)> = container(&running, "app")
        .network_bindings
        .iter()
        .map(|b| (b.container_port, b.host_port, b.protocol.as_deref()))
        .collect();
    assert_eq!(
        reported,
        vec![
            (Some(80), Some(50080), Some("tcp")),
            (Some(53), Some(50053), Some("udp")),
            (Some(443), Some(8443), Some("tcp")),
            (Some(9000), Some(49153), Some("tcp")),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn depends_on_orders_starts() {
    let mut h = Harness::new();
    let t = task(
        "t-deps",
        json!([
            {"name": "sidecar", "image": "busybox", "dependsOn": [{"containerName": "app", "condition": "START"}]},
            {"name": "app", "image": "busybox", "dependsOn": [
                {"containerName": "init", "condition": "SUCCESS"},
                {"containerName": "db", "condition": "HEALTHY"},
                {"containerName": "migrate", "condition": "COMPLETE"}]},
            {"name": "init", "image": "busybox", "essential": false},
            {"name": "migrate", "image": "busybox", "essential": false},
            {"name": "db", "image": "busybox",
             "healthCheck": {"command": ["CMD-SHELL", "true"]}}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    h.status("PENDING").await;
    h.settle().await;
    let mut first = h.fake.started();
    first.sort();
    assert_eq!(first, vec!["db", "init", "migrate"], "containers without dependencies start together");

    h.fake.exit("init", 0);
    h.settle().await;
    h.fake.exit("migrate", 5);
    h.settle().await;
    assert_eq!(h.fake.started().len(), 3, "app waits for db to be healthy");
    let last = h.seen.last().unwrap();
    assert_eq!(container(last, "db").health_status.as_deref(), Some("UNKNOWN"));
    assert_eq!(container(last, "migrate").exit_code, Some(5));

    h.fake.set_health("db", Health::Healthy);
    let running = h.status("RUNNING").await;
    assert_eq!(&h.fake.started()[3..], ["app", "sidecar"]);
    assert_eq!(container(&running, "db").health_status.as_deref(), Some("HEALTHY"));
    assert_eq!(container(&running, "init").exit_code, Some(0));
    assert_eq!(container(&running, "init").status.as_deref(), Some("STOPPED"));
    assert_eq!(container(&running, "migrate").exit_code, Some(5));
    assert_eq!(container(&running, "app").status.as_deref(), Some("RUNNING"));
}

#[tokio::test(start_paused = true)]
async fn success_dependency_failing_fails_the_task() {
    let mut h = Harness::new();
    let t = task(
        "t-succ",
        json!([
            {"name": "init", "image": "busybox", "essential": false},
            {"name": "app", "image": "busybox", "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    h.status("PENDING").await;
    h.settle().await;
    h.fake.exit("init", 1);
    let done = h.status("STOPPED").await;
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::TASK_FAILED_TO_START));
    assert_eq!(
        done.reason.as_deref(),
        Some("Dependency condition SUCCESS of container app on container init not met: init exited with code 1")
    );
    assert_eq!(container(&done, "app").reason.as_deref(), Some(DEPENDENCY_NOT_SATISFIED_REASON));
    assert_eq!(container(&done, "app").status.as_deref(), Some("STOPPED"));
    assert_eq!(container(&done, "init").exit_code, Some(1));
    assert_eq!(h.fake.started(), vec!["init"]);
    assert!(!h.seen.iter().any(|r| r.status.as_deref() == Some("RUNNING")));
}

#[tokio::test(start_paused = true)]
async fn start_timeout_gives_up_on_a_dependency() {
    let mut h = Harness::new();
    let t = task(
        "t-timeout",
        json!([
            {"name": "db", "image": "busybox", "healthCheck": {"command": ["CMD", "true"]}},
            {"name": "app", "image": "busybox", "startTimeout": 10,
             "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    h.status("PENDING").await;
    let began = tokio::time::Instant::now();
    h.status("STOPPING").await;
    assert!(began.elapsed() >= Duration::from_secs(10));
    let done = h.status("STOPPED").await;
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::TASK_FAILED_TO_START));
    assert_eq!(
        done.reason.as_deref(),
        Some("Dependency condition HEALTHY of container app on container db not met: timed out after 10s")
    );
    assert_eq!(container(&done, "db").exit_code, Some(143));
    assert_eq!(h.fake.started(), vec!["db"]);
}

#[tokio::test(start_paused = true)]
async fn essential_exit_stops_the_others_in_reverse_order() {
    let mut h = Harness::new();
    let t = task(
        "t-ess",
        json!([
            {"name": "db", "image": "busybox"},
            {"name": "app", "image": "busybox", "dependsOn": [{"containerName": "db", "condition": "START"}]},
            {"name": "proxy", "image": "busybox", "dependsOn": [{"containerName": "app", "condition": "START"}]},
            {"name": "worker", "image": "busybox"}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    assert_eq!(h.fake.started()[..3].iter().filter(|n| *n == "db" || *n == "worker").count(), 2);
    h.fake.exit("worker", 2);
    let stopping = h.status("STOPPING").await;
    assert_eq!(stopping.stop_code.as_deref(), Some(stop_code::ESSENTIAL_CONTAINER_EXITED));
    assert_eq!(stopping.reason.as_deref(), Some(ESSENTIAL_CONTAINER_EXITED_REASON));
    let done = h.status("STOPPED").await;
    let order: Vec<String> = h.fake.stopped().into_iter().map(|(name, _)| name).collect();
    assert_eq!(order, vec!["proxy", "app", "db"]);
    assert_eq!(container(&done, "worker").exit_code, Some(2));
    for name in ["db", "app", "proxy"] {
        assert_eq!(container(&done, name).exit_code, Some(143), "{name}");
    }
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::ESSENTIAL_CONTAINER_EXITED));
    assert!(done.execution_stopped_at.is_some());
}

#[tokio::test(start_paused = true)]
async fn non_essential_exit_only_records_the_exit_code() {
    let mut h = Harness::new();
    let t = task(
        "t-noness",
        json!([
            {"name": "app", "image": "busybox"},
            {"name": "helper", "image": "busybox", "essential": false}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    h.fake.exit("helper", 4);
    let report = h.until("helper exit", |r| container(r, "helper").exit_code == Some(4)).await;
    assert_eq!(report.status, None);
    assert_eq!(container(&report, "helper").status.as_deref(), Some("STOPPED"));
    assert_eq!(container(&report, "app").status.as_deref(), Some("RUNNING"));
    h.settle().await;
    assert_eq!(h.engine.active_tasks(), 1);
    assert!(h.fake.stopped().is_empty());
}

#[tokio::test(start_paused = true)]
async fn stop_task_kills_after_the_stop_timeout() {
    let mut h = Harness::new();
    let t = task(
        "t-kill",
        json!([
            {"name": "db", "image": "busybox"},
            {"name": "app", "image": "busybox", "stopTimeout": 5,
             "environment": [{"name": "BERTH_FAKE_IGNORE_SIGTERM", "value": "1"}],
             "dependsOn": [{"containerName": "db", "condition": "START"}]}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    h.apply(&[&stopped(&t)]).await;
    h.status("STOPPING").await;
    let began = tokio::time::Instant::now();
    let done = h.status("STOPPED").await;
    assert!(began.elapsed() >= Duration::from_secs(5));
    assert_eq!(h.fake.stopped(), vec![("app".to_owned(), true), ("db".to_owned(), false)]);
    let timeouts: Vec<Duration> = h
        .fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            FakeCall::Stop { timeout, .. } => Some(timeout),
            _ => None,
        })
        .collect();
    assert_eq!(timeouts, vec![Duration::from_secs(5), Duration::from_secs(30)]);
    assert_eq!(container(&done, "app").exit_code, Some(137));
    assert_eq!(container(&done, "db").exit_code, Some(143));
}

#[tokio::test(start_paused = true)]
async fn pull_failure_fails_the_task() {
    let mut h = Harness::new();
    h.fake.fail_pull("private/app:1", "pull access denied for private/app");
    let t = task(
        "t-pull",
        json!([{"name": "app", "image": "private/app:1"}, {"name": "side", "image": "busybox"}]),
        json!({}),
    );
    h.apply(&[&t]).await;
    let done = h.status("STOPPED").await;
    let reason = "CannotPullContainerError: pull access denied for private/app";
    assert_eq!(done.reason.as_deref(), Some(reason));
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::TASK_FAILED_TO_START));
    assert_eq!(container(&done, "app").reason.as_deref(), Some(reason));
    assert_eq!(container(&done, "side").status.as_deref(), Some("STOPPED"));
    assert_eq!(container(&done, "side").reason, None);
    assert!(done.pull_started_at.is_some() && done.pull_stopped_at.is_some());
    assert!(h.creates().is_empty());
    assert!(!h.seen.iter().any(|r| r.status.as_deref() == Some("STOPPING")));
}

#[tokio::test(start_paused = true)]
async fn oom_is_reported_as_the_container_reason() {
    let mut h = Harness::new();
    let t = task("t-oom", json!([{"name": "app", "image": "busybox", "memory": 16}]), json!({}));
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    h.fake.oom("app");
    let done = h.status("STOPPED").await;
    let app = container(&done, "app");
    assert_eq!(app.reason.as_deref(), Some(OOM_REASON));
    assert_eq!(app.exit_code, Some(137));
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::ESSENTIAL_CONTAINER_EXITED));
}

#[tokio::test(start_paused = true)]
async fn start_failure_stops_what_already_runs() {
    let mut h = Harness::new();
    h.fake.fail_start("app", "OCI runtime create failed: exec: \"nope\": not found");
    let t = task(
        "t-startfail",
        json!([
            {"name": "db", "image": "busybox"},
            {"name": "app", "image": "busybox", "dependsOn": [{"containerName": "db", "condition": "START"}]}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    h.status("STOPPING").await;
    let done = h.status("STOPPED").await;
    let reason = "CannotStartContainerError: OCI runtime create failed: exec: \"nope\": not found";
    assert_eq!(done.reason.as_deref(), Some(reason));
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::TASK_FAILED_TO_START));
    assert_eq!(container(&done, "app").reason.as_deref(), Some(reason));
    assert_eq!(container(&done, "db").exit_code, Some(143));

    h.fake.fail_create("web", "invalid mount config");
    let t2 = task("t-createfail", json!([{"name": "web", "image": "busybox"}]), json!({}));
    h.apply(&[&t, &t2]).await;
    let done = h
        .until("create failure", |r| r.task == Some(t2.task.task_arn.clone()) && r.status.as_deref() == Some("STOPPED"))
        .await;
    assert_eq!(done.reason.as_deref(), Some("CannotCreateContainerError: invalid mount config"));
}

#[tokio::test(start_paused = true)]
async fn stop_during_pull_cancels_it() {
    let mut h = Harness::new();
    h.fake.remove_image("big:1");
    h.fake.set_pull_delay(Some(Duration::from_secs(3600)));
    let t = task("t-cancel", json!([{"name": "app", "image": "big:1"}]), json!({}));
    h.apply(&[&t]).await;
    h.status("PENDING").await;
    h.settle().await;
    let began = tokio::time::Instant::now();
    h.apply(&[&stopped(&t)]).await;
    let done = h.status("STOPPED").await;
    assert!(began.elapsed() < Duration::from_secs(60));
    assert_eq!(done.stop_code, None);
    assert!(h.creates().is_empty());
}

#[tokio::test(start_paused = true)]
async fn stopped_before_start_reports_stopped_directly() {
    let mut h = Harness::new();
    let t = stopped(&task("t-never", json!([{"name": "app", "image": "busybox"}]), json!({})));
    h.apply(&[&t]).await;
    let done = h.status("STOPPED").await;
    assert_eq!(container(&done, "app").status.as_deref(), Some("STOPPED"));
    assert_eq!(h.seen.len(), 1);
    assert!(h.fake.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn health_changes_are_reported() {
    let mut h = Harness::new();
    let t = task(
        "t-health",
        json!([{"name": "app", "image": "busybox", "healthCheck": {"command": ["CMD", "true"]}}]),
        json!({}),
    );
    h.apply(&[&t]).await;
    let running = h.status("RUNNING").await;
    assert_eq!(container(&running, "app").health_status.as_deref(), Some("UNKNOWN"));
    h.fake.set_health_with_output("app", Health::Unhealthy, Some("boom"));
    let report = h.until("unhealthy", |r| container(r, "app").health_status.as_deref() == Some("UNHEALTHY")).await;
    assert_eq!(report.status, None);
    h.settle().await;
    let token = h.fake.spec("app").unwrap().labels.get(METADATA_TOKEN_LABEL).unwrap().clone();
    let health = h.registry.lookup(&token).unwrap().1.health.unwrap();
    assert_eq!(health.status, "UNHEALTHY");
    assert_eq!(health.output.as_deref(), Some("boom"));
    assert!(health.status_since.is_some());
    h.fake.set_health_with_output("app", Health::Healthy, Some("ok"));
    h.until("healthy", |r| container(r, "app").health_status.as_deref() == Some("HEALTHY")).await;
    // Health does not stop the task.
    h.settle().await;
    assert_eq!(h.engine.active_tasks(), 1);
    let health = h.registry.lookup(&token).unwrap().1.health.unwrap();
    assert_eq!(health.status, "HEALTHY");
    assert_eq!(health.output.as_deref(), Some("ok"));
}

#[tokio::test(start_paused = true)]
async fn manifest_application_is_idempotent() {
    let mut h = Harness::new();
    let t = task("t-idem", json!([{"name": "app", "image": "busybox"}]), json!({}));
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    h.settle().await;
    let calls = h.fake.calls().len();
    for _ in 0..5 {
        h.apply(&[&t]).await;
    }
    assert!(h.settle().await.is_empty());
    assert_eq!(h.fake.calls().len(), calls);
}

#[tokio::test(start_paused = true)]
async fn task_volumes_are_created_and_removed() {
    let mut h = Harness::new();
    let t = task(
        "t-vol",
        json!([{"name": "app", "image": "busybox", "mountPoints": [
            {"sourceVolume": "scratch", "containerPath": "/s"},
            {"sourceVolume": "data", "containerPath": "/d"},
            {"sourceVolume": "dv", "containerPath": "/v"},
            {"sourceVolume": "common", "containerPath": "/c"}]}]),
        json!({"volumes": [
            {"name": "scratch", "host": {}},
            {"name": "data", "host": {"sourcePath": "/srv/data"}},
            {"name": "dv", "dockerVolumeConfiguration": {"scope": "task", "driver": "local",
                "driverOpts": {"type": "tmpfs"}, "labels": {"a": "b"}}},
            {"name": "common", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true}}
        ]}),
    );
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    let mut volumes = h.fake.volume_names();
    volumes.sort();
    assert_eq!(volumes, vec!["berth-t-vol-dv", "berth-t-vol-scratch", "common"]);
    let dv = h.fake.volume("berth-t-vol-dv").unwrap();
    assert_eq!(dv.driver.as_deref(), Some("local"));
    assert_eq!(dv.driver_opts.get("type").map(String::as_str), Some("tmpfs"));
    assert_eq!(dv.labels.get("a").map(String::as_str), Some("b"));
    let spec = h.fake.spec("app").unwrap();
    assert_eq!(spec.volumes.get("data"), Some(&VolumeSource::HostPath("/srv/data".into())));
    assert_eq!(spec.volumes.get("scratch"), Some(&VolumeSource::Named("berth-t-vol-scratch".into())));
    assert_eq!(spec.volumes.get("common"), Some(&VolumeSource::Named("common".into())));

    h.apply(&[&stopped(&t)]).await;
    h.status("STOPPED").await;
    h.apply(&[]).await;
    h.settle().await;
    assert_eq!(h.fake.volume_names(), vec!["common"]);
    assert!(h.fake.container_ids().is_empty());
}

#[tokio::test(start_paused = true)]
async fn stopped_containers_stay_for_the_cleanup_wait() {
    let mut h = Harness::with_cleanup_wait(Arc::new(FakeRuntime::new()), Duration::from_secs(600));
    let t = task("t-wait", json!([{"name": "app", "image": "busybox"}]), json!({}));
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    h.apply(&[&stopped(&t)]).await;
    h.status("STOPPED").await;
    // The server drops a stopped task from the manifest at once; its container stays to be inspected.
    h.apply(&[]).await;
    h.settle().await;
    assert_eq!(h.fake.container_ids().len(), 1);
    tokio::time::advance(Duration::from_secs(300)).await;
    h.apply(&[]).await;
    h.settle().await;
    assert_eq!(h.fake.container_ids().len(), 1, "still inside the wait");
    tokio::time::advance(Duration::from_secs(301)).await;
    h.apply(&[]).await;
    h.settle().await;
    assert!(h.fake.container_ids().is_empty(), "removed once the wait is over");
}

#[tokio::test(start_paused = true)]
async fn orphans_are_stopped_and_removed() {
    let mut h = Harness::new();
    let t = task("t-orphan", json!([{"name": "app", "image": "busybox"}]), json!({}));
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    // The server forgot the task while it ran.
    h.apply(&[]).await;
    let after = h.settle().await;
    assert!(after.is_empty(), "an orphan is not reported: {after:?}");
    assert_eq!(h.fake.stopped().len(), 1);
    assert!(h.fake.container_ids().is_empty());
    assert_eq!(h.engine.active_tasks(), 0);

    // Containers of an earlier agent whose task is not in the manifest.
    let t2 = task("t-orphan2", json!([{"name": "app", "image": "busybox"}]), json!({}));
    h.apply(&[&t2]).await;
    h.status("RUNNING").await;
    let mut h = h.restart().await;
    assert_eq!(h.engine.adopt_existing().await.unwrap(), 1);
    h.apply(&[]).await;
    h.settle().await;
    assert!(h.fake.container_ids().is_empty());
    assert_eq!(h.fake.running_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn restart_adopts_running_containers() {
    let mut h = Harness::new();
    let t = task(
        "t-adopt",
        json!([
            {"name": "db", "image": "busybox"},
            {"name": "app", "image": "busybox", "portMappings": [{"containerPort": 8080}],
             "dependsOn": [{"containerName": "db", "condition": "START"}]}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    let running = h.status("RUNNING").await;
    let token = h.fake.spec("app").unwrap().labels.get(METADATA_TOKEN_LABEL).unwrap().clone();
    let server = as_reported(&t, &running);

    let mut h = h.restart().await;
    h.fake.clear_calls();
    assert_eq!(h.engine.adopt_existing().await.unwrap(), 2);
    h.apply(&[&server]).await;
    let report = h.until("adopted snapshot", |_| true).await;
    assert_eq!(report.status, None, "still RUNNING: no status change");
    let app = container(&report, "app");
    assert_eq!(app.status.as_deref(), Some("RUNNING"));
    assert_eq!(app.runtime_id, container(&running, "app").runtime_id);
    assert_eq!(app.network_bindings, container(&running, "app").network_bindings);
    h.settle().await;
    assert!(h.creates().is_empty());
    assert!(h.fake.started().is_empty());
    assert_eq!(h.engine.active_tasks(), 1);
    // The metadata token survived.
    assert_eq!(h.registry.lookup(&token).unwrap().0.known_status, "RUNNING");

    // The adopted task still reacts: an essential exit stops it.
    h.fake.exit("db", 1);
    let done = h.status("STOPPED").await;
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::ESSENTIAL_CONTAINER_EXITED));
    assert_eq!(container(&done, "db").exit_code, Some(1));
    assert_eq!(container(&done, "app").exit_code, Some(143));
}

#[tokio::test(start_paused = true)]
async fn exits_and_removals_while_down_are_reported() {
    let mut h = Harness::new();
    let t = task(
        "t-down",
        json!([
            {"name": "app", "image": "busybox"},
            {"name": "helper", "image": "busybox", "essential": false},
            {"name": "side", "image": "busybox", "essential": false}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    let running = h.status("RUNNING").await;
    let server = as_reported(&t, &running);
    let mut h = h.restart().await;
    h.fake.exit("helper", 3);
    h.fake.forget_container("side");
    h.fake.clear_calls();
    h.engine.adopt_existing().await.unwrap();
    h.apply(&[&server]).await;
    let report = h.until("exit while down", |r| container(r, "helper").exit_code == Some(3)).await;
    assert_eq!(container(&report, "helper").status.as_deref(), Some("STOPPED"));
    assert_eq!(container(&report, "side").status.as_deref(), Some("STOPPED"));
    assert_eq!(container(&report, "side").reason.as_deref(), Some(CONTAINER_MISSING_REASON));
    assert_eq!(container(&report, "app").status.as_deref(), Some("RUNNING"));
    h.settle().await;
    assert_eq!(h.engine.active_tasks(), 1);
    assert!(h.creates().is_empty());

    // The essential container exits while the agent is down again: the task stops with its real exit code.
    let server = as_reported(&t, h.seen.last().unwrap());
    let mut h = h.restart().await;
    h.fake.exit("app", 42);
    h.engine.adopt_existing().await.unwrap();
    let mut server = server;
    server.task.last_status = "RUNNING".into();
    h.apply(&[&server]).await;
    let done = h.status("STOPPED").await;
    assert_eq!(container(&done, "app").exit_code, Some(42));
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::ESSENTIAL_CONTAINER_EXITED));
    assert_eq!(done.reason.as_deref(), Some(ESSENTIAL_CONTAINER_EXITED_REASON));
    assert_eq!(container(&done, "helper").exit_code, Some(3));
}

#[tokio::test(start_paused = true)]
async fn restart_continues_a_half_started_task() {
    let mut h = Harness::new();
    let t = task(
        "t-half",
        json!([
            {"name": "init", "image": "busybox", "essential": false},
            {"name": "app", "image": "busybox", "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    h.status("PENDING").await;
    h.settle().await;
    let pending = h.seen.last().unwrap().clone();
    let server = as_reported(&t, &pending);
    let mut h = h.restart().await;
    h.fake.exit("init", 0);
    h.fake.clear_calls();
    h.engine.adopt_existing().await.unwrap();
    h.apply(&[&server]).await;
    let running = h.status("RUNNING").await;
    assert_eq!(container(&running, "init").exit_code, Some(0));
    assert!(h.creates().is_empty(), "app was created by the earlier agent");
    assert_eq!(h.fake.started(), vec!["app"]);
}

#[tokio::test(start_paused = true)]
async fn server_stopped_task_with_running_containers_is_stopped() {
    let mut h = Harness::new();
    let t = task("t-lost", json!([{"name": "app", "image": "busybox"}]), json!({}));
    h.apply(&[&t]).await;
    let running = h.status("RUNNING").await;
    let mut server = stopped(&as_reported(&t, &running));
    server.task.last_status = "STOPPED".into();
    let mut h = h.restart().await;
    h.engine.adopt_existing().await.unwrap();
    h.apply(&[&server]).await;
    h.settle().await;
    assert_eq!(h.fake.running_count(), 0);
    assert_eq!(h.fake.stopped().len(), 1);
    assert_eq!(h.engine.active_tasks(), 0);
    h.apply(&[]).await;
    h.settle().await;
    assert!(h.fake.container_ids().is_empty());
}

#[tokio::test(start_paused = true)]
async fn many_tasks_on_a_hollow_runtime() {
    let fake = Arc::new(FakeRuntime::hollow());
    let mut h = Harness::with_runtime(fake);
    let tasks: Vec<AssignedTask> = (0..200)
        .map(|i| {
            task(
                &format!("h{i}"),
                json!([{"name": "app", "image": "busybox", "portMappings": [{"containerPort": 80}],
                        "healthCheck": {"command": ["CMD", "true"]}}]),
                json!({}),
            )
        })
        .collect();
    let refs: Vec<&AssignedTask> = tasks.iter().collect();
    h.apply(&refs).await;
    h.settle().await;
    h.settle().await;
    assert_eq!(h.engine.active_tasks(), 200);
    assert_eq!(h.fake.running_count(), 200);
    let running = h.seen.iter().filter(|r| r.status.as_deref() == Some("RUNNING")).count();
    assert_eq!(running, 200);
    assert!(h.fake.calls().is_empty(), "the hollow runtime keeps no call log");
    h.apply(&[]).await;
    h.settle().await;
    assert_eq!(h.fake.container_ids().len(), 0);
    assert_eq!(h.engine.active_tasks(), 0);
}

#[tokio::test(start_paused = true)]
async fn restart_creates_containers_the_earlier_agent_never_created() {
    let mut h = Harness::new();
    let t = task(
        "t-never-created",
        json!([
            {"name": "db", "image": "busybox", "healthCheck": {"command": ["CMD", "true"]}},
            {"name": "app", "image": "busybox", "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
            {"name": "probe", "image": "busybox", "essential": false}
        ]),
        json!({}),
    );
    h.apply(&[&t]).await;
    h.status("PENDING").await;
    h.settle().await;
    // As if the earlier agent died before creating app: the container is gone and the server never heard of it.
    let mut server = as_reported(&t, h.seen.last().unwrap());
    let mut h = h.restart().await;
    h.fake.forget_container("app");
    server.task.containers[1].runtime_id = None;
    h.fake.clear_calls();
    h.engine.adopt_existing().await.unwrap();
    h.apply(&[&server]).await;
    h.settle().await;
    assert_eq!(h.creates(), vec!["app"]);
    assert!(h.fake.started().is_empty(), "app waits for db's health");
    h.fake.set_health("db", Health::Healthy);
    let running = h.status("RUNNING").await;
    assert_eq!(h.fake.started(), vec!["app"]);
    assert_eq!(container(&running, "app").runtime_id, h.fake.state_of("app").map(|s| s.id));
}

/// A running task whose one container restarts after 60 s of running, unless it exits 0.
async fn running_with_restart_policy(id: &str) -> Harness {
    let mut h = Harness::new();
    let t = task(
        id,
        json!([{"name": "app", "image": "busybox",
                "restartPolicy": {"enabled": true, "ignoredExitCodes": [0], "restartAttemptPeriod": 60}}]),
        json!({}),
    );
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    h
}

#[tokio::test(start_paused = true)]
async fn restart_policy_restarts_in_place_and_gives_up_on_fast_failures() {
    let mut h = running_with_restart_policy("t-restart").await;
    // Ran longer than the attempt period: restarted, the task goes on.
    tokio::time::advance(Duration::from_secs(61)).await;
    h.fake.exit("app", 1);
    h.settle().await;
    assert_eq!(h.fake.started().iter().filter(|n| *n == "app").count(), 2, "started again");
    assert!(h.seen.iter().all(|r| r.status.as_deref() != Some("STOPPING")), "the task did not stop");
    let spec = h.fake.spec("app").unwrap();
    let uri = &spec.extra_env.iter().find(|(k, _)| k == "ECS_CONTAINER_METADATA_URI_V4").unwrap().1;
    let (_, metadata) = h.registry.lookup(uri.rsplit('/').next().unwrap()).unwrap();
    assert_eq!(metadata.restart_count, Some(1), "the metadata endpoint shows the restart");
    // Failing again before the period is over: no restart; the essential exit stops the task.
    tokio::time::advance(Duration::from_secs(5)).await;
    h.fake.exit("app", 1);
    let done = h.status("STOPPED").await;
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::ESSENTIAL_CONTAINER_EXITED));
    assert_eq!(container(&done, "app").exit_code, Some(1));
}

#[tokio::test(start_paused = true)]
async fn restart_policy_ignores_listed_exit_codes() {
    let mut h = running_with_restart_policy("t-ignored").await;
    tokio::time::advance(Duration::from_secs(61)).await;
    h.fake.exit("app", 0);
    let done = h.status("STOPPED").await;
    assert_eq!(container(&done, "app").exit_code, Some(0));
    assert_eq!(h.fake.started().iter().filter(|n| *n == "app").count(), 1);
}

/// The value of `name` in the environment the agent adds to `container`.
fn extra_env(h: &Harness, container: &str, name: &str) -> Option<String> {
    h.fake.spec(container)?.extra_env.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The credentials id and token a container was given, read back from its environment.
fn credentials_of(h: &Harness, container: &str) -> (String, String) {
    let uri = extra_env(h, container, credentials::FULL_URI_ENV).expect("credentials URI");
    let id = uri.strip_prefix(&format!("{CREDENTIALS_ENDPOINT}/v2/credentials/")).expect("URI on 169.254.170.2");
    let token = extra_env(h, container, credentials::AUTHORIZATION_TOKEN_ENV).expect("authorization token");
    (id.to_owned(), token)
}

#[tokio::test(start_paused = true)]
async fn task_role_credentials_reach_only_tasks_with_a_role() {
    let mut h = Harness::new();
    let with_role = task(
        "t-role",
        json!([{"name": "app", "image": "busybox"}, {"name": "side", "image": "busybox"}]),
        json!({"taskRoleArn": ROLE}),
    );
    let mut overridden = task("t-role-override", json!([{"name": "job", "image": "busybox"}]), json!({}));
    overridden.task.overrides.task_role_arn = Some(ROLE.to_owned());
    let plain = task("t-no-role", json!([{"name": "web", "image": "busybox"}]), json!({}));
    h.apply(&[&with_role, &overridden, &plain]).await;
    for _ in 0..3 {
        h.status("RUNNING").await;
    }
    let mut asked = h.creds.calls();
    asked.sort();
    let mut expected = vec![with_role.task.task_arn.clone(), overridden.task.task_arn.clone()];
    expected.sort();
    assert_eq!(asked, expected, "one fetch per task with a role, none for the other");

    // Both containers of a task share its credentials; the entry serves the fetched session.
    let (id, token) = credentials_of(&h, "app");
    assert_eq!(credentials_of(&h, "side"), (id.clone(), token.clone()));
    assert_eq!(token.len(), 64);
    let entry = h.registry.credentials().get(&id).expect("served");
    assert_eq!((entry.task_arn.as_str(), entry.token.as_str()), (with_role.task.task_arn.as_str(), token.as_str()));
    let served = entry.credentials.expect("fetched");
    assert!(served.access_key_id.starts_with("ASIA"));
    assert_eq!(served.role_arn, ROLE);
    // The override's task has its own id and token.
    let (job_id, job_token) = credentials_of(&h, "job");
    assert_ne!((&job_id, &job_token), (&id, &token));
    assert!(h.registry.credentials().get(&job_id).is_some_and(|e| e.credentials.is_some()));
    assert_eq!(h.registry.credentials().len(), 2);
    // No credentials environment without a role; the metadata environment is there as before.
    assert_eq!(extra_env(&h, "web", credentials::FULL_URI_ENV), None);
    assert_eq!(extra_env(&h, "web", credentials::AUTHORIZATION_TOKEN_ENV), None);
    assert!(extra_env(&h, "web", "ECS_CONTAINER_METADATA_URI_V4").is_some());
    assert!(extra_env(&h, "app", "ECS_CONTAINER_METADATA_URI_V4").is_some());
    // The token is kept in a label (for a restarted agent) but not shown by the metadata endpoint.
    let labels = h.fake.spec("app").unwrap().labels;
    assert_eq!(labels.get(credentials::TOKEN_LABEL), Some(&token));
    let meta_token = labels.get(METADATA_TOKEN_LABEL).unwrap();
    let (_, meta) = h.registry.lookup(meta_token).unwrap();
    assert!(!meta.labels.contains_key(credentials::TOKEN_LABEL) && !meta.labels.contains_key(credentials::ID_LABEL));
}

#[tokio::test(start_paused = true)]
async fn a_role_that_cannot_be_assumed_fails_the_task_before_any_container() {
    let mut h = Harness::new();
    h.creds.fail_next(FetchError::Refused {
        code: "UnknownOperationException".to_owned(),
        message: "GetTaskCredentials is not an operation".to_owned(),
    });
    let t = task("t-bad-role", json!([{"name": "app", "image": "busybox"}]), json!({"taskRoleArn": ROLE}));
    h.apply(&[&t]).await;
    let done = h.status("STOPPED").await;
    let reason = credentials::assume_role_failure(ROLE);
    assert_eq!(
        reason,
        format!(
            "CannotStartContainerError: ECS was unable to assume the role '{ROLE}' that was provided for this task. \
             Please verify that the role being passed has the proper trust relationship and permissions and that \
             your IAM user has permissions to pass this role."
        )
    );
    assert_eq!(done.reason.as_deref(), Some(reason.as_str()));
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::TASK_FAILED_TO_START));
    assert_eq!(container(&done, "app").status.as_deref(), Some("STOPPED"));
    // Refused once: no retry, no pull, no container.
    assert_eq!(h.creds.calls().len(), 1);
    assert!(h.fake.calls().is_empty(), "{:?}", h.fake.calls());
    assert!(h.registry.credentials().is_empty());
    assert!(!h.seen.iter().any(|r| r.status.as_deref() == Some("RUNNING")));
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_server_is_retried_then_fails_the_task() {
    let mut h = Harness::new();
    // Two transport failures, then an answer: the task starts.
    for _ in 0..2 {
        h.creds.fail_next(FetchError::Unavailable("connection refused".to_owned()));
    }
    let t = task("t-retry", json!([{"name": "app", "image": "busybox"}]), json!({"taskRoleArn": ROLE}));
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    assert_eq!(h.creds.calls().len(), 3);

    // Down for longer than the start allows: the task fails, naming the cause.
    for _ in 0..100 {
        h.creds.fail_next(FetchError::Unavailable("connection refused".to_owned()));
    }
    let t2 = task("t-down", json!([{"name": "job", "image": "busybox"}]), json!({"taskRoleArn": ROLE}));
    let began = tokio::time::Instant::now();
    h.apply(&[&t, &t2]).await;
    let done = h
        .until("t-down stopped", |r| {
            r.task.as_ref() == Some(&t2.task.task_arn) && r.status.as_deref() == Some("STOPPED")
        })
        .await;
    assert!(began.elapsed() <= credentials::START_FETCH_DEADLINE);
    let reason = done.reason.unwrap_or_default();
    assert!(reason.starts_with("ResourceInitializationError: unable to get credentials") && reason.contains(ROLE));
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::TASK_FAILED_TO_START));
    assert!(h.fake.spec("job").is_none());
}

#[tokio::test(start_paused = true)]
async fn credentials_are_refreshed_before_they_expire() {
    let mut h = Harness::new();
    let t = task("t-rotate", json!([{"name": "app", "image": "busybox"}]), json!({"taskRoleArn": ROLE}));
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    let (id, _) = credentials_of(&h, "app");
    let key = |h: &Harness| h.registry.credentials().get(&id).and_then(|e| e.credentials).map(|c| c.access_key_id);
    assert_eq!(key(&h).as_deref(), Some("ASIA1"));

    // A third of the 6 h lifetime left comes after 4 h; not before.
    tokio::time::sleep(Duration::from_secs(4 * 3600 - 60)).await;
    assert_eq!(h.creds.calls().len(), 1);
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(h.creds.calls().len(), 2);
    assert_eq!(key(&h).as_deref(), Some("ASIA2"));

    // A failing refresh is retried with backoff, meanwhile the endpoint serves the credentials it has.
    for _ in 0..3 {
        h.creds.fail_next(FetchError::Unavailable("server down".to_owned()));
    }
    // The last refresh was 4 h in, 60 s ago: the next is due 4 h after it; wake half a second past that.
    tokio::time::sleep(Duration::from_millis((4 * 3600 - 60) * 1000 + 500)).await;
    assert_eq!(h.creds.calls().len(), 3);
    assert_eq!(key(&h).as_deref(), Some("ASIA2"));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(h.creds.calls().len(), 6, "three failures, then an answer");
    assert_eq!(key(&h).as_deref(), Some("ASIA6"));
    h.settle().await;
    assert!(h.settle().await.is_empty(), "a refresh is not a task state change");
}

#[tokio::test(start_paused = true)]
async fn credentials_go_when_the_task_stops() {
    let mut h = Harness::new();
    let t = task("t-gone", json!([{"name": "app", "image": "busybox"}]), json!({"taskRoleArn": ROLE}));
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    let (id, _) = credentials_of(&h, "app");
    assert!(h.registry.credentials().get(&id).is_some());
    h.apply(&[&stopped(&t)]).await;
    h.status("STOPPED").await;
    assert!(h.registry.credentials().get(&id).is_none());
    // Nor are they refreshed any more.
    let calls = h.creds.calls().len();
    tokio::time::sleep(LIFETIME * 2).await;
    assert_eq!(h.creds.calls().len(), calls);
    assert!(h.registry.credentials().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_restarted_agent_serves_the_same_credentials_id_again() {
    let mut h = Harness::new();
    let t = task("t-role-adopt", json!([{"name": "app", "image": "busybox"}]), json!({"taskRoleArn": ROLE}));
    h.apply(&[&t]).await;
    let running = h.status("RUNNING").await;
    let (id, token) = credentials_of(&h, "app");
    let server = as_reported(&t, &running);

    let mut h = h.restart().await;
    h.fake.clear_calls();
    assert!(h.registry.credentials().is_empty());
    h.engine.adopt_existing().await.unwrap();
    h.apply(&[&server]).await;
    h.settle().await;
    assert!(h.creates().is_empty());
    // The containers' environment is what it was; the new agent fetched for it and serves it there.
    let entry = h.registry.credentials().get(&id).expect("served again under the same id");
    assert_eq!(entry.token, token);
    assert!(entry.credentials.is_some());
    assert_eq!(h.creds.calls(), vec![t.task.task_arn.clone()]);
}

// ---- web identity tokens ----

const AUDIENCE: &str = berth_model::agent::web_identity::AUDIENCE_LABEL;
const ROLE_ARN_LABEL: &str = berth_model::agent::web_identity::ROLE_ARN_LABEL;

/// Waits (in real time: the files are written on blocking threads) until `cond` holds.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
        tokio::task::yield_now().await;
    }
    panic!("{what}: not within 2 s");
}

fn read(path: &std::path::Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn token_calls(h: &Harness) -> Vec<(String, String)> {
    h.creds.token_calls.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn web_identity_tokens_reach_the_containers_that_ask_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::with_tasks_dir(dir.path());
    let t = task(
        "t-oidc",
        json!([
            {"name": "app", "image": "busybox",
             "dockerLabels": {AUDIENCE: "sts.amazonaws.com", ROLE_ARN_LABEL: "arn:aws:iam::111122223333:role/s3"}},
            {"name": "side", "image": "busybox", "dockerLabels": {AUDIENCE: "minio"}},
            {"name": "plain", "image": "busybox"},
        ]),
        json!({"taskRoleArn": ROLE}),
    );
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    // The role's credentials first, then one token per audience, before the containers.
    assert_eq!(h.creds.calls().len(), 1);
    let arn = t.task.task_arn.clone();
    assert_eq!(token_calls(&h), vec![(arn.clone(), "sts.amazonaws.com".to_owned()), (arn.clone(), "minio".to_owned())]);
    let app_dir = dir.path().join("t-oidc/web-identity/app");
    let side_dir = dir.path().join("t-oidc/web-identity/side");
    assert_eq!(read(&app_dir.join("token")).as_deref(), Some("sts.amazonaws.com.t-oidc.1"));
    assert_eq!(read(&side_dir.join("token")).as_deref(), Some("minio.t-oidc.2"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(app_dir.join("token")).unwrap().permissions().mode() & 0o777, 0o644);
    }
    assert!(!dir.path().join("t-oidc/web-identity/plain").exists());

    // The directory is mounted read-only where the environment says; the role only where the label names one.
    let spec = h.fake.spec("app").unwrap();
    let mount = spec.definition.mount_points.last().expect("a mount point");
    assert_eq!(mount.container_path.as_deref(), Some("/var/run/secrets/berth/web-identity"));
    assert_eq!(mount.read_only, Some(true));
    let source = mount.source_volume.clone().unwrap();
    assert_eq!(spec.volumes.get(&source), Some(&VolumeSource::HostPath(app_dir.to_string_lossy().into_owned())));
    let file = "/var/run/secrets/berth/web-identity/token";
    assert_eq!(extra_env(&h, "app", "AWS_WEB_IDENTITY_TOKEN_FILE").as_deref(), Some(file));
    assert_eq!(extra_env(&h, "app", "AWS_ROLE_ARN").as_deref(), Some("arn:aws:iam::111122223333:role/s3"));
    assert_eq!(extra_env(&h, "app", "AWS_ROLE_SESSION_NAME").as_deref(), Some("t-oidc"));
    assert_eq!(extra_env(&h, "side", "AWS_WEB_IDENTITY_TOKEN_FILE").as_deref(), Some(file));
    assert_eq!(extra_env(&h, "side", "AWS_ROLE_ARN"), None);
    assert_eq!(extra_env(&h, "plain", "AWS_WEB_IDENTITY_TOKEN_FILE"), None);
    assert!(h.fake.spec("plain").unwrap().definition.mount_points.is_empty());
    // The task role's credentials are there as for any task with a role.
    assert!(extra_env(&h, "app", credentials::FULL_URI_ENV).is_some());

    // Refreshed at 80% of the hour (48 minutes), not before; the file is replaced.
    tokio::time::sleep(Duration::from_secs(48 * 60 - 30)).await;
    assert_eq!(token_calls(&h).len(), 2);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(token_calls(&h).len(), 4);
    eventually("refreshed tokens written", || {
        read(&app_dir.join("token")).is_some_and(|t| t.starts_with("sts.amazonaws.com.t-oidc.") && !t.ends_with(".1"))
            && read(&side_dir.join("token")).is_some_and(|t| !t.ends_with(".2"))
    })
    .await;

    // The task stops: the directory goes, no more refreshes.
    h.apply(&[&stopped(&t)]).await;
    h.status("STOPPED").await;
    assert!(!dir.path().join("t-oidc").exists());
    let calls = token_calls(&h).len();
    tokio::time::sleep(Duration::from_secs(3 * 3600)).await;
    assert_eq!(token_calls(&h).len(), calls);
    assert!(!dir.path().join("t-oidc").exists());
}

#[tokio::test(start_paused = true)]
async fn a_token_without_a_task_role_fails_the_task_with_a_clear_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::with_tasks_dir(dir.path());
    let t =
        task("t-no-role", json!([{"name": "app", "image": "busybox", "dockerLabels": {AUDIENCE: "s3"}}]), json!({}));
    h.apply(&[&t]).await;
    let done = h.status("STOPPED").await;
    let reason = done.reason.unwrap_or_default();
    assert!(
        reason.starts_with("ResourceInitializationError: container app asks for a web identity token")
            && reason.contains("no task role (taskRoleArn)"),
        "{reason}"
    );
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::TASK_FAILED_TO_START));
    assert!(token_calls(&h).is_empty() && h.creds.calls().is_empty());
    assert!(h.fake.calls().is_empty(), "nothing pulled or created: {:?}", h.fake.calls());

    // Wrong labels, and an agent without a directory for the files, fail the same way.
    let bad = task(
        "t-bad-label",
        json!([{"name": "app", "image": "busybox", "dockerLabels": {AUDIENCE: "s3", ROLE_ARN_LABEL: "s3-role"}}]),
        json!({"taskRoleArn": ROLE}),
    );
    h.apply(&[&t, &bad]).await;
    let done = h
        .until("t-bad-label stopped", |r| {
            r.task.as_ref() == Some(&bad.task.task_arn) && r.status.as_deref() == Some("STOPPED")
        })
        .await;
    assert!(done.reason.unwrap_or_default().contains("is not a role ARN"));
    let mut no_dir = Harness::new();
    let t2 = task(
        "t-no-dir",
        json!([{"name": "app", "image": "busybox", "dockerLabels": {AUDIENCE: "s3"}}]),
        json!({"taskRoleArn": ROLE}),
    );
    no_dir.apply(&[&t2]).await;
    let done = no_dir.status("STOPPED").await;
    assert!(done.reason.unwrap_or_default().contains("no directory for task files"));
    assert!(no_dir.fake.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_refused_token_fails_the_task_before_any_container() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::with_tasks_dir(dir.path());
    h.creds.token_failures.lock().unwrap().push_back(FetchError::Refused {
        code: "InvalidParameterException".to_owned(),
        message: "audience 's3' is not named by any container of the task's definition".to_owned(),
    });
    let t = task(
        "t-refused",
        json!([{"name": "app", "image": "busybox", "dockerLabels": {AUDIENCE: "s3"}}]),
        json!({"taskRoleArn": ROLE}),
    );
    h.apply(&[&t]).await;
    let done = h.status("STOPPED").await;
    let reason = done.reason.unwrap_or_default();
    assert!(
        reason.starts_with("ResourceInitializationError: unable to get a web identity token for audience 's3'")
            && reason.contains("InvalidParameterException"),
        "{reason}"
    );
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::TASK_FAILED_TO_START));
    assert_eq!(token_calls(&h).len(), 1, "a refusal is not retried");
    assert!(h.fake.calls().is_empty(), "{:?}", h.fake.calls());
    assert!(!dir.path().join("t-refused").exists());

    // A server that does not answer is retried at start.
    for _ in 0..2 {
        h.creds.token_failures.lock().unwrap().push_back(FetchError::Unavailable("connection refused".to_owned()));
    }
    let t2 = task(
        "t-retried",
        json!([{"name": "job", "image": "busybox", "dockerLabels": {AUDIENCE: "s3"}}]),
        json!({"taskRoleArn": ROLE}),
    );
    h.apply(&[&t, &t2]).await;
    h.until("t-retried running", |r| {
        r.task.as_ref() == Some(&t2.task.task_arn) && r.status.as_deref() == Some("RUNNING")
    })
    .await;
    assert_eq!(token_calls(&h).len(), 4);
    assert_eq!(read(&dir.path().join("t-retried/web-identity/job/token")).as_deref(), Some("s3.t-retried.4"));
}

#[tokio::test(start_paused = true)]
async fn a_restarted_agent_refreshes_an_adopted_task_s_tokens_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::with_tasks_dir(dir.path());
    let t = task(
        "t-oidc-adopt",
        json!([{"name": "app", "image": "busybox", "dockerLabels": {AUDIENCE: "s3"}}]),
        json!({"taskRoleArn": ROLE}),
    );
    h.apply(&[&t]).await;
    let running = h.status("RUNNING").await;
    let token = dir.path().join("t-oidc-adopt/web-identity/app/token");
    assert_eq!(read(&token).as_deref(), Some("s3.t-oidc-adopt.1"));
    let server = as_reported(&t, &running);

    let mut h = h.restart().await;
    // What the containers still see is the old process's token (expired, say).
    std::fs::write(&token, "stale").unwrap();
    h.fake.clear_calls();
    h.engine.adopt_existing().await.unwrap();
    h.apply(&[&server]).await;
    h.settle().await;
    assert!(h.creates().is_empty());
    assert_eq!(token_calls(&h), vec![(t.task.task_arn.clone(), "s3".to_owned())]);
    // (The new process's fake source counts from 1 again.)
    eventually("the adopted task's token rewritten", || read(&token).as_deref() == Some("s3.t-oidc-adopt.1")).await;
    h.apply(&[&stopped(&server)]).await;
    h.status("STOPPED").await;
    assert!(!dir.path().join("t-oidc-adopt").exists());
}

#[tokio::test(start_paused = true)]
async fn an_orphan_s_tokens_go_with_its_containers() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Harness::with_tasks_dir(dir.path());
    let t = task(
        "t-oidc-orphan",
        json!([{"name": "app", "image": "busybox", "dockerLabels": {AUDIENCE: "s3"}}]),
        json!({"taskRoleArn": ROLE}),
    );
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    assert!(dir.path().join("t-oidc-orphan/web-identity/app/token").exists());
    // A restarted agent finds the containers of a task the server no longer assigns it.
    let mut h = h.restart().await;
    assert_eq!(h.engine.adopt_existing().await.unwrap(), 1);
    h.apply(&[]).await;
    h.settle().await;
    assert!(h.fake.container_ids().is_empty());
    eventually("the orphan's token directory deleted", || !dir.path().join("t-oidc-orphan").exists()).await;
}
