//! Task operations against a real SQLite store, with the agent's side played by direct calls of its operations
//! (Poll, SubmitTaskStateChange): placement and its bookkeeping, the lifecycle as reports arrive, stops, lost
//! hosts, the reaper, and concurrent RunTask calls that must never over-commit an instance.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions panic on failure by design.

use std::sync::Arc;
use std::time::Duration;

use berth_server::dispatch::{dispatch, dispatch_agent};
use berth_server::error::ApiError;
use berth_server::{Api, AuthMode, ServerConfig};
use berth_store::SqliteStore;
use serde_json::{Value, json};

struct World {
    api: Arc<Api>,
    /// A second control plane over the same store, as another server replica would be: its placements do not
    /// share the first one's in-process lock, only the store's compares.
    replica: Arc<Api>,
    _dir: tempfile::TempDir,
}

async fn world(deadline: Duration, retention: Duration) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
    let mut config = ServerConfig::new("us-east-1", "000000000000", AuthMode::Disabled);
    config.agent_deadline = deadline;
    config.task_retention = retention;
    let store: Arc<dyn berth_store::Store> = Arc::new(store);
    let api = berth_server::build_api(store.clone(), &config).await.unwrap();
    let replica = berth_server::build_api(store, &config).await.unwrap();
    World { api, replica, _dir: dir }
}

impl World {
    async fn call(&self, op: &str, body: Value) -> Result<Value, ApiError> {
        dispatch(self.api.clone(), op, body).await
    }

    async fn ok(&self, op: &str, body: Value) -> Value {
        match self.call(op, body).await {
            Ok(v) => v,
            Err(e) => panic!("{op} failed: {:?} {}", e.code, e.message),
        }
    }

