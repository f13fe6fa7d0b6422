//! Store history compaction. The store keeps every revision until told otherwise; as kube-apiserver does with etcd,
//! every interval the history older than the revision seen one interval ago is dropped, so watchers that fell up
//! to one interval behind can still resume, and the store file stops growing with every write ever made.

use std::sync::Arc;
use std::time::Duration;

use berth_store::Store;

/// How often history is compacted, and so how far back a watch can resume.
pub const INTERVAL: Duration = Duration::from_secs(300);

/// Compacts `store` every `interval` until the task is dropped.
pub async fn run(store: Arc<dyn Store>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick fires at once; it only records where history starts.
    ticker.tick().await;
    let mut previous = store.current_revision().await.unwrap_or(0);
    loop {
        ticker.tick().await;
        let current = match store.current_revision().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "compactor: cannot read the store revision");
                continue;
            }
        };
        if previous > 0 {
            match store.compact(previous).await {
                Ok(()) => tracing::debug!(revision = previous, "compacted store history"),
                Err(e) => tracing::warn!(error = %e, revision = previous, "compactor: compaction failed"),
            }
        }
        previous = current;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_store::{Op, SqliteStore};

    #[tokio::test]
    async fn compacts_what_one_interval_ago_was_current() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SqliteStore::open(&dir.path().join("s.db")).expect("open"));
        for i in 0..3 {
            store.txn(vec![], vec![Op::put("k", format!("{i}"))]).await.expect("put");
        }
        let before = store.current_revision().await.expect("revision");
        let task = tokio::spawn(run(store.clone(), Duration::from_millis(300)));
        // Let the compactor record `before`, then write more and let an interval pass.
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.txn(vec![], vec![Op::put("k", "later")]).await.expect("put");
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if store.compact_revision().await.expect("compact revision") >= before {
                break;
            }
        }
        task.abort();
        assert!(store.compact_revision().await.expect("compact revision") >= before);
        // The current value is untouched.
        let kv = store.get("k").await.expect("get").expect("present");
        assert_eq!(kv.value, b"later");
    }
}
