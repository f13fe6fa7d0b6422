//! Moves each container's output into its log stream: one follower per container carrying the log labels
//! ([`super::GROUP_LABEL`], [`super::STREAM_LABEL`]), reading the runtime's copy of the output (Docker's
//! `json-file`) with its timestamps.
//!
//! - Work is found without the task engine: the containers there at start (adopted ones, and ones that exited while
//!   the agent was down), `start` events (new containers and restarts), and a periodic rescan.
//! - A follower follows a running container until it stops, then reads once more without following (to the end of
//!   what Docker has) and ends; a stopped container is read to its end without following.
//! - Resuming is exact: the store keeps a cursor (the newest Docker timestamp stored and how many lines carried
//!   it). A new follower asks Docker from that second on and skips what the cursor says is stored, so an agent
//!   restart neither duplicates nor loses lines.
//! - [`Shipper::drain`] lets the engine wait for a container's output to be stored before removing it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::destination_of;
use super::store::{LogStore, NewEvent, SourceCursor, StoreError};
use crate::runtime::{ContainerRuntime, EventKind, LogLine, RuntimeError};

/// How often the containers are listed again, in case an event was missed.
const RESCAN: Duration = Duration::from_secs(60);
/// Lines appended to the store at once, at most.
const BATCH: usize = 2048;
/// Runtime failures in a row after which a follower gives up (the next rescan starts another).
const MAX_FAILURES: u32 = 5;

