//! The listener end to end: an axum router served over TLS with a certificate from Berth's CA, a client that
//! trusts the CA, one that does not, and a plain-text client; and plain TCP where asked.

#![allow(clippy::unwrap_used)] // Test helpers outside #[test] functions panic on failure by design.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use berth_tls::pki::{Authority, Usage};
use berth_tls::{Listener, Peer};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn app() -> Router {
    Router::new()
        .route("/", get(|ConnectInfo(peer): ConnectInfo<Peer>| async move { format!("secure={}", peer.secure) }))
}

async fn start(tls: Option<Arc<rustls::ServerConfig>>) -> std::net::SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listener = Listener::new(tcp, tls).unwrap();
    let addr = listener.local_addr();
    tokio::spawn(async move {
        axum::serve(listener, app().into_make_service_with_connect_info::<Peer>()).await.unwrap();
    });
    addr
}

fn client(ca_pem: &str) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn get_over<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut s: S) -> String {
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn tls_with_a_certificate_from_the_ca() {
    let ca = Authority::ephemeral().unwrap();
    let (chain, key) = ca
        .issue_with_key("berth", &["127.0.0.1".into(), "localhost".into()], Usage::Server, Duration::from_secs(600))
        .unwrap();
    let addr = start(Some(berth_tls::server_config(&chain, &key).unwrap())).await;

    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = client(ca.cert_pem()).connect(ServerName::try_from("127.0.0.1").unwrap(), tcp).await.unwrap();
    let answer = get_over(tls).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("secure=true"), "{answer}");

    // A name the certificate does not hold.
    let tcp = TcpStream::connect(addr).await.unwrap();
    assert!(client(ca.cert_pem()).connect(ServerName::try_from("berth.example").unwrap(), tcp).await.is_err());

    // Another CA's client does not trust it.
    let other = Authority::ephemeral().unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    assert!(client(other.cert_pem()).connect(ServerName::try_from("127.0.0.1").unwrap(), tcp).await.is_err());

    // Plain HTTP to a TLS port gets no answer, and the server keeps serving.
    let plain = TcpStream::connect(addr).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), get_over(plain)).await.unwrap_or_default();
    assert!(!answer.contains("200"), "{answer}");
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = client(ca.cert_pem()).connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    assert!(get_over(tls).await.ends_with("secure=true"));
}

#[tokio::test]
async fn a_silent_client_does_not_hold_others() {
    let ca = Authority::ephemeral().unwrap();
    let (chain, key) =
        ca.issue_with_key("berth", &["127.0.0.1".into()], Usage::Server, Duration::from_secs(600)).unwrap();
    let addr = start(Some(berth_tls::server_config(&chain, &key).unwrap())).await;
    let _silent: Vec<TcpStream> = futures_connect(addr, 5).await;
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = tokio::time::timeout(
        Duration::from_secs(3),
        client(ca.cert_pem()).connect(ServerName::try_from("127.0.0.1").unwrap(), tcp),
    )
    .await
    .expect("a handshake waits behind silent clients")
    .unwrap();
    assert!(get_over(tls).await.ends_with("secure=true"));
}

async fn futures_connect(addr: std::net::SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(TcpStream::connect(addr).await.unwrap());
    }
    out
}

#[tokio::test]
async fn plain_where_asked() {
    let addr = start(None).await;
    let answer = get_over(TcpStream::connect(addr).await.unwrap()).await;
    assert!(answer.ends_with("secure=false"), "{answer}");
}

#[test]
fn bad_pem_is_a_clear_error() {
    let err = berth_tls::server_config("not a certificate", "nor a key").unwrap_err().to_string();
    assert!(err.contains("no certificate"), "{err}");
    let ca = Authority::ephemeral().unwrap();
    let (chain, _) = ca.issue_with_key("x", &["localhost".into()], Usage::Server, Duration::from_secs(60)).unwrap();
    let (_, other_key) = ca.issue_with_key("y", &["localhost".into()], Usage::Server, Duration::from_secs(60)).unwrap();
    let err = berth_tls::server_config(&chain, &other_key).unwrap_err().to_string();
    assert!(err.contains("do not make a TLS server"), "{err}");
}
