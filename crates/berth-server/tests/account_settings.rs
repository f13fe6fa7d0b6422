//! ECS account settings against a real SQLite store, with requests dispatched as different callers (the root user,
//! an IAM user, a role session): PutAccountSetting, PutAccountSettingDefault, DeleteAccountSetting and
//! ListAccountSettings, and what the settings change: short ARNs for tasks, services and container instances (and
//! every lookup that must still find them), a new cluster's containerInsights, and tagging authorization on
//! creation.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions panic on failure by design.

use std::sync::Arc;
use std::time::Duration;

use berth_server::auth::Caller;
use berth_server::authz::{Origin, authorize};
use berth_server::dispatch::{dispatch_agent, dispatch_as};
use berth_server::error::{ApiError, ErrorCode};
use berth_server::{Api, AuthMode, ServerConfig};
use berth_store::SqliteStore;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const PREFIX: &str = "arn:aws:ecs:us-east-1:123456789012:";

struct World {
    api: Arc<Api>,
    _dir: tempfile::TempDir,
}

async fn world(retention: Duration) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn berth_store::Store> = Arc::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
    let mut config = ServerConfig::new("us-east-1", ACCOUNT, AuthMode::Disabled);
    config.task_retention = retention;
    config.agent_deadline = Duration::from_millis(200);
    let api = berth_server::build_api(store, &config).await.unwrap();
    World { api, _dir: dir }
}

fn user(name: &str) -> Caller {
    Caller::User { name: name.into(), access_key_id: "AKIAEXAMPLE".into() }
}

fn role_session(role: &str) -> Caller {
    Caller::Role {
        name: role.into(),
        session: "run-1".into(),
        policy: None,
        tags: vec![],
        access_key_id: "ASIAEXAMPLE".into(),
        task: None,
    }
}

impl World {
    async fn call(&self, caller: &Caller, op: &str, body: Value) -> Result<Value, ApiError> {
        dispatch_as(self.api.clone(), caller.clone(), op, body).await
    }

    async fn ok(&self, caller: &Caller, op: &str, body: Value) -> Value {
        match self.call(caller, op, body).await {
            Ok(v) => v,
            Err(e) => panic!("{op} failed: {:?} {}", e.code, e.message),
        }
    }

    async fn err(&self, caller: &Caller, op: &str, body: Value) -> ApiError {
        match self.call(caller, op, body).await {
            Ok(v) => panic!("{op} succeeded: {v}"),
            Err(e) => e,
        }
    }

    async fn iam(&self, action: &str, params: Value) {
        berth_server::iam::dispatch(self.api.clone(), Caller::Root, action, params).await.unwrap();
    }

