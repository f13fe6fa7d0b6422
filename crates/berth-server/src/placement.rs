//! Placement views: per cluster, the container instances as the scheduler keeps them ([`berth_scheduler::Cluster`])
//! with each record's store key and revision, so a RunTask decides in memory in O(log n) instead of reading every
//! instance from the store.
//!
//! A watch on the cluster's instance records keeps a view current, and a placement applies its own commits at
//! once. The view can still be behind the store, which costs nothing in correctness: a placement commits with a
//! compare on each chosen instance's revision (a stale choice conflicts, and the instances it touched are read
//! again before the retry), and a view is read afresh from the store before any placement failure is reported.
//!
//! The view also serialises the placements of one cluster in this process (its mutex is held from decision to
//! commit), so concurrent RunTasks do not conflict with each other; other servers are kept apart by the compares.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use berth_model::instance::ContainerInstance;
use berth_scheduler::{Cluster, Node};
use berth_store::{EventKind, Revision, Store, WatchEvent};
use futures::{FutureExt, StreamExt};
use tokio::sync::Mutex;

use crate::error::ApiResult;
use crate::state::{self, Versioned, keys};

/// The views of every cluster this process has placed tasks in.
#[derive(Default)]
pub struct Views {
    views: std::sync::Mutex<HashMap<String, Arc<Mutex<View>>>>,
}

impl Views {
    /// The view of a cluster (loaded from the store on first use, by [`View::ensure_loaded`]).
    pub fn of(&self, cluster: &str) -> Arc<Mutex<View>> {
        let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        views.entry(cluster.to_owned()).or_insert_with(|| Arc::new(Mutex::new(View::new(cluster)))).clone()
    }
}

pub struct View {
    cluster_name: String,
    pub scheduler: Cluster,
    /// Store key and revision of the record behind each slot.
    records: HashMap<usize, (String, Revision)>,
    /// Whether the view was read from the store and a watch keeps it current.
    loaded: bool,
    watcher: Option<tokio::task::AbortHandle>,
}

impl Drop for View {
    fn drop(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
    }
}

impl View {
    fn new(cluster_name: &str) -> View {
        View {
            cluster_name: cluster_name.to_owned(),
            scheduler: Cluster::new(0),
            records: HashMap::new(),
            loaded: false,
            watcher: None,
        }
    }

    /// Reads the view from the store unless a watch already keeps it current.
    pub async fn ensure_loaded(&mut self, store: &Arc<dyn Store>, this: &Arc<Mutex<View>>) -> ApiResult<()> {
        if !self.loaded {
            self.reload(store, this).await?;
        }
        Ok(())
    }

