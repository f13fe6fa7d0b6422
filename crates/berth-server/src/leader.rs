//! Leadership among control planes sharing one store: the holder of a leased key runs the work that must run
//! once (the service controller). A holder that stops renewing loses the key when its lease expires, and another
//! server takes over; the work is level-triggered, so the new leader simply carries on from the stored state.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth_store::{Compare, Op, Store};

/// How long a silent leader keeps the key. A restarted server waits up to this long for its own old lease.
pub const LEASE_TTL: Duration = Duration::from_secs(5);

/// Runs `work` whenever this server holds `key`, stopping it when leadership is lost; never returns.
pub async fn run_as_leader<F, Fut>(store: Arc<dyn Store>, key: &str, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let identity = uuid::Uuid::new_v4().to_string();
    loop {
        let lease = match store.grant_lease(LEASE_TTL).await {
            Ok(lease) => lease,
            Err(e) => {
                tracing::warn!(error = %e, "leader election: cannot grant a lease");
                tokio::time::sleep(LEASE_TTL / 5).await;
                continue;
            }
        };
        let claim = Op::put_with_lease(key, identity.as_bytes().to_vec(), lease);
        let won = store.txn(vec![Compare::absent(key)], vec![claim]).await.is_ok_and(|r| r.succeeded);
        if !won {
            let _ = store.revoke_lease(lease).await;
            tokio::time::sleep(LEASE_TTL / 5).await;
            continue;
        }
        tracing::info!(key, "leading");
        let renew = async {
            loop {
                tokio::time::sleep(LEASE_TTL / 3).await;
                if let Err(e) = store.keep_alive(lease).await {
                    tracing::warn!(error = %e, key, "leadership lost");
                    return;
                }
            }
        };
        tokio::select! {
            _ = work() => {}
            _ = renew => {}
        }
        let _ = store.revoke_lease(lease).await;
    }
}
