//! How `berth up` and `berth server` serve the API: HTTPS by default, with a certificate that Berth's own CA
//! (created in `<data dir>/tls` on first start) issues at every start for the names the server is reached by, or
//! with the operator's certificate (`--tls-cert`, `--tls-key`); plain HTTP only when asked (`--insecure-http`),
//! and then only on a loopback address, where nothing crosses a network.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use berth_tls::pki::{self, Authority, Usage};
use clap::Args;

/// How long the generated server certificate is valid (it is made anew at every start).
const SERVER_CERT_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

#[derive(Args, Clone, Debug)]
pub struct TlsArgs {
    /// Serve plain HTTP instead of HTTPS; allowed only on a loopback listen address.
    #[arg(long, env = "BERTH_INSECURE_HTTP", conflicts_with_all = ["tls_cert", "tls_key", "tls_san"])]
    pub insecure_http: bool,
    /// The server's certificate chain (PEM) instead of one from Berth's CA; needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key", env = "BERTH_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert", env = "BERTH_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// With --tls-cert: the CA bundle clients should trust, written into the aws profile (default: the system's).
    #[arg(long, value_name = "FILE", requires = "tls_cert", env = "BERTH_TLS_CA_BUNDLE")]
    pub tls_ca_bundle: Option<PathBuf>,
    /// Another name (DNS name or IP address) for the generated certificate; repeatable.
    #[arg(long = "tls-san", value_name = "NAME")]
    pub tls_san: Vec<String>,
}

/// What the server serves with, and what clients should trust.
pub struct Serving {
    /// `None`: plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Berth's CA, which issues agents' link certificates (absent with plain HTTP).
    pub authority: Option<Arc<Authority>>,
    /// The CA bundle clients use to verify the server: its path (for the aws profile's `ca_bundle`) and contents
    /// (for the local agent). `None`: the system's certificate authorities (or plain HTTP).
    pub ca_bundle: Option<(PathBuf, String)>,
}

impl Serving {
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// Decides how to serve on `listen`.
pub fn prepare(args: &TlsArgs, listen: SocketAddr, data_dir: &Path) -> anyhow::Result<Serving> {
    if args.insecure_http {
        if !listen.ip().is_loopback() {
            bail!(
                "--insecure-http serves plain HTTP, which is allowed only on a loopback address ({} is not); \
                 drop it to serve HTTPS",
                listen.ip()
            );
        }
        return Ok(Serving { tls: None, authority: None, ca_bundle: None });
    }
    let ca_dir = pki::ca_dir(data_dir);
    let authority = Arc::new(Authority::load_or_create(&ca_dir).context("loading Berth's certificate authority")?);
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let chain = berth_tls::read_pem(cert)?;
        let key = berth_tls::read_pem(key)?;
        let tls = berth_tls::server_config(&chain, &key)
            .with_context(|| format!("using {} as the server's certificate", cert.display()))?;
        let ca_bundle = match &args.tls_ca_bundle {
            Some(path) => Some((absolute(path)?, berth_tls::read_pem(path)?)),
            None => None,
        };
        return Ok(Serving { tls: Some(tls), authority: Some(authority), ca_bundle });
    }
    for name in &args.tls_san {
        if !pki::valid_name(name) {
            bail!("--tls-san '{name}' is neither an IP address nor a DNS name");
        }
    }
    let names = server_names(listen, &args.tls_san);
    let (chain, key) = authority
        .issue_with_key("berth server", &names, Usage::Server, SERVER_CERT_LIFETIME)
        .context("issuing the server's certificate")?;
    let tls = berth_tls::server_config(&chain, &key)?;
    let ca_path = ca_dir.join("ca.pem");
    let ca_bundle = Some((ca_path, authority.cert_pem().to_owned()));
    tracing::info!(names = ?names, "serving HTTPS with a certificate from Berth's CA");
    Ok(Serving { tls: Some(tls), authority: Some(authority), ca_bundle })
}

/// The names the server is reached by: loopback, the host's name, the listen address (or, for a wildcard, the
/// address of the host's default route), and the operator's extra names.
fn server_names(listen: SocketAddr, extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_owned())
        && pki::valid_name(&host)
    {
        names.push(host);
    }
    let ip = listen.ip();
    if ip.is_unspecified() {
        names.extend(default_route_address().map(|a| a.to_string()));
    } else {
        names.push(ip.to_string());
    }
    names.extend(extra.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// The local address of the default route (connecting a UDP socket sends nothing).
fn default_route_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    socket.local_addr().ok().map(|a| a.ip()).filter(|ip| !ip.is_unspecified())
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    path.canonicalize().with_context(|| format!("resolving {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> TlsArgs {
        TlsArgs { insecure_http: false, tls_cert: None, tls_key: None, tls_ca_bundle: None, tls_san: vec![] }
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let insecure = TlsArgs { insecure_http: true, ..args() };
        assert!(prepare(&insecure, "127.0.0.1:8700".parse().unwrap(), dir.path()).unwrap().tls.is_none());
        let err = prepare(&insecure, "0.0.0.0:8700".parse().unwrap(), dir.path()).err().unwrap().to_string();
        assert!(err.contains("only on a loopback address"), "{err}");
        assert!(prepare(&insecure, "10.1.2.3:8700".parse().unwrap(), dir.path()).is_err());
    }

    #[test]
    fn https_by_default_with_the_data_dirs_ca() {
        let dir = tempfile::tempdir().unwrap();
        let serving = prepare(&args(), "127.0.0.1:8700".parse().unwrap(), dir.path()).unwrap();
        assert_eq!(serving.scheme(), "https");
        let (path, pem) = serving.ca_bundle.unwrap();
        assert_eq!(path, dir.path().join("tls/ca.pem"));
        assert_eq!(std::fs::read_to_string(path).unwrap(), pem);
    }

    #[test]
    fn names_include_loopback_the_listen_address_and_extras() {
        let names = server_names("10.0.0.5:8700".parse().unwrap(), &["berth.internal".into()]);
        for n in ["localhost", "127.0.0.1", "10.0.0.5", "berth.internal"] {
            assert!(names.contains(&n.to_owned()), "{names:?}");
        }
        let bad = TlsArgs { tls_san: vec!["not a name".into()], ..args() };
        let dir = tempfile::tempdir().unwrap();
        assert!(prepare(&bad, "127.0.0.1:8700".parse().unwrap(), dir.path()).is_err());
    }
}
