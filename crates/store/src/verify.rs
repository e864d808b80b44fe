//! Verification of a whole store against its log: every entry's content against its leaf
//! hash, the tree against the entries, and the newest signed checkpoint against the tree.

use dossier_core::Event;
use dossier_tlog::{tree, Checkpoint, Frontier, Hash, Verifier};
use std::fmt;

use crate::{Nodes, Result, Store, StoredEvent};

/// One thing found wrong, precise enough to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Entries `[from, to)` are missing from the event table.
    Missing { from: u64, to: u64 },
    /// An entry's content does not hash to the leaf the log holds for it.
    Modified { seq: u64 },
    /// Entries hold each other's content.
    Reordered { seq: u64, holds_content_of: u64 },
    /// An entry the tree does not contain.
    Inserted { seq: u64 },
    /// An entry's indexed columns disagree with its content.
    IndexMismatch { seq: u64, field: &'static str },
    /// An entry whose bytes are not a readable event.
    Unreadable { seq: u64, reason: String },
    /// The stored tree nodes do not give the root recomputed from the entries.
    TreeMismatch { size: u64 },
    /// The newest checkpoint does not verify with the log's key.
    BadCheckpointSignature { size: u64, reason: String },
    /// The newest signed checkpoint's root differs from the root of the entries.
    CheckpointMismatch { size: u64 },
    /// The newest signed checkpoint covers more entries than the store has.
    CheckpointBeyondLog { size: u64, entries: u64 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { from, to } if to - from == 1 => write!(f, "entry {from} is missing (deleted)"),
            Problem::Missing { from, to } => write!(f, "entries {from} to {} are missing (deleted)", to - 1),
            Problem::Modified { seq } => write!(f, "entry {seq} was modified: its content does not match its leaf hash"),
            Problem::Reordered { seq, holds_content_of } => {
                write!(f, "entry {seq} holds the content logged as entry {holds_content_of} (reordered)")
            }
            Problem::Inserted { seq } => write!(f, "entry {seq} is not in the log (inserted behind Dossier's back)"),
            Problem::IndexMismatch { seq, field } => write!(f, "entry {seq}: indexed {field} differs from the event's content"),
            Problem::Unreadable { seq, reason } => write!(f, "entry {seq} is unreadable: {reason}"),
            Problem::TreeMismatch { size } => write!(f, "the stored tree of size {size} does not match its entries"),
            Problem::BadCheckpointSignature { size, reason } => write!(f, "checkpoint at size {size}: {reason}"),
            Problem::CheckpointMismatch { size } => {
                write!(f, "the signed checkpoint at size {size} does not match the entries: the log was rewritten")
            }
            Problem::CheckpointBeyondLog { size, entries } => {
                write!(f, "the signed checkpoint covers {size} entries but the store has {entries} (entries were removed)")
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub entries: u64,
    pub root: Hash,
    /// The size of the checkpoint checked, if there was one.
    pub checkpoint_size: Option<u64>,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

const SCAN_CHUNK: usize = 10_000;

/// Checks everything the store holds against the log and the newest signed checkpoint.
pub fn verify(store: &dyn Store, key: &Verifier, mut progress: impl FnMut(u64)) -> Result<VerifyReport> {
    let mut report = VerifyReport::default();
    let checkpoint = store.latest_checkpoint()?;
    let signed = match &checkpoint {
        Some(c) => match key.open(&c.note).map_err(|e| e.to_string()).and_then(|b| Checkpoint::parse(b).map_err(|e| e.to_string())) {
            Ok(cp) => Some(cp),
            Err(reason) => {
                report.problems.push(Problem::BadCheckpointSignature { size: c.size, reason });
                None
            }
        },
        None => None,
    };
    report.checkpoint_size = signed.as_ref().map(|c| c.size);

    let mut frontier = Frontier::default();
    let mut root_at_checkpoint = None;
    let mut expected = 0u64;
    let mut mismatched: Vec<(u64, Hash)> = Vec::new();
    loop {
        let rows = store.scan(expected, SCAN_CHUNK)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if row.seq != expected {
                report.problems.push(Problem::Missing { from: expected, to: row.seq });
            }
            expected = row.seq + 1;
            let leaf = match leaf_of(&row, &mut report.problems) {
                Some(h) => h,
                None => continue,
            };
            match store.node(0, row.seq)? {
                None => report.problems.push(Problem::Inserted { seq: row.seq }),
                Some(logged) if logged != leaf => mismatched.push((row.seq, leaf)),
                Some(_) => {}
            }
            frontier.push(leaf);
            if signed.as_ref().is_some_and(|c| c.size == frontier.size()) {
                root_at_checkpoint = Some(frontier.root());
            }
        }
        progress(expected);
    }
    // A leaf hash found at another index means the rows were shuffled, not edited.
    for &(seq, leaf) in &mismatched {
        let mut elsewhere = None;
        for &(other, _) in &mismatched {
            if other != seq && store.node(0, other)? == Some(leaf) {
                elsewhere = Some(other);
                break;
            }
        }
        report.problems.push(match elsewhere {
            Some(other) => Problem::Reordered { seq, holds_content_of: other },
            None => Problem::Modified { seq },
        });
    }
    report.problems.sort_by_key(problem_order);

    report.entries = frontier.size();
    report.root = frontier.root();
    let size = store.size()?;
    if size > expected {
        report.problems.push(Problem::Missing { from: expected, to: size });
    }
    if size > 0 && tree::root(&Nodes(store), size).ok() != Some(report.root) {
        report.problems.push(Problem::TreeMismatch { size });
    }
    if let Some(cp) = &signed {
        if cp.size == 0 {
            // Nothing to compare.
        } else if cp.size > frontier.size() {
            report.problems.push(Problem::CheckpointBeyondLog { size: cp.size, entries: frontier.size() });
        } else if root_at_checkpoint != Some(cp.root) {
            report.problems.push(Problem::CheckpointMismatch { size: cp.size });
        }
    }
    Ok(report)
}

fn problem_order(p: &Problem) -> u64 {
    match p {
        Problem::Missing { from: s, .. }
        | Problem::Modified { seq: s }
        | Problem::Reordered { seq: s, .. }
        | Problem::Inserted { seq: s }
        | Problem::IndexMismatch { seq: s, .. }
        | Problem::Unreadable { seq: s, .. } => *s,
        _ => u64::MAX,
    }
}

/// The leaf hash of an entry's content, checking its indexed columns on the way.
fn leaf_of(row: &StoredEvent, problems: &mut Vec<Problem>) -> Option<Hash> {
    let value: serde_json::Value = match serde_json::from_slice(&row.raw) {
        Ok(v) => v,
        Err(e) => {
            problems.push(Problem::Unreadable { seq: row.seq, reason: format!("not JSON: {e}") });
            return None;
        }
    };
    let event = match Event::from_json(row.raw.clone(), &value) {
        Ok(e) => e,
        Err(e) => {
            problems.push(Problem::Unreadable { seq: row.seq, reason: e.to_string() });
            return Some(tree::leaf_hash(dossier_core::jcs::canonicalize(&value).as_bytes()));
        }
    };
    let checks: [(&'static str, bool); 6] = [
        ("source", event.key.source == row.key.source),
        ("id", event.key.id == row.key.id),
        ("type", event.event_type.as_str() == row.event_type),
        ("subject", event.subject_id == row.subject_id),
        ("chain", event.chain_id == row.chain_id),
        ("timestamp", event.time_unix_nanos == row.time_unix_nanos),
    ];
    for (field, ok) in checks {
        if !ok {
            problems.push(Problem::IndexMismatch { seq: row.seq, field });
        }
    }
    Some(crate::leaf_hash(&event))
}