    /// A host in `cluster` registered by `caller`, connected by one poll of its agent channel.
    async fn host(&self, caller: &Caller, cluster: &str) -> String {
        let body = json!({
            "cluster": cluster,
            "totalResources": [
                {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
            ],
        });
        let out = self.ok(caller, "RegisterContainerInstance", body).await;
        let arn = out["containerInstance"]["containerInstanceArn"].as_str().unwrap().to_owned();
        let poll = json!({"cluster": cluster, "containerInstance": arn, "waitSeconds": 0});
        dispatch_agent(self.api.clone(), "Poll", poll).await.unwrap();
        arn
    }

    async fn definition(&self) {
        let body = json!({"family": "web", "containerDefinitions": [
            {"name": "web", "image": "berth-test/busybox", "memory": 64}]});
        self.ok(&Caller::Root, "RegisterTaskDefinition", body).await;
    }

    async fn setting(&self, caller: &Caller, name: &str, value: &str) -> Value {
        self.ok(caller, "PutAccountSetting", json!({"name": name, "value": value})).await["setting"].clone()
    }
}

fn names_values(list: &Value) -> Vec<(String, String)> {
    list["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s["value"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn settings_per_principal_the_default_and_what_applies() {
    let w = world(Duration::from_secs(3600)).await;
    let root = Caller::Root;
    let alice = user("alice");
    let trainer = role_session("trainer");
    w.iam("CreateUser", json!({"UserName": "alice", "Path": "/team/"})).await;

    // Nothing set: nobody has settings of their own; what applies is AWS's defaults.
    assert_eq!(w.ok(&alice, "ListAccountSettings", json!({})).await["settings"], json!([]));
    let all = w.ok(&alice, "ListAccountSettings", json!({"effectiveSettings": true, "maxResults": 20})).await;
    let applied = names_values(&all);
    assert_eq!(applied.len(), 11, "every setting name of the botocore model");
    assert!(applied.contains(&("taskLongArnFormat".into(), "enabled".into())));
    assert!(applied.contains(&("tagResourceAuthorization".into(), "on".into())));
    assert!(applied.contains(&("fargateTaskRetirementWaitPeriod".into(), "7".into())));
    let shown = &all["settings"][0];
    assert_eq!(shown["principalArn"], "arn:aws:iam::123456789012:user/team/alice", "with the user's path");
    assert_eq!(shown["type"], "user");
    // Pages of at most 10 by default.
    let first = w.ok(&alice, "ListAccountSettings", json!({"effectiveSettings": true})).await;
    assert_eq!(first["settings"].as_array().unwrap().len(), 10);
    let token = first["nextToken"].as_str().unwrap();
    let rest = w.ok(&alice, "ListAccountSettings", json!({"effectiveSettings": true, "nextToken": token})).await;
    assert_eq!(rest["settings"].as_array().unwrap().len(), 1);
    assert!(rest.get("nextToken").is_none_or(Value::is_null));

    // The default, and a principal's own setting over it.
    let default =
        w.ok(&alice, "PutAccountSettingDefault", json!({"name": "containerInsights", "value": "enhanced"})).await;
    assert_eq!(
        default["setting"],
        json!({"name": "containerInsights", "value": "enhanced", "principalArn": "arn:aws:iam::123456789012:root",
               "type": "user"})
    );
    let own = w.setting(&alice, "containerInsights", "disabled").await;
    assert_eq!(own["principalArn"], "arn:aws:iam::123456789012:user/team/alice");
    let effective = |caller: Caller| {
        let w = &w;
        async move {
            let body = json!({"name": "containerInsights", "effectiveSettings": true});
            w.ok(&caller, "ListAccountSettings", body).await["settings"][0]["value"].clone()
        }
    };
    assert_eq!(effective(alice.clone()).await, "disabled");
    assert_eq!(effective(trainer.clone()).await, "enhanced");
    assert_eq!(effective(root.clone()).await, "enhanced");
    // A role session's settings are its role's.
    let role_own = w.setting(&trainer, "containerInsights", "enabled").await;
    assert_eq!(role_own["principalArn"], "arn:aws:iam::123456789012:role/trainer");
    assert_eq!(effective(role_session("trainer")).await, "enabled");
    // The root names others; the filter by value; only explicit settings without effectiveSettings.
    let trainer_arn = "arn:aws:iam::123456789012:role/trainer";
    let listed = w.ok(&root, "ListAccountSettings", json!({"principalArn": trainer_arn})).await;
    assert_eq!(names_values(&listed), [("containerInsights".to_owned(), "enabled".to_owned())]);
    let none = json!({"principalArn": trainer_arn, "name": "containerInsights", "value": "disabled"});
    assert_eq!(w.ok(&root, "ListAccountSettings", none).await["settings"], json!([]));
    let by_root = json!({"name": "serviceLongArnFormat", "value": "disabled", "principalArn": trainer_arn});
    assert_eq!(w.ok(&root, "PutAccountSetting", by_root).await["setting"]["principalArn"], trainer_arn);
    // Others may not.
    let e = w.err(&alice, "ListAccountSettings", json!({"principalArn": trainer_arn})).await;
    assert_eq!(e.code, ErrorCode::AccessDeniedException);
    let e = w
        .err(
            &alice,
            "PutAccountSetting",
            json!({"name": "taskLongArnFormat", "value": "disabled",
                                                  "principalArn": "arn:aws:iam::123456789012:root"}),
        )
        .await;
    assert_eq!(e.code, ErrorCode::AccessDeniedException);

    // Delete: the principal's own goes, the default applies again; the answer is what was removed.
    let removed = w.ok(&alice, "DeleteAccountSetting", json!({"name": "containerInsights"})).await;
    assert_eq!(removed["setting"]["value"], "disabled");
    assert_eq!(effective(alice.clone()).await, "enhanced");
    let again = w.ok(&alice, "DeleteAccountSetting", json!({"name": "containerInsights"})).await;
    assert_eq!(again["setting"]["value"], "enhanced", "nothing left to remove: the value that applies");
    w.ok(&root, "DeleteAccountSetting", json!({"name": "containerInsights"})).await;
    assert_eq!(effective(alice.clone()).await, "disabled");

    // Errors: names, values, the account-wide and AWS-managed settings.
    let e = w.err(&root, "PutAccountSetting", json!({"name": "longArns", "value": "enabled"})).await;
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::InvalidParameterException, "name 'longArns' is not a valid account setting name.")
    );
    let e = w.err(&root, "PutAccountSetting", json!({"name": "taskLongArnFormat", "value": "enhanced"})).await;
    assert_eq!(e.code, ErrorCode::InvalidParameterException);
    let e = w.err(&alice, "PutAccountSetting", json!({"name": "fargateFIPSMode", "value": "enabled"})).await;
    assert!(e.message.contains("PutAccountSettingDefault"), "{}", e.message);
    w.ok(&alice, "PutAccountSettingDefault", json!({"name": "fargateFIPSMode", "value": "enabled"})).await;
    let e = w.err(&root, "PutAccountSettingDefault", json!({"name": "guardDutyActivate", "value": "enabled"})).await;
    assert_eq!(e.code, ErrorCode::InvalidParameterException);
    let guard = w.ok(&root, "ListAccountSettings", json!({"name": "guardDutyActivate", "effectiveSettings": true}));
    assert_eq!(guard.await["settings"][0]["type"], "aws_managed");
}

