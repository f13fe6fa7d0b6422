//! Making 169.254.170.2 an address of the host, and listening on it, so that containers reach the credentials route
//! of the metadata endpoint at the one non-loopback address the AWS SDKs accept (see the parent module).
//!
//! The address goes on `lo` as a /32 (`ip addr add 169.254.170.2/32 dev lo`): a bridge container's packets to it
//! leave through its default gateway and are delivered locally; host-network containers reach it directly. Only the
//! metadata endpoint's own port is opened there, not every address (0.0.0.0), so the endpoint stays off the host's
//! other networks as before. Adding needs `CAP_NET_ADMIN` and the `ip` command (iproute2); without them the caller
//! falls back to the gateway address. The address is never removed: other agents on the host may be using it, and
//! it is harmless on its own. Linux answers ARP for an address on `lo` on every interface (`arp_ignore=0`), so a
//! neighbour on the host's own network segment can reach the endpoint too; each task's token still guards its
//! credentials.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;
use tracing::info;

/// The address the SDKs accept for container credentials (ECS's credentials endpoint).
pub const CREDENTIALS_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot add {CREDENTIALS_ADDRESS} to lo: {0}")]
    AddAddress(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

/// A listener on 169.254.170.2:`port`, adding the address to `lo` first when the host lacks it. Idempotent, and
/// safe with several agents on one host: an address that another agent added first is taken as it is.
pub async fn listen(port: u16) -> Result<TcpListener, HostError> {
    let addr = SocketAddr::from((CREDENTIALS_ADDRESS, port));
    match TcpListener::bind(addr).await {
        Ok(listener) => return Ok(listener),
        // The host lacks the address; anything else (the port is taken) adding it would not cure.
        Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {}
        Err(source) => return Err(HostError::Bind { addr, source }),
    }
    add_address().await?;
    TcpListener::bind(addr).await.map_err(|source| HostError::Bind { addr, source })
}

async fn add_address() -> Result<(), HostError> {
    let output = tokio::task::spawn_blocking(|| {
        std::process::Command::new("ip")
            .args(["addr", "add", &format!("{CREDENTIALS_ADDRESS}/32"), "dev", "lo"])
            .output()
    })
    .await
    .map_err(|e| HostError::AddAddress(e.to_string()))?
    .map_err(|e| HostError::AddAddress(format!("cannot run `ip`: {e}")))?;
    let added = outcome(output.status.success(), &String::from_utf8_lossy(&output.stderr))?;
    if added {
        info!(address = %CREDENTIALS_ADDRESS, "added the task credentials address to lo");
    }
    Ok(())
}

/// What `ip addr add` answered: true when it added the address, false when it was already there (another agent
/// raced this one).
fn outcome(success: bool, stderr: &str) -> Result<bool, HostError> {
    if success {
        Ok(true)
    } else if stderr.contains("File exists") {
        Ok(false)
    } else {
        Err(HostError::AddAddress(stderr.trim().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_already_there_is_fine() {
        assert!(outcome(true, "").unwrap());
        assert!(!outcome(false, "RTNETLINK answers: File exists\n").unwrap());
        let err = outcome(false, "RTNETLINK answers: Operation not permitted\n").unwrap_err();
        assert_eq!(err.to_string(), "cannot add 169.254.170.2 to lo: RTNETLINK answers: Operation not permitted");
    }

    #[tokio::test]
    async fn listens_when_the_host_has_the_address() {
        // Only where the address is already there: the test must not change the host's network.
        if std::net::TcpListener::bind((CREDENTIALS_ADDRESS, 0)).is_err() {
            return;
        }
        let listener = listen(0).await.expect("listen on 169.254.170.2");
        let local = listener.local_addr().expect("local address");
        assert_eq!(local.ip(), std::net::IpAddr::V4(CREDENTIALS_ADDRESS));
        // The same port again: taken, and reported as such rather than by adding the address.
        assert!(matches!(listen(local.port()).await, Err(HostError::Bind { .. })));
    }
}
