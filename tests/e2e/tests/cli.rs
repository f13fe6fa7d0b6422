//! The `berth` commands for people, driven as a user runs them: the real binary against a real `berth up` with its
//! agent on Docker. `berth deploy` ends 0 on a completed rollout and non-zero with the circuit breaker's verdict
//! and the rollback on a breaking revision; `berth ps --output json` lists the running tasks; `berth logs` prints
//! a task's output; bad input gets clear messages and a non-zero exit, never a panic.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ContainerDefinition, DeploymentCircuitBreaker, DeploymentConfiguration, Service};
use berth_e2e::{Berth, berth_bin, test_image};
use serde_json::Value;

/// What one run of the CLI gave.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `berth <args>` against `berth` (its endpoint and admin key through the environment, as a script would give
/// them), killed after `limit`.
fn cli(berth: &Berth, home: &Path, args: &[&str], limit: Duration) -> Run {
    let mut child = Command::new(berth_bin())
        .args(args)
        .args(["--endpoint", &berth.endpoint()])
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", &berth.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &berth.secret_access_key)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning berth");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let code = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run =
        Run { code, stdout: out_reader.join().unwrap_or_default(), stderr: err_reader.join().unwrap_or_default() };
    assert!(!run.stderr.contains("panicked"), "berth {args:?} panicked: {run:#?}");
    run
}

/// A small container that sleeps and exits at once on SIGTERM.
fn sleeper(name: &str) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder()
        .name(name)
        .image(test_image())
        .cpu(10)
        .memory(32)
        .stop_timeout(2)
        .command("sh")
        .command("-c")
        .command("trap 'exit 0' TERM; sleep 3600 & wait")
}

async fn register(ecs: &Client, family: &str, container: ContainerDefinition) -> String {
    let out = ecs
        .register_task_definition()
        .family(family)
        .container_definitions(container)
        .send()
        .await
        .expect("register task definition");
    out.task_definition().and_then(|t| t.task_definition_arn()).expect("arn").to_owned()
}

