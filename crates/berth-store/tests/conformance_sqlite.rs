//! The SQLite backend against the conformance suite, plus what only a file-backed store can show: persistence across
//! reopen, slow watchers, closing, and the backend's own txn semantics.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use berth_store::conformance;
use berth_store::{EventKind, ListOptions, Op, SqliteOptions, SqliteStore, Store, StoreError, WatchEvent, WatchStream};
use futures::StreamExt;

/// Hands out a fresh database file per call inside one temporary directory.
struct Files {
    dir: tempfile::TempDir,
    next: AtomicUsize,
}

impl Files {
    fn new() -> Self {
        Files { dir: tempfile::tempdir().expect("create temp dir"), next: AtomicUsize::new(0) }
    }

    fn fresh(&self) -> PathBuf {
        self.dir.path().join(format!("store-{}.db", self.next.fetch_add(1, Ordering::Relaxed)))
    }
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path).expect("open store")
}

async fn put(store: &SqliteStore, key: &str, value: &str) -> i64 {
    let result = store.txn(vec![], vec![Op::put(key, value)]).await.expect("put");
    assert!(result.succeeded);
    result.revision
}

async fn next(stream: &mut WatchStream) -> Option<Result<WatchEvent, StoreError>> {
    tokio::time::timeout(Duration::from_secs(20), stream.next()).await.expect("watch answers in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite() {
    let files = Files::new();
    conformance::run_all(|| {
        let path = files.fresh();
        async move { open(&path) }
    })
    .await;
}

/// The compaction and history cases again with one-row compaction steps and a single pooled reader, so that
/// compaction spans many steps and readers are opened on demand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_with_tiny_compaction_steps() {
    let files = Files::new();
    let options = SqliteOptions { compact_batch: 1, read_connections: 1, ..SqliteOptions::default() };
    let fresh = || SqliteStore::open_with(&files.fresh(), options.clone()).expect("open store");
    conformance::compact_keeps_current_values(&fresh()).await.expect("compact_keeps_current_values");
    conformance::watch_from_compacted_revision(&fresh()).await.expect("watch_from_compacted_revision");
    conformance::list_at_revision(&fresh()).await.expect("list_at_revision");
    conformance::watch_handoff_has_no_gaps(&fresh()).await.expect("watch_handoff_has_no_gaps");
    conformance::concurrent_cas_counter(&fresh()).await.expect("concurrent_cas_counter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_keeps_data_revision_compaction_and_leases() {
    let files = Files::new();
    let path = files.fresh();

    let store = open(&path);
    let created = put(&store, "a", "1").await;
    put(&store, "a", "2").await;
    store.txn(vec![], vec![Op::put("b", "1"), Op::put("c", "1")]).await.expect("txn");
    let compacted = store.current_revision().await.expect("revision");
    let deleted = store.txn(vec![], vec![Op::delete("b")]).await.expect("delete").revision;
    store.compact(compacted).await.expect("compact");
    let lease = store.grant_lease(Duration::from_secs(60)).await.expect("grant");
    store.txn(vec![], vec![Op::put_with_lease("leased", "x", lease)]).await.expect("put leased");
    let revision = store.current_revision().await.expect("revision");
    let listed = store.list("", ListOptions::default()).await.expect("list");
    drop(store);

    let store = open(&path);
    assert_eq!(store.current_revision().await.expect("revision"), revision, "the revision survives");
    assert_eq!(store.compact_revision().await.expect("compact revision"), compacted);
    assert_eq!(store.list("", ListOptions::default()).await.expect("list"), listed, "the data survives");
    let a = store.get("a").await.expect("get").expect("a survives");
    assert_eq!((a.create_revision, a.version, a.value.as_slice()), (created, 2, &b"2"[..]));
    match store.list("", ListOptions { revision: Some(compacted - 1), ..ListOptions::default() }).await {
        Err(StoreError::Compacted { compact_revision, .. }) => assert_eq!(compact_revision, compacted),
        other => panic!("the compaction survives, got {other:?}"),
    }

    // Watching needs the history right after `after_revision`, which is gone even one below the compact revision.
    let mut stream = store.watch("", compacted - 1).await.expect("watch");
    assert!(matches!(next(&mut stream).await, Some(Err(StoreError::Compacted { .. }))));

    // History after the compact revision replays, previous values included.
    let mut stream = store.watch("", compacted).await.expect("watch");
    let e = next(&mut stream).await.expect("event").expect("no error");
    assert_eq!((e.kind, e.kv.key.as_str(), e.kv.mod_revision), (EventKind::Delete, "b", deleted));
    assert_eq!(e.prev_kv.map(|kv| kv.value), Some(b"1".to_vec()));

    store.keep_alive(lease).await.expect("the lease survives");
    assert_eq!(store.get("leased").await.expect("get").map(|kv| kv.lease), Some(lease));
    let new_lease = store.grant_lease(Duration::from_secs(60)).await.expect("grant");
    assert!(new_lease > lease, "lease ids are never reused");
    assert_eq!(put(&store, "d", "1").await, revision + 1, "numbering continues");
}

/// A lease that nobody renews while the store is closed gets a full TTL after reopening (its holder could not renew
/// while the store was down), then expires as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_get_a_full_ttl_after_reopen() {
    let files = Files::new();
    let path = files.fresh();
    let store = open(&path);
    let lease = store.grant_lease(Duration::from_secs(2)).await.expect("grant");
    store.txn(vec![], vec![Op::put_with_lease("k", "v", lease)]).await.expect("put");
    drop(store);
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let store = open(&path);
    assert!(store.get("k").await.expect("get").is_some(), "the deadline moved to a full TTL from reopening");
    store.keep_alive(lease).await.expect("the holder can still renew");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.get("k").await.expect("get").is_some() {
        assert!(tokio::time::Instant::now() < deadline, "the lease expires after reopening");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn slow_watcher_is_told_it_lagged() {
    let files = Files::new();
    let store = SqliteStore::open_with(&files.fresh(), SqliteOptions { watch_buffer: 4, ..SqliteOptions::default() })
        .expect("open store");
    let mut stream = store.watch("", store.current_revision().await.expect("revision")).await.expect("watch");
    for i in 0..20 {
        put(&store, &format!("k{i}"), "v").await;
    }
    assert!(matches!(next(&mut stream).await, Some(Err(StoreError::Lagged))));
    assert!(next(&mut stream).await.is_none(), "the stream ends after Lagged");
}

#[tokio::test]
async fn closing_the_store_ends_watches_and_releases_the_file() {
    let files = Files::new();
    let path = files.fresh();
    let store = open(&path);
    let clone = store.clone();
    let mut stream = store.watch("", 0).await.expect("watch");
    put(&store, "k", "v").await;
    assert!(matches!(next(&mut stream).await, Some(Ok(_))));
    drop(store);
    // A clone keeps the store open.
    put(&clone, "k", "w").await;
    assert!(matches!(next(&mut stream).await, Some(Ok(_))));
    drop(clone);
    assert!(matches!(next(&mut stream).await, Some(Err(StoreError::Closed))));
    assert!(next(&mut stream).await.is_none());
    let reopened = open(&path);
    assert_eq!(reopened.get("k").await.expect("get").map(|kv| kv.value), Some(b"w".to_vec()));
}

/// Several ops on one key in one txn: the last one wins, the key gets one row and one event at the txn's revision.
/// (etcd refuses such txns; callers should not rely on this.)
#[test]
fn open_fails_cleanly_on_a_bad_path() {
    let files = Files::new();
    let path = files.dir.path().join("missing-dir").join("store.db");
    match SqliteStore::open(&path) {
        Err(StoreError::Backend(message)) => assert!(message.contains("missing-dir"), "{message}"),
        other => panic!("expected a backend error, got {other:?}"),
    }
}

/// Transactions that arrive together are committed together (group commit) but keep their own meaning: each gets
/// its own revision in arrival order, a failed compare or a missing lease fails only its own transaction, and a
/// watch sees every write once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transactions_committed_together_keep_their_own_outcomes() {
    let files = Files::new();
    let store = std::sync::Arc::new(open(&files.fresh()));
    let start = store.current_revision().await.expect("revision");
    let mut watch = store.watch("g/", start).await.expect("watch");
    let calls = (0..200).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let key = format!("g/{i:03}");
            match i % 10 {
                // Asks for a key to be absent that another transaction creates: fails unless it runs first.
                3 => store.txn(vec![berth_store::Compare::absent("g/000")], vec![Op::put(&key, "late")]).await,
                // A lease that does not exist: an error for this transaction alone.
                7 => store.txn(vec![], vec![Op::put_with_lease(&key, "leased", 999_999)]).await,
                _ => store.txn(vec![], vec![Op::put(&key, "v")]).await,
            }
        })
    });
    let results: Vec<_> = futures::future::join_all(calls).await.into_iter().map(|r| r.expect("task")).collect();
    let mut revisions = Vec::new();
    for (i, r) in results.iter().enumerate() {
        match (i % 10, r) {
            (7, Err(StoreError::LeaseNotFound(_))) => {}
            (7, other) => panic!("txn {i} with a missing lease: {other:?}"),
            (_, Ok(t)) if t.succeeded => revisions.push(t.revision),
            (3, Ok(_)) => {}
            (_, other) => panic!("txn {i}: {other:?}"),
        }
    }
    revisions.sort_unstable();
    let expected: Vec<i64> = (start + 1..=start + revisions.len() as i64).collect();
    assert_eq!(revisions, expected, "one revision per successful transaction, none skipped or shared");
    assert_eq!(store.current_revision().await.expect("revision"), start + revisions.len() as i64);
    let mut seen = Vec::new();
    while seen.len() < revisions.len() {
        let e = next(&mut watch).await.expect("event").expect("no error");
        seen.push(e.kv.mod_revision);
    }
    assert_eq!(seen, expected, "the watch sees each write once, in order");
    let listed = store.list("g/", ListOptions::default()).await.expect("list");
    assert_eq!(listed.kvs.len(), revisions.len());
}
