//! Tasks on real Docker through `berth up` (server and agent in one process), driven by aws-sdk-ecs: the web
//! container on its dynamic host port, dependency ordering, essential exits, stop escalation, OOM, a missing
//! image, the metadata endpoint, and an agent killed with SIGKILL and restarted while its tasks run.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    ContainerCondition, ContainerDefinition, ContainerDependency, HealthCheck, KeyValuePair, PortMapping, Task,
};
use berth_e2e::{Berth, http_get, test_image};

fn container(name: &str, command: &[&str]) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder()
        .name(name)
        .image(test_image())
        .memory(64)
        .set_command(Some(command.iter().map(|s| s.to_string()).collect()))
}

async fn register(ecs: &Client, family: &str, containers: Vec<ContainerDefinition>) {
    ecs.register_task_definition()
        .family(family)
        .set_container_definitions(Some(containers))
        .send()
        .await
        .expect("register task definition");
}

async fn run(ecs: &Client, family: &str, count: i32) -> Vec<Task> {
    let out = ecs.run_task().task_definition(family).count(count).send().await.expect("run task");
    assert!(out.failures().is_empty(), "failures: {:?}", out.failures());
    out.tasks().to_vec()
}

async fn describe(ecs: &Client, arn: &str) -> Task {
    let out = ecs.describe_tasks().tasks(arn).send().await.expect("describe");
    out.tasks().first().cloned().expect("task")
}