#[tokio::test]
async fn short_task_arns_are_found_everywhere() {
    let w = world(Duration::from_millis(10)).await;
    let root = Caller::Root;
    let alice = user("alice");
    w.ok(&root, "CreateCluster", json!({"clusterName": "ml"})).await;
    let host = w.host(&root, "ml").await;
    w.definition().await;
    // The default for everyone; alice keeps the long format for herself.
    w.ok(&root, "PutAccountSettingDefault", json!({"name": "taskLongArnFormat", "value": "disabled"})).await;
    w.setting(&alice, "taskLongArnFormat", "enabled").await;

    let out = w.ok(&root, "RunTask", json!({"cluster": "ml", "taskDefinition": "web"})).await;
    let task = out["tasks"][0]["taskArn"].as_str().unwrap().to_owned();
    let id = task.strip_prefix(&format!("{PREFIX}task/")).unwrap().to_owned();
    assert!(!id.contains('/'), "short: {task}");
    let container = out["tasks"][0]["containers"][0]["containerArn"].as_str().unwrap();
    assert!(container.starts_with(&format!("{PREFIX}container/")) && container.matches('/').count() == 1);
    let long = w.ok(&alice, "RunTask", json!({"cluster": "ml", "taskDefinition": "web"})).await;
    assert!(long["tasks"][0]["taskArn"].as_str().unwrap().starts_with(&format!("{PREFIX}task/ml/")));

    // Describe, list, the agent's reports and StopTask take it (with the cluster named, as on ECS).
    let described = w.ok(&root, "DescribeTasks", json!({"cluster": "ml", "tasks": [task]})).await;
    assert_eq!(described["tasks"][0]["taskArn"], task.as_str());
    let described = w.ok(&root, "DescribeTasks", json!({"cluster": "ml", "tasks": [id]})).await;
    assert_eq!(described["tasks"][0]["taskArn"], task.as_str());
    let listed = w.ok(&root, "ListTasks", json!({"cluster": "ml"})).await;
    assert!(listed["taskArns"].as_array().unwrap().contains(&json!(task)));
    let manifest = json!({"cluster": "ml", "containerInstance": host, "waitSeconds": 0});
    let polled = dispatch_agent(w.api.clone(), "Poll", manifest).await.unwrap();
    assert_eq!(polled["tasks"].as_array().unwrap().len(), 2);
    let report = json!({"cluster": "ml", "task": task, "status": "RUNNING",
                        "containers": [{"containerName": "web", "status": "RUNNING"}]});
    w.ok(&root, "SubmitTaskStateChange", report).await;
    let stopped = w.ok(&root, "StopTask", json!({"cluster": "ml", "task": task})).await;
    assert_eq!(stopped["task"]["desiredStatus"], "STOPPED");

    // Tagging: ECS's refusals.
    let e = w.err(&root, "TagResource", json!({"resourceArn": task, "tags": [{"key": "a", "value": "b"}]})).await;
    assert_eq!(e.message, "Long arn format must be used for tagging operations");
    let e = w
        .err(&root, "RunTask", json!({"cluster": "ml", "taskDefinition": "web", "tags": [{"key": "a", "value": "b"}]}))
        .await;
    assert_eq!(e.message, "Long arn format must be enabled for tagging.");
    let e = w
        .err(&root, "RunTask", json!({"cluster": "ml", "taskDefinition": "web", "propagateTags": "TASK_DEFINITION"}))
        .await;
    assert_eq!(e.code, ErrorCode::InvalidParameterException);

    // The agent's stop report, then the reaper finds the cluster from the task, not its ARN.
    let report = json!({"cluster": "ml", "task": task, "status": "STOPPED",
                        "containers": [{"containerName": "web", "status": "STOPPED", "exitCode": 0}]});
    w.ok(&root, "SubmitTaskStateChange", report).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(berth_server::controllers::reaper::pass(&w.api).await.unwrap(), 1);
    let gone = w.ok(&root, "DescribeTasks", json!({"cluster": "ml", "tasks": [task]})).await;
    assert_eq!(gone["failures"][0]["reason"], "MISSING");
}

