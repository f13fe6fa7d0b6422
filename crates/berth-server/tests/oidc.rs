//! Berth as an OIDC issuer, against a real SQLite store: the agent operation `GetTaskWebIdentityToken` (only for a
//! task on the asking instance, only for an audience its definition names, only with a task role), the discovery
//! routes and STS `AssumeRoleWithWebIdentity` over HTTP without a signature (trust policy conditions, tampered,
//! expired and foreign tokens), and key rotation with an injected clock.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions panic on failure by design.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use berth_server::auth::Caller;
use berth_server::dispatch::{dispatch, dispatch_agent};
use berth_server::error::ApiError;
use berth_server::{Api, AuthMode, ServerConfig};
use berth_store::SqliteStore;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const ISSUER: &str = "https://berth.example.com";
const PROVIDER_ARN: &str = "arn:aws:iam::123456789012:oidc-provider/berth.example.com";

struct World {
    api: Arc<Api>,
    _dir: tempfile::TempDir,
}

async fn world(auth: AuthMode) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
    let mut config = ServerConfig::new("us-east-1", ACCOUNT, auth);
    config.oidc_issuer = Some(format!("{ISSUER}/"));
    let api = berth_server::build_api(Arc::new(store), &config).await.unwrap();
    World { api, _dir: dir }
}

impl World {
    async fn ok(&self, op: &str, body: Value) -> Value {
        match dispatch(self.api.clone(), op, body).await {
            Ok(v) => v,
            Err(e) => panic!("{op} failed: {:?} {}", e.code, e.message),
        }
    }

    async fn iam(&self, action: &str, params: Value) -> Value {
        berth_server::iam::dispatch(self.api.clone(), Caller::Root, action, params).await.unwrap()
    }

    async fn host(&self) -> String {
        let out = self
            .ok(
                "RegisterContainerInstance",
                json!({
                    "cluster": "default",
                    "totalResources": [
                        {"name": "CPU", "type": "INTEGER", "integerValue": 4096},
                        {"name": "MEMORY", "type": "INTEGER", "integerValue": 8192},
                        {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22"]},
                    ],
                    "attributes": [
                        {"name": "com.amazonaws.ecs.capability.task-iam-role"},
                        {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"},
                    ],
                }),
            )
            .await;
        let arn = out["containerInstance"]["containerInstanceArn"].as_str().unwrap().to_owned();
        let body = json!({"cluster": "default", "containerInstance": arn, "waitSeconds": 1});
        dispatch_agent(self.api.clone(), "Poll", body).await.unwrap();
        arn
    }

    /// Runs one task of `family` (registered with `definition`); returns (task ARN, its instance ARN).
    async fn run(&self, family: &str, definition: Value) -> (String, String) {
        let mut body = definition;
        body["family"] = json!(family);
        self.ok("RegisterTaskDefinition", body).await;
        let out = self.ok("RunTask", json!({"taskDefinition": family})).await;
        let t = &out["tasks"][0];
        assert!(t.is_object(), "RunTask placed nothing: {out}");
        (t["taskArn"].as_str().unwrap().to_owned(), t["containerInstanceArn"].as_str().unwrap().to_owned())
    }

    async fn token(&self, instance: &str, task: &str, audience: &str) -> Result<Value, ApiError> {
        let body = json!({"cluster": "default", "containerInstance": instance, "task": task, "audience": audience});
        dispatch_agent(self.api.clone(), "GetTaskWebIdentityToken", body).await
    }
}

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn trust(aud: &str, sub: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {"berth.example.com:aud": aud, "berth.example.com:sub": sub}}},
    ]})
    .to_string()
}

fn trainer_definition() -> Value {
    json!({
        "taskRoleArn": "trainer",
        "containerDefinitions": [
            {"name": "main", "image": "berth-test/busybox", "memory": 64,
             "dockerLabels": {"berth.web-identity.audience": "s3"}},
            {"name": "side", "image": "berth-test/busybox", "memory": 64},
        ],
    })
}

