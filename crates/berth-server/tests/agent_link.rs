//! The agent link over TLS, server side: `GetLinkCertificate` issues a certificate for the host of the link
//! endpoint an instance registered, for a key its agent proves it holds; the server's link client then reaches
//! that agent and refuses anyone presenting another CA's certificate.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions panic on failure by design.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use berth_server::dispatch::{dispatch, dispatch_agent};
use berth_server::{Api, AuthMode, ServerConfig};
use berth_store::SqliteStore;
use berth_tls::pki::{Authority, LinkKey, Usage};
use berth_tls::{Listener, ReloadableCert};
use serde_json::{Value, json};

async fn api(authority: Option<Arc<Authority>>, dir: &std::path::Path) -> Arc<Api> {
    let store = SqliteStore::open(&dir.join("state.db")).unwrap();
    let mut config = ServerConfig::new("us-east-1", "000000000000", AuthMode::Disabled);
    config.tls_authority = authority;
    berth_server::build_api(Arc::new(store), &config).await.unwrap()
}

async fn register(api: &Arc<Api>, endpoint: &str) -> String {
    let out = dispatch(
        api.clone(),
        "RegisterContainerInstance",
        json!({
            "cluster": "default",
            "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1024}],
            "berthAgentLink": {"endpoint": endpoint, "token": "0123456789abcdef0123"},
        }),
    )
    .await
    .unwrap();
    out["containerInstance"]["containerInstanceArn"].as_str().unwrap().to_owned()
}

fn request(instance: &str, key: &LinkKey, proof_for: &str) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    json!({
        "cluster": "default",
        "containerInstance": instance,
        "publicKey": b64.encode(key.public_point()),
        "proof": b64.encode(key.proof(proof_for).unwrap()),
    })
}

/// Serves "agent" over TLS with `chain` and `key` on a free loopback port; returns the port.
async fn serve(chain: &str, key: &str) -> u16 {
    let cert = ReloadableCert::new(chain, key).unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener = Listener::new(tcp, Some(cert.server_config().unwrap())).unwrap();
    let port = listener.local_addr().port();
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "agent" }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    port
}

#[tokio::test]
async fn an_agent_gets_a_certificate_the_server_then_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let authority = Arc::new(Authority::ephemeral().unwrap());
    let api = api(Some(authority.clone()), dir.path()).await;
    // The port is known before registering, as the agent binds before it registers.
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    drop(tcp);
    let instance = register(&api, &format!("https://127.0.0.1:{port}")).await;
    let key = LinkKey::generate().unwrap();

    let out = dispatch_agent(api.clone(), "GetLinkCertificate", request(&instance, &key, &instance)).await.unwrap();
    let certificate = out["certificate"].as_str().unwrap();
    let left = out["expiresAt"].as_f64().unwrap() - api.now();
    assert!((6.9 * 86400.0..=7.0 * 86400.0 + 1.0).contains(&left), "{left}");

    let cert = ReloadableCert::new(certificate, &key.private_pem()).unwrap();
    let tcp = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let listener = Listener::new(tcp, Some(cert.server_config().unwrap())).unwrap();
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "agent" }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let answer = api.link_client.get(format!("https://127.0.0.1:{port}/")).send().await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "agent");

    // Someone else's certificate for the same name, from another CA, is refused.
    let other = Authority::ephemeral().unwrap();
    let (chain, other_key) =
        other.issue_with_key("impostor", &["127.0.0.1".into()], Usage::Server, Duration::from_secs(600)).unwrap();
    let impostor = serve(&chain, &other_key).await;
    let refused = api.link_client.get(format!("https://127.0.0.1:{impostor}/")).send().await;
    assert!(refused.is_err(), "{refused:?}");
}

#[tokio::test]
async fn bad_requests_get_no_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let api = api(Some(Arc::new(Authority::ephemeral().unwrap())), dir.path()).await;
    let instance = register(&api, "https://10.0.0.5:8701").await;
    let plain = register(&api, "http://10.0.0.6:8701").await;
    let key = LinkKey::generate().unwrap();
    let ask = |body: Value| dispatch_agent(api.clone(), "GetLinkCertificate", body);

    // A proof made for another instance.
    let e = ask(request(&instance, &key, &plain)).await.unwrap_err();
    assert!(e.message.contains("signature does not verify"), "{}", e.message);
    // Not base64, not a P-256 point.
    let mut body = request(&instance, &key, &instance);
    body["publicKey"] = json!("!!!");
    assert!(ask(body).await.unwrap_err().message.contains("publicKey"));
    let mut body = request(&instance, &key, &instance);
    body["publicKey"] = json!(base64::engine::general_purpose::STANDARD.encode([4u8; 10]));
    assert!(ask(body).await.unwrap_err().message.contains("uncompressed P-256"));
    // An instance whose link is plain HTTP, and one that is not registered.
    let e = ask(request(&plain, &key, &plain)).await.unwrap_err();
    assert!(e.message.contains("no https:// link endpoint"), "{}", e.message);
    let ghost = instance.replace(instance.rsplit('/').next().unwrap(), "0000");
    let e = ask(request(&ghost, &key, &ghost)).await.unwrap_err();
    assert!(e.message.contains("is not registered"), "{}", e.message);

    // A server without a CA (plain HTTP) issues nothing.
    let dir = tempfile::tempdir().unwrap();
    let plain_server = api_without_ca(dir.path()).await;
    let instance = register(&plain_server, "https://10.0.0.5:8701").await;
    let e = dispatch_agent(plain_server, "GetLinkCertificate", request(&instance, &key, &instance)).await.unwrap_err();
    assert!(e.message.contains("plain HTTP"), "{}", e.message);
}

async fn api_without_ca(dir: &std::path::Path) -> Arc<Api> {
    api(None, dir).await
}
