//! The revisioned key-value store everything in the control plane lives in.
//!
//! The contract is etcd's model, as kine reproduces it for k3s: one global revision orders every write; each key
//! carries the revision that created it and the one that last modified it; transactions commit several puts and
//! deletes atomically when every compare on mod revisions holds; a watch replays history from a revision and then
//! follows live writes, and answers [`StoreError::Compacted`] when that history is gone, which tells the watcher to
//! list again; leases expire keys attached to them.
//!
//! The store knows nothing about ECS: keys are strings, values bytes.
//!
//! Backends: [`sqlite::SqliteStore`] (embedded, WAL, one writer thread). The [`conformance`] module is the suite
//! every backend must pass; a backend's tests call it with a factory.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

pub mod conformance;
pub mod sqlite;

pub use sqlite::{SqliteOptions, SqliteStore};

/// A global store revision. Revisions start at 1 and grow by one per committed write transaction.
pub type Revision = i64;

/// A lease identifier; 0 means "no lease".
pub type LeaseId = i64;

/// One key and its value as of some revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision of the write that created this key (since its last deletion).
    pub create_revision: Revision,
    /// Revision of the last write to this key.
    pub mod_revision: Revision,
    /// Number of writes since creation, starting at 1.
    pub version: i64,
    /// Lease the key is attached to, 0 when none.
    pub lease: LeaseId,
}

/// A condition a transaction checks before applying its operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compare {
    /// The key's mod revision equals the given one; 0 means the key must not exist.
    ModRevision { key: String, mod_revision: Revision },
}

impl Compare {
    /// The key must not exist.
    pub fn absent(key: impl Into<String>) -> Self {
        Compare::ModRevision { key: key.into(), mod_revision: 0 }
    }

    /// The key must still be at this mod revision.
    pub fn unchanged(key: impl Into<String>, mod_revision: Revision) -> Self {
        Compare::ModRevision { key: key.into(), mod_revision }
    }
}

/// A write inside a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put {
        key: String,
        value: Vec<u8>,
        lease: LeaseId,
    },
    /// Deleting a missing key is not an error and writes nothing.
    Delete {
        key: String,
    },
}

impl Op {
    pub fn put(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Op::Put { key: key.into(), value: value.into(), lease: 0 }
    }

    /// A put that attaches the key to a lease: the key goes when the lease does.
    pub fn put_with_lease(key: impl Into<String>, value: impl Into<Vec<u8>>, lease: LeaseId) -> Self {
        Op::Put { key: key.into(), value: value.into(), lease }
    }

    pub fn delete(key: impl Into<String>) -> Self {
        Op::Delete { key: key.into() }
    }
}

/// The result of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnResult {
    /// Whether every compare held and the operations were applied.
    pub succeeded: bool,
    /// The store revision after the transaction: the new one when it wrote, else the current one.
    pub revision: Revision,
}

/// A page of keys under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListResult {
    /// Keys in ascending byte order.
    pub kvs: Vec<KeyValue>,
    /// The revision the list was read at.
    pub revision: Revision,
    /// True when `limit` cut the list short.
    pub more: bool,
}

/// How to read a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only keys strictly greater than this one (for paging).
    pub start_after: Option<String>,
    /// At most this many keys; `None` means all.
    pub limit: Option<usize>,
    /// Read as of this revision; `None` means the current one. A compacted revision answers `Compacted`.
    pub revision: Option<Revision>,
}

/// What a watch reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change seen by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: EventKind,
    /// For a put, the new key-value. For a delete, the key with an empty value and `mod_revision` set to the
    /// revision of the delete.
    pub kv: KeyValue,
    /// The key's previous value, when it had one.
    pub prev_kv: Option<KeyValue>,
}

/// A stream of watch events in revision order. It ends with `Err(StoreError::Compacted { .. })` when the requested
/// history is gone (the consumer lists again and watches from the list's revision).
pub type WatchStream = BoxStream<'static, Result<WatchEvent, StoreError>>;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The revision asked for has been compacted away; list again and watch from the list's revision.
    #[error("revision {requested} is compacted (compact revision {compact_revision})")]
    Compacted { requested: Revision, compact_revision: Revision },
    /// The revision asked for is in the future.
    #[error("revision {0} is in the future")]
    FutureRevision(Revision),
    #[error("lease {0} not found")]
    LeaseNotFound(LeaseId),
    /// The transaction is malformed (e.g. it names one key in two operations, which etcd refuses too).
    #[error("invalid transaction: {0}")]
    InvalidTxn(String),
    /// A watch consumer fell too far behind the live stream; it must list again.
    #[error("watch fell behind; list again")]
    Lagged,
    #[error("store backend: {0}")]
    Backend(String),
    #[error("store is closed")]
    Closed,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Refuses a transaction whose ops name one key twice: the result would depend on the backend.
pub fn check_distinct_keys(ops: &[Op]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        let key = match op {
            Op::Put { key, .. } | Op::Delete { key } => key,
        };
        if !seen.insert(key.as_str()) {
            return Err(StoreError::InvalidTxn(format!("key '{key}' appears in more than one operation")));
        }
    }
    Ok(())
}

/// The store contract. Every backend passes [`conformance`].
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The current value of one key.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Keys under a prefix, in ascending order.
    async fn list(&self, prefix: &str, options: ListOptions) -> Result<ListResult>;

    /// Applies every op atomically at one new revision if every compare holds. A key may appear in at most one op
    /// (`InvalidTxn` otherwise, as etcd answers).
    async fn txn(&self, compares: Vec<Compare>, ops: Vec<Op>) -> Result<TxnResult>;

    /// Events for keys under `prefix` with revision > `after_revision`, history first, then live.
    async fn watch(&self, prefix: &str, after_revision: Revision) -> Result<WatchStream>;

    /// The current revision.
    async fn current_revision(&self) -> Result<Revision>;

    /// Drops history at and before `revision` (current values are kept).
    async fn compact(&self, revision: Revision) -> Result<()>;

    /// Creates a lease that expires after `ttl` unless kept alive.
    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId>;

    /// Renews a lease for its full TTL.
    async fn keep_alive(&self, lease: LeaseId) -> Result<()>;

    /// Ends a lease now, deleting its keys.
    async fn revoke_lease(&self, lease: LeaseId) -> Result<()>;
}