#[tokio::test]
async fn short_service_and_instance_arns_work_too() {
    let w = world(Duration::from_secs(3600)).await;
    let root = Caller::Root;
    w.ok(&root, "CreateCluster", json!({"clusterName": "ml"})).await;
    for name in ["serviceLongArnFormat", "containerInstanceLongArnFormat", "taskLongArnFormat"] {
        w.setting(&root, name, "disabled").await;
    }
    let host = w.host(&root, "ml").await;
    let instance_id = host.strip_prefix(&format!("{PREFIX}container-instance/")).unwrap().to_owned();
    assert!(!instance_id.contains('/'), "short: {host}");
    w.definition().await;

    // Instances: describe, attributes, StartTask on it, drain it; no tags.
    let described = w.ok(&root, "DescribeContainerInstances", json!({"cluster": "ml", "containerInstances": [host]}));
    assert_eq!(described.await["containerInstances"][0]["containerInstanceArn"], host.as_str());
    let attribute = json!({"name": "gpu", "value": "no", "targetId": host});
    let put = w.ok(&root, "PutAttributes", json!({"cluster": "ml", "attributes": [attribute]})).await;
    assert_eq!(put["attributes"][0]["targetId"], host.as_str());
    let started = w.ok(
        &root,
        "StartTask",
        json!({"cluster": "ml", "taskDefinition": "web",
                                                  "containerInstances": [instance_id]}),
    );
    let started = started.await;
    assert_eq!(started["failures"], json!([]));
    assert_eq!(started["tasks"][0]["containerInstanceArn"], host.as_str());
    let e = w.err(&root, "ListTagsForResource", json!({"resourceArn": host})).await;
    assert_eq!(e.message, "Long arn format must be used for tagging operations");
    let tagged = json!({"cluster": "ml", "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1}],
                        "tags": [{"key": "a", "value": "b"}]});
    assert_eq!(
        w.err(&root, "RegisterContainerInstance", tagged).await.message,
        "Long arn format must be enabled for tagging."
    );

    // Services: a short ARN; Describe and Update by it; its tasks take its creator's task format.
    let tasks_controller = tokio::spawn(berth_server::controllers::services::run(w.api.clone()));
    let out = w
        .ok(
            &root,
            "CreateService",
            json!({"cluster": "ml", "serviceName": "api", "taskDefinition": "web",
                                            "desiredCount": 1}),
        )
        .await;
    let service = out["service"]["serviceArn"].as_str().unwrap().to_owned();
    assert_eq!(service, format!("{PREFIX}service/api"));
    assert_eq!(out["service"]["createdBy"], "arn:aws:iam::123456789012:root");
    let described = w.ok(&root, "DescribeServices", json!({"cluster": "ml", "services": [service]})).await;
    assert_eq!(described["services"][0]["serviceArn"], service.as_str());
    w.ok(&root, "UpdateService", json!({"cluster": "ml", "service": service, "desiredCount": 2})).await;
    let mut service_tasks = vec![];
    for _ in 0..100 {
        let listed = w.ok(&root, "ListTasks", json!({"cluster": "ml", "serviceName": service})).await;
        service_tasks = listed["taskArns"].as_array().unwrap().clone();
        if service_tasks.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tasks_controller.abort();
    assert_eq!(service_tasks.len(), 2, "the controller started the service's tasks");
    for t in &service_tasks {
        assert!(!t.as_str().unwrap().strip_prefix(&format!("{PREFIX}task/")).unwrap().contains('/'), "{t}");
    }
    let e = w.err(&root, "TagResource", json!({"resourceArn": service, "tags": [{"key": "a", "value": "b"}]})).await;
    assert_eq!(e.code, ErrorCode::InvalidParameterException);
    let e = w
        .err(
            &root,
            "CreateService",
            json!({"cluster": "ml", "serviceName": "tagged", "taskDefinition": "web",
                                            "desiredCount": 0, "tags": [{"key": "a", "value": "b"}]}),
        )
        .await;
    assert_eq!(e.message, "Long arn format must be enabled for tagging.");

    // Drain the short-ARN instance, then lose its agent: the liveness controller finds its cluster by key.
    let drained = w.ok(
        &root,
        "UpdateContainerInstancesState",
        json!({"cluster": "ml",
                                                                        "containerInstances": [host],
                                                                        "status": "DRAINING"}),
    );
    assert_eq!(drained.await["containerInstances"][0]["status"], "DRAINING");
    tokio::time::sleep(Duration::from_millis(300)).await;
    berth_server::controllers::liveness::pass(&w.api).await.unwrap();
    let after = w.ok(&root, "DescribeContainerInstances", json!({"cluster": "ml", "containerInstances": [host]}));
    assert_eq!(after.await["containerInstances"][0]["agentConnected"], false);
    let task = started["tasks"][0]["taskArn"].as_str().unwrap();
    let lost = w.ok(&root, "DescribeTasks", json!({"cluster": "ml", "tasks": [task]})).await;
    assert_eq!(lost["tasks"][0]["lastStatus"], "STOPPED");
}

#[tokio::test]
async fn container_insights_default_for_new_clusters() {
    let w = world(Duration::from_secs(3600)).await;
    let root = Caller::Root;
    let settings = |out: &Value| out["cluster"]["settings"].clone();
    let plain = w.ok(&root, "CreateCluster", json!({"clusterName": "a"})).await;
    assert_eq!(settings(&plain), json!([{"name": "containerInsights", "value": "disabled"}]));
    w.ok(&root, "PutAccountSettingDefault", json!({"name": "containerInsights", "value": "enhanced"})).await;
    let b = w.ok(&root, "CreateCluster", json!({"clusterName": "b"})).await;
    assert_eq!(settings(&b), json!([{"name": "containerInsights", "value": "enhanced"}]));
    let described = w.ok(&root, "DescribeClusters", json!({"clusters": ["b"], "include": ["SETTINGS"]})).await;
    assert_eq!(described["clusters"][0]["settings"], json!([{"name": "containerInsights", "value": "enhanced"}]));
    // A cluster setting given wins; the user's own account setting beats the default.
    let given = json!({"clusterName": "c", "settings": [{"name": "containerInsights", "value": "disabled"}]});
    assert_eq!(settings(&w.ok(&root, "CreateCluster", given).await)[0]["value"], "disabled");
    let bob = user("bob");
    w.setting(&bob, "containerInsights", "enabled").await;
    let d = w.ok(&bob, "CreateCluster", json!({"clusterName": "d"})).await;
    assert_eq!(settings(&d)[0]["value"], "enabled");
    // An existing cluster is not changed.
    let a = w.ok(&root, "DescribeClusters", json!({"clusters": ["a"], "include": ["SETTINGS"]})).await;
    assert_eq!(a["clusters"][0]["settings"][0]["value"], "disabled");
}

#[tokio::test]
async fn tag_resource_authorization_off_needs_no_tag_resource_on_create() {
    let w = world(Duration::from_secs(3600)).await;
    w.iam("CreateUser", json!({"UserName": "carol"})).await;
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:CreateCluster", "ecs:PutAccountSetting"], "Resource": "*"}]});
    w.iam("PutUserPolicy", json!({"UserName": "carol", "PolicyName": "p", "PolicyDocument": policy.to_string()})).await;
    let carol = user("carol");
    let create = json!({"clusterName": "tagged", "tags": [{"key": "team", "value": "ml"}]});
    let check = |input: Value| {
        let api = w.api.clone();
        let carol = carol.clone();
        async move { authorize(&api, &carol, Origin::default(), "ecs", "CreateCluster", &input).await }
    };
    let e = check(create.clone()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AccessDeniedException);
    assert!(e.message.contains("ecs:TagResource"), "{}", e.message);
    assert!(check(json!({"clusterName": "plain"})).await.is_ok());
    w.setting(&carol, "tagResourceAuthorization", "off").await;
    assert!(check(create.clone()).await.is_ok(), "off: tags on creation need no ecs:TagResource");
    // Only for carol: the account default is still on.
    w.iam("CreateUser", json!({"UserName": "dave"})).await;
    w.iam("PutUserPolicy", json!({"UserName": "dave", "PolicyName": "p", "PolicyDocument": policy.to_string()})).await;
    let dave = user("dave");
    assert!(authorize(&w.api, &dave, Origin::default(), "ecs", "CreateCluster", &create).await.is_err());
    // The account setting's name is the ecs:account-setting condition key.
    let only_insights = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "ecs:PutAccountSetting", "Resource": "*",
        "Condition": {"StringEquals": {"ecs:account-setting": "containerInsights"}}}]});
    w.iam("PutUserPolicy", json!({"UserName": "dave", "PolicyName": "p", "PolicyDocument": only_insights.to_string()}))
        .await;
    let put = |name: &str| json!({"name": name, "value": "enabled"});
    assert!(
        authorize(&w.api, &dave, Origin::default(), "ecs", "PutAccountSetting", &put("containerInsights"))
            .await
            .is_ok()
    );
    assert!(
        authorize(&w.api, &dave, Origin::default(), "ecs", "PutAccountSetting", &put("awsvpcTrunking")).await.is_err()
    );
}