    /// Reads every instance record of the cluster again, and (re)starts the watch from that revision.
    pub async fn reload(&mut self, store: &Arc<dyn Store>, this: &Arc<Mutex<View>>) -> ApiResult<()> {
        let prefix = keys::instances_of(&self.cluster_name);
        let listed = store.list(&prefix, berth_store::ListOptions::default()).await?;
        let seed = u64::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or_default());
        self.scheduler = Cluster::new(seed);
        self.records.clear();
        for kv in listed.kvs {
            if let Ok(record) = serde_json::from_slice::<ContainerInstance>(&kv.value) {
                self.put(kv.key, record, kv.mod_revision, true);
            }
        }
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        let task = tokio::spawn(follow(Arc::downgrade(this), store.clone(), prefix, listed.revision));
        self.watcher = Some(task.abort_handle());
        self.loaded = true;
        Ok(())
    }

    /// Forgets everything: the next placement reads the store again (after a store error left the view unsure).
    pub fn invalidate(&mut self) {
        self.loaded = false;
    }

    /// Takes a record into the view when it is newer than the one there (or always, with `force`: after a failed
    /// commit the view's nodes hold reservations that never happened, at the same revision).
    pub fn put(&mut self, key: String, record: ContainerInstance, revision: Revision, force: bool) {
        let slot = self.scheduler.slot(&record.container_instance_arn);
        if !force
            && let Some(slot) = slot
            && self.records.get(&slot).is_some_and(|(_, known)| *known >= revision)
        {
            return;
        }
        if record.status == "INACTIVE" {
            let arn = record.container_instance_arn;
            if let Some(slot) = slot {
                self.records.remove(&slot);
            }
            self.scheduler.remove(&arn);
            return;
        }
        let slot = self.scheduler.upsert(Node::new(record));
        self.records.insert(slot, (key, revision));
    }

    /// The store key and revision of a slot's record.
    pub fn record(&self, slot: usize) -> Option<&(String, Revision)> {
        self.records.get(&slot)
    }

    /// Reads some records again (those a failed commit touched).
    pub async fn refresh(&mut self, store: &dyn Store, slots: &[usize]) -> ApiResult<()> {
        let read = self.read(store, slots).await?;
        self.take_records(read);
        Ok(())
    }

    /// Whether the records of `slots` are still those the view holds. When one is not, all of them are read into
    /// the view again (dropping the reservations a decision made on them) and the decision must be made again.
    pub async fn validate(&mut self, store: &dyn Store, slots: &[usize]) -> ApiResult<bool> {
        let read = self.read(store, slots).await?;
        let current = read.iter().all(|(slot, record)| {
            let known = self.records.get(slot).map(|(_, revision)| *revision);
            record.as_ref().map(|r| r.mod_revision) == known
        });
        if !current {
            self.take_records(read);
        }
        Ok(current)
    }

    /// Puts records just read from the store into the view, over whatever it held; a record gone from the store
    /// makes the whole view load again.
    fn take_records(&mut self, read: Vec<(usize, Option<Versioned<ContainerInstance>>)>) {
        for (_, record) in read {
            match record {
                Some(v) => self.put(v.key, v.value, v.mod_revision, true),
                None => self.loaded = false,
            }
        }
    }

    /// The store's records of some slots, each slot once.
    async fn read(
        &self,
        store: &dyn Store,
        slots: &[usize],
    ) -> ApiResult<Vec<(usize, Option<Versioned<ContainerInstance>>)>> {
        let mut slots = slots.to_vec();
        slots.sort_unstable();
        slots.dedup();
        let mut out = Vec::with_capacity(slots.len());
        for slot in slots {
            let Some((key, _)) = self.records.get(&slot) else { continue };
            out.push((slot, state::get::<ContainerInstance>(store, key).await?));
        }
        Ok(out)
    }

    fn apply(&mut self, event: WatchEvent) {
        match event.kind {
            EventKind::Put => {
                if let Ok(record) = serde_json::from_slice::<ContainerInstance>(&event.kv.value) {
                    self.put(event.kv.key, record, event.kv.mod_revision, false);
                }
            }
            // Instance records are marked INACTIVE, not deleted; a delete (by hand) still drops the node.
            EventKind::Delete => {
                let slot = self.records.iter().find(|(_, (k, _))| *k == event.kv.key).map(|(s, _)| *s);
                if let Some(slot) = slot {
                    self.records.remove(&slot);
                    if let Some(arn) = self.scheduler.node(slot).map(|n| n.arn().to_owned()) {
                        self.scheduler.remove(&arn);
                    }
                }
            }
        }
    }
}

/// Applies the watch's events to the view until the view is dropped or the watch ends (then the view reloads on
/// its next use).
async fn follow(view: Weak<Mutex<View>>, store: Arc<dyn Store>, prefix: String, after: Revision) {
    let mut stream = match store.watch(&prefix, after).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "placement view: cannot watch instances");
            if let Some(view) = view.upgrade() {
                view.lock().await.invalidate();
            }
            return;
        }
    };
    while let Some(first) = stream.next().await {
        let Some(view) = view.upgrade() else { return };
        let mut view = view.lock().await;
        let mut next = Some(first);
        // Apply what is already there under one lock.
        for _ in 0..256 {
            match next.take() {
                Some(Ok(event)) => view.apply(event),
                Some(Err(e)) => {
                    tracing::info!(error = %e, "placement view: watch ended; reading the instances again on next use");
                    view.invalidate();
                    return;
                }
                None => break,
            }
            next = stream.next().now_or_never().flatten();
        }
    }
    if let Some(view) = view.upgrade() {
        view.lock().await.invalidate();
    }
}