    /// Registers a host with `cpu` units and `memory` MiB and connects its "agent" (one poll).
    async fn host(&self, cpu: i64, memory: i64) -> String {
        let out = self
            .ok(
                "RegisterContainerInstance",
                json!({
                    "cluster": "default",
                    "totalResources": [
                        {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": memory},
                        {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
                    ],
                    "attributes": [{"name": "ecs.availability-zone", "value": "lab-a"}],
                }),
            )
            .await;
        let arn = out["containerInstance"]["containerInstanceArn"].as_str().unwrap().to_owned();
        self.poll(&arn, None).await;
        arn
    }

    async fn poll(&self, instance: &str, after: Option<i64>) -> Value {
        let body =
            json!({"cluster": "default", "containerInstance": instance, "afterRevision": after, "waitSeconds": 1});
        dispatch_agent(self.api.clone(), "Poll", body).await.unwrap()
    }

    async fn register_web(&self, memory: i64, host_port: i64) {
        self.ok(
            "RegisterTaskDefinition",
            json!({
                "family": "web",
                "containerDefinitions": [{
                    "name": "web", "image": "berth-test/busybox", "cpu": 256, "memory": memory,
                    "portMappings": [{"containerPort": 80, "hostPort": host_port}],
                }],
            }),
        )
        .await;
    }

    async fn task(&self, arn: &str) -> Value {
        let out = self.ok("DescribeTasks", json!({"tasks": [arn]})).await;
        out["tasks"][0].clone()
    }

    async fn instance(&self, arn: &str) -> Value {
        let out = self.ok("DescribeContainerInstances", json!({"containerInstances": [arn]})).await;
        out["containerInstances"][0].clone()
    }

    async fn report(&self, task: &str, status: &str, container_status: &str, exit: Option<i32>) {
        self.ok(
            "SubmitTaskStateChange",
            json!({
                "task": task, "status": status,
                "containers": [{"containerName": "web", "status": container_status, "exitCode": exit, "runtimeId": "abc"}],
            }),
        )
        .await;
    }
}

fn remaining(instance: &Value, name: &str) -> Value {
    let r = instance["remainingResources"].as_array().unwrap().iter().find(|r| r["name"] == name).unwrap();
    if name == "PORTS" { r["stringSetValue"].clone() } else { r["integerValue"].clone() }
}

#[tokio::test]
async fn run_task_places_reports_and_stops() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    let host = w.host(2048, 4096).await;
    w.register_web(512, 8080).await;

    let out = w
        .ok("RunTask", json!({"taskDefinition": "web", "startedBy": "me", "tags": [{"key": "k", "value": "v"}]}))
        .await;
    assert_eq!(out["failures"], json!([]));
    let task = &out["tasks"][0];
    let arn = task["taskArn"].as_str().unwrap().to_owned();
    assert_eq!(task["lastStatus"], "PROVISIONING");
    assert_eq!(task["desiredStatus"], "RUNNING");
    assert_eq!(task["group"], "family:web");
    assert_eq!(task["containerInstanceArn"], host.as_str());
    assert_eq!(task["availabilityZone"], "lab-a");
    assert_eq!(task["version"], 1);

    let inst = w.instance(&host).await;
    assert_eq!(remaining(&inst, "CPU"), 2048 - 256);
    assert_eq!(remaining(&inst, "MEMORY"), 4096 - 512);
    assert_eq!(remaining(&inst, "PORTS"), json!(["22", "8080"]));
    assert_eq!(inst["pendingTasksCount"], 1);

    // The instance's manifest carries the task and its definition.
    let manifest = w.poll(&host, None).await;
    assert_eq!(manifest["tasks"][0]["task"]["taskArn"], arn.as_str());
    assert_eq!(manifest["tasks"][0]["taskDefinition"]["family"], "web");

    // A second task with the same static port does not fit.
    let out = w.ok("RunTask", json!({"taskDefinition": "web"})).await;
    assert_eq!(out["tasks"], json!([]));
    assert_eq!(out["failures"][0]["reason"], "RESOURCE:PORTS");
    assert_eq!(out["failures"][0]["arn"], host.as_str());

    w.report(&arn, "PENDING", "PENDING", None).await;
    w.report(&arn, "RUNNING", "RUNNING", None).await;
    let t = w.task(&arn).await;
    assert_eq!(t["lastStatus"], "RUNNING");
    assert!(t["startedAt"].is_number());
    assert_eq!(t["version"], 3);
    assert_eq!(t["containers"][0]["runtimeId"], "abc");
    let inst = w.instance(&host).await;
    assert_eq!((inst["pendingTasksCount"].clone(), inst["runningTasksCount"].clone()), (json!(0), json!(1)));

    // A stale report does not move the task back.
    w.report(&arn, "PENDING", "PENDING", None).await;
    assert_eq!(w.task(&arn).await["lastStatus"], "RUNNING");

    let listed = w.ok("ListTasks", json!({"startedBy": "me"})).await;
    assert_eq!(listed["taskArns"], json!([arn]));

    let stopped = w.ok("StopTask", json!({"task": arn, "reason": "done"})).await;
    assert_eq!(stopped["task"]["desiredStatus"], "STOPPED");
    assert_eq!(stopped["task"]["lastStatus"], "STOPPING");
    assert_eq!(stopped["task"]["stopCode"], "UserInitiated");
    assert_eq!(stopped["task"]["stoppedReason"], "done");
    assert!(stopped["task"]["stoppingAt"].is_number());

    w.report(&arn, "STOPPED", "STOPPED", Some(143)).await;
    let t = w.task(&arn).await;
    assert_eq!(t["lastStatus"], "STOPPED");
    assert_eq!(t["stopCode"], "UserInitiated");
    assert_eq!(t["containers"][0]["exitCode"], 143);
    assert!(t["stoppedAt"].is_number() && t["executionStoppedAt"].is_number());
    let inst = w.instance(&host).await;
    assert_eq!(remaining(&inst, "CPU"), 2048);
    assert_eq!(remaining(&inst, "MEMORY"), 4096);
    assert_eq!(remaining(&inst, "PORTS"), json!(["22"]));
    assert_eq!((inst["pendingTasksCount"].clone(), inst["runningTasksCount"].clone()), (json!(0), json!(0)));

    // Nothing changes once STOPPED; RUNNING listing no longer shows it, STOPPED does.
    w.report(&arn, "RUNNING", "RUNNING", None).await;
    assert_eq!(w.task(&arn).await["lastStatus"], "STOPPED");
    assert_eq!(w.ok("ListTasks", json!({})).await["taskArns"], json!([]));
    assert_eq!(w.ok("ListTasks", json!({"desiredStatus": "STOPPED"})).await["taskArns"], json!([arn]));
    let tags = w.ok("DescribeTasks", json!({"tasks": [arn], "include": ["TAGS"]})).await;
    assert_eq!(tags["tasks"][0]["tags"], json!([{"key": "k", "value": "v"}]));
}

#[tokio::test]
async fn dynamic_host_ports_are_shown_once_the_container_has_started() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    let host = w.host(2048, 4096).await;
    w.register_web(128, 0).await;
    let out = w.ok("RunTask", json!({"taskDefinition": "web"})).await;
    let arn = out["tasks"][0]["taskArn"].as_str().unwrap().to_owned();
    assert_eq!(out["tasks"][0]["containers"][0]["networkBindings"], json!([]), "RunTask: not started yet");
    // The agent is told which host port to bind.
    let manifest = w.poll(&host, None).await;
    let planned = manifest["tasks"][0]["task"]["containers"][0]["networkBindings"][0].clone();
    let port = planned["hostPort"].as_i64().expect("the reserved host port reaches the agent");
    let described = w.ok("DescribeTasks", json!({"tasks": [arn]})).await;
    assert_eq!(described["tasks"][0]["containers"][0]["networkBindings"], json!([]), "PENDING: nothing bound");
    let report = json!({"task": arn, "status": "RUNNING", "containers": [{"containerName": "web", "status": "RUNNING",
        "runtimeId": "abc", "networkBindings": [planned]}]});
    w.ok("SubmitTaskStateChange", report).await;
    let described = w.ok("DescribeTasks", json!({"tasks": [arn]})).await;
    assert_eq!(described["tasks"][0]["containers"][0]["networkBindings"][0]["hostPort"], port);
}