/// Creates a service of `desired` tasks with the circuit breaker and rollback, and waits until it is steady.
async fn steady_service(ecs: &Client, name: &str, taskdef: &str, desired: i32) -> Service {
    let config = DeploymentConfiguration::builder()
        .maximum_percent(200)
        .minimum_healthy_percent(100)
        .deployment_circuit_breaker(DeploymentCircuitBreaker::builder().enable(true).rollback(true).build())
        .build();
    ecs.create_service()
        .service_name(name)
        .task_definition(taskdef)
        .desired_count(desired)
        .deployment_configuration(config)
        .send()
        .await
        .expect("create service");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let out = ecs.describe_services().services(name).send().await.expect("describe services");
        let s = out.services().first().cloned().expect("service");
        let d = s.deployments();
        if d.len() == 1 && d[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED") && s.running_count() == desired
        {
            return s;
        }
        assert!(Instant::now() < deadline, "service {name} not steady: {s:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn started(dir: &Path) -> Berth {
    test_image();
    let berth = Berth::start(dir);
    berth.wait_agent();
    berth
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_completes_and_ps_lists_the_running_tasks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    let first = register(&ecs, "cli-web", sleeper("web").build()).await;
    steady_service(&ecs, "cli-web", &first, 2).await;

    // A new revision from a file (a describe-task-definition answer, as people save it), followed as NDJSON.
    let described = ecs.describe_task_definition().task_definition(&first).send().await.expect("describe");
    assert!(described.task_definition().is_some());
    let file = dir.path().join("web.json");
    let text = serde_json::json!({"taskDefinition": {
        "family": "cli-web",
        "taskDefinitionArn": first,
        "revision": 1,
        "status": "ACTIVE",
        "containerDefinitions": [{"name": "web", "image": test_image(), "cpu": 10, "memory": 32, "stopTimeout": 2,
            "command": ["sh", "-c", "trap 'exit 0' TERM; echo revision two; sleep 3600 & wait"]}]}});
    std::fs::write(&file, text.to_string()).expect("write task definition");
    let run = cli(
        &berth,
        dir.path(),
        &["deploy", "cli-web", "--task-definition", file.to_str().expect("utf-8 path"), "--output", "json"],
        Duration::from_secs(120),
    );
    assert!(run.ok(), "deploy should complete: {run:#?}");
    let records: Vec<Value> =
        run.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(records.iter().any(|r| r["type"] == "progress"), "{records:#?}");
    assert!(records.iter().any(|r| r["eventStream"] == true), "followed through the event stream: {records:#?}");
    let result = records.last().expect("a result record");
    assert_eq!(result["type"], "result", "{records:#?}");
    assert_eq!(result["status"], "COMPLETED", "{records:#?}");
    assert!(result["taskDefinition"].as_str().is_some_and(|t| t.ends_with("cli-web:2")), "{result}");

    // Then an image change, in the human format (not a terminal: one line per change).
    let run = cli(&berth, dir.path(), &["deploy", "cli-web", "--image", test_image()], Duration::from_secs(120));
    assert!(run.ok(), "deploy --image should complete: {run:#?}");
    assert!(run.stdout.contains("cli-web:3"), "{run:#?}");
    assert!(run.stdout.contains("completed"), "{run:#?}");
    assert!(run.stdout.contains("event: (service cli-web)"), "service events are shown: {run:#?}");
    assert!(!run.stdout.contains('\x1b'), "no colours when stdout is not a terminal: {run:#?}");

    // ps lists the two running tasks of revision 3.
    let run = cli(&berth, dir.path(), &["ps", "--output", "json"], Duration::from_secs(30));
    assert!(run.ok(), "{run:#?}");
    let tasks: Vec<Value> = serde_json::from_str(&run.stdout).expect("ps --output json is a JSON list");
    let running: Vec<&Value> = tasks.iter().filter(|t| t["lastStatus"] == "RUNNING").collect();
    assert_eq!(running.len(), 2, "{tasks:#?}");
    for t in &running {
        assert_eq!(t["taskDefinition"], "cli-web:3", "{t}");
        assert_eq!(t["group"], "service:cli-web", "{t}");
        assert!(t["taskId"].as_str().is_some_and(|id| !id.is_empty()), "{t}");
        assert!(t["containerInstanceId"].is_string(), "{t}");
        assert!(t["ageSeconds"].is_number(), "{t}");
    }
    let run = cli(&berth, dir.path(), &["ps", "--service", "cli-web"], Duration::from_secs(30));
    assert!(run.ok(), "{run:#?}");
    assert!(run.stdout.starts_with("TASK"), "{run:#?}");
    assert_eq!(run.stdout.lines().filter(|l| l.contains("cli-web:3")).count(), 2, "{run:#?}");

    // top shows the service with its counts.
    let run = cli(&berth, dir.path(), &["top", "--output", "json"], Duration::from_secs(30));
    assert!(run.ok(), "{run:#?}");
    let top: Value = serde_json::from_str(&run.stdout).expect("top --output json");
    let web = top["services"].as_array().and_then(|s| s.iter().find(|s| s["serviceName"] == "cli-web").cloned());
    let web = web.unwrap_or_else(|| panic!("{top:#}"));
    assert_eq!(web["runningCount"], 2, "{top:#}");
    assert_eq!(web["desiredCount"], 2, "{top:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_of_a_breaking_revision_shows_the_breaker_and_the_rollback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    let good = register(&ecs, "cli-ghost", sleeper("app").build()).await;
    steady_service(&ecs, "cli-ghost", &good, 2).await;

    let run = cli(
        &berth,
        dir.path(),
        &["deploy", "cli-ghost", "--image", "berth-test/cli-no-such-image:404"],
        Duration::from_secs(180),
    );
    assert!(run.code.is_some(), "deploy must end by itself: {run:#?}");
    assert!(!run.ok(), "a rolled-back deployment exits non-zero: {run:#?}");
    assert!(run.stdout.contains("ECS deployment circuit breaker: tasks failed to start."), "{run:#?}");
    assert!(run.stdout.contains("rolling back to deployment"), "the rollback event: {run:#?}");
    assert!(run.stdout.contains("Rolled back: deployment"), "the verdict names the rollback: {run:#?}");
    assert!(run.stderr.contains("ECS deployment circuit breaker"), "the error says why: {run:#?}");

    // The service is back on the good revision.
    let out = ecs.describe_services().services("cli-ghost").send().await.expect("describe");
    let s = out.services().first().expect("service");
    assert_eq!(s.task_definition(), Some(good.as_str()));

    // A revision whose container exits at once, from a file, followed as NDJSON by polling alone (the fallback
    // when the event stream is unavailable).
    let file = dir.path().join("crash.json");
    let text = serde_json::json!({"family": "cli-ghost", "containerDefinitions": [
        {"name": "app", "image": test_image(), "cpu": 10, "memory": 32, "command": ["sh", "-c", "exit 3"]}]});
    std::fs::write(&file, text.to_string()).expect("write");
    let run = cli(
        &berth,
        dir.path(),
        &["deploy", "cli-ghost", "--task-definition", file.to_str().expect("path"), "-o", "json", "--poll"],
        Duration::from_secs(180),
    );
    assert!(run.code.is_some() && !run.ok(), "{run:#?}");
    let last: Value = serde_json::from_str(run.stdout.lines().last().unwrap_or("")).expect("a JSON result line");
    assert_eq!(last["type"], "result", "{run:#?}");
    assert_eq!(last["status"], "ROLLED_BACK", "{run:#?}");
    assert!(last["reason"].as_str().is_some_and(|r| r.starts_with("ECS deployment circuit breaker:")), "{last}");
    assert!(last["rollbackDeployment"].as_str().is_some_and(|d| d.starts_with("ecs-svc/")), "{last}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_prints_a_tasks_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = started(dir.path());
    let ecs = berth.ecs();
    let td = register(
        &ecs,
        "cli-talker",
        ContainerDefinition::builder()
            .name("talker")
            .image(test_image())
            .memory(32)
            .command("sh")
            .command("-c")
            .command("for i in 1 2 3; do echo line-$i from the cli test; done; sleep 2")
            .build(),
    )
    .await;
    let out = ecs.run_task().task_definition(&td).send().await.expect("run task");
    let arn = out.tasks().first().and_then(|t| t.task_arn()).expect("a task").to_owned();
    let id = arn.rsplit('/').next().expect("id").to_owned();

    // Following ends once the task has stopped and its output is read.
    let run = cli(&berth, dir.path(), &["logs", "-f", &id], Duration::from_secs(60));
    assert!(run.ok(), "{run:#?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines, ["line-1 from the cli test", "line-2 from the cli test", "line-3 from the cli test"], "{run:#?}");

    // Read again after the task stopped: the last two lines.
    let run = cli(&berth, dir.path(), &["logs", "--tail", "2", &arn], Duration::from_secs(30));
    assert!(run.ok(), "{run:#?}");
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), ["line-2 from the cli test", "line-3 from the cli test"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_clear_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = Berth::api_only(dir.path());
    let ecs = berth.ecs();
    let home = dir.path();

    // Without an agent no cluster exists yet.
    let run = cli(&berth, home, &["ps"], Duration::from_secs(30));
    assert!(!run.ok() && run.stderr.contains("cluster 'default' not found"), "{run:#?}");
    ecs.create_cluster().cluster_name("default").send().await.expect("create cluster");
    let run = cli(&berth, home, &["ps"], Duration::from_secs(30));
    assert!(run.ok() && run.stdout.contains("no tasks"), "{run:#?}");
    let run = cli(&berth, home, &["top", "--cluster", "nope"], Duration::from_secs(30));
    assert!(!run.ok() && run.stderr.contains("cluster 'nope' not found"), "{run:#?}");

    let run = cli(&berth, home, &["deploy", "no-such-service", "--image", "x:1"], Duration::from_secs(30));
    assert!(!run.ok() && run.code.is_some(), "{run:#?}");
    assert!(run.stderr.contains("service 'no-such-service' not found in cluster 'default'"), "{run:#?}");

    let run = cli(&berth, home, &["logs", "0123456789abcdef0123456789abcdef"], Duration::from_secs(30));
    assert!(!run.ok() && run.code.is_some(), "{run:#?}");
    assert!(run.stderr.contains("task '0123456789abcdef0123456789abcdef' not found"), "{run:#?}");

    let run = cli(&berth, home, &["ps", "--service", "nope"], Duration::from_secs(30));
    assert!(!run.ok(), "{run:#?}");
    assert!(run.stderr.contains("service 'nope' not found"), "{run:#?}");

    // A task definition file that is not JSON is refused before anything changes.
    let td = register(&ecs, "cli-bad", sleeper("app").build()).await;
    ecs.create_service().service_name("cli-bad").task_definition(&td).desired_count(0).send().await.expect("create");
    let file = dir.path().join("not.json");
    std::fs::write(&file, "family: cli-bad\n").expect("write");
    let run = cli(
        &berth,
        home,
        &["deploy", "cli-bad", "--task-definition", file.to_str().expect("path")],
        Duration::from_secs(30),
    );
    assert!(!run.ok() && run.code.is_some(), "{run:#?}");
    assert!(run.stderr.contains("is not JSON"), "{run:#?}");
    let missing = dir.path().join("missing.json");
    let run = cli(
        &berth,
        home,
        &["deploy", "cli-bad", "--task-definition", missing.to_str().expect("path")],
        Duration::from_secs(30),
    );
    assert!(!run.ok() && run.stderr.contains("missing.json"), "{run:#?}");
    let listed = ecs.list_task_definitions().family_prefix("cli-bad").send().await.expect("list");
    assert_eq!(listed.task_definition_arns().len(), 1, "nothing was registered");

    // Neither or both of --image and --task-definition, and a container the definition lacks.
    let run = cli(&berth, home, &["deploy", "cli-bad"], Duration::from_secs(30));
    assert!(!run.ok() && run.stderr.contains("--image"), "{run:#?}");
    let run =
        cli(&berth, home, &["deploy", "cli-bad", "--image", "x:1", "--container", "nope"], Duration::from_secs(30));
    assert!(!run.ok() && run.stderr.contains("no container 'nope'"), "{run:#?}");

    // A server that is not there.
    let mut unreachable = Command::new(berth_bin());
    let out = unreachable
        .args(["ps", "--endpoint", "http://127.0.0.1:9"])
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "AKIA")
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .output()
        .expect("run berth");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("cannot reach the Berth server"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
