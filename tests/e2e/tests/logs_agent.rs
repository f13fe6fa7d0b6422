//! Container logs end to end through `berth up` on real Docker: a task whose container prints 10,000 lines fast and
//! exits is read back in order with the CloudWatch Logs API (`GetLogEvents`, paging forward), after its container
//! is removed by the agent's cleanup, and after the process (server and agent) is killed and started again.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{ContainerDefinition, LogConfiguration, LogDriver};
use berth_e2e::{Berth, test_image};
use serde_json::{Value, json};

fn logs_client(berth: &Berth) -> berth_client::Client {
    let key = berth_client::AccessKey {
        access_key_id: berth.access_key_id.clone(),
        secret_access_key: berth.secret_access_key.clone(),
    };
    berth_client::Client::new(&berth.endpoint(), "us-east-1", &key, 2).expect("client")
}

/// Every message of the stream, oldest first, paging with nextForwardToken until it comes back unchanged.
async fn read_all(client: &berth_client::Client, group: &str, stream: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true});
        if let Some(t) = &token {
            input["nextToken"] = json!(t);
        }
        let page: Value = client.logs("GetLogEvents", &input).await.expect("GetLogEvents");
        for e in page["events"].as_array().expect("events") {
            out.push(e["message"].as_str().expect("message").to_owned());
        }
        let next = page["nextForwardToken"].as_str().expect("token").to_owned();
        if token.as_deref() == Some(next.as_str()) {
            return out;
        }
        token = Some(next);
    }
}

/// Checks that `lines` are exactly 1..=10000 in order, saying briefly where they are not.
fn assert_numbers(lines: &[String], when: &str) {
    let expected: Vec<String> = (1..=10_000).map(|i| i.to_string()).collect();
    if lines != expected {
        let at = lines.iter().zip(&expected).position(|(a, b)| a != b);
        panic!("{when}: {} lines, first difference at {at:?}", lines.len());
    }
}

/// Reads the stream until all 10,000 lines are there (shipping is asynchronous, as with CloudWatch), then checks.
async fn assert_all_lines(client: &berth_client::Client, group: &str, stream: &str, when: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = read_all(client, group, stream).await;
        if lines.len() >= 10_000 || Instant::now() > deadline {
            assert_numbers(&lines, when);
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn containers_of(task_arn: &str) -> String {
    let out = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("label=berth.task-arn={task_arn}")])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_lines_read_back_after_removal_and_restart() {
    test_image();
    let dir = tempfile::tempdir().expect("tempdir");
    // Stopped tasks' containers are removed a second after the task leaves the manifest.
    let mut berth = Berth::start_with(dir.path(), &["--cleanup-wait", "1"]);
    berth.wait_agent();
    let ecs = berth.ecs();
    let group = "/ecs/logs-e2e";
    let seq = ContainerDefinition::builder()
        .name("seq")
        .image(test_image())
        .memory(64)
        .set_command(Some(vec!["seq".into(), "1".into(), "10000".into()]))
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", group)
                .options("awslogs-stream-prefix", "run")
                .build()
                .expect("log configuration"),
        )
        .build();
    ecs.register_task_definition().family("logs-seq").container_definitions(seq).send().await.expect("register");
    let out = ecs.run_task().task_definition("logs-seq").send().await.expect("run task");
    let task_arn = out.tasks()[0].task_arn().expect("arn").to_owned();
    let task_id = task_arn.rsplit('/').next().expect("id").to_owned();
    let stream = format!("run/seq/{task_id}");

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = ecs.describe_tasks().tasks(&task_arn).send().await.expect("describe");
        if t.tasks()[0].last_status() == Some("STOPPED") {
            break;
        }
        assert!(Instant::now() < deadline, "task did not stop");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let client = logs_client(&berth);
    assert_all_lines(&client, group, &stream, "after the task stopped").await;

    // The agent's cleanup removes the container (after shipping it); the stream stays.
    let deadline = Instant::now() + Duration::from_secs(90);
    while !containers_of(&task_arn).is_empty() {
        assert!(Instant::now() < deadline, "the stopped task's container was not removed");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_numbers(&read_all(&client, group, &stream).await, "after the container is removed");

    // Server and agent die at once and come back: the streams are still there, once.
    berth.kill();
    berth.start_again();
    berth.wait_agent();
    let client = logs_client(&berth);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // The restarted agent registers its new link (endpoint and token) a moment after the server is up.
        let input = json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true, "limit": 1});
        if client.logs::<_, Value>("GetLogEvents", &input).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "logs not readable after the restart");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_numbers(&read_all(&client, group, &stream).await, "after a restart");
}
