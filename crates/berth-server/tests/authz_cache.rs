//! Authorization keeps each caller's identity and parsed policies in memory (`authz::PolicyCache`). These tests
//! hold it to what IAM promises: a change made through this server counts from the very next request, and a change
//! another replica commits to the shared store counts once its watch delivers it.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions panic on failure by design.

use std::sync::Arc;
use std::time::Duration;

use berth_server::auth::Caller;
use berth_server::authz::{Origin, authorize};
use berth_server::{Api, AuthMode, ServerConfig};
use berth_store::SqliteStore;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";

async fn replica(store: Arc<dyn berth_store::Store>) -> Arc<Api> {
    let config = ServerConfig::new("us-east-1", ACCOUNT, AuthMode::Disabled);
    berth_server::build_api(store, &config).await.unwrap()
}

async fn iam(api: &Arc<Api>, action: &str, params: Value) -> Value {
    match berth_server::iam::dispatch(api.clone(), Caller::Root, action, params).await {
        Ok(v) => v,
        Err(e) => panic!("{action}: {:?} {}", e.code, e.message),
    }
}

fn alice() -> Caller {
    Caller::User { name: "alice".into(), access_key_id: "AKIAEXAMPLE".into() }
}

async fn may_list(api: &Api) -> bool {
    authorize(api, &alice(), Origin::default(), "ecs", "ListClusters", &json!({})).await.is_ok()
}

fn allow(action: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}).to_string()
}

#[tokio::test]
async fn changes_through_this_server_count_from_the_next_request() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn berth_store::Store> = Arc::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
    let api = replica(store).await;
    iam(&api, "CreateUser", json!({"UserName": "alice"})).await;
    assert!(!may_list(&api).await, "no policy yet");
    // Inline policy: put, then deleted.
    iam(&api, "PutUserPolicy", json!({"UserName": "alice", "PolicyName": "p", "PolicyDocument": allow("ecs:List*")}))
        .await;
    assert!(may_list(&api).await);
    iam(&api, "DeleteUserPolicy", json!({"UserName": "alice", "PolicyName": "p"})).await;
    assert!(!may_list(&api).await);
    // A managed policy through a group; then a new default version that allows something else.
    let created =
        iam(&api, "CreatePolicy", json!({"PolicyName": "lister", "PolicyDocument": allow("ecs:ListClusters")})).await;
    let arn = created["Policy"]["Arn"].as_str().unwrap().to_owned();
    iam(&api, "CreateGroup", json!({"GroupName": "team"})).await;
    iam(&api, "AttachGroupPolicy", json!({"GroupName": "team", "PolicyArn": arn})).await;
    assert!(!may_list(&api).await, "not in the group yet");
    iam(&api, "AddUserToGroup", json!({"GroupName": "team", "UserName": "alice"})).await;
    assert!(may_list(&api).await);
    iam(
        &api,
        "CreatePolicyVersion",
        json!({"PolicyArn": arn, "PolicyDocument": allow("ecs:DescribeClusters"), "SetAsDefault": "true"}),
    )
    .await;
    assert!(!may_list(&api).await, "the new default version no longer allows it");
    // Gone users are denied.
    iam(&api, "SetDefaultPolicyVersion", json!({"PolicyArn": arn, "VersionId": "v1"})).await;
    assert!(may_list(&api).await);
    iam(&api, "RemoveUserFromGroup", json!({"GroupName": "team", "UserName": "alice"})).await;
    iam(&api, "DeleteUser", json!({"UserName": "alice"})).await;
    assert!(!may_list(&api).await);
}

#[tokio::test]
async fn another_replica_s_changes_count_once_the_watch_delivers_them() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn berth_store::Store> = Arc::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
    let (a, b) = (replica(store.clone()).await, replica(store.clone()).await);
    let follower = {
        let (a, store) = (a.clone(), store.clone());
        tokio::spawn(async move { a.policies.follow(store.as_ref()).await })
    };
    iam(&b, "CreateUser", json!({"UserName": "alice"})).await;
    assert!(!may_list(&a).await, "replica A has alice, without policies, in memory now");
    iam(&b, "PutUserPolicy", json!({"UserName": "alice", "PolicyName": "p", "PolicyDocument": allow("ecs:List*")}))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !may_list(&a).await {
        assert!(tokio::time::Instant::now() < deadline, "replica A never saw replica B's policy");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    follower.abort();
}
