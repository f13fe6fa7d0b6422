//! Which instances' manifests changed: one watch on every assignment, fanned out to the agents' long polls.
//!
//! A Poll waits for its instance's assignments to change. A store watch per Poll would cost each one a history
//! read and, worse, wake every waiting Poll on every commit of the store to filter it; with thousands of agents
//! that is most of the server's work. Here a single follower reads the assignment events and signals only the
//! instance they concern.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use berth_store::{Revision, Store};
use futures::StreamExt;
use tokio::sync::watch;

use crate::state::keys;

#[derive(Default)]
pub struct Manifests {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The last assignment revision seen per instance prefix (`assignments/<cluster>/<instance>/`).
    changed: HashMap<String, watch::Sender<Revision>>,
    /// The revision the follower started from; nothing older is known, so a Poll asking about older changes is
    /// answered at once. `None` until the follower runs.
    since: Option<Revision>,
}

impl Manifests {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts following the store's assignments (on the current tokio runtime, for as long as the server runs).
    pub fn start(self: &Arc<Self>, store: Arc<dyn Store>) {
        tokio::spawn(follow(self.clone(), store));
    }

    /// Waits until an assignment under `prefix` changes after revision `after`, or `wait` passes (or `stop`
    /// resolves). Returns at once when changes that old cannot be ruled out.
    pub async fn wait(
        &self,
        prefix: &str,
        after: Revision,
        wait: std::time::Duration,
        stop: impl std::future::Future<Output = ()>,
    ) {
        let mut changed = {
            let mut inner = self.lock();
            match inner.since {
                // The follower has not started yet: nothing is known.
                None => return,
                Some(since) if after < since => return,
                Some(_) => {}
            }
            inner.changed.entry(prefix.to_owned()).or_insert_with(|| watch::channel(0).0).subscribe()
        };
        tokio::select! {
            _ = tokio::time::timeout(wait, changed.wait_for(|r| *r > after)) => {}
            _ = stop => {}
        }
    }

    /// Marks everything changed from `revision` on: the follower (re)started and may have missed events.
    fn restart(&self, revision: Revision) {
        let mut inner = self.lock();
        inner.since = Some(revision);
        for tx in inner.changed.values() {
            tx.send_replace(revision);
        }
    }

    fn note(&self, key: &str, revision: Revision) {
        let Some(prefix) = instance_prefix(key) else { return };
        let mut inner = self.lock();
        // Kept even with no Poll waiting: the next one must see that this change happened.
        let tx = inner.changed.entry(prefix.to_owned()).or_insert_with(|| watch::channel(0).0);
        tx.send_if_modified(|seen| {
            let newer = revision > *seen;
            if newer {
                *seen = revision;
            }
            newer
        });
    }
}

/// `assignments/<cluster>/<instance>/` of an assignment key.
fn instance_prefix(key: &str) -> Option<&str> {
    let mut slashes = key.match_indices('/').map(|(i, _)| i);
    let end = slashes.nth(2)?;
    Some(&key[..=end])
}

/// Follows every assignment event for as long as the server runs, starting over from the current revision when
/// the watch ends (compaction, a lagging consumer).
async fn follow(manifests: Arc<Manifests>, store: Arc<dyn Store>) {
    loop {
        let from = match store.current_revision().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "manifest changes: cannot read the store revision");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
        };
        manifests.restart(from);
        match store.watch(keys::ASSIGNMENTS, from).await {
            Ok(mut events) => {
                while let Some(event) = events.next().await {
                    match event {
                        Ok(e) => manifests.note(&e.kv.key, e.kv.mod_revision),
                        Err(e) => {
                            tracing::info!(error = %e, "manifest changes: watch ended; starting over");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "manifest changes: cannot watch assignments");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_name_the_instance() {
        assert_eq!(instance_prefix("assignments/c/i1/t1"), Some("assignments/c/i1/"));
        assert_eq!(instance_prefix("assignments/c"), None);
    }
}