/// Polls DescribeTasks until `done` holds (60 s at most).
async fn wait_for(ecs: &Client, arn: &str, what: &str, done: impl Fn(&Task) -> bool) -> Task {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = describe(ecs, arn).await;
        if done(&t) {
            return t;
        }
        assert!(Instant::now() < deadline, "task did not become {what}: {t:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_status(ecs: &Client, arn: &str, status: &str) -> Task {
    wait_for(ecs, arn, status, |t| t.last_status() == Some(status)).await
}

fn started(dir: &std::path::Path) -> Berth {
    test_image();
    let berth = Berth::start(dir);
    berth.wait_agent();
    berth
}

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn web_tasks_answer_on_dynamic_host_ports_and_stop_on_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    let web = container("web", &["httpd", "-f", "-p", "80", "-h", "/www"])
        .port_mappings(PortMapping::builder().container_port(80).build())
        .stop_timeout(2)
        .build();
    register(&ecs, "web", vec![web]).await;

    let tasks = run(&ecs, "web", 3).await;
    assert_eq!(tasks.len(), 3);
    let mut ports = Vec::new();
    for t in &tasks {
        let t = wait_status(&ecs, t.task_arn().expect("arn"), "RUNNING").await;
        assert!(t.started_at().is_some() && t.pull_started_at().is_some() && t.pull_stopped_at().is_some());
        let c = &t.containers()[0];
        assert_eq!(c.last_status(), Some("RUNNING"));
        assert!(c.runtime_id().is_some());
        let binding = &c.network_bindings()[0];
        assert_eq!(binding.container_port(), Some(80));
        let port = binding.host_port().expect("host port");
        assert!(http_get(port).contains("berth ok"), "web container on {port} did not answer");
        ports.push(port);
    }
    ports.dedup();
    assert_eq!(ports.len(), 3, "three distinct host ports");

    let instance = berth.wait_agent();
    let described = ecs.describe_container_instances().container_instances(&instance).send().await.expect("ci");
    let ci = &described.container_instances()[0];
    assert_eq!(ci.running_tasks_count(), 3);
    assert!(ci.agent_connected());

    let arn = tasks[0].task_arn().expect("arn").to_owned();
    ecs.stop_task().task(&arn).reason("done").send().await.expect("stop");
    let t = wait_status(&ecs, &arn, "STOPPED").await;
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    assert_eq!(t.stopped_reason(), Some("done"));
    assert!(t.stopping_at().is_some() && t.execution_stopped_at().is_some() && t.stopped_at().is_some());
    assert!(t.version() >= 4, "version bumps on every change: {}", t.version());
    let c = &t.containers()[0];
    assert_eq!(c.last_status(), Some("STOPPED"));
    assert!(c.exit_code().is_some(), "exit code reported: {c:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn app_waits_for_a_healthy_sidecar() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    let sidecar = container("sidecar", &["sh", "-c", "sleep 2; touch /tmp/ready; sleep 600"])
        .health_check(
            HealthCheck::builder()
                .command("CMD-SHELL")
                .command("test -f /tmp/ready")
                .interval(5)
                .retries(3)
                .timeout(2)
                .build()
                .expect("health check"),
        )
        .essential(false)
        .build();
    let app = container("app", &["sleep", "600"])
        .depends_on(
            ContainerDependency::builder()
                .container_name("sidecar")
                .condition(ContainerCondition::Healthy)
                .build()
                .expect("dependency"),
        )
        .build();
    register(&ecs, "sidecar", vec![sidecar, app]).await;
    let arn = run(&ecs, "sidecar", 1).await[0].task_arn().expect("arn").to_owned();
    let pending = wait_for(&ecs, &arn, "sidecar running", |t| {
        t.containers().iter().any(|c| c.name() == Some("sidecar") && c.last_status() == Some("RUNNING"))
    })
    .await;
    let app_state = pending.containers().iter().find(|c| c.name() == Some("app")).expect("app");
    assert_eq!(app_state.last_status(), Some("PENDING"), "app must wait for the sidecar's health");
    let t = wait_status(&ecs, &arn, "RUNNING").await;
    let side = t.containers().iter().find(|c| c.name() == Some("sidecar")).expect("sidecar");
    assert_eq!(side.health_status().map(|h| h.as_str()), Some("HEALTHY"));
}

#[tokio::test(flavor = "multi_thread")]
async fn success_dependency_gates_the_app() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    let migrate =
        |code: i32| container("migrate", &["sh", "-c", &format!("sleep 1; exit {code}")]).essential(false).build();
    let app = container("app", &["sleep", "600"])
        .depends_on(
            ContainerDependency::builder()
                .container_name("migrate")
                .condition(ContainerCondition::Success)
                .build()
                .expect("dependency"),
        )
        .build();
    register(&ecs, "migrate-ok", vec![migrate(0), app.clone()]).await;
    register(&ecs, "migrate-bad", vec![migrate(1), app]).await;

    let ok = run(&ecs, "migrate-ok", 1).await[0].task_arn().expect("arn").to_owned();
    let t = wait_status(&ecs, &ok, "RUNNING").await;
    let m = t.containers().iter().find(|c| c.name() == Some("migrate")).expect("migrate");
    assert_eq!((m.last_status(), m.exit_code()), (Some("STOPPED"), Some(0)));

    let bad = run(&ecs, "migrate-bad", 1).await[0].task_arn().expect("arn").to_owned();
    let t = wait_status(&ecs, &bad, "STOPPED").await;
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    let m = t.containers().iter().find(|c| c.name() == Some("migrate")).expect("migrate");
    assert_eq!(m.exit_code(), Some(1));
    let a = t.containers().iter().find(|c| c.name() == Some("app")).expect("app");
    assert!(a.exit_code().is_none(), "app never ran: {a:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn essential_exit_stops_the_sibling_and_stubborn_containers_are_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    let main = container("main", &["sh", "-c", "sleep 2; exit 3"]).build();
    // Ignores SIGTERM: only SIGKILL after stopTimeout ends it.
    let stubborn = container("stubborn", &["sh", "-c", "trap '' TERM; while true; do sleep 1; done"])
        .essential(false)
        .stop_timeout(2)
        .build();
    register(&ecs, "essential", vec![main, stubborn]).await;
    let arn = run(&ecs, "essential", 1).await[0].task_arn().expect("arn").to_owned();
    let t = wait_status(&ecs, &arn, "STOPPED").await;
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));
    assert_eq!(t.stopped_reason(), Some("Essential container in task exited"));
    let main = t.containers().iter().find(|c| c.name() == Some("main")).expect("main");
    assert_eq!(main.exit_code(), Some(3));
    let stubborn = t.containers().iter().find(|c| c.name() == Some("stubborn")).expect("stubborn");
    assert_eq!(stubborn.exit_code(), Some(137), "SIGKILL after stopTimeout");
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_memory_and_missing_images_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    // Reading 200 MB of zeros into a shell variable exceeds the 32 MiB limit.
    let hog = ContainerDefinition::builder()
        .name("hog")
        .image(test_image())
        .memory(32)
        .command("sh")
        .command("-c")
        .command("x=$(head -c 200000000 /dev/zero | tr '\\000' a); sleep 60")
        .build();
    register(&ecs, "hog", vec![hog]).await;
    let arn = run(&ecs, "hog", 1).await[0].task_arn().expect("arn").to_owned();
    let t = wait_status(&ecs, &arn, "STOPPED").await;
    let c = &t.containers()[0];
    assert!(c.reason().is_some_and(|r| r.starts_with("OutOfMemoryError")), "{c:?}");
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));

    let ghost = ContainerDefinition::builder().name("ghost").image("berth-test/does-not-exist:1").memory(32).build();
    register(&ecs, "ghost", vec![ghost]).await;
    let arn = run(&ecs, "ghost", 1).await[0].task_arn().expect("arn").to_owned();
    let t = wait_status(&ecs, &arn, "STOPPED").await;
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    assert!(t.stopped_reason().is_some_and(|r| r.starts_with("CannotPullContainerError:")), "{t:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_endpoint_and_overrides_reach_the_container() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    let probe = container(
        "probe",
        &["sh", "-c", "echo $GREETING; wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task; echo; sleep 600"],
    )
    .environment(KeyValuePair::builder().name("GREETING").value("hello").build())
    .build();
    register(&ecs, "probe", vec![probe]).await;
    let out = ecs
        .run_task()
        .task_definition("probe")
        .overrides(
            aws_sdk_ecs::types::TaskOverride::builder()
                .container_overrides(
                    aws_sdk_ecs::types::ContainerOverride::builder()
                        .name("probe")
                        .environment(KeyValuePair::builder().name("GREETING").value("overridden").build())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("run");
    let arn = out.tasks()[0].task_arn().expect("arn").to_owned();
    let t = wait_status(&ecs, &arn, "RUNNING").await;
    let id = t.containers()[0].runtime_id().expect("runtime id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let logs = loop {
        let logs = docker(&["logs", &id]);
        if logs.contains("TaskARN") || Instant::now() > deadline {
            break logs;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(logs.starts_with("overridden"), "override reached the container: {logs}");
    assert!(logs.contains(&arn), "the metadata endpoint serves the task: {logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_agent_adopts_its_containers_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut berth = started(dir.path());
    let ecs = berth.ecs();
    register(&ecs, "sleepers", vec![container("sleeper", &["sleep", "600"]).build()]).await;
    register(&ecs, "short", vec![container("short", &["sh", "-c", "sleep 4; exit 7"]).build()]).await;
    let long = run(&ecs, "sleepers", 2).await;
    let short = run(&ecs, "short", 1).await[0].task_arn().expect("arn").to_owned();
    let mut ids = Vec::new();
    for t in &long {
        let t = wait_status(&ecs, t.task_arn().expect("arn"), "RUNNING").await;
        ids.push(t.containers()[0].runtime_id().expect("id").to_owned());
    }
    wait_status(&ecs, &short, "RUNNING").await;
    let instance = berth.wait_agent();

    berth.kill(); // SIGKILL: server and agent die together, containers keep running
    std::thread::sleep(Duration::from_secs(5)); // the short task exits while nobody watches
    berth.start_again();
    assert_eq!(berth.wait_agent(), instance, "same instance after restart");
    let ecs = berth.ecs();

    let t = wait_status(&ecs, &short, "STOPPED").await;
    assert_eq!(t.containers()[0].exit_code(), Some(7), "the exit seen while down is reported with its real code");
    for (t, id) in long.iter().zip(&ids) {
        let now = wait_status(&ecs, t.task_arn().expect("arn"), "RUNNING").await;
        assert_eq!(now.containers()[0].runtime_id(), Some(id.as_str()), "same container, not a new one");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let running = docker(&["ps", "-q", "--filter", &format!("label=berth.container-instance={instance}")]);
    assert_eq!(running.lines().count(), 2, "no duplicates: {running}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_starts_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    register(&ecs, "small", vec![container("small", &["sleep", "60"]).build()]).await;

    let err = ecs.run_task().task_definition("nope").send().await.expect_err("unknown definition");
    assert_eq!(err.as_service_error().and_then(|e| e.meta().code()), Some("ClientException"));
    let err = ecs.run_task().task_definition("small").count(11).send().await.expect_err("count 11");
    assert_eq!(err.as_service_error().and_then(|e| e.meta().code()), Some("InvalidParameterException"));
    ecs.create_cluster().cluster_name("empty").send().await.expect("cluster");
    let err = ecs.run_task().cluster("empty").task_definition("small").send().await.expect_err("no instances");
    assert!(
        err.as_service_error().and_then(|e| e.meta().message()).is_some_and(|m| m.contains("No Container Instances"))
    );
    register(
        &ecs,
        "huge",
        vec![ContainerDefinition::builder().name("huge").image(test_image()).memory(10_000_000).build()],
    )
    .await;
    let out = ecs.run_task().task_definition("huge").send().await.expect("huge");
    assert!(out.tasks().is_empty());
    assert_eq!(out.failures()[0].reason(), Some("RESOURCE:MEMORY"));
    let listed = ecs.list_tasks().send().await.expect("list");
    assert!(listed.task_arns().is_empty(), "nothing started");
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_policy_restarts_the_container_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    // ECS's shortest restartAttemptPeriod is 60 s: the container must run that long before a restart is attempted.
    let flaky = container("flaky", &["sh", "-c", "sleep 62; exit 3"])
        .restart_policy(
            aws_sdk_ecs::types::ContainerRestartPolicy::builder()
                .enabled(true)
                .restart_attempt_period(60)
                .build()
                .expect("restart policy"),
        )
        .build();
    register(&ecs, "flaky", vec![flaky]).await;
    let arn = run(&ecs, "flaky", 1).await[0].task_arn().expect("arn").to_owned();
    let t = wait_status(&ecs, &arn, "RUNNING").await;
    let id = t.containers()[0].runtime_id().expect("id").to_owned();
    let first_start = docker(&["inspect", "-f", "{{.State.StartedAt}}", &id]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let started_at = docker(&["inspect", "-f", "{{.State.StartedAt}}", &id]);
        if started_at != first_start {
            break;
        }
        assert!(Instant::now() < deadline, "the container was not restarted");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let t = describe(&ecs, &arn).await;
    assert_eq!(t.last_status(), Some("RUNNING"), "the task goes on: {t:?}");
    assert_eq!(t.containers()[0].runtime_id(), Some(id.as_str()), "the same container, started again");
}