struct Follower {
    done: watch::Receiver<bool>,
    /// Set when the follower stopped after repeated runtime failures, short of the end of the output: the next
    /// `ensure` (a rescan, or the engine draining before removal) starts another, running or not.
    gave_up: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

/// The shipper; see the module documentation.
pub struct Shipper {
    runtime: Arc<dyn ContainerRuntime>,
    store: Arc<LogStore>,
    followers: Mutex<HashMap<String, Follower>>,
    stopped: AtomicBool,
}

impl Shipper {
    pub fn new(runtime: Arc<dyn ContainerRuntime>, store: Arc<LogStore>) -> Arc<Shipper> {
        Arc::new(Shipper { runtime, store, followers: Mutex::new(HashMap::new()), stopped: AtomicBool::new(false) })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Follower>> {
        self.followers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Follows the containers carrying `filter` (this instance's label) until the task is aborted.
    pub async fn run(self: Arc<Self>, filter: Vec<(String, String)>) {
        loop {
            // Subscribe before listing, so a container starting in between is not missed.
            let mut events = self.runtime.events(&filter);
            self.scan(&filter).await;
            let mut rescan = tokio::time::interval(RESCAN);
            rescan.tick().await;
            loop {
                tokio::select! {
                    event = events.next() => match event {
                        Some(Ok(event)) if event.kind == EventKind::Start => {
                            self.ensure(&event.container_id, &event.labels, true);
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) => self.scan(&filter).await,
                        None => break,
                    },
                    _ = rescan.tick() => self.scan(&filter).await,
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn scan(&self, filter: &[(String, String)]) {
        let containers = match self.runtime.list_containers(filter).await {
            Ok(containers) => containers,
            Err(e) => {
                warn!(error = %e, "cannot list containers to ship their logs");
                return;
            }
        };
        let present: HashSet<&str> = containers.iter().map(|c| c.id.as_str()).collect();
        // Forget finished followers of containers that are gone.
        self.lock().retain(|id, f| present.contains(id.as_str()) || !*f.done.borrow());
        for c in &containers {
            self.ensure(&c.id, &c.labels, c.running);
        }
    }

    /// Starts a follower for the container unless one is at work, or one has read it to the end and it has not run
    /// since. Containers without log labels are not shipped.
    pub fn ensure(&self, id: &str, labels: &std::collections::BTreeMap<String, String>, running: bool) {
        let Some((group, stream)) = destination_of(labels) else { return };
        if self.stopped.load(Ordering::Relaxed) {
            return;
        }
        let mut followers = self.lock();
        if let Some(f) = followers.get(id)
            && (!*f.done.borrow() || (!running && !f.gave_up.load(Ordering::Relaxed)))
        {
            return;
        }
        let (done_tx, done) = watch::channel(false);
        let gave_up = Arc::new(AtomicBool::new(false));
        let (runtime, store, id_owned, flag) =
            (self.runtime.clone(), self.store.clone(), id.to_owned(), gave_up.clone());
        let handle = tokio::spawn(async move {
            let complete = follow(runtime, store, &id_owned, &group, &stream).await;
            flag.store(!complete, Ordering::Relaxed);
            let _ = done_tx.send(true);
        });
        followers.insert(id.to_owned(), Follower { done, gave_up, handle });
    }

    /// Waits (at most `timeout`) until the container's output is in its stream: the engine calls this before
    /// removing a stopped container.
    pub async fn drain(&self, id: &str, timeout: Duration) {
        let Ok(state) = self.runtime.inspect_container(id).await else { return };
        self.ensure(id, &state.labels, state.running);
        let Some(mut done) = self.lock().get(id).map(|f| f.done.clone()) else { return };
        if tokio::time::timeout(timeout, done.wait_for(|d| *d)).await.is_err() {
            warn!(container = %id, ?timeout, "log shipping did not finish before the container's removal");
        }
    }

    /// Stops every follower (the agent is stopping; the next one resumes from the store's cursors).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        for (_, f) in self.lock().drain() {
            f.handle.abort();
        }
    }

    /// Containers with a follower still at work.
    pub fn active(&self) -> usize {
        self.lock().values().filter(|f| !*f.done.borrow()).count()
    }
}

/// Skips what the store already holds when a read starts again from the cursor's second.
struct Dedup {
    base: SourceCursor,
    seen_at_base: u64,
}

impl Dedup {
    fn new(base: SourceCursor) -> Dedup {
        Dedup { base, seen_at_base: 0 }
    }

    /// Whether the line is new; advances `cursor` over accepted lines (the newest timestamp and its count).
    fn accept(&mut self, cursor: &mut SourceCursor, ns: i64) -> bool {
        if self.base.count > 0 {
            if ns < self.base.ns {
                return false;
            }
            if ns == self.base.ns && self.seen_at_base < self.base.count {
                self.seen_at_base += 1;
                return false;
            }
        }
        cursor.advance(ns);
        true
    }
}

fn event(line: LogLine) -> NewEvent {
    NewEvent { timestamp: line.timestamp_ns.div_euclid(1_000_000), source_ns: line.timestamp_ns, message: line.message }
}

/// What a store call in a blocking thread came to.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| Err(StoreError::Io(std::io::Error::other(e))))
}

/// Ships one container's output into `group`/`stream` until the container has stopped and its output is stored.
/// Returns false when it gave up after repeated runtime or store failures, short of the end of the output.
async fn follow(runtime: Arc<dyn ContainerRuntime>, store: Arc<LogStore>, id: &str, group: &str, stream: &str) -> bool {
    {
        let (store, g, s) = (store.clone(), group.to_owned(), stream.to_owned());
        if let Err(e) = blocking(move || store.ensure_stream(&g, &s)).await {
            warn!(container = %id, %group, %stream, error = %e, "cannot create the log stream");
            return false;
        }
    }
    let mut failures = 0;
    loop {
        let running = match runtime.inspect_container(id).await {
            Ok(state) => state.running,
            Err(RuntimeError::NotFound(_)) => return true,
            Err(e) => {
                failures += 1;
                if failures >= MAX_FAILURES {
                    warn!(container = %id, error = %e, "giving up shipping logs for now");
                    return false;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(mut cursor) = store.cursor(group, stream) else { return true };
        let mut dedup = Dedup::new(cursor);
        let since = if cursor.count == 0 { 0 } else { cursor.ns.div_euclid(1_000_000_000) };
        debug!(container = %id, since, running, "reading container output");
        let mut lines = runtime.logs(id, since, running).ready_chunks(BATCH);
        let mut broken = None;
        while let Some(chunk) = lines.next().await {
            let mut batch = Vec::with_capacity(chunk.len());
            for item in chunk {
                match item {
                    Ok(line) => {
                        if dedup.accept(&mut cursor, line.timestamp_ns) {
                            batch.push(event(line));
                        }
                    }
                    Err(e) => {
                        broken = Some(e);
                        break;
                    }
                }
            }
            if !batch.is_empty() {
                let (store, group, stream) = (store.clone(), group.to_owned(), stream.to_owned());
                match blocking(move || store.append(&group, &stream, batch)).await {
                    Ok(()) => failures = 0,
                    Err(StoreError::Closed) => return true,
                    Err(e) => {
                        broken = Some(RuntimeError::Unavailable(e.to_string()));
                    }
                }
            }
            if broken.is_some() {
                break;
            }
        }
        if let Some(e) = broken {
            if matches!(e, RuntimeError::NotFound(_)) {
                return true;
            }
            failures += 1;
            if failures >= MAX_FAILURES {
                warn!(container = %id, error = %e, "giving up shipping logs for now");
                return false;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        if !running {
            // Read to the end of a stopped container; read again only if it has started since.
            match runtime.inspect_container(id).await {
                Ok(state) if state.running => continue,
                _ => return true,
            }
        }
        // The follow ended because the container stopped: one more pass without following catches the rest.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::store::Limits;
    use crate::logs::{GROUP_LABEL, STREAM_LABEL};
    use crate::runtime::ContainerSpec;
    use crate::runtime::fake::FakeRuntime;
    use berth_model::logs::GetEventsRequest;
    use std::collections::BTreeMap;

    const LIMITS: Limits = Limits { host_max_bytes: 1 << 30, stream_max_bytes: 1 << 26 };

    async fn container(fake: &FakeRuntime, name: &str) -> (String, BTreeMap<String, String>) {
        let labels = BTreeMap::from([
            (GROUP_LABEL.to_owned(), "/ecs/f".to_owned()),
            (STREAM_LABEL.to_owned(), format!("ecs/{name}/t")),
        ]);
        let def = serde_json::from_value(serde_json::json!({"name": name, "image": "x"})).unwrap();
        let spec = ContainerSpec { labels: labels.clone(), ..ContainerSpec::new(format!("rt-{name}"), def) };
        let id = fake.create_container(&spec).await.unwrap();
        fake.start_container(&id).await.unwrap();
        (id, labels)
    }

    fn read(store: &LogStore, name: &str) -> Vec<String> {
        let req = GetEventsRequest {
            log_group_name: "/ecs/f".into(),
            log_stream_name: format!("ecs/{name}/t"),
            limit: 10_000,
            start_from_head: true,
            ..Default::default()
        };
        store.get_events(&req).map(|r| r.events.into_iter().map(|e| e.message).collect()).unwrap_or_default()
    }

    async fn eventually(mut f: impl FnMut() -> bool) {
        for _ in 0..200 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("condition not reached");
    }

    #[tokio::test]
    async fn ships_every_line_and_drains_before_removal() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(LogStore::open(dir.path(), LIMITS).unwrap());
        let fake = Arc::new(FakeRuntime::new());
        let (id, labels) = container(&fake, "app").await;
        let shipper = Shipper::new(fake.clone(), store.clone());
        shipper.ensure(&id, &labels, true);
        for i in 0..3000 {
            fake.push_log("app", &format!("n {i}"));
        }
        fake.exit("app", 0);
        shipper.drain(&id, Duration::from_secs(10)).await;
        let expected: Vec<String> = (0..3000).map(|i| format!("n {i}")).collect();
        assert_eq!(read(&store, "app"), expected);
        assert_eq!(shipper.active(), 0);
        // A container without log labels is not shipped.
        shipper.ensure("other", &BTreeMap::new(), true);
        assert_eq!(shipper.active(), 0);
    }

    #[tokio::test]
    async fn a_new_shipper_resumes_without_duplicates_or_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(FakeRuntime::new());
        let (id, labels) = container(&fake, "app").await;
        let base = 1_700_000_000_000_000_000i64;
        // Lines sharing Docker timestamps, across the restart.
        for (i, ns) in [0, 1, 1, 2].into_iter().enumerate() {
            fake.push_log_at("app", base + ns, &format!("n {i}"));
        }
        {
            let store = Arc::new(LogStore::open(dir.path(), LIMITS).unwrap());
            let shipper = Shipper::new(fake.clone(), store.clone());
            shipper.ensure(&id, &labels, true);
            eventually(|| read(&store, "app").len() == 4).await;
            shipper.stop();
            store.close();
        }
        // While no agent runs: more lines (one with the cursor's timestamp), then the container exits.
        for (i, ns) in [2, 3, 1_500_000_000].into_iter().enumerate() {
            fake.push_log_at("app", base + ns, &format!("n {}", i + 4));
        }
        fake.exit("app", 0);
        let store = Arc::new(LogStore::open(dir.path(), LIMITS).unwrap());
        let shipper = Shipper::new(fake.clone(), store.clone());
        shipper.clone().drain(&id, Duration::from_secs(10)).await;
        let expected: Vec<String> = (0..7).map(|i| format!("n {i}")).collect();
        assert_eq!(read(&store, "app"), expected);
        // Reading again (a rescan after a restart) adds nothing.
        let again = Shipper::new(fake.clone(), store.clone());
        again.drain(&id, Duration::from_secs(10)).await;
        assert_eq!(read(&store, "app"), expected);
    }

    #[test]
    fn resuming_skips_exactly_what_is_stored() {
        // Stored: lines at 5, 7, 7 (cursor 7 x2). Docker sends again from the second: 5, 7, 7, 7, 8.
        let mut cursor = SourceCursor { ns: 7, count: 2 };
        let mut dedup = Dedup::new(cursor);
        let accepted: Vec<i64> = [5, 7, 7, 7, 8].into_iter().filter(|&ns| dedup.accept(&mut cursor, ns)).collect();
        assert_eq!(accepted, vec![7, 8]);
        assert_eq!(cursor, SourceCursor { ns: 8, count: 1 });
        // Nothing stored yet: everything is new.
        let mut cursor = SourceCursor::default();
        let mut dedup = Dedup::new(cursor);
        assert!([0, 0, 3].into_iter().all(|ns| dedup.accept(&mut cursor, ns)));
        assert_eq!(cursor, SourceCursor { ns: 3, count: 1 });
    }
}
