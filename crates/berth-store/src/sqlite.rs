//! SQLite backend: the store in one file, as a kine-style revision log.
//!
//! This module owns the on-disk layout, the single writer thread, the pool of read connections, the watch fan-out and
//! lease expiry. Nothing else touches the file.
//!
//! # Layout (schema version 1)
//!
//! - `kv` is the append-only log. Every write transaction gets one new global revision and appends one row per key it
//!   changed, all carrying that `revision` (a separate column, so one revision can hold several rows; `id` only orders
//!   rows for compaction). A delete appends a tombstone (`deleted = 1`). `prev_revision` points at the key's previous
//!   live row, which is what watch replays report as `prev_kv`. `name` is a BLOB so that SQLite compares keys bytewise
//!   and a prefix maps to a plain index range.
//! - `kv_current` maps each live key to its newest row, so `get` and current `list` read one row per key however long
//!   the history is. It also indexes keys by lease for revocation.
//! - `leases` holds granted leases with their TTL and wall-clock deadline.
//! - `meta` holds the current revision and the compact revision.
//!
//! # Concurrency
//!
//! One writer thread owns the only read-write connection and takes commands over a channel, so writes never contend
//! for SQLite's lock and revisions are assigned without races. After each commit it publishes the changes on a
//! `tokio::sync::broadcast` that live watches follow. Reads run on read-only connections (WAL lets them proceed while
//! the writer writes) from a small pool, inside `spawn_blocking`, so they never queue behind writes.
//!
//! The writer also expires leases: it sleeps on its channel no longer than the earliest lease deadline. Compaction
//! runs on it in small batches interleaved with other commands, so a large compaction does not stall writes.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::StreamExt;
use rusqlite::types::Type;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot};

use crate::{
    Compare, EventKind, KeyValue, LeaseId, ListOptions, ListResult, Op, Result, Revision, Store, StoreError, TxnResult,
    WatchEvent, WatchStream,
};

/// The schema this code writes; stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            BLOB    NOT NULL,
    revision        INTEGER NOT NULL,
    created         INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision   INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    lease           INTEGER NOT NULL,
    value           BLOB    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS kv_name_revision ON kv (name, revision);
CREATE INDEX IF NOT EXISTS kv_revision ON kv (revision, name);
CREATE TABLE IF NOT EXISTS kv_current (
    name     BLOB    PRIMARY KEY,
    revision INTEGER NOT NULL,
    lease    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_current_lease ON kv_current (lease);
CREATE TABLE IF NOT EXISTS leases (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    ttl_ms        INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS leases_expiry ON leases (expires_at_ms);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 1), ('compact_revision', 0);
";

/// Columns of `kv` that make a [`KeyValue`], in the order [`kv_from_row`] reads them.
const KV_COLUMNS: &str = "k.name, k.value, k.create_revision, k.revision, k.version, k.lease";

/// Tuning knobs; the defaults suit a control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Idle read-only connections kept for reuse; bursts beyond this open temporary ones.
    pub read_connections: usize,
    /// Write transactions buffered per live watch before a slow watcher gets [`StoreError::Lagged`].
    pub watch_buffer: usize,
    /// How long a connection waits for SQLite's file lock (only contended by outside tools such as `sqlite3`).
    pub busy_timeout: Duration,
    /// Log rows examined per compaction step; other commands run between steps.
    pub compact_batch: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            read_connections: 4,
            watch_buffer: 4096,
            busy_timeout: Duration::from_secs(30),
            compact_batch: 2000,
        }
    }
}

/// The embedded store. Cheap to clone; the writer thread stops when the last clone is dropped, and that drop waits
/// for the writer to finish the command in hand (milliseconds), so the file can be reopened at once.
///
/// One process per file: watches and the published revision only know about writes made through this process.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

struct Inner {
    path: PathBuf,
    options: SqliteOptions,
    /// `None` only while dropping, so the writer sees its channel close.
    commands: Option<mpsc::Sender<Command>>,
    writer: Option<JoinHandle<()>>,
    /// Kept to subscribe new watches; the writer holds the other sender.
    events: broadcast::Sender<Arc<Batch>>,
    /// The last committed revision, published by the writer after each commit (and raised by readers that see a
    /// commit before it is published).
    revision: Arc<AtomicI64>,
    readers: Mutex<Vec<Connection>>,
    /// One permit per pooled reader: reads beyond the pool wait for a connection instead of opening (and parsing
    /// the schema of) a new one each time.
    read_permits: tokio::sync::Semaphore,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Close the channel, then wait for the writer to finish what it holds, so that a reopen of the same file
        // never overlaps with this writer.
        drop(self.commands.take());
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!(path = %self.path.display(), "store writer thread panicked");
        }
    }
}

/// Changes committed at one revision, as the writer publishes them to live watches.
#[derive(Debug)]
struct Batch {
    revision: Revision,
    events: Vec<WatchEvent>,
}