#[tokio::test]
async fn an_agent_gets_tokens_for_its_own_tasks_and_named_audiences_only() {
    let w = world(AuthMode::Disabled).await;
    let a = w.host().await;
    let b = w.host().await;
    let trainer_arn = format!("arn:aws:iam::{ACCOUNT}:role/ml/trainer");
    w.iam(
        "CreateRole",
        json!({"RoleName": "trainer", "Path": "/ml/", "AssumeRolePolicyDocument": trust("s3", &trainer_arn)}),
    )
    .await;
    let (task, on) = w.run("trainer", trainer_definition()).await;
    let elsewhere = if on == a { b.clone() } else { a.clone() };

    let out = w.token(&on, &task, "s3").await.expect("a token for the task's instance and audience");
    let token = out["token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["iss"], ISSUER, "no trailing slash");
    assert_eq!(claims["sub"], trainer_arn.as_str(), "the role's full ARN, path included");
    assert_eq!(claims["aud"], "s3");
    let (iat, exp) = (claims["iat"].as_i64().unwrap(), claims["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 3600);
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert_eq!(out["expiration"].as_f64(), Some(exp as f64));
    assert!(!claims["jti"].as_str().unwrap().is_empty());
    let ecs = &claims["https://berth.dev/ecs"];
    assert_eq!(ecs["task"], task.as_str());
    assert_eq!(ecs["family"], "trainer");
    assert_eq!(ecs["cluster"], format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/default").as_str());
    assert_eq!(ecs["taskDefinition"], format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/trainer:1").as_str());
    let verified = berth_server::oidc::verify(&w.api, token, w.api.now()).await.unwrap().unwrap();
    assert_eq!(verified.str_claim("sub"), Some(trainer_arn.as_str()));
    // Two tokens are two tokens.
    let again = w.token(&on, &task, "s3").await.unwrap();
    assert_ne!(claims_of(again["token"].as_str().unwrap())["jti"], claims["jti"]);

    // Another instance's agent gets nothing, nor an audience no container names, nor garbage.
    let e = w.token(&elsewhere, &task, "s3").await.unwrap_err();
    assert!(e.message.contains("not running on this container instance"), "{}", e.message);
    let e = w.token(&on, &task, "sts.amazonaws.com").await.unwrap_err();
    assert!(e.message.contains("audience 'sts.amazonaws.com' is not named"), "{}", e.message);
    assert!(w.token(&on, &task, "").await.is_err());
    assert!(w.token(&on, "arn:aws:ecs:us-east-1:123456789012:task/default/nope", "s3").await.is_err());
    let wrong_cluster = task.replace("/default/", "/other/");
    assert!(w.token(&on, &wrong_cluster, "s3").await.is_err());

    // A task without a role, and one whose role does not exist.
    let mut no_role = trainer_definition();
    no_role.as_object_mut().unwrap().remove("taskRoleArn");
    let (t2, on2) = w.run("no-role", no_role).await;
    let e = w.token(&on2, &t2, "s3").await.unwrap_err();
    assert!(e.message.contains("has no task role"), "{}", e.message);
    let mut ghost = trainer_definition();
    ghost["taskRoleArn"] = json!("ghost");
    let (t3, on3) = w.run("ghost", ghost).await;
    let e = w.token(&on3, &t3, "s3").await.unwrap_err();
    assert!(e.message.contains("'ghost' is not a role"), "{}", e.message);

    // Once the task has stopped, no more tokens.
    w.ok("StopTask", json!({"task": task})).await;
    let change = json!({"cluster": "default", "task": task, "status": "STOPPED",
                        "containers": [{"containerName": "main", "status": "STOPPED", "exitCode": 0},
                                       {"containerName": "side", "status": "STOPPED", "exitCode": 0}]});
    dispatch(w.api.clone(), "SubmitTaskStateChange", change).await.unwrap();
    assert!(w.token(&on, &task, "s3").await.is_err());
}

/// An HTTP server over the API's router (no TLS), its base URL.
async fn serve(api: Arc<Api>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = berth_server::wire::router(api);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// `AssumeRoleWithWebIdentity` as boto3 sends it: a form POST with no signature. Returns (status, body).
async fn assume(base: &str, role_arn: &str, token: &str) -> (u16, String) {
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "AssumeRoleWithWebIdentity")
        .append_pair("Version", "2011-06-15")
        .append_pair("RoleArn", role_arn)
        .append_pair("RoleSessionName", "job-1")
        .append_pair("WebIdentityToken", token)
        .finish();
    let response = reqwest::Client::new()
        .post(format!("{base}/"))
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn xml_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let start = body.find(&format!("<{name}>"))? + name.len() + 2;
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(&body[start..end])
}

#[tokio::test]
async fn sts_exchanges_the_issuer_s_tokens_for_role_credentials_without_a_signature() {
    // Signatures are checked on this server: the exchange needs none.
    let w = world(AuthMode::SigV4).await;
    let base = serve(w.api.clone()).await;
    let http = reqwest::Client::new();

    // Discovery and JWKS, unauthenticated.
    let doc: Value =
        http.get(format!("{base}/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["issuer"], ISSUER);
    assert_eq!(doc["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json").as_str());
    assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["RS256"]));
    let jwks: Value = http.get(format!("{base}/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "the first key was made at startup");
    assert_eq!((keys[0]["kty"].as_str(), keys[0]["alg"].as_str()), (Some("RSA"), Some("RS256")));
    assert!(keys[0].get("d").is_none() && keys[0].get("private").is_none(), "no private material");

    w.host().await;
    let trainer_arn = format!("arn:aws:iam::{ACCOUNT}:role/trainer");
    w.iam("CreateRole", json!({"RoleName": "trainer", "AssumeRolePolicyDocument": trust("s3", &trainer_arn)})).await;
    let reader_arn = format!("arn:aws:iam::{ACCOUNT}:role/reader");
    w.iam("CreateRole", json!({"RoleName": "reader", "AssumeRolePolicyDocument": trust("s3", &trainer_arn)})).await;
    let picky_arn = format!("arn:aws:iam::{ACCOUNT}:role/picky");
    w.iam("CreateRole", json!({"RoleName": "picky", "AssumeRolePolicyDocument": trust("minio", &trainer_arn)})).await;
    let (task, on) = w.run("trainer", trainer_definition()).await;
    let token = w.token(&on, &task, "s3").await.unwrap()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        jwks["keys"][0]["kid"],
        json!(
            serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap())
                .unwrap()["kid"]
        )
    );

    // The trust policy's aud and sub conditions hold: credentials of the role.
    let (status, body) = assume(&base, &reader_arn, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(xml_field(&body, "SubjectFromWebIdentityToken"), Some(trainer_arn.as_str()));
    assert_eq!(xml_field(&body, "Provider"), Some(ISSUER));
    assert_eq!(xml_field(&body, "Audience"), Some("s3"));
    assert_eq!(xml_field(&body, "Arn"), Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/reader/job-1").as_str()));
    let session = xml_field(&body, "SessionToken").unwrap();
    let claims = w.api.auth.sessions().open(session, w.api.now()).unwrap();
    assert_eq!(
        claims.subject,
        berth_server::sts::session::Subject::Role { name: "reader".into(), session: "job-1".into() }
    );
    assert!(xml_field(&body, "AccessKeyId").unwrap().starts_with("ASIA"));

    // Conditions that do not hold, an unknown role: AccessDenied, and nothing else said.
    for role in [picky_arn.as_str(), "arn:aws:iam::123456789012:role/nope", "arn:aws:iam::999999999999:role/reader"] {
        let (status, body) = assume(&base, role, &token).await;
        assert_eq!(status, 403, "{role}: {body}");
        assert_eq!(xml_field(&body, "Code"), Some("AccessDenied"));
        assert_eq!(xml_field(&body, "Message"), Some("Not authorized to perform sts:AssumeRoleWithWebIdentity"));
    }

    // A tampered payload (another subject), a flipped signature, alg none: InvalidIdentityToken.
    let parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims_of(&token);
    forged["sub"] = json!("arn:aws:iam::123456789012:role/admin");
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(forged.to_string()), parts[2]);
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), parts[1]);
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[0] ^= 0x80;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&sig));
    for (what, bad) in [("payload", forged), ("alg none", none), ("signature", flipped), ("junk", "abcd".into())] {
        let (status, body) = assume(&base, &reader_arn, &bad).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(xml_field(&body, "Code"), Some("InvalidIdentityToken"), "{what}: {body}");
    }

    // A token of another issuer names it.
    let mut foreign = claims_of(&token);
    foreign["iss"] = json!("https://token.actions.githubusercontent.com");
    let foreign = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(foreign.to_string()), parts[2]);
    let (_, body) = assume(&base, &reader_arn, &foreign).await;
    assert_eq!(xml_field(&body, "Code"), Some("InvalidIdentityToken"));
    assert!(
        body.contains(
            "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com"
        ),
        "{body}"
    );

    // Signed by the issuer's own key, but expired: ExpiredTokenException.
    let past = w.api.now() - 7200.0;
    let mut old = claims_of(&token);
    old["iat"] = json!(past as i64);
    old["nbf"] = json!(past as i64);
    old["exp"] = json!(past as i64 + 3600);
    let expired = berth_server::oidc::sign(&w.api, &old, w.api.now()).await.unwrap();
    let (status, body) = assume(&base, &reader_arn, &expired).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(xml_field(&body, "Code"), Some("ExpiredTokenException"));

    // Bad input stored nothing and the server still serves: the same token still works.
    let (status, _) = assume(&base, &reader_arn, &token).await;
    assert_eq!(status, 200);
    // Other STS actions still need a signature.
    let response = http
        .post(format!("{base}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=GetCallerIdentity&Version=2011-06-15")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
}

#[tokio::test]
async fn signing_keys_rotate_and_old_ones_leave_the_jwks_after_their_tokens_expired() {
    let w = world(AuthMode::Disabled).await;
    let t0 = w.api.now();
    let first = berth_server::oidc::keys::load(&w.api).await.unwrap();
    assert_eq!(first.keys.len(), 1);
    let old_kid = first.keys[0].kid.clone();
    // A second replica starting on the same store adds no key.
    let again = berth_server::oidc::keys::ensure(&w.api).await.unwrap();
    assert_eq!(again, first);
    assert!(berth_server::oidc::keys::rotate(&w.api, t0 + 3600.0).await.unwrap().is_empty());

    // A day later the controller adds a key; it is published before it signs.
    let day = t0 + 86_400.0;
    let plan = berth_server::oidc::keys::rotate(&w.api, day).await.unwrap();
    assert!(plan.add && plan.drop.is_empty());
    let ring = berth_server::oidc::keys::load(&w.api).await.unwrap();
    assert_eq!(ring.keys.len(), 2);
    let new_kid = ring.keys[1].kid.clone();
    assert_ne!(new_kid, old_kid);
    let kid_of = |token: &str| -> String {
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        header["kid"].as_str().unwrap().to_owned()
    };
    let claims = |now: f64| {
        json!({"iss": ISSUER, "sub": "arn:aws:iam::123456789012:role/r", "aud": "a", "iat": now as i64,
               "exp": now as i64 + 3600})
    };
    let before = berth_server::oidc::sign(&w.api, &claims(day), day).await.unwrap();
    assert_eq!(kid_of(&before), old_kid, "the new key is not published long enough yet");
    let active = day + berth_server::oidc::keys::PUBLISH_DELAY;
    let after = berth_server::oidc::sign(&w.api, &claims(active), active).await.unwrap();
    assert_eq!(kid_of(&after), new_kid);
    // Both verify while the old key's tokens may live.
    let ring = berth_server::oidc::keys::load(&w.api).await.unwrap();
    assert!(berth_server::oidc::verify_with(&ring, ISSUER, &before, day + 10.0).is_ok());
    assert!(berth_server::oidc::verify_with(&ring, ISSUER, &after, active + 10.0).is_ok());

    // An hour (and the skew) after the new key began signing, the old one goes.
    let gone = active + 3600.0 + 60.0;
    let plan = berth_server::oidc::keys::rotate(&w.api, gone).await.unwrap();
    assert_eq!(plan.drop, vec![old_kid.clone()]);
    let ring = berth_server::oidc::keys::load(&w.api).await.unwrap();
    assert_eq!(ring.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(), vec![new_kid]);
    assert!(berth_server::oidc::verify_with(&ring, ISSUER, &before, day + 10.0).is_err());
}