#[tokio::test]
async fn essential_exit_reported_by_the_host_sets_its_stop_code() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    w.host(2048, 4096).await;
    w.register_web(128, 0).await;
    let out = w.ok("RunTask", json!({"taskDefinition": "web"})).await;
    let arn = out["tasks"][0]["taskArn"].as_str().unwrap().to_owned();
    w.report(&arn, "RUNNING", "RUNNING", None).await;
    w.ok(
        "SubmitTaskStateChange",
        json!({
            "task": arn, "status": "STOPPED", "reason": "Essential container in task exited",
            "stopCode": "EssentialContainerExited",
            "containers": [{"containerName": "web", "status": "STOPPED", "exitCode": 3}],
        }),
    )
    .await;
    let t = w.task(&arn).await;
    assert_eq!(t["stopCode"], "EssentialContainerExited");
    assert_eq!(t["stoppedReason"], "Essential container in task exited");
    assert_eq!(t["desiredStatus"], "STOPPED");
    assert_eq!(t["containers"][0]["exitCode"], 3);
}

#[tokio::test]
async fn bad_requests_get_ecs_errors_and_start_nothing() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    w.register_web(128, 0).await;
    let err = w.call("RunTask", json!({"taskDefinition": "web"})).await.unwrap_err();
    assert_eq!(err.code.as_str(), "ClusterNotFoundException");
    w.ok("CreateCluster", json!({})).await;
    let err = w.call("RunTask", json!({"taskDefinition": "web"})).await.unwrap_err();
    assert_eq!(err.message, "No Container Instances were found in your cluster.");
    let host = w.host(1024, 1024).await;
    let err = w.call("RunTask", json!({"taskDefinition": "nope"})).await.unwrap_err();
    assert_eq!((err.code.as_str(), err.message.as_str()), ("ClientException", "Unable to describe task definition."));
    let err = w.call("RunTask", json!({"taskDefinition": "web", "count": 11})).await.unwrap_err();
    assert_eq!(err.code.as_str(), "InvalidParameterException");
    assert!(err.message.contains("count"));
    let err = w
        .call("RunTask", json!({"taskDefinition": "web", "overrides": {"containerOverrides": [{"name": "other"}]}}))
        .await
        .unwrap_err();
    assert!(err.message.contains("other"), "{}", err.message);
    let err = w
        .call("RunTask", json!({"taskDefinition": "web", "placementConstraints": [{"type": "memberOf"}]}))
        .await
        .unwrap_err();
    assert!(err.message.contains("placementConstraints[0]"), "{}", err.message);
    let big = w
        .ok(
            "RunTask",
            json!({"taskDefinition": "web", "overrides": {"containerOverrides": [{"name": "web", "memory": 999999}]}}),
        )
        .await;
    assert_eq!(big["failures"][0]["reason"], "RESOURCE:MEMORY");
    assert_eq!(w.ok("ListTasks", json!({})).await["taskArns"], json!([]));
    let inst = w.instance(&host).await;
    assert_eq!(remaining(&inst, "MEMORY"), 1024);
    let err = w.call("DescribeTasks", json!({"tasks": []})).await.unwrap_err();
    assert_eq!(err.code.as_str(), "InvalidParameterException");
    let missing = w.ok("DescribeTasks", json!({"tasks": ["0123"]})).await;
    assert_eq!(missing["failures"][0]["reason"], "MISSING");
    let err = w.call("StopTask", json!({"task": "0123"})).await.unwrap_err();
    assert_eq!(err.code.as_str(), "InvalidParameterException");
}

