//! A [`Store`] that times every operation of the store it wraps into the server's
//! `berth_store_operation_duration_seconds` histogram (see [`crate::metrics`]). Watches are timed until their
//! stream is open, not for as long as they run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use berth_store::{
    Compare, KeyValue, LeaseId, ListOptions, ListResult, Op, Result, Revision, Store, TxnResult, WatchStream,
};

use crate::metrics::{StoreLabels, StoreTimings};

/// The wrapped store and where its timings go.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    timings: StoreTimings,
}

impl MeteredStore {
    pub fn wrap(inner: Arc<dyn Store>, timings: StoreTimings) -> Arc<dyn Store> {
        Arc::new(MeteredStore { inner, timings })
    }

    fn observe(&self, operation: &'static str, started: Instant) {
        self.timings.get_or_create(&StoreLabels { operation }).observe(started.elapsed().as_secs_f64());
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let started = Instant::now();
        let result = self.inner.get(key).await;
        self.observe("get", started);
        result
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult> {
        let started = Instant::now();
        let result = self.inner.list(prefix, options).await;
        self.observe("list", started);
        result
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnResult> {
        let started = Instant::now();
        let result = self.inner.txn(compares, ops).await;
        self.observe("txn", started);
        result
    }

    async fn watch(&self, prefix: &str, after_revision: Revision) -> Result<WatchStream> {
        let started = Instant::now();
        let result = self.inner.watch(prefix, after_revision).await;
        self.observe("watch", started);
        result
    }

    async fn current_revision(&self) -> Result<Revision> {
        let started = Instant::now();
        let result = self.inner.current_revision().await;
        self.observe("revision", started);
        result
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.compact(revision).await;
        self.observe("compact", started);
        result
    }

    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId> {
        let started = Instant::now();
        let result = self.inner.grant_lease(ttl).await;
        self.observe("lease", started);
        result
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.keep_alive(lease).await;
        self.observe("lease", started);
        result
    }

    async fn revoke_lease(&self, lease: LeaseId) -> Result<()> {
        let started = Instant::now();
        let result = self.inner.revoke_lease(lease).await;
        self.observe("lease", started);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn operations_are_timed_and_pass_through() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Store> = Arc::new(berth_store::SqliteStore::open(&dir.path().join("s.db")).unwrap());
        let metrics = crate::metrics::ServerMetrics::new();
        let store = MeteredStore::wrap(inner, metrics.store_timings());
        let r = store.txn(vec![], vec![Op::put("a", b"1".to_vec())]).await.unwrap();
        assert!(r.succeeded);
        assert_eq!(store.get("a").await.unwrap().map(|kv| kv.value), Some(b"1".to_vec()));
        assert_eq!(store.current_revision().await.unwrap(), r.revision);
        let text = metrics.encode();
        for op in ["get", "txn", "revision"] {
            let line = format!("berth_store_operation_duration_seconds_count{{operation=\"{op}\"}} 1");
            assert!(text.contains(&line), "{line} in {text}");
        }
    }
}
