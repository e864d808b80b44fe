//! Dossier's storage interface.
//!
//! The [`Store`] trait is what the rest of Dossier sees of storage: an append-only evidence
//! log whose entry `seq` is leaf `seq` of an RFC 6962 Merkle tree, de-duplicated on
//! `(context.source, context.id)`, with the indexes the query API needs. Implementations live
//! in their own crates (`dossier-store-sqlite` for the embedded default) so that choosing a
//! backend changes no caller.
//!
//! Generic pieces built on the trait live here too: [`GroupCommit`], which batches concurrent
//! appends into one durable transaction, and [`verify`], which checks a whole store against
//! its log.
//!
//! With the `testkit` feature, module `testkit` is the contract every implementation must pass,
//! as a test suite.

mod commit;
pub mod leaf;
mod query;
#[cfg(feature = "testkit")]
pub mod testkit;
mod verify;

pub use commit::GroupCommit;
pub use leaf::{leaf_hash, LOG_FORMAT};
pub use query::{parse_time_param, EventQuery, Order, Page, TypePattern, MAX_PAGE};
pub use verify::{verify, verify_extending, verify_trusting, Problem, Trust, VerifyReport};

use dossier_core::{Event, EventKey};
use dossier_tlog::Hash;

/// What became of one event offered to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Stored as entry `seq`.
    Accepted { seq: u64 },
    /// The same event (same canonical form, whatever its whitespace or key order) is already
    /// entry `seq`; nothing was stored.
    Duplicate { seq: u64 },
    /// A different event already holds this `(source, id)` as entry `seq`. The offered
    /// event was not appended to the log; it was recorded as conflict `conflict`.
    Conflict { seq: u64, conflict: u64 },
}

/// An entry of the log as stored.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: u64,
    /// When Dossier accepted it, in nanoseconds since the Unix epoch.
    pub received_unix_nanos: i64,
    pub key: EventKey,
    pub event_type: String,
    pub subject_id: String,
    pub chain_id: Option<String>,
    pub time_unix_nanos: i64,
    /// The event exactly as received (UTF-8 JSON).
    pub raw: Vec<u8>,
    /// The principal whose credential sent it (none: Dossier's own act, or from before
    /// authentication); part of the leaf.
    pub sender: Option<String>,
}

/// A rejected retransmission: a different event under an existing `(source, id)`.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub conflict: u64,
    pub existing_seq: u64,
    pub key: EventKey,
    pub received_unix_nanos: i64,
    pub raw: Vec<u8>,
}

/// A checkpoint note as stored: the tree size it covers and the signed note text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub note: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failed: {0}")]
    Backend(String),
    #[error("the store is damaged: {0}")]
    Corrupt(String),
    #[error("{0}")]
    OutOfRange(String),
    #[error("the store is shutting down")]
    Closed,
    /// The store was written by a Dossier with another log format (see `docs/log-format.md`).
    #[error("{0}")]
    Incompatible(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The evidence log and its indexes.
///
/// Every method is blocking; async callers run them on a blocking thread. Appends from many
/// callers go through one [`GroupCommit`] so that a single writer owns the tree.
pub trait Store: Send + Sync + 'static {
    /// Appends `events` in order, in one transaction that is durable (fsync'd) when this
    /// returns, recording them as received at `received_unix_nanos`. Returns one outcome per
    /// event.
    fn append(&self, events: &[Event], received_unix_nanos: i64) -> Result<Vec<AppendOutcome>>;

    /// Number of entries in the log (the tree size).
    fn size(&self) -> Result<u64>;

    /// The entries matching `query`, one page of them.
    fn query(&self, query: &EventQuery) -> Result<Page>;

    fn get(&self, seq: u64) -> Result<Option<StoredEvent>>;

    fn get_by_key(&self, key: &EventKey) -> Result<Option<StoredEvent>>;

    /// Entries `[from, from + limit)` in order, for scans such as verification and reindexing.
    fn scan(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>>;

    /// The logged leaf hashes of entries `[from, from + limit)`, as far as the tree goes.
    fn leaves(&self, from: u64, limit: usize) -> Result<Vec<Hash>>;

    /// The stored hash of complete subtree `(level, index)`, if there is one.
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>>;

    /// The root hash of the tree of the first `size` entries.
    fn root(&self, size: u64) -> Result<Hash>;

    /// The inclusion proof of entry `seq` in the tree of size `size`.
    fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>>;

    /// The consistency proof between tree sizes `old` and `new`.
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>>;

    /// Keeps a signed checkpoint; the newest kept one is what `verify` checks against.
    fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<()>;

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;

    /// Kept checkpoints covering fewer than `below` entries, the largest first, at most `limit`
    /// (to find the newest one witnesses cosigned).
    fn checkpoints(&self, below: u64, limit: usize) -> Result<Vec<StoredCheckpoint>>;

    /// Conflicting retransmissions, newest first.
    fn conflicts(&self, limit: usize) -> Result<Vec<Conflict>>;
}

/// Now, in nanoseconds since the Unix epoch.
pub fn now_unix_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// Adapts a [`Store`] to the tree functions of `dossier-tlog`.
pub struct Nodes<'a, S: ?Sized>(pub &'a S);

impl<S: Store + ?Sized> dossier_tlog::HashSource for Nodes<'_, S> {
    type Error = StoreError;
    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        self.0.node(level, index)?.ok_or_else(|| StoreError::Corrupt(format!("tree node ({level}, {index}) is missing")))
    }
}

/// Checks proof arguments against the tree size before computing a proof, so that bad
/// input is an error rather than a panic.
pub fn check_inclusion_args(seq: u64, size: u64, tree: u64) -> Result<()> {
    if size > tree {
        return Err(StoreError::OutOfRange(format!("tree size {size} is larger than the log ({tree} entries)")));
    }
    if seq >= size {
        return Err(StoreError::OutOfRange(format!("entry {seq} is not in the tree of size {size}")));
    }
    Ok(())
}

pub fn check_consistency_args(old: u64, new: u64, tree: u64) -> Result<()> {
    if new > tree {
        return Err(StoreError::OutOfRange(format!("tree size {new} is larger than the log ({tree} entries)")));
    }
    if old == 0 || old > new {
        return Err(StoreError::OutOfRange(format!("need 0 < old <= new, got old={old} new={new}")));
    }
    Ok(())
}