enum Command {
    Txn { compares: Vec<Compare>, ops: Vec<Op>, reply: oneshot::Sender<Result<TxnResult>> },
    Compact { revision: Revision, reply: oneshot::Sender<Result<()>> },
    Grant { ttl_ms: i64, reply: oneshot::Sender<Result<LeaseId>> },
    KeepAlive { lease: LeaseId, reply: oneshot::Sender<Result<()>> },
    Revoke { lease: LeaseId, reply: oneshot::Sender<Result<()>> },
}

/// Adds what was being done to a SQLite error.
trait Context<T> {
    fn ctx(self, what: &str) -> Result<T>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn ctx(self, what: &str) -> Result<T> {
        self.map_err(|e| StoreError::Backend(format!("sqlite: {what}: {e}")))
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` with default options.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (creating if needed) the store at `path`.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).ctx(&format!("open {}", path.display()))?;
        conn.busy_timeout(options.busy_timeout).ctx("set busy_timeout")?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).ctx("enable WAL")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!("sqlite: {} refused WAL mode (got {mode})", path.display())));
        }
        // In WAL mode NORMAL only risks the last commits on power loss, never corruption; FULL would fsync per txn.
        conn.pragma_update(None, "synchronous", "NORMAL").ctx("set synchronous")?;
        migrate(&mut conn)?;

        let now = now_ms();
        // The holders could not renew while the store was down, so give every lease a full TTL from now (as etcd
        // does when a new leader takes over) instead of expiring them all at once.
        conn.execute("UPDATE leases SET expires_at_ms = MAX(expires_at_ms, ?1 + ttl_ms)", [now])
            .ctx("extend leases on open")?;
        let next_deadline = earliest_deadline(&conn).ctx("read lease deadlines")?;
        let revision = Arc::new(AtomicI64::new(meta_get(&conn, "revision").ctx("read revision")?));

        let (events, _) = broadcast::channel(options.watch_buffer.max(1));
        let (commands, rx) = mpsc::channel();
        let writer = Writer {
            conn,
            rx,
            events: events.clone(),
            revision: revision.clone(),
            next_deadline,
            compactions: VecDeque::new(),
            compact_batch: options.compact_batch.max(1),
        };
        let writer = std::thread::Builder::new()
            .name("berth-store-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| StoreError::Backend(format!("start store writer thread: {e}")))?;

        let read_permits = tokio::sync::Semaphore::new(options.read_connections.max(1));
        let inner = Inner {
            path: path.to_owned(),
            options,
            commands: Some(commands),
            writer: Some(writer),
            events,
            revision,
            readers: Mutex::new(Vec::new()),
            read_permits,
        };
        // Open one reader now so that a file readers cannot open fails here, not on the first read.
        let reader = inner.open_reader()?;
        inner.check_in(reader);
        Ok(SqliteStore { inner: Arc::new(inner) })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The revision at and below which history has been compacted (0 when never compacted).
    pub async fn compact_revision(&self) -> Result<Revision> {
        self.read(|conn| meta_get(conn, "compact_revision").ctx("read compact revision")).await
    }

    /// Runs `f` on a pooled read-only connection inside one read transaction, so it sees one consistent snapshot.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        let _permit = self.inner.read_permits.acquire().await.map_err(|_| StoreError::Closed)?;
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.check_out()?;
            let result = match conn.transaction() {
                // Dropping the transaction rolls it back, which ends the snapshot.
                Ok(tx) => f(&tx),
                Err(e) => Err(e).ctx("begin read"),
            };
            inner.check_in(conn);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store read task failed: {e}")))?
    }

    /// Like [`SqliteStore::read`] for reads bounded to a few index lookups (one key, one short page): they run on
    /// the calling task's thread. They take microseconds from the page cache, far less than the two thread switches
    /// a blocking-pool hop costs.
    async fn read_small<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let _permit = self.inner.read_permits.acquire().await.map_err(|_| StoreError::Closed)?;
        let mut conn = self.inner.check_out()?;
        let result = match conn.transaction() {
            Ok(tx) => f(&tx),
            Err(e) => Err(e).ctx("begin read"),
        };
        self.inner.check_in(conn);
        result
    }

    /// Sends a command to the writer and waits for its answer.
    async fn write<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> Command) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let commands = self.inner.commands.as_ref().ok_or(StoreError::Closed)?;
        commands.send(make(reply)).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

impl Inner {
    fn open_reader(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&self.path, flags).ctx(&format!("open {} for reading", self.path.display()))?;
        conn.busy_timeout(self.options.busy_timeout).ctx("set busy_timeout")?;
        Ok(conn)
    }

    fn check_out(&self) -> Result<Connection> {
        let pooled = self.readers.lock().expect("store reader pool mutex poisoned").pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => self.open_reader(),
        }
    }

    fn check_in(&self, conn: Connection) {
        let mut pool = self.readers.lock().expect("store reader pool mutex poisoned");
        if pool.len() < self.options.read_connections {
            pool.push(conn);
        }
    }
}

/// Lists of at most this many keys count as small reads (see [`SqliteStore::read_small`]).
const SMALL_LIST: usize = 1000;

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.read_small(|conn| load_current(conn, key).ctx("get")).await
    }

    async fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult> {
        if options.limit.is_some_and(|l| l <= SMALL_LIST) {
            let seen = &self.inner.revision;
            return self.read_small(|conn| list(conn, seen, prefix, &options)).await;
        }
        let prefix = prefix.to_owned();
        let seen = self.inner.revision.clone();
        self.read(move |conn| list(conn, &seen, &prefix, &options)).await
    }

    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnResult> {
        crate::check_distinct_keys(&ops)?;
        self.write(|reply| Command::Txn { compares, ops, reply }).await
    }

    async fn watch(&self, prefix: &str, after_revision: Revision) -> Result<WatchStream> {
        // Subscribe before reading history: every commit after the history snapshot is then certainly in the
        // receiver, and commits the snapshot already holds are skipped by revision. No gap, no duplicate.
        let rx = self.inner.events.subscribe();
        let owned = prefix.to_owned();
        let seen = self.inner.revision.clone();
        let replay = self
            .read(move |conn| {
                let compact_revision = meta_get(conn, "compact_revision").ctx("read compact revision")?;
                if after_revision < compact_revision {
                    return Ok(Err(StoreError::Compacted { requested: after_revision, compact_revision }));
                }
                let snapshot = meta_get(conn, "revision").ctx("read revision")?;
                seen.fetch_max(snapshot, Ordering::AcqRel);
                let events = history(conn, &owned, after_revision).ctx("read watch history")?;
                Ok(Ok((events, snapshot)))
            })
            .await?;
        let state = match replay {
            Err(compacted) => {
                WatchState { pending: VecDeque::from([Err(compacted)]), rx: None, last: 0, prefix: "".into() }
            }
            Ok((events, snapshot)) => WatchState {
                pending: events.into_iter().map(Ok).collect(),
                rx: Some(rx),
                last: snapshot.max(after_revision),
                prefix: prefix.to_owned(),
            },
        };
        Ok(futures::stream::unfold(state, WatchState::next).boxed())
    }

    async fn current_revision(&self) -> Result<Revision> {
        Ok(self.inner.revision.load(Ordering::Acquire))
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.write(|reply| Command::Compact { revision, reply }).await
    }

    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        self.write(|reply| Command::Grant { ttl_ms, reply }).await
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<()> {
        self.write(|reply| Command::KeepAlive { lease, reply }).await
    }

    async fn revoke_lease(&self, lease: LeaseId) -> Result<()> {
        self.write(|reply| Command::Revoke { lease, reply }).await
    }
}

/// A watch in progress: buffered events, then the live receiver.
struct WatchState {
    pending: VecDeque<Result<WatchEvent>>,
    /// `None` once the stream has reported its end.
    rx: Option<broadcast::Receiver<Arc<Batch>>>,
    /// The newest revision already delivered or covered by the history snapshot.
    last: Revision,
    prefix: String,
}

impl WatchState {
    async fn next(mut self) -> Option<(Result<WatchEvent>, Self)> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some((item, self));
            }
            let rx = self.rx.as_mut()?;
            match rx.recv().await {
                Ok(batch) => {
                    if batch.revision <= self.last {
                        continue;
                    }
                    self.last = batch.revision;
                    let prefix = &self.prefix;
                    self.pending
                        .extend(batch.events.iter().filter(|e| e.kv.key.starts_with(prefix.as_str())).cloned().map(Ok));
                }
                Err(RecvError::Lagged(_)) => {
                    self.rx = None;
                    return Some((Err(StoreError::Lagged), self));
                }
                Err(RecvError::Closed) => {
                    self.rx = None;
                    return Some((Err(StoreError::Closed), self));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Writer

struct Writer {
    conn: Connection,
    rx: mpsc::Receiver<Command>,
    events: broadcast::Sender<Arc<Batch>>,
    revision: Arc<AtomicI64>,
    /// Earliest lease deadline (unix ms), possibly stale-early after a keep-alive; a sweep then recomputes it.
    next_deadline: Option<i64>,
    compactions: VecDeque<CompactJob>,
    compact_batch: usize,
}

/// A compaction in progress: rows up to `cursor` (by id) have been examined.
struct CompactJob {
    target: Revision,
    cursor: i64,
    reply: oneshot::Sender<Result<()>>,
}

/// Most transactions committed together by one SQLite commit.
const GROUP_COMMIT_MAX: usize = 64;

/// A transaction waiting for the writer.
struct Pending {
    compares: Vec<Compare>,
    ops: Vec<Op>,
    reply: oneshot::Sender<Result<TxnResult>>,
}

/// The final effect of a transaction on one key (a later op on the same key replaces an earlier one).
enum Change {
    Put { value: Vec<u8>, lease: LeaseId },
    Delete,
}

impl Writer {
    fn run(mut self) {
        tracing::debug!("store writer started");
        loop {
            let command = if !self.compactions.is_empty() {
                // Compaction is pending: take a waiting command if there is one, else do a compaction step.
                match self.rx.try_recv() {
                    Ok(command) => Some(command),
                    Err(mpsc::TryRecvError::Empty) => None,
                    Err(mpsc::TryRecvError::Disconnected) => break,
                }
            } else if let Some(deadline) = self.next_deadline {
                let wait = u64::try_from(deadline.saturating_sub(now_ms())).unwrap_or(0);
                match self.rx.recv_timeout(Duration::from_millis(wait)) {
                    Ok(command) => Some(command),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match self.rx.recv() {
                    Ok(command) => Some(command),
                    Err(mpsc::RecvError) => break,
                }
            };
            match command {
                Some(Command::Txn { compares, ops, reply }) => {
                    let (group, next) = self.gather(Pending { compares, ops, reply });
                    self.txn_group(group);
                    if let Some(other) = next {
                        self.handle(other);
                    }
                }
                Some(command) => self.handle(command),
                None => {}
            }
            if self.next_deadline.is_some_and(|deadline| deadline <= now_ms()) {
                self.sweep();
            }
            self.compact_step();
        }
        tracing::debug!("store writer stopped");
    }

    fn handle(&mut self, command: Command) {
        // A caller that went away just doesn't get its answer, hence the ignored send results.
        match command {
            Command::Txn { compares, ops, reply } => {
                let _ = reply.send(self.txn(&compares, ops));
            }
            Command::Compact { revision, reply } => self.start_compaction(revision, reply),
            Command::Grant { ttl_ms, reply } => {
                let _ = reply.send(self.grant(ttl_ms));
            }
            Command::KeepAlive { lease, reply } => {
                let _ = reply.send(self.keep_alive(lease));
            }
            Command::Revoke { lease, reply } => {
                let _ = reply.send(self.revoke(lease));
            }
        }
    }

    /// The transactions already waiting behind `first` (up to [`GROUP_COMMIT_MAX`]), and the first other command
    /// met, which must run after them.
    fn gather(&mut self, first: Pending) -> (Vec<Pending>, Option<Command>) {
        let mut group = vec![first];
        while group.len() < GROUP_COMMIT_MAX {
            match self.rx.try_recv() {
                Ok(Command::Txn { compares, ops, reply }) => group.push(Pending { compares, ops, reply }),
                Ok(other) => return (group, Some(other)),
                Err(_) => break,
            }
        }
        (group, None)
    }

    /// Applies waiting transactions in order inside one SQLite transaction (group commit), each in a savepoint of
    /// its own at its own revision, so each sees the ones before it and fails alone. Under load this turns many
    /// small commits, each rewriting the same pages, into one.
    fn txn_group(&mut self, group: Vec<Pending>) {
        if group.len() == 1 {
            let Some(Pending { compares, ops, reply }) = group.into_iter().next() else { return };
            let _ = reply.send(self.txn(&compares, ops));
            return;
        }
        let mut answers = Vec::with_capacity(group.len());
        let mut batches = Vec::new();
        let committed = (|| -> Result<()> {
            let mut tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin txn group")?;
            let mut revision = meta_get(&tx, "revision").ctx("read revision")?;
            for Pending { compares, ops, reply } in group {
                let result = (|| -> Result<TxnResult> {
                    let sp = tx.savepoint().ctx("begin savepoint")?;
                    let batch = match apply_txn(&sp, revision, &compares, ops)? {
                        Applied::Refused => return Ok(TxnResult { succeeded: false, revision }),
                        Applied::Nothing => return Ok(TxnResult { succeeded: true, revision }),
                        Applied::Wrote(batch) => batch,
                    };
                    sp.commit().ctx("release savepoint")?;
                    revision = batch.revision;
                    batches.push(batch);
                    Ok(TxnResult { succeeded: true, revision })
                })();
                answers.push((reply, result));
            }
            tx.commit().ctx("commit txn group")
        })();
        match committed {
            Ok(()) => {
                for batch in batches {
                    self.publish(batch);
                }
                for (reply, result) in answers {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                // Nothing of the group was written; each caller learns why.
                let message = e.to_string();
                for (reply, _) in answers {
                    let _ = reply.send(Err(StoreError::Backend(message.clone())));
                }
            }
        }
    }

    fn txn(&mut self, compares: &[Compare], ops: Vec<Op>) -> Result<TxnResult> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin txn")?;
        let revision = meta_get(&tx, "revision").ctx("read revision")?;
        // Dropping `tx` without committing rolls back.
        let batch = match apply_txn(&tx, revision, compares, ops)? {
            Applied::Refused => return Ok(TxnResult { succeeded: false, revision }),
            Applied::Nothing => return Ok(TxnResult { succeeded: true, revision }),
            Applied::Wrote(batch) => batch,
        };
        tx.commit().ctx("commit txn")?;
        let revision = batch.revision;
        self.publish(batch);
        Ok(TxnResult { succeeded: true, revision })
    }

    /// Makes a committed batch visible: first the revision, then live watches.
    fn publish(&self, batch: Batch) {
        self.revision.fetch_max(batch.revision, Ordering::AcqRel);
        // No receivers is not an error: nobody is watching.
        let _ = self.events.send(Arc::new(batch));
    }

    fn grant(&mut self, ttl_ms: i64) -> Result<LeaseId> {
        let deadline = now_ms().saturating_add(ttl_ms);
        self.conn
            .execute("INSERT INTO leases (ttl_ms, expires_at_ms) VALUES (?1, ?2)", [ttl_ms, deadline])
            .ctx("grant lease")?;
        let lease = self.conn.last_insert_rowid();
        self.next_deadline = Some(self.next_deadline.map_or(deadline, |d| d.min(deadline)));
        Ok(lease)
    }

    fn keep_alive(&mut self, lease: LeaseId) -> Result<()> {
        let now = now_ms();
        let found: Option<(i64, i64)> = self
            .conn
            .query_row("SELECT ttl_ms, expires_at_ms FROM leases WHERE id = ?1", [lease], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .ctx("read lease")?;
        match found {
            None => Err(StoreError::LeaseNotFound(lease)),
            Some((_, expires_at)) if expires_at <= now => {
                // Expired but not swept yet: too late to renew.
                self.revoke(lease)?;
                Err(StoreError::LeaseNotFound(lease))
            }
            Some((ttl_ms, _)) => {
                self.conn
                    .execute("UPDATE leases SET expires_at_ms = ?1 WHERE id = ?2", [now.saturating_add(ttl_ms), lease])
                    .ctx("renew lease")?;
                Ok(())
            }
        }
    }

    /// Deletes the lease and, at one new revision, every key attached to it.
    fn revoke(&mut self, lease: LeaseId) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin revoke")?;
        if tx.execute("DELETE FROM leases WHERE id = ?1", [lease]).ctx("delete lease")? == 0 {
            return Err(StoreError::LeaseNotFound(lease));
        }
        let revision = meta_get(&tx, "revision").ctx("read revision")?;
        let keys = {
            let mut stmt = tx.prepare_cached("SELECT name FROM kv_current WHERE lease = ?1").ctx("find lease keys")?;
            let rows = stmt.query_map([lease], |r| name_from(r, 0)).ctx("find lease keys")?;
            rows.collect::<rusqlite::Result<Vec<_>>>().ctx("find lease keys")?
        };
        let changes = keys.into_iter().map(|key| (key, Change::Delete)).collect();
        let batch = apply_changes(&tx, revision, changes)?;
        tx.commit().ctx("commit revoke")?;
        if let Some(batch) = batch {
            self.publish(batch);
        }
        Ok(())
    }

    /// Revokes expired leases and recomputes the next deadline.
    fn sweep(&mut self) {
        let expired: rusqlite::Result<Vec<LeaseId>> = self
            .conn
            .prepare_cached("SELECT id FROM leases WHERE expires_at_ms <= ?1")
            .and_then(|mut stmt| stmt.query_map([now_ms()], |r| r.get(0))?.collect());
        let expired = match expired {
            Ok(ids) => ids,
            Err(e) => return self.sweep_failed(&e.to_string()),
        };
        for lease in expired {
            match self.revoke(lease) {
                Ok(()) => tracing::debug!(lease, "lease expired"),
                // Raced with an explicit revoke: nothing left to do.
                Err(StoreError::LeaseNotFound(_)) => {}
                Err(e) => return self.sweep_failed(&e.to_string()),
            }
        }
        match earliest_deadline(&self.conn) {
            Ok(deadline) => self.next_deadline = deadline,
            Err(e) => self.sweep_failed(&e.to_string()),
        }
    }

    fn sweep_failed(&mut self, error: &str) {
        tracing::warn!(error, "lease expiry failed; retrying in 1s");
        self.next_deadline = Some(now_ms() + 1000);
    }

    fn start_compaction(&mut self, target: Revision, reply: oneshot::Sender<Result<()>>) {
        let started = (|| {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin compact")?;
            let current = meta_get(&tx, "revision").ctx("read revision")?;
            if target > current {
                return Err(StoreError::FutureRevision(target));
            }
            if target <= meta_get(&tx, "compact_revision").ctx("read compact revision")? {
                return Ok(false);
            }
            // Record the compact revision before deleting anything: from now on reads below it answer Compacted,
            // and reads at or above it never need the rows the steps delete.
            meta_set(&tx, "compact_revision", target).ctx("record compact revision")?;
            tx.commit().ctx("commit compact revision")?;
            Ok(true)
        })();
        match started {
            Ok(true) => self.compactions.push_back(CompactJob { target, cursor: 0, reply }),
            Ok(false) => {
                let _ = reply.send(Ok(()));
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// Examines the next batch of log rows of the first pending compaction, deleting the superseded ones.
    fn compact_step(&mut self) {
        let Some(job) = self.compactions.front_mut() else { return };
        let (target, cursor, batch) = (job.target, job.cursor, self.compact_batch);
        match compact_batch(&mut self.conn, target, cursor, batch) {
            Ok(Some(cursor)) => {
                if let Some(job) = self.compactions.front_mut() {
                    job.cursor = cursor;
                }
            }
            Ok(None) => {
                if let Some(job) = self.compactions.pop_front() {
                    tracing::debug!(revision = job.target, "compaction done");
                    let _ = job.reply.send(Ok(()));
                }
            }
            Err(e) => {
                if let Some(job) = self.compactions.pop_front() {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
    }
}

/// Applies per-key changes at `revision + 1`; returns the batch to publish, or `None` when nothing changed (deletes of
/// missing keys only), in which case the revision stays.
/// What one transaction did inside the caller's SQLite transaction (which the caller commits or rolls back).
enum Applied {
    /// A compare failed; nothing was written.
    Refused,
    /// Every op was a delete of a missing key: no new revision.
    Nothing,
    Wrote(Batch),
}

/// Checks the compares and applies the ops at `revision + 1`.
fn apply_txn(conn: &Connection, revision: Revision, compares: &[Compare], ops: Vec<Op>) -> Result<Applied> {
    for compare in compares {
        let Compare::ModRevision { key, mod_revision } = compare;
        let current = current_mod_revision(conn, key).ctx("check compare")?.unwrap_or(0);
        if current != *mod_revision {
            return Ok(Applied::Refused);
        }
    }
    let mut changes = BTreeMap::new();
    for op in ops {
        match op {
            Op::Put { key, value, lease } => changes.insert(key, Change::Put { value, lease }),
            Op::Delete { key } => changes.insert(key, Change::Delete),
        };
    }
    Ok(apply_changes(conn, revision, changes)?.map_or(Applied::Nothing, Applied::Wrote))
}

fn apply_changes(conn: &Connection, revision: Revision, changes: BTreeMap<String, Change>) -> Result<Option<Batch>> {
    let new_revision = revision + 1;
    for change in changes.values() {
        if let Change::Put { lease, .. } = change
            && *lease != 0
            && !lease_exists(conn, *lease).ctx("check lease")?
        {
            return Err(StoreError::LeaseNotFound(*lease));
        }
    }
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO kv (name, revision, created, deleted, create_revision, prev_revision, version, lease, value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .ctx("prepare insert")?;
    let mut events = Vec::with_capacity(changes.len());
    for (key, change) in changes {
        let prev = load_current(conn, &key).ctx("read previous value")?;
        let prev_revision = prev.as_ref().map_or(0, |p| p.mod_revision);
        match change {
            Change::Put { value, lease } => {
                let (create_revision, version) = match &prev {
                    Some(p) => (p.create_revision, p.version + 1),
                    None => (new_revision, 1),
                };
                insert
                    .execute(params![
                        key.as_bytes(),
                        new_revision,
                        prev.is_none(),
                        false,
                        create_revision,
                        prev_revision,
                        version,
                        lease,
                        value
                    ])
                    .ctx("append put")?;
                conn.prepare_cached(
                    "INSERT INTO kv_current (name, revision, lease) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, lease = excluded.lease",
                )
                .and_then(|mut stmt| stmt.execute(params![key.as_bytes(), new_revision, lease]))
                .ctx("update current")?;
                let kv = KeyValue { key, value, create_revision, mod_revision: new_revision, version, lease };
                events.push(WatchEvent { kind: EventKind::Put, kv, prev_kv: prev });
            }
            Change::Delete => {
                let Some(prev) = prev else { continue };
                insert
                    .execute(params![
                        key.as_bytes(),
                        new_revision,
                        false,
                        true,
                        prev.create_revision,
                        prev_revision,
                        0,
                        0,
                        &[] as &[u8]
                    ])
                    .ctx("append delete")?;
                conn.prepare_cached("DELETE FROM kv_current WHERE name = ?1")
                    .and_then(|mut stmt| stmt.execute([key.as_bytes()]))
                    .ctx("update current")?;
                events.push(WatchEvent {
                    kind: EventKind::Delete,
                    kv: tombstone(key, new_revision),
                    prev_kv: Some(prev),
                });
            }
        }
    }
    if events.is_empty() {
        return Ok(None);
    }
    meta_set(conn, "revision", new_revision).ctx("bump revision")?;
    Ok(Some(Batch { revision: new_revision, events }))
}

/// One compaction batch in its own transaction. Returns the new cursor, or `None` when the job is finished.
fn compact_batch(conn: &mut Connection, target: Revision, cursor: i64, batch: usize) -> Result<Option<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin compact step")?;
    let rows: Vec<(i64, Vec<u8>, Revision, bool)> = {
        let mut stmt = tx
            .prepare_cached("SELECT id, name, revision, deleted FROM kv WHERE id > ?1 ORDER BY id LIMIT ?2")
            .ctx("scan log")?;
        let limit = i64::try_from(batch).unwrap_or(i64::MAX);
        stmt.query_map(params![cursor, limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(Iterator::collect)
            .ctx("scan log")?
    };
    let mut next = cursor;
    let mut done = rows.len() < batch;
    {
        // A row survives if it is its key's newest live row at or below the target: reads at any revision from
        // the target on, and prev_kv of any later event, need exactly those.
        let mut newer = tx
            .prepare_cached("SELECT 1 FROM kv WHERE name = ?1 AND revision > ?2 AND revision <= ?3 LIMIT 1")
            .ctx("prepare compact")?;
        let mut delete = tx.prepare_cached("DELETE FROM kv WHERE id = ?1").ctx("prepare compact")?;
        for (id, name, revision, deleted) in rows {
            if revision > target {
                // Ids grow with revisions, so everything after this row is newer too.
                done = true;
                break;
            }
            let superseded = deleted || newer.exists(params![name, revision, target]).ctx("compact")?;
            if superseded {
                delete.execute([id]).ctx("compact")?;
            }
            next = id;
        }
    }
    tx.commit().ctx("commit compact step")?;
    Ok(if done { None } else { Some(next) })
}

// ---------------------------------------------------------------------------------------------------------------
// Queries shared by readers and the writer

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).ctx("read schema version")?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "store schema version {version} is newer than this build understands ({SCHEMA_VERSION})"
        )));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).ctx("begin schema")?;
    tx.execute_batch(SCHEMA).ctx("create schema")?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION).ctx("set schema version")?;
    tx.commit().ctx("commit schema")
}

fn meta_get(conn: &Connection, key: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |r| r.get(0))
}

fn meta_set(conn: &Connection, key: &str, value: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE meta SET value = ?2 WHERE key = ?1")?.execute(params![key, value])?;
    Ok(())
}

fn earliest_deadline(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT MIN(expires_at_ms) FROM leases", [], |r| r.get(0))
}

fn lease_exists(conn: &Connection, lease: LeaseId) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM leases WHERE id = ?1")?.exists([lease])
}

fn current_mod_revision(conn: &Connection, key: &str) -> rusqlite::Result<Option<Revision>> {
    conn.prepare_cached("SELECT revision FROM kv_current WHERE name = ?1")?
        .query_row([key.as_bytes()], |r| r.get(0))
        .optional()
}

fn load_current(conn: &Connection, key: &str) -> rusqlite::Result<Option<KeyValue>> {
    conn.prepare_cached(&load_current_sql())?.query_row([key.as_bytes()], |r| kv_from_row(r, 0)).optional()
}

/// A subquery, not a join of `kv_current` and `kv` on the name: with the join, SQLite derives `k.name = ?1` and
/// marks the statement to be compiled again whenever ?1 is bound, which cost a fifth of the server's CPU.
fn load_current_sql() -> String {
    format!(
        "SELECT {KV_COLUMNS} FROM kv k
         WHERE k.name = ?1 AND k.revision = (SELECT revision FROM kv_current WHERE name = ?1)"
    )
}

/// `seen` is the store's published revision: a reader can see a commit a moment before the writer publishes it, and
/// raising it here keeps `current_revision` from going backwards for a caller that just read a newer revision.
fn list(conn: &Connection, seen: &AtomicI64, prefix: &str, options: &ListOptions) -> Result<ListResult> {
    let current = meta_get(conn, "revision").ctx("read revision")?;
    seen.fetch_max(current, Ordering::AcqRel);
    let revision = match options.revision {
        None => current,
        Some(revision) if revision > current => return Err(StoreError::FutureRevision(revision)),
        Some(revision) => {
            let compact_revision = meta_get(conn, "compact_revision").ctx("read compact revision")?;
            if revision < compact_revision {
                return Err(StoreError::Compacted { requested: revision, compact_revision });
            }
            revision
        }
    };
    let range = KeyRange::new(prefix, options.start_after.as_deref());
    // One more than asked for tells whether there is more.
    let limit = options.limit.map_or(-1, |l| i64::try_from(l.saturating_add(1)).unwrap_or(i64::MAX));
    let sql = if revision == current {
        format!(
            "SELECT {KV_COLUMNS} FROM kv_current c JOIN kv k ON k.name = c.name AND k.revision = c.revision
             WHERE {} ORDER BY c.name LIMIT ?3",
            range.condition("c.name")
        )
    } else {
        // Walks the (name, revision) index in key order, keeping each key's newest row at or below the revision,
        // so a page stops after `limit` keys instead of grouping the whole range first.
        format!(
            "SELECT {KV_COLUMNS} FROM kv k
             WHERE {} AND k.deleted = 0
               AND k.revision = (SELECT MAX(revision) FROM kv WHERE name = k.name AND revision <= ?4)
             ORDER BY k.name LIMIT ?3",
            range.condition("k.name")
        )
    };
    let mut stmt = conn.prepare_cached(&sql).ctx("prepare list")?;
    let read = |r: &Row<'_>| kv_from_row(r, 0);
    let rows = if revision == current {
        stmt.query_map(params![range.lower, range.upper, limit], read)
    } else {
        stmt.query_map(params![range.lower, range.upper, limit, revision], read)
    };
    let mut kvs: Vec<KeyValue> = rows.and_then(Iterator::collect).ctx("list")?;
    let more = options.limit.is_some_and(|l| kvs.len() > l);
    if let Some(l) = options.limit {
        kvs.truncate(l);
    }
    Ok(ListResult { kvs, revision, more })
}

/// Rows after `after` under `prefix`, as watch events in revision order.
fn history(conn: &Connection, prefix: &str, after: Revision) -> rusqlite::Result<Vec<WatchEvent>> {
    let range = KeyRange::new(prefix, None);
    let sql = format!(
        "SELECT {KV_COLUMNS}, k.deleted,
                p.name, p.value, p.create_revision, p.revision, p.version, p.lease
         FROM kv k LEFT JOIN kv p ON p.name = k.name AND p.revision = k.prev_revision
         WHERE k.revision > ?3 AND {}
         ORDER BY k.revision, k.name",
        // `+` keeps SQLite off the name index: watches mostly start at a recent revision, so scanning the
        // (revision, name) index from there beats scanning the whole history of the prefix and sorting it.
        range.condition("+k.name")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![range.lower, range.upper, after], |r| {
        let kv = kv_from_row(r, 0)?;
        let deleted: bool = r.get(6)?;
        let prev_kv = match r.get_ref(7)? {
            rusqlite::types::ValueRef::Null => None,
            _ => Some(kv_from_row(r, 7)?),
        };
        Ok(if deleted {
            WatchEvent { kind: EventKind::Delete, kv: tombstone(kv.key, kv.mod_revision), prev_kv }
        } else {
            WatchEvent { kind: EventKind::Put, kv, prev_kv }
        })
    })?;
    rows.collect()
}

/// A key range as bound parameters ?1 (lower) and ?2 (upper, NULL for none).
struct KeyRange {
    lower: Vec<u8>,
    /// Whether `lower` itself is excluded (it is a `start_after` key).
    exclusive: bool,
    upper: Option<Vec<u8>>,
}

impl KeyRange {
    fn new(prefix: &str, start_after: Option<&str>) -> Self {
        let (lower, exclusive) = match start_after {
            Some(after) if after >= prefix => (after.as_bytes().to_vec(), true),
            _ => (prefix.as_bytes().to_vec(), false),
        };
        KeyRange { lower, exclusive, upper: prefix_end(prefix.as_bytes()) }
    }

    /// The SQL condition on `column`. Built as text so each shape gets its own plan with a bounded index range.
    fn condition(&self, column: &str) -> String {
        let lower = if self.exclusive { ">" } else { ">=" };
        match self.upper {
            Some(_) => format!("{column} {lower} ?1 AND {column} < ?2"),
            None => format!("{column} {lower} ?1 AND ?2 IS NULL"),
        }
    }
}

/// The smallest byte string greater than every string starting with `prefix`; `None` when there is none.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn tombstone(key: String, revision: Revision) -> KeyValue {
    KeyValue { key, value: Vec::new(), create_revision: 0, mod_revision: revision, version: 0, lease: 0 }
}

/// Reads the [`KV_COLUMNS`] starting at column `at`.
fn kv_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<KeyValue> {
    Ok(KeyValue {
        key: name_from(row, at)?,
        value: row.get(at + 1)?,
        create_revision: row.get(at + 2)?,
        mod_revision: row.get(at + 3)?,
        version: row.get(at + 4)?,
        lease: row.get(at + 5)?,
    })
}

fn name_from(row: &Row<'_>, at: usize) -> rusqlite::Result<String> {
    let bytes: Vec<u8> = row.get(at)?;
    String::from_utf8(bytes).map_err(|e| rusqlite::Error::FromSqlConversionFailure(at, Type::Blob, Box::new(e)))
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_byte() {
        assert_eq!(prefix_end(b"a/"), Some(b"a0".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[tokio::test]
    async fn point_reads_are_not_recompiled_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
        store.txn(vec![], vec![Op::put("a/1", b"x".to_vec())]).await.unwrap();
        let mut conn = store.inner.open_reader().unwrap();
        for key in ["a/1", "a/2", "a/1", "a/3"] {
            let tx = conn.transaction().unwrap();
            load_current(&tx, key).unwrap();
        }
        let stmt = conn.prepare_cached(&load_current_sql()).unwrap();
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::Run), 4);
    }

    #[test]
    fn start_after_below_prefix_is_ignored() {
        let range = KeyRange::new("b/", Some("a"));
        assert_eq!((range.lower.as_slice(), range.exclusive), (&b"b/"[..], false));
        let range = KeyRange::new("b/", Some("b/x"));
        assert_eq!((range.lower.as_slice(), range.exclusive), (&b"b/x"[..], true));
    }
}
