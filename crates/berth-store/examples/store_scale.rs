//! Store timings at the sizes the control plane expects (tens of thousands of keys, deep history).
//! Run with `cargo run --release -p berth-store --example store_scale`. It prints timings and asserts none.

use std::time::Duration;

use berth_store::{ListOptions, Op, SqliteStore, Store, StoreError, WatchEvent, WatchStream};
use futures::StreamExt;

async fn next(stream: &mut WatchStream) -> Option<Result<WatchEvent, StoreError>> {
    tokio::time::timeout(Duration::from_secs(20), stream.next()).await.expect("watch answers in time")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("create temp dir");
    let store = SqliteStore::open(&dir.path().join("scale.db")).expect("open store");
    let started = std::time::Instant::now();
    for chunk in 0..200 {
        let ops = (0..100).map(|i| Op::put(format!("tasks/c/{:06}", chunk * 100 + i), vec![b'x'; 512])).collect();
        store.txn(vec![], ops).await.expect("bulk put");
    }
    println!("20000 keys in 200 txns: {:?}", started.elapsed());

    let started = std::time::Instant::now();
    let writes = 5000;
    for i in 0..writes {
        let key = format!("tasks/c/{:06}", i % 1000);
        store.txn(vec![], vec![Op::put(key, vec![b'y'; 512])]).await.expect("put");
    }
    let elapsed = started.elapsed();
    println!("{writes} single-key writes: {elapsed:?} ({:.0}/s)", f64::from(writes) / elapsed.as_secs_f64());

    let started = std::time::Instant::now();
    let writers = (0..16).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..250 {
                let key = format!("tasks/c/{:06}", w * 1000 + i);
                store.txn(vec![], vec![Op::put(key, vec![b'z'; 512])]).await.expect("put");
            }
        })
    });
    futures::future::join_all(writers).await;
    let elapsed = started.elapsed();
    println!("4000 writes from 16 tasks: {elapsed:?} ({:.0}/s)", 4000.0 / elapsed.as_secs_f64());

    let started = std::time::Instant::now();
    for i in 0..1000 {
        store.get(&format!("tasks/c/{:06}", i * 7)).await.expect("get");
    }
    println!("1000 gets: {:?}", started.elapsed());
    let started = std::time::Instant::now();
    let all = store.list("tasks/", ListOptions::default()).await.expect("list");
    println!("list of {} keys: {:?}", all.kvs.len(), started.elapsed());
    let started = std::time::Instant::now();
    let page = store.list("tasks/", ListOptions { limit: Some(100), ..ListOptions::default() }).await.expect("list");
    println!("list page of {}: {:?}", page.kvs.len(), started.elapsed());
    let old = all.revision - 3000;
    let started = std::time::Instant::now();
    let at = store.list("tasks/", ListOptions { revision: Some(old), limit: Some(100), ..ListOptions::default() });
    let at = at.await.expect("list at revision");
    println!("historical page of {}: {:?}", at.kvs.len(), started.elapsed());
    let started = std::time::Instant::now();
    let mut stream = store.watch("tasks/", old).await.expect("watch");
    let mut events = 0;
    while events < 3000 {
        next(&mut stream).await.expect("event").expect("no error");
        events += 1;
    }
    println!("watch replay of {events} events: {:?}", started.elapsed());
    let started = std::time::Instant::now();
    store.compact(all.revision).await.expect("compact");
    println!("compaction of {} revisions: {:?}", all.revision, started.elapsed());
}