#[tokio::test]
async fn client_token_makes_run_task_idempotent() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    w.host(4096, 4096).await;
    w.register_web(128, 0).await;
    let first = w.ok("RunTask", json!({"taskDefinition": "web", "count": 2, "clientToken": "t-1"})).await;
    let again = w.ok("RunTask", json!({"taskDefinition": "web", "count": 2, "clientToken": "t-1"})).await;
    let arns = |v: &Value| v["tasks"].as_array().unwrap().iter().map(|t| t["taskArn"].clone()).collect::<Vec<_>>();
    assert_eq!(arns(&first), arns(&again));
    assert_eq!(w.ok("ListTasks", json!({})).await["taskArns"].as_array().unwrap().len(), 2);
    let err = w.call("RunTask", json!({"taskDefinition": "web", "count": 1, "clientToken": "t-1"})).await.unwrap_err();
    assert_eq!(err.code.as_str(), "ClientException");
}

#[tokio::test]
async fn concurrent_run_tasks_never_over_commit() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    let hosts = [w.host(1024, 2048).await, w.host(1024, 2048).await, w.host(512, 2048).await];
    w.register_web(100, 0).await; // 256 cpu each: 4 + 4 + 2 = 10 fit
    let mut calls = Vec::new();
    for i in 0..40 {
        let api = if i % 2 == 0 { w.api.clone() } else { w.replica.clone() };
        calls.push(tokio::spawn(async move {
            dispatch(api, "RunTask", json!({"taskDefinition": "web", "count": 2})).await
        }));
    }
    let mut placed = Vec::new();
    for c in calls {
        let out = c.await.unwrap().unwrap();
        for t in out["tasks"].as_array().unwrap() {
            placed.push(t["taskArn"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(placed.len(), 10, "exactly the capacity is placed");
    let listed = w.ok("ListTasks", json!({"maxResults": 100})).await;
    assert_eq!(listed["taskArns"].as_array().unwrap().len(), 10);
    for h in &hosts {
        let inst = w.instance(h).await;
        let cpu = remaining(&inst, "CPU").as_i64().unwrap();
        assert!(cpu >= 0, "{h} over-committed: {cpu}");
        assert_eq!(cpu, 0);
        let held = inst["pendingTasksCount"].as_i64().unwrap();
        let expected = if h == &hosts[2] { 2 } else { 4 };
        assert_eq!(held, expected);
    }
}

#[tokio::test]
async fn a_silent_agent_loses_its_tasks_and_instance_connection() {
    let w = world(Duration::from_millis(300), Duration::from_secs(3600)).await;
    let host = w.host(2048, 2048).await;
    w.register_web(128, 0).await;
    let out = w.ok("RunTask", json!({"taskDefinition": "web"})).await;
    let arn = out["tasks"][0]["taskArn"].as_str().unwrap().to_owned();
    w.report(&arn, "RUNNING", "RUNNING", None).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    berth_server::controllers::liveness::pass(&w.api).await.unwrap();
    let inst = w.instance(&host).await;
    assert_eq!(inst["agentConnected"], false);
    assert_eq!(remaining(&inst, "MEMORY"), 2048);
    let t = w.task(&arn).await;
    assert_eq!(t["lastStatus"], "STOPPED");
    assert!(t["stoppedReason"].as_str().unwrap().starts_with("Host lost"), "{}", t["stoppedReason"]);
    // No placements on a disconnected instance.
    let out = w.ok("RunTask", json!({"taskDefinition": "web"})).await;
    assert_eq!(out["failures"][0]["reason"], "AGENT");
    // The agent returns: connected again, and its manifest no longer holds the task, so it stops the containers
    // it still has as orphans.
    let manifest = w.poll(&host, None).await;
    assert_eq!(manifest["tasks"], json!([]));
    assert_eq!(w.instance(&host).await["agentConnected"], true);
}

#[tokio::test]
async fn poll_waits_for_work_and_wakes_on_it() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    let host = w.host(2048, 2048).await;
    w.register_web(128, 0).await;
    let first = w.poll(&host, None).await;
    let revision = first["revision"].as_i64().unwrap();
    let api = w.api.clone();
    let h = host.clone();
    let waiting = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let body = json!({"cluster": "default", "containerInstance": h, "afterRevision": revision, "waitSeconds": 10});
        let out = dispatch_agent(api, "Poll", body).await.unwrap();
        (started.elapsed(), out)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    w.ok("RunTask", json!({"taskDefinition": "web"})).await;
    let (waited, out) = waiting.await.unwrap();
    assert!(waited < Duration::from_secs(5), "poll should wake on the placement, waited {waited:?}");
    assert_eq!(out["tasks"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn reaper_removes_stopped_tasks_after_retention() {
    let w = world(Duration::from_secs(60), Duration::from_millis(10)).await;
    let host = w.host(2048, 2048).await;
    w.register_web(128, 0).await;
    let out = w.ok("RunTask", json!({"taskDefinition": "web"})).await;
    let arn = out["tasks"][0]["taskArn"].as_str().unwrap().to_owned();
    w.report(&arn, "STOPPED", "STOPPED", Some(0)).await;
    assert_eq!(w.poll(&host, None).await["tasks"], json!([]), "a stopped task leaves the manifest");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(berth_server::controllers::reaper::pass(&w.api).await.unwrap(), 1);
    let out = w.ok("DescribeTasks", json!({"tasks": [arn]})).await;
    assert_eq!(out["failures"][0]["reason"], "MISSING");
}

#[tokio::test]
async fn start_task_uses_the_named_instances() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    let a = w.host(2048, 2048).await;
    let _b = w.host(2048, 2048).await;
    w.register_web(128, 0).await;
    let out = w.ok("StartTask", json!({"taskDefinition": "web", "containerInstances": [a, "nope"]})).await;
    assert_eq!(out["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(out["tasks"][0]["containerInstanceArn"], a.as_str());
    assert_eq!(out["failures"][0]["reason"], "MISSING");
}

/// Hundreds of RunTasks through two control planes at once, while tasks stop and their resources come back: every
/// accepted task is accounted for, and each instance's record (remaining CPU, memory and ports, task counts) equals
/// what its live tasks hold, so nothing was over-committed or lost on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_concurrent_run_tasks_account_for_every_task() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    let hosts =
        [w.host(4096, 8192).await, w.host(4096, 8192).await, w.host(2048, 8192).await, w.host(1024, 8192).await];
    w.register_web(100, 0).await; // 256 cpu and one dynamic host port each: 16 + 16 + 8 + 4 = 44 fit at once
    let mut calls = Vec::new();
    for i in 0..300 {
        let api = if i % 2 == 0 { w.api.clone() } else { w.replica.clone() };
        calls.push(tokio::spawn(async move {
            let out = dispatch(api.clone(), "RunTask", json!({"taskDefinition": "web", "count": 1 + i % 3})).await?;
            let arns: Vec<String> =
                out["tasks"].as_array().unwrap().iter().map(|t| t["taskArn"].as_str().unwrap().to_owned()).collect();
            // Every third call's tasks stop at once (the agent reports them STOPPED), giving capacity back.
            if i % 3 == 0 {
                for arn in &arns {
                    dispatch(api.clone(), "StopTask", json!({"task": arn})).await?;
                    let report = json!({"task": arn, "status": "STOPPED",
                        "containers": [{"containerName": "web", "status": "STOPPED", "exitCode": 0}]});
                    dispatch(api.clone(), "SubmitTaskStateChange", report).await?;
                }
            }
            Ok::<_, ApiError>(arns)
        }));
    }
    let mut accepted = Vec::new();
    for c in calls {
        accepted.extend(c.await.unwrap().unwrap());
    }
    assert!(accepted.len() >= 44, "at least the capacity is placed: {}", accepted.len());
    let mut live: std::collections::HashMap<String, usize> = Default::default();
    for chunk in accepted.chunks(100) {
        let out = w.ok("DescribeTasks", json!({"tasks": chunk})).await;
        assert_eq!(out["failures"], json!([]), "every accepted task exists");
        assert_eq!(out["tasks"].as_array().unwrap().len(), chunk.len());
        for t in out["tasks"].as_array().unwrap() {
            if t["lastStatus"] != "STOPPED" {
                *live.entry(t["containerInstanceArn"].as_str().unwrap().to_owned()).or_default() += 1;
            }
        }
    }
    for (h, total_cpu) in hosts.iter().zip([4096, 4096, 2048, 1024]) {
        let inst = w.instance(h).await;
        // The host ports each live task holds are in its agent's manifest (never-started containers show none).
        let manifest = w.poll(h, None).await;
        let tasks: Vec<Value> = manifest["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["task"].clone())
            .filter(|t| t["lastStatus"] != "STOPPED")
            .collect();
        let n = tasks.len() as i64;
        assert_eq!(live.get(h).copied().unwrap_or_default(), tasks.len(), "{h}: the manifest holds the live tasks");
        assert_eq!(remaining(&inst, "CPU").as_i64().unwrap(), total_cpu - 256 * n, "{h}");
        assert_eq!(remaining(&inst, "MEMORY").as_i64().unwrap(), 8192 - 100 * n, "{h}");
        assert_eq!(inst["pendingTasksCount"].as_i64().unwrap() + inst["runningTasksCount"].as_i64().unwrap(), n);
        let mut held: Vec<String> = tasks
            .iter()
            .map(|t| t["containers"][0]["networkBindings"][0]["hostPort"].as_i64().unwrap().to_string())
            .collect();
        held.push("22".into());
        held.sort();
        let mut ports: Vec<String> =
            remaining(&inst, "PORTS").as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect();
        ports.sort();
        assert_eq!(ports, held, "{h}: PORTS holds exactly the live tasks' dynamic ports and the reserved one");
    }
}

/// A task's role: its agent gets a session of the role (only for a task on its own instance, only for a role that
/// trusts ecs-tasks.amazonaws.com), named after the task and ending with it.
#[tokio::test]
async fn an_agent_gets_credentials_for_its_tasks_roles_only() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    let host = w.host(2048, 4096).await;
    let other = w.host(2048, 4096).await;
    // Agents that serve task credentials say so, as ECS's do.
    for h in [&host, &other] {
        let attribute = json!({"name": "com.amazonaws.ecs.capability.task-iam-role", "targetId": h});
        w.ok("PutAttributes", json!({"attributes": [attribute]})).await;
    }
    let iam = |action: &str, params: Value| {
        let api = w.api.clone();
        let action = action.to_owned();
        async move { berth_server::iam::dispatch(api, berth_server::auth::Caller::Root, &action, params).await }
    };
    let trust = |service: &str| {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
        .to_string()
    };
    iam("CreateRole", json!({"RoleName": "trainer", "AssumeRolePolicyDocument": trust("ecs-tasks.amazonaws.com")}))
        .await
        .unwrap();
    iam("CreateRole", json!({"RoleName": "lambda-only", "AssumeRolePolicyDocument": trust("lambda.amazonaws.com")}))
        .await
        .unwrap();
    let run = |role: &'static str| {
        let body = json!({
            "family": format!("with-{role}"),
            "taskRoleArn": role,
            "containerDefinitions": [{"name": "web", "image": "berth-test/busybox", "memory": 64}],
        });
        let w = &w;
        async move {
            w.ok("RegisterTaskDefinition", body).await;
            let out = w.ok("RunTask", json!({"taskDefinition": format!("with-{role}")})).await;
            out["tasks"][0].clone()
        }
    };
    let task = run("trainer").await;
    let arn = task["taskArn"].as_str().unwrap().to_owned();
    let on = task["containerInstanceArn"].as_str().unwrap().to_owned();
    let elsewhere = if on == host { other.clone() } else { host.clone() };
    let ask = |instance: &str, task: &str| {
        let body = json!({"cluster": "default", "containerInstance": instance, "task": task});
        dispatch_agent(w.api.clone(), "GetTaskCredentials", body)
    };
    let creds = ask(&on, &arn).await.expect("credentials for the task's role");
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert_eq!(creds["RoleArn"], "arn:aws:iam::000000000000:role/trainer");
    let token = creds["Token"].as_str().unwrap();
    let claims = w.api.auth.sessions().open(token, w.api.now()).expect("a sealed session");
    assert_eq!(claims.task.as_deref(), Some(arn.as_str()));
    let left = creds["Expiration"].as_f64().unwrap() - w.api.now();
    assert!((21_000.0..=21_601.0).contains(&left), "about six hours: {left}");
    // Another instance's agent cannot have them.
    assert!(ask(&elsewhere, &arn).await.is_err());
    // A role that does not trust ECS tasks, and a role that does not exist, give none.
    let lambda = run("lambda-only").await;
    let e =
        ask(lambda["containerInstanceArn"].as_str().unwrap(), lambda["taskArn"].as_str().unwrap()).await.unwrap_err();
    assert!(e.message.contains("ECS was unable to assume the role 'lambda-only'"), "{}", e.message);
    let missing = run("no-such-role").await;
    assert!(
        ask(missing["containerInstanceArn"].as_str().unwrap(), missing["taskArn"].as_str().unwrap()).await.is_err()
    );
    // Once the task has stopped, no more.
    w.report(&arn, "STOPPED", "STOPPED", Some(0)).await;
    assert!(ask(&on, &arn).await.is_err());
}

/// A task's execution role: its agent gets a session of it (`role: "execution"`), for the secrets and registry
/// credentials it resolves at the task's start, under the same rules as the task role (the task on its own instance,
/// a role that trusts ecs-tasks.amazonaws.com); a task without one has none.
#[tokio::test]
async fn an_agent_gets_credentials_for_its_tasks_execution_role() {
    let w = world(Duration::from_secs(60), Duration::from_secs(3600)).await;
    let host = w.host(2048, 4096).await;
    // Definitions with secrets need agents that resolve them, as ECS's.
    let attribute = json!({"name": "ecs.capability.secrets.ssm.environment-variables", "targetId": host});
    w.ok("PutAttributes", json!({"attributes": [attribute]})).await;
    let trust = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    .to_string();
    berth_server::iam::dispatch(
        w.api.clone(),
        berth_server::auth::Caller::Root,
        "CreateRole",
        json!({"RoleName": "exec", "AssumeRolePolicyDocument": trust}),
    )
    .await
    .unwrap();
    w.ok(
        "RegisterTaskDefinition",
        json!({"family": "with-secrets", "executionRoleArn": "arn:aws:iam::000000000000:role/exec",
               "containerDefinitions": [{"name": "web", "image": "berth-test/busybox", "memory": 64,
                   "secrets": [{"name": "TOKEN", "valueFrom": "/app/token"}]}]}),
    )
    .await;
    w.ok(
        "RegisterTaskDefinition",
        json!({"family": "plain", "containerDefinitions": [{"name": "web", "image": "berth-test/busybox", "memory": 64}]}),
    )
    .await;
    let run = |family: &str| {
        let body = json!({"taskDefinition": family});
        let w = &w;
        async move { w.ok("RunTask", body).await["tasks"][0].clone() }
    };
    let ask = |task: &Value, role: &str| {
        let body = json!({"cluster": "default", "containerInstance": task["containerInstanceArn"],
                          "task": task["taskArn"], "role": role});
        dispatch_agent(w.api.clone(), "GetTaskCredentials", body)
    };
    let task = run("with-secrets").await;
    assert_eq!(task["containerInstanceArn"], json!(host));
    let creds = ask(&task, "execution").await.expect("credentials of the execution role");
    assert_eq!(creds["RoleArn"], "arn:aws:iam::000000000000:role/exec");
    let claims = w.api.auth.sessions().open(creds["Token"].as_str().unwrap(), w.api.now()).expect("a sealed session");
    assert_eq!(claims.task.as_deref(), task["taskArn"].as_str());
    // The definition has no task role.
    assert!(ask(&task, "task").await.is_err());
    let plain = run("plain").await;
    let e = ask(&plain, "execution").await.unwrap_err();
    assert!(e.message.contains("has no such role"), "{}", e.message);
}
