//! The conformance suite: what every [`Store`] backend must do, written against the trait alone.
//!
//! This module owns the executable form of the store contract. A backend's tests call [`run_all`] with a factory
//! that returns a fresh, empty store that nothing else writes to while a case runs; each case may also be called on
//! its own. Cases assert only revision differences, never absolute numbers, so a backend may start counting anywhere
//! (etcd starts at 1, as the SQLite backend does).
//!
//! A failing case panics (these are tests); store errors that no case expects are returned and turned into a panic
//! naming the case by [`run_all`].
//!
//! Timing: lease cases use TTLs of 1-2 s and wait up to [`WAIT`] for expiry, so a backend that rounds TTLs up (etcd
//! has a minimum TTL) or sweeps coarsely still passes. No case needs anything to happen faster than 250 ms.

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::{FutureExt, StreamExt};

use crate::{
    Compare, EventKind, KeyValue, ListOptions, Op, Result, Revision, Store, StoreError, WatchEvent, WatchStream,
};

/// The longest any case waits for one thing to happen (an event, an expiry).
pub const WAIT: Duration = Duration::from_secs(20);

/// Runs every case, each on a fresh store from `factory`, one after another. Panics naming the first failing case.
pub async fn run_all<S, F, Fut>(factory: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    macro_rules! run {
        ($($case:ident),* $(,)?) => {$(
            run_case(stringify!($case), &factory, |store| async move { $case(&store).await }).await;
        )*};
    }
    run!(
        get_missing_and_present,
        put_sets_revisions_and_version,
        revision_increments_once_per_write_txn,
        create_if_absent,
        duplicate_keys_in_one_txn_are_refused,
        cas_on_mod_revision,
        multi_key_txn_is_atomic,
        delete_and_recreate,
        list_prefix_order_and_bounds,
        list_paging,
        list_at_revision,
        watch_replays_then_follows,
        watch_filters_by_prefix,
        watch_handoff_has_no_gaps,
        watch_from_compacted_revision,
        compact_keeps_current_values,
        lease_expires_keys,
        lease_keep_alive_holds_keys,
        lease_revoke_deletes_at_once,
        concurrent_cas_counter,
    );
}

async fn run_case<S, F, Fut, C, CFut>(name: &str, factory: &F, case: C)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    C: FnOnce(S) -> CFut,
    CFut: Future<Output = Result<()>>,
{
    let store = factory().await;
    let started = std::time::Instant::now();
    match AssertUnwindSafe(case(store)).catch_unwind().await {
        Ok(Ok(())) => tracing::info!(case = name, elapsed = ?started.elapsed(), "conformance case passed"),
        Ok(Err(e)) => panic!("conformance case `{name}` failed with a store error: {e}"),
        Err(panic) => {
            eprintln!("conformance case `{name}` failed");
            std::panic::resume_unwind(panic);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Key-value basics

/// `get` answers `None` for a missing key and the full key-value for a present one.
pub async fn get_missing_and_present<S: Store + ?Sized>(store: &S) -> Result<()> {
    assert_eq!(store.get("missing").await?, None, "a key never written is absent");
    let revision = put(store, "present", "value").await?;
    let kv = store.get("present").await?.expect("a put key is present");
    assert_eq!(kv, kv_at("present", "value", revision, revision, 1));
    // An empty value is a value, not an absent key.
    let revision = put(store, "empty", "").await?;
    assert_eq!(store.get("empty").await?, Some(kv_at("empty", "", revision, revision, 1)));
    assert_eq!(store.get("presen").await?, None, "get matches whole keys, not prefixes");
    Ok(())
}

/// A put sets create and mod revision on creation; an update keeps the create revision and bumps version.
pub async fn put_sets_revisions_and_version<S: Store + ?Sized>(store: &S) -> Result<()> {
    let start = store.current_revision().await?;
    let first = put(store, "k", "v1").await?;
    assert_eq!(first, start + 1, "the first write is one revision after the start");
    assert_eq!(store.get("k").await?, Some(kv_at("k", "v1", first, first, 1)));
    let second = put(store, "k", "v2").await?;
    assert_eq!(second, first + 1);
    assert_eq!(store.get("k").await?, Some(kv_at("k", "v2", first, second, 2)));
    let third = put(store, "k", "v3").await?;
    assert_eq!(store.get("k").await?, Some(kv_at("k", "v3", first, third, 3)));
    assert_eq!(store.current_revision().await?, third);
    Ok(())
}

/// Every successful transaction that changes something adds exactly one revision, whatever its size; failed, empty,
/// compare-only and no-op-delete transactions add none.
pub async fn revision_increments_once_per_write_txn<S: Store + ?Sized>(store: &S) -> Result<()> {
    let mut revision = store.current_revision().await?;
    for i in 0..5 {
        let ops =
            vec![Op::put(format!("a/{i}"), "x"), Op::put(format!("b/{i}"), "y"), Op::delete(format!("a/{}", i - 1))];
        let result = store.txn(vec![], ops).await?;
        assert!(result.succeeded);
        assert_eq!(result.revision, revision + 1, "txn {i} with three ops adds one revision");
        revision += 1;
    }
    assert_eq!(store.current_revision().await?, revision);

    let failed = store.txn(vec![Compare::absent("b/0")], vec![Op::put("z", "z")]).await?;
    assert!(!failed.succeeded, "b/0 exists, so the compare fails");
    assert_eq!(failed.revision, revision, "a failed txn reports the current revision");

    let empty = store.txn(vec![], vec![]).await?;
    assert!(empty.succeeded);
    assert_eq!(empty.revision, revision, "an empty txn writes nothing");

    let b0 = store.get("b/0").await?.expect("b/0 exists");
    let compare_only = store.txn(vec![Compare::unchanged("b/0", b0.mod_revision)], vec![]).await?;
    assert!(compare_only.succeeded);
    assert_eq!(compare_only.revision, revision, "a compare-only txn writes nothing");

    let delete_missing = store.txn(vec![], vec![Op::delete("never-existed")]).await?;
    assert!(delete_missing.succeeded, "deleting a missing key is not an error");
    assert_eq!(delete_missing.revision, revision, "deleting a missing key writes nothing");

    assert_eq!(store.current_revision().await?, revision);
    assert_eq!(store.get("z").await?, None);
    Ok(())
}

/// `Compare::absent` lets exactly one creator win.
pub async fn create_if_absent<S: Store + ?Sized>(store: &S) -> Result<()> {
    let first = store.txn(vec![Compare::absent("lock")], vec![Op::put("lock", "first")]).await?;
    assert!(first.succeeded, "the key is absent, so the create succeeds");
    let second = store.txn(vec![Compare::absent("lock")], vec![Op::put("lock", "second")]).await?;
    assert!(!second.succeeded, "the key now exists, so the second create fails");
    assert_eq!(second.revision, first.revision);
    let kv = store.get("lock").await?.expect("lock exists");
    assert_eq!(kv, kv_at("lock", "first", first.revision, first.revision, 1));
    Ok(())
}

/// A transaction naming one key in two ops is refused whole, as etcd refuses it, and writes nothing.
pub async fn duplicate_keys_in_one_txn_are_refused<S: Store + ?Sized>(store: &S) -> Result<()> {
    let start = store.current_revision().await?;
    for ops in [
        vec![Op::put("k", "1"), Op::put("k", "2")],
        vec![Op::put("j", "1"), Op::delete("j")],
        vec![Op::put("other", "x"), Op::delete("k"), Op::put("k", "3")],
    ] {
        let result = store.txn(vec![], ops).await;
        assert!(matches!(result, Err(StoreError::InvalidTxn(_))), "refused: {result:?}");
    }
    assert_eq!(store.current_revision().await?, start, "nothing was written");
    assert_eq!(store.get("other").await?, None);
    Ok(())
}

/// A compare on a stale mod revision fails and writes nothing; on the current one it succeeds.
pub async fn cas_on_mod_revision<S: Store + ?Sized>(store: &S) -> Result<()> {
    let first = put(store, "k", "v1").await?;
    let second = put(store, "k", "v2").await?;

    let stale =
        store.txn(vec![Compare::unchanged("k", first)], vec![Op::put("k", "stale"), Op::put("other", "x")]).await?;
    assert!(!stale.succeeded, "the compare names a stale revision");
    assert_eq!(stale.revision, second);
    assert_eq!(store.get("k").await?, Some(kv_at("k", "v2", first, second, 2)), "k is untouched");
    assert_eq!(store.get("other").await?, None, "no op of a failed txn applies");
    assert_eq!(store.current_revision().await?, second);

    let absent_but_exists = store.txn(vec![Compare::unchanged("k", 0)], vec![Op::put("k", "x")]).await?;
    assert!(!absent_but_exists.succeeded, "mod revision 0 means absent, and k exists");
    let missing = store.txn(vec![Compare::unchanged("missing", second)], vec![Op::put("k", "x")]).await?;
    assert!(!missing.succeeded, "a missing key has no mod revision to match");

    let current = store.txn(vec![Compare::unchanged("k", second)], vec![Op::put("k", "v3")]).await?;
    assert!(current.succeeded);
    assert_eq!(current.revision, second + 1);
    assert_eq!(store.get("k").await?, Some(kv_at("k", "v3", first, current.revision, 3)));
    Ok(())
}

/// A multi-key transaction applies everything at one revision, or nothing when any compare fails.
pub async fn multi_key_txn_is_atomic<S: Store + ?Sized>(store: &S) -> Result<()> {
    let a = put(store, "acct/a", "10").await?;
    let moved = store
        .txn(
            vec![Compare::unchanged("acct/a", a), Compare::absent("acct/b")],
            vec![Op::put("acct/a", "5"), Op::put("acct/b", "5"), Op::put("acct/log", "moved 5")],
        )
        .await?;
    assert!(moved.succeeded);
    assert_eq!(moved.revision, a + 1);
    for (key, value) in [("acct/a", "5"), ("acct/b", "5"), ("acct/log", "moved 5")] {
        let kv = store.get(key).await?.expect("written by the txn");
        assert_eq!(kv.value, value.as_bytes(), "{key}");
        assert_eq!(kv.mod_revision, moved.revision, "{key} carries the txn's revision");
    }

    // The first compare holds, the second does not: nothing of the txn may apply.
    let refused = store
        .txn(
            vec![Compare::unchanged("acct/a", moved.revision), Compare::absent("acct/b")],
            vec![Op::put("acct/a", "0"), Op::put("acct/b", "10"), Op::delete("acct/log"), Op::put("acct/c", "1")],
        )
        .await?;
    assert!(!refused.succeeded);
    assert_eq!(refused.revision, moved.revision);
    assert_eq!(store.get("acct/a").await?.expect("kept").value, b"5");
    assert_eq!(store.get("acct/b").await?.expect("kept").value, b"5");
    assert!(store.get("acct/log").await?.is_some(), "the delete did not apply");
    assert_eq!(store.get("acct/c").await?, None, "the put did not apply");
    assert_eq!(store.current_revision().await?, moved.revision);

    // A watch sees the txn as events that all carry its revision.
    let mut stream = store.watch("acct/", a).await?;
    let mut keys = BTreeSet::new();
    for _ in 0..3 {
        let event = next_event(&mut stream).await?;
        assert_eq!(event.kind, EventKind::Put);
        assert_eq!(event.kv.mod_revision, moved.revision);
        keys.insert(event.kv.key);
    }
    assert_eq!(keys, BTreeSet::from(["acct/a".to_owned(), "acct/b".to_owned(), "acct/log".to_owned()]));
    Ok(())
}

/// Deleting a key removes it; putting it again starts a new life: new create revision, version 1.
pub async fn delete_and_recreate<S: Store + ?Sized>(store: &S) -> Result<()> {
    let created = put(store, "k", "v1").await?;
    put(store, "k", "v2").await?;
    let deleted = delete(store, "k").await?;
    assert_eq!(store.get("k").await?, None);
    assert!(store.list("k", ListOptions::default()).await?.kvs.is_empty(), "a deleted key is not listed");
    assert_eq!(store.current_revision().await?, deleted);

    let recreated = put(store, "k", "v3").await?;
    assert_eq!(recreated, deleted + 1);
    assert!(recreated > created);
    assert_eq!(store.get("k").await?, Some(kv_at("k", "v3", recreated, recreated, 1)));
    assert!(store.txn(vec![Compare::unchanged("k", recreated)], vec![]).await?.succeeded, "compares see the new life");
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Lists

/// A list returns exactly the live keys starting with the prefix, in byte order.
pub async fn list_prefix_order_and_bounds<S: Store + ?Sized>(store: &S) -> Result<()> {
    let keys = ["a", "a/", "a/1", "a/10", "a/2", "a/\u{e9}", "a0", "ab", "b/1", "a/gone"];
    for key in keys {
        put(store, key, format!("value of {key}")).await?;
    }
    delete(store, "a/gone").await?;
    let revision = store.current_revision().await?;

    let expect = |prefix: &str| -> Vec<String> {
        let mut selected: Vec<String> =
            keys.iter().filter(|k| k.starts_with(prefix) && **k != "a/gone").map(|k| k.to_string()).collect();
        selected.sort();
        selected
    };
    for prefix in ["a/", "a", "", "a/1", "b", "c", "a/\u{e9}"] {
        let listed = store.list(prefix, ListOptions::default()).await?;
        let names: Vec<String> = listed.kvs.iter().map(|kv| kv.key.clone()).collect();
        assert_eq!(names, expect(prefix), "keys under {prefix:?}");
        assert_eq!(listed.revision, revision, "list reports the revision it read at");
        assert!(!listed.more);
        for kv in &listed.kvs {
            assert_eq!(kv.value, format!("value of {}", kv.key).into_bytes());
            assert_eq!(store.get(&kv.key).await?.as_ref(), Some(kv), "list and get agree on {}", kv.key);
        }
    }
    // Spelled out once, so the byte order is visible: "/" < "0" < digits order as bytes, "é" is above ASCII.
    let names: Vec<String> = store.list("a/", ListOptions::default()).await?.kvs.into_iter().map(|kv| kv.key).collect();
    assert_eq!(names, ["a/", "a/1", "a/10", "a/2", "a/\u{e9}"]);
    Ok(())
}

/// `start_after` and `limit` page through a prefix; `more` says whether a page was cut short.
pub async fn list_paging<S: Store + ?Sized>(store: &S) -> Result<()> {
    let keys: Vec<String> = (0..10).map(|i| format!("p/{i:02}")).collect();
    for key in &keys {
        put(store, key, "x").await?;
    }
    put(store, "q/0", "outside").await?;
    put(store, "o/9", "outside").await?;
    let revision = store.current_revision().await?;

    let mut seen = Vec::new();
    let mut start_after = None;
    loop {
        let page =
            store.list("p/", ListOptions { start_after: start_after.clone(), limit: Some(3), revision: None }).await?;
        assert!(page.kvs.len() <= 3);
        assert_eq!(page.revision, revision);
        seen.extend(page.kvs.iter().map(|kv| kv.key.clone()));
        if !page.more {
            break;
        }
        start_after = page.kvs.last().map(|kv| kv.key.clone());
        assert!(seen.len() < 20, "paging does not terminate");
    }
    assert_eq!(seen, keys, "pages join up to the whole prefix, in order, without repeats");

    let page = |start_after: Option<&str>, limit: Option<usize>| ListOptions {
        start_after: start_after.map(str::to_owned),
        limit,
        revision: None,
    };
    let exact = store.list("p/", page(Some("p/06"), Some(3))).await?;
    assert_eq!(names(&exact.kvs), ["p/07", "p/08", "p/09"]);
    assert!(!exact.more, "a page that holds exactly the rest has no more");
    assert!(!store.list("p/", page(None, Some(10))).await?.more);
    assert!(store.list("p/", page(None, Some(9))).await?.more);
    let between = store.list("p/", page(Some("p/035"), Some(2))).await?;
    assert_eq!(names(&between.kvs), ["p/04", "p/05"], "start_after need not be an existing key");
    let below = store.list("p/", page(Some("a"), None)).await?;
    assert_eq!(names(&below.kvs), keys, "start_after below the prefix starts at the prefix");
    let beyond = store.list("p/", page(Some("p/09"), Some(5))).await?;
    assert!(beyond.kvs.is_empty());
    assert!(!beyond.more);
    Ok(())
}

/// A list at an older revision shows the keys as they were then; a future revision is refused.
pub async fn list_at_revision<S: Store + ?Sized>(store: &S) -> Result<()> {
    let r1 = put(store, "h/a", "a1").await?;
    let r2 = put(store, "h/b", "b1").await?;
    let r3 = put(store, "h/a", "a2").await?;
    let r4 = delete(store, "h/b").await?;
    let r5 = put(store, "h/c", "c1").await?;
    let r6 = put(store, "other", "x").await?;
    let at = |revision: Revision| ListOptions { revision: Some(revision), ..ListOptions::default() };

    let list = store.list("h/", at(r1)).await?;
    assert_eq!(list.kvs, [kv_at("h/a", "a1", r1, r1, 1)]);
    assert_eq!(list.revision, r1);
    let list = store.list("h/", at(r2)).await?;
    assert_eq!(list.kvs, [kv_at("h/a", "a1", r1, r1, 1), kv_at("h/b", "b1", r2, r2, 1)]);
    assert_eq!(list.revision, r2);
    let list = store.list("h/", at(r3)).await?;
    assert_eq!(list.kvs, [kv_at("h/a", "a2", r1, r3, 2), kv_at("h/b", "b1", r2, r2, 1)]);
    assert_eq!(store.list("h/", at(r4)).await?.kvs, [kv_at("h/a", "a2", r1, r3, 2)]);
    let at_r5 = store.list("h/", at(r5)).await?;
    assert_eq!(at_r5.kvs, [kv_at("h/a", "a2", r1, r3, 2), kv_at("h/c", "c1", r5, r5, 1)]);
    let now = store.list("h/", ListOptions::default()).await?;
    assert_eq!(now.kvs, at_r5.kvs);
    assert_eq!(now.revision, r6);
    assert_eq!(store.list("h/", at(r6)).await?.kvs, at_r5.kvs, "asking for the current revision is allowed");

    let first = store.list("h/", ListOptions { limit: Some(1), revision: Some(r3), start_after: None }).await?;
    assert_eq!(names(&first.kvs), ["h/a"]);
    assert!(first.more);
    let rest =
        store.list("h/", ListOptions { limit: Some(1), revision: Some(r3), start_after: Some("h/a".into()) }).await?;
    assert_eq!(names(&rest.kvs), ["h/b"]);
    assert!(!rest.more);

    match store.list("h/", at(r6 + 1)).await {
        Err(StoreError::FutureRevision(_)) => {}
        other => panic!("a list in the future must fail with FutureRevision, got {other:?}"),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Watches

/// A watch replays history after its revision in order, with previous values, then follows live writes.
pub async fn watch_replays_then_follows<S: Store + ?Sized>(store: &S) -> Result<()> {
    let r0 = store.current_revision().await?;
    let r1 = put(store, "w/x", "1").await?;
    let r2 = put(store, "w/x", "2").await?;
    let r3 = delete(store, "w/x").await?;
    let r4 = put(store, "w/y", "y").await?;

    let mut stream = store.watch("w/", r0).await?;
    let e = next_event(&mut stream).await?;
    assert_eq!((e.kind, &e.kv, &e.prev_kv), (EventKind::Put, &kv_at("w/x", "1", r1, r1, 1), &None));
    let e = next_event(&mut stream).await?;
    assert_eq!(e.kind, EventKind::Put);
    assert_eq!(e.kv, kv_at("w/x", "2", r1, r2, 2));
    assert_eq!(e.prev_kv, Some(kv_at("w/x", "1", r1, r1, 1)));
    let e = next_event(&mut stream).await?;
    assert_eq!(e.kind, EventKind::Delete);
    assert_eq!((e.kv.key.as_str(), e.kv.mod_revision, e.kv.value.as_slice()), ("w/x", r3, &b""[..]));
    assert_eq!(e.prev_kv, Some(kv_at("w/x", "2", r1, r2, 2)), "a delete carries the value it removed");
    let e = next_event(&mut stream).await?;
    assert_eq!((e.kind, &e.kv, &e.prev_kv), (EventKind::Put, &kv_at("w/y", "y", r4, r4, 1), &None));

    // Live from here on.
    let r5 = put(store, "w/x", "3").await?;
    let e = next_event(&mut stream).await?;
    assert_eq!((e.kind, &e.kv, &e.prev_kv), (EventKind::Put, &kv_at("w/x", "3", r5, r5, 1), &None));
    let r6 = delete(store, "w/y").await?;
    let e = next_event(&mut stream).await?;
    assert_eq!(e.kind, EventKind::Delete);
    assert_eq!(e.kv.mod_revision, r6);
    assert_eq!(e.prev_kv, Some(kv_at("w/y", "y", r4, r4, 1)));

    // From the middle of history: starts right after the given revision.
    let mut stream = store.watch("w/", r1).await?;
    let e = next_event(&mut stream).await?;
    assert_eq!(e.kv.mod_revision, r2);
    assert_eq!(e.prev_kv, Some(kv_at("w/x", "1", r1, r1, 1)));

    // From the current revision: nothing replayed, the next write arrives.
    let mut stream = store.watch("w/", r6).await?;
    let r7 = put(store, "w/z", "z").await?;
    assert_eq!(next_event(&mut stream).await?.kv, kv_at("w/z", "z", r7, r7, 1));
    Ok(())
}

/// A watch sees only keys under its prefix, in history and live; the empty prefix sees everything.
pub async fn watch_filters_by_prefix<S: Store + ?Sized>(store: &S) -> Result<()> {
    let r0 = store.current_revision().await?;
    put(store, "g/1", "outside").await?;
    put(store, "f/1", "inside").await?;
    put(store, "fa", "outside").await?;
    let mut stream = store.watch("f/", r0).await?;
    let mut everything = store.watch("", r0).await?;
    assert_eq!(next_event(&mut stream).await?.kv.key, "f/1");

    // Writes outside the prefix first, then one inside: the inside one must be the next event.
    put(store, "fb", "outside").await?;
    put(store, "f", "outside").await?;
    store.txn(vec![], vec![Op::put("g/2", "outside"), Op::put("f0", "outside")]).await?;
    let inside = put(store, "f/2", "inside").await?;
    let e = next_event(&mut stream).await?;
    assert_eq!((e.kv.key.as_str(), e.kv.mod_revision), ("f/2", inside));

    let mut all = Vec::new();
    for _ in 0..8 {
        all.push(next_event(&mut everything).await?.kv.key);
    }
    let mut expected = vec!["g/1", "f/1", "fa", "fb", "f", "f0", "g/2", "f/2"];
    // The two keys of one txn share a revision; their relative order is the backend's choice.
    all[5..7].sort();
    expected[5..7].sort();
    assert_eq!(all, expected, "the empty prefix sees every key in revision order");
    Ok(())
}

/// Watches started while writes stream in see every revision after their start exactly once, in order: the switch
/// from history to live events has no gap and no duplicate.
pub async fn watch_handoff_has_no_gaps<S: Store + ?Sized>(store: &S) -> Result<()> {
    const WRITES: i64 = 200;
    const WATCHERS: i64 = 6;
    let base = store.current_revision().await?;
    let last = base + WRITES;

    let writer = async {
        for i in 0..WRITES {
            let revision = put(store, &format!("n/{}", i % 5), i.to_string()).await?;
            assert_eq!(revision, base + i + 1);
        }
        Ok::<_, StoreError>(())
    };
    let watcher = |w: i64| async move {
        // Start at staggered points of the write stream, a few revisions back so each start replays some history.
        let start_at = base + WRITES * w / WATCHERS;
        while store.current_revision().await? < start_at {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let from = (store.current_revision().await? - 3).max(base);
        let mut stream = store.watch("n/", from).await?;
        for expect in from + 1..=last {
            let e = next_event(&mut stream).await?;
            assert_eq!(e.kv.mod_revision, expect, "watcher {w} started after {from}");
            assert_eq!(e.kv.value, (expect - base - 1).to_string().into_bytes());
        }
        Ok::<_, StoreError>(())
    };
    let all = futures::future::try_join(writer, futures::future::try_join_all((0..WATCHERS).map(watcher)));
    tokio::time::timeout(WAIT * 3, all).await.expect("writes and watches finish")?;
    Ok(())
}

/// Watching from a compacted revision yields `Compacted` and ends; from the compact revision itself it works, and
/// the compact revision stays readable even for keys written again after it.
pub async fn watch_from_compacted_revision<S: Store + ?Sized>(store: &S) -> Result<()> {
    let r0 = store.current_revision().await?;
    let r1 = put(store, "c/a", "1").await?;
    let r2 = put(store, "c/a", "2").await?;
    let r3 = put(store, "c/b", "1").await?;
    let r4 = put(store, "c/a", "3").await?;
    store.compact(r2).await?;

    let mut stream = store.watch("c/", r0).await?;
    match tokio::time::timeout(WAIT, stream.next()).await.expect("the watch answers") {
        Some(Err(StoreError::Compacted { compact_revision, .. })) => assert_eq!(compact_revision, r2),
        other => panic!("a watch from a compacted revision must yield Compacted, got {other:?}"),
    }
    assert!(
        tokio::time::timeout(WAIT, stream.next()).await.expect("the stream ends").is_none(),
        "the stream ends after Compacted"
    );

    let mut stream = store.watch("c/", r2).await?;
    let e = next_event(&mut stream).await?;
    assert_eq!((e.kv.key.as_str(), e.kv.mod_revision, &e.prev_kv), ("c/b", r3, &None));
    let e = next_event(&mut stream).await?;
    assert_eq!(e.kv, kv_at("c/a", "3", r1, r4, 3));
    assert_eq!(e.prev_kv, Some(kv_at("c/a", "2", r1, r2, 2)), "the value at the compact revision survives");

    match store.list("c/", ListOptions { revision: Some(r1), ..ListOptions::default() }).await {
        Err(StoreError::Compacted { .. }) => {}
        other => panic!("a list below the compact revision must fail with Compacted, got {other:?}"),
    }
    let at_compact = store.list("c/", ListOptions { revision: Some(r2), ..ListOptions::default() }).await?;
    assert_eq!(at_compact.kvs, [kv_at("c/a", "2", r1, r2, 2)], "the compact revision itself stays readable");
    let at_r3 = store.list("c/", ListOptions { revision: Some(r3), ..ListOptions::default() }).await?;
    assert_eq!(at_r3.kvs, [kv_at("c/a", "2", r1, r2, 2), kv_at("c/b", "1", r3, r3, 1)]);
    Ok(())
}

/// Compaction drops history only: current values, revisions and previous values of later events survive.
pub async fn compact_keeps_current_values<S: Store + ?Sized>(store: &S) -> Result<()> {
    put(store, "k/a", "1").await?;
    put(store, "k/a", "2").await?;
    put(store, "k/b", "1").await?;
    put(store, "k/c", "1").await?;
    delete(store, "k/c").await?;
    store.txn(vec![], vec![Op::put("k/d", "1"), Op::put("k/e", "1")]).await?;
    put(store, "k/b", "2").await?;
    let before = store.list("k/", ListOptions::default()).await?;
    let revision = store.current_revision().await?;

    store.compact(revision).await?;
    assert_eq!(store.current_revision().await?, revision, "compaction is not a write");
    let after = store.list("k/", ListOptions::default()).await?;
    assert_eq!(after, before, "every live key keeps its value, revisions and version");
    let at = store.list("k/", ListOptions { revision: Some(revision), ..ListOptions::default() }).await?;
    assert_eq!(at.kvs, before.kvs);
    for kv in &before.kvs {
        assert_eq!(store.get(&kv.key).await?.as_ref(), Some(kv));
    }
    assert_eq!(store.get("k/c").await?, None);

    let a = store.get("k/a").await?.expect("k/a survives");
    let next = put(store, "k/a", "3").await?;
    assert_eq!(next, revision + 1);
    assert_eq!(store.get("k/a").await?, Some(kv_at("k/a", "3", a.create_revision, next, a.version + 1)));
    let mut stream = store.watch("k/", revision).await?;
    let e = next_event(&mut stream).await?;
    assert_eq!(e.prev_kv, Some(a), "the previous value of a post-compaction write is still there");

    match store.compact(next + 10).await {
        Err(StoreError::FutureRevision(_)) => {}
        other => panic!("compacting a future revision must fail with FutureRevision, got {other:?}"),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Leases

/// A key attached to a lease that nobody keeps alive goes away after the TTL, as a delete event.
pub async fn lease_expires_keys<S: Store + ?Sized>(store: &S) -> Result<()> {
    let lease = store.grant_lease(Duration::from_secs(1)).await?;
    assert_ne!(lease, 0, "0 means no lease");
    let attached =
        store.txn(vec![], vec![Op::put_with_lease("l/temp", "x", lease), Op::put("l/keep", "y")]).await?.revision;
    assert_eq!(store.get("l/temp").await?.expect("just written").lease, lease);
    assert_eq!(store.get("l/keep").await?.expect("just written").lease, 0);
    let mut stream = store.watch("l/", attached).await?;

    eventually("the leased key expires", || async move { Ok(store.get("l/temp").await?.is_none()) }).await?;
    let e = next_event(&mut stream).await?;
    assert_eq!((e.kind, e.kv.key.as_str()), (EventKind::Delete, "l/temp"));
    assert!(e.kv.mod_revision > attached);
    assert_eq!(e.prev_kv.map(|kv| kv.lease), Some(lease), "the delete event shows the leased value");
    assert!(store.get("l/keep").await?.is_some(), "keys without the lease stay");
    match store.keep_alive(lease).await {
        Err(StoreError::LeaseNotFound(id)) => assert_eq!(id, lease),
        other => panic!("keep_alive on an expired lease must fail with LeaseNotFound, got {other:?}"),
    }
    Ok(())
}

/// Keep-alives hold a lease's keys well past its TTL; when they stop, the keys expire.
pub async fn lease_keep_alive_holds_keys<S: Store + ?Sized>(store: &S) -> Result<()> {
    let ttl = Duration::from_secs(2);
    let lease = store.grant_lease(ttl).await?;
    store.txn(vec![], vec![Op::put_with_lease("held", "x", lease)]).await?;
    // Renew every 250 ms for twice the TTL.
    for _ in 0..16 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        store.keep_alive(lease).await?;
    }
    assert!(store.get("held").await?.is_some(), "a kept-alive lease keeps its key");
    eventually("the key expires once keep-alives stop", || async move { Ok(store.get("held").await?.is_none()) }).await
}

/// Revoking a lease deletes all its keys at once, at one revision, as delete events; the lease is then gone.
pub async fn lease_revoke_deletes_at_once<S: Store + ?Sized>(store: &S) -> Result<()> {
    let lease = store.grant_lease(Duration::from_secs(60)).await?;
    let other = store.grant_lease(Duration::from_secs(60)).await?;
    assert_ne!(lease, other);
    store
        .txn(
            vec![],
            vec![
                Op::put_with_lease("r/a", "1", lease),
                Op::put_with_lease("r/b", "2", lease),
                Op::put("r/c", "3"),
                Op::put_with_lease("r/d", "4", lease),
                Op::put_with_lease("r/e", "5", other),
            ],
        )
        .await?;
    // Re-putting without the lease detaches the key from it.
    let before = put(store, "r/d", "4 unleased").await?;
    let mut stream = store.watch("r/", before).await?;

    store.revoke_lease(lease).await?;
    let revoked = store.current_revision().await?;
    assert_eq!(revoked, before + 1, "revocation deletes all the lease's keys in one write");
    assert_eq!(store.get("r/a").await?, None);
    assert_eq!(store.get("r/b").await?, None);
    assert!(store.get("r/c").await?.is_some(), "an unleased key stays");
    assert!(store.get("r/d").await?.is_some(), "a detached key stays");
    assert!(store.get("r/e").await?.is_some(), "another lease's key stays");

    let mut deleted = BTreeSet::new();
    for _ in 0..2 {
        let e = next_event(&mut stream).await?;
        assert_eq!(e.kind, EventKind::Delete);
        assert_eq!(e.kv.mod_revision, revoked);
        deleted.insert(e.kv.key);
    }
    assert_eq!(deleted, BTreeSet::from(["r/a".to_owned(), "r/b".to_owned()]));

    match store.revoke_lease(lease).await {
        Err(StoreError::LeaseNotFound(id)) => assert_eq!(id, lease),
        other => panic!("revoking twice must fail with LeaseNotFound, got {other:?}"),
    }
    assert!(matches!(store.keep_alive(lease).await, Err(StoreError::LeaseNotFound(_))));
    match store.txn(vec![], vec![Op::put_with_lease("r/late", "x", lease), Op::put("r/f", "x")]).await {
        Err(StoreError::LeaseNotFound(id)) => assert_eq!(id, lease),
        other => panic!("a put on a revoked lease must fail with LeaseNotFound, got {other:?}"),
    }
    assert_eq!(store.get("r/f").await?, None, "the failed txn wrote nothing");
    assert_eq!(store.current_revision().await?, revoked);
    store.keep_alive(other).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Concurrency

/// Many writers increment one counter with get + compare-and-swap, retrying on conflict: no increment is lost.
pub async fn concurrent_cas_counter<S: Store + ?Sized>(store: &S) -> Result<()> {
    const WORKERS: usize = 8;
    const INCREMENTS: usize = 25;
    let start = store.current_revision().await?;
    let worker = || async move {
        let mut conflicts = 0usize;
        for _ in 0..INCREMENTS {
            loop {
                let current = store.get("counter").await?;
                let (value, compare) = match &current {
                    None => (0, Compare::absent("counter")),
                    Some(kv) => {
                        let text = String::from_utf8_lossy(&kv.value);
                        (
                            text.parse::<usize>().expect("the counter holds a number"),
                            Compare::unchanged("counter", kv.mod_revision),
                        )
                    }
                };
                let result = store.txn(vec![compare], vec![Op::put("counter", (value + 1).to_string())]).await?;
                if result.succeeded {
                    break;
                }
                conflicts += 1;
            }
        }
        Ok::<_, StoreError>(conflicts)
    };
    let all = futures::future::try_join_all((0..WORKERS).map(|_| worker()));
    let conflicts: usize = tokio::time::timeout(WAIT * 3, all).await.expect("the workers finish")?.into_iter().sum();
    tracing::debug!(conflicts, "concurrent CAS conflicts");

    let total = WORKERS * INCREMENTS;
    let counter = store.get("counter").await?.expect("the counter exists");
    assert_eq!(counter.value, total.to_string().into_bytes(), "no increment is lost");
    assert_eq!(counter.version, i64::try_from(total).expect("small"));
    assert_eq!(store.current_revision().await?, start + i64::try_from(total).expect("small"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/// The key-value a single put without lease produces.
fn kv_at(key: &str, value: &str, create_revision: Revision, mod_revision: Revision, version: i64) -> KeyValue {
    KeyValue { key: key.to_owned(), value: value.as_bytes().to_vec(), create_revision, mod_revision, version, lease: 0 }
}

fn names(kvs: &[KeyValue]) -> Vec<String> {
    kvs.iter().map(|kv| kv.key.clone()).collect()
}

/// Puts one key unconditionally; returns the revision of the write.
async fn put<S: Store + ?Sized>(store: &S, key: &str, value: impl Into<Vec<u8>>) -> Result<Revision> {
    let result = store.txn(vec![], vec![Op::put(key, value)]).await?;
    assert!(result.succeeded, "an unconditional put succeeds");
    Ok(result.revision)
}

/// Deletes one existing key; returns the revision of the delete.
async fn delete<S: Store + ?Sized>(store: &S, key: &str) -> Result<Revision> {
    let before = store.current_revision().await?;
    let result = store.txn(vec![], vec![Op::delete(key)]).await?;
    assert!(result.succeeded && result.revision > before, "deleting existing key {key} writes");
    Ok(result.revision)
}

/// The next event of a watch, failing the case if none comes within [`WAIT`] or the stream ends.
async fn next_event(stream: &mut WatchStream) -> Result<WatchEvent> {
    match tokio::time::timeout(WAIT, stream.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the watch ended unexpectedly"),
        Err(_) => panic!("no watch event within {WAIT:?}"),
    }
}

/// Polls `check` every 100 ms until it holds, failing the case after [`WAIT`].
async fn eventually<F, Fut>(what: &str, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await? {
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
