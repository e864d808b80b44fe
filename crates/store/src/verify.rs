//! Verification of a whole store against its log: every entry's content, raw bytes and receipt
//! time against its leaf hash, the tree against the entries, and the newest signed checkpoint against the tree.

use dossier_core::Event;
use dossier_tlog::{tree, Checkpoint, CosignatureVerifier, Frontier, Hash, Verifier};
use std::fmt;

use crate::{EventQuery, Nodes, Result, Store, StoredEvent};

/// One thing found wrong, precise enough to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Entries `[from, to)` are missing from the event table.
    Missing { from: u64, to: u64 },
    /// An entry's content, raw bytes, receipt time or sender do not hash to the leaf the log holds for it.
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
    /// The store has entries and no signed checkpoint at all: nothing vouches for them.
    NothingSigned { entries: u64 },
    /// The checkpoint the auditor trusts does not verify with the key given.
    TrustedBadSignature { reason: String },
    /// The store has fewer entries than the checkpoint the auditor trusts.
    TrustedBeyondLog { size: u64, entries: u64 },
    /// The store's first `size` entries do not give the root of the checkpoint the auditor trusts.
    NotAnExtension { size: u64 },
    /// Witness keys were given and no kept checkpoint carries cosignatures from `quorum` of them.
    NotWitnessed { quorum: usize, witnesses: usize },
    /// The newest witnessed checkpoint covers more entries than the store has.
    WitnessedBeyondLog { size: u64, entries: u64 },
    /// Entries after the newest witnessed checkpoint: only the log's own key vouches for them.
    Unwitnessed { witnessed: u64, entries: u64 },
    /// The store's first `size` entries do not give the root the witnesses cosigned.
    WitnessedMismatch { size: u64 },
    /// A query index (by type, by artifact) finds another number of entries than the log holds
    /// for that key: deleted index rows hide evidence from every query.
    IndexHides { index: &'static str, key: String, indexed: u64, entries: u64 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { from, to } if to - from == 1 => write!(f, "entry {from} is missing (deleted)"),
            Problem::Missing { from, to } => write!(f, "entries {from} to {} are missing (deleted)", to - 1),
            Problem::Modified { seq } => write!(f, "entry {seq} was modified: its content, raw bytes, receipt time or sender do not match its leaf hash"),
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
            Problem::NothingSigned { entries } => {
                write!(f, "nothing signed to verify against: {entries} entries and no signed checkpoint in the store")
            }
            Problem::TrustedBadSignature { reason } => write!(f, "the trusted checkpoint: {reason}"),
            Problem::TrustedBeyondLog { size, entries } => write!(
                f,
                "the trusted checkpoint covers {size} entries but the store has {entries}: entries were removed after it was signed"
            ),
            Problem::NotWitnessed { quorum, witnesses } => write!(
                f,
                "no checkpoint in the store is cosigned by {quorum} of the {witnesses} witnesses given: nothing independent vouches for this log"
            ),
            Problem::WitnessedBeyondLog { size, entries } => write!(
                f,
                "witnesses cosigned a checkpoint of {size} entries but the store has {entries}: entries were removed after they were witnessed"
            ),
            Problem::Unwitnessed { witnessed, entries } => write!(
                f,
                "the newest {} entries come after the newest checkpoint the witnesses cosigned (size {witnessed}): only the log's own key vouches for them, and whoever holds it could have rewritten them; verify again once they are witnessed, or against the witness's own checkpoint (--trusted-checkpoint)",
                entries - witnessed
            ),
            Problem::WitnessedMismatch { size } => write!(
                f,
                "the store's first {size} entries do not give the root the witnesses cosigned at size {size} (history was rewritten)"
            ),
            Problem::IndexHides { index, key, indexed, entries } => write!(
                f,
                "the {index} index finds {indexed} of the {entries} entries for {key:?}: queries would not see the others"
            ),
            Problem::NotAnExtension { size } => write!(
                f,
                "the store does not extend the trusted checkpoint at size {size}: its first {size} entries give another root (history was rewritten)"
            ),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub entries: u64,
    pub root: Hash,
    /// The size of the checkpoint checked, if there was one.
    pub checkpoint_size: Option<u64>,
    /// The size of the auditor's trusted checkpoint the store was shown to extend.
    pub trusted_size: Option<u64>,
    /// The newest checkpoint cosigned by a quorum of the witnesses given, that the store
    /// matches, and the witnesses (`name+key id`) that cosigned it with their cosignatures'
    /// times (seconds since the Epoch).
    pub witnessed: Option<(u64, Cosigners)>,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Entries after the newest signed checkpoint: no signature vouches for them yet.
    pub fn unsigned(&self) -> u64 {
        self.entries.saturating_sub(self.checkpoint_size.unwrap_or(0))
    }
}

const SCAN_CHUNK: usize = 10_000;

/// Checks everything the store holds against the log and the newest signed checkpoint.
///
/// Two independent checks, so that each problem is reported once, where it is:
/// 1. every entry against the leaf hash the tree holds for it (modified, reordered, deleted
///    or inserted entries; indexed columns that disagree with the content);
/// 2. the tree's leaves against its interior nodes and against the signed checkpoint (a
///    rewritten log, even one whose entries and nodes were rewritten consistently).
pub fn verify(store: &dyn Store, key: &Verifier, progress: impl FnMut(u64)) -> Result<VerifyReport> {
    verify_extending(store, key, None, progress)
}

/// [`verify`], and that the store extends `trusted`: a signed checkpoint (C2SP note) an auditor
/// saved earlier. Its first `size` entries must give its root, whatever the store's own
/// checkpoints say — a log rewritten and re-signed with the same key fails here.
pub fn verify_extending(store: &dyn Store, key: &Verifier, trusted: Option<&str>, progress: impl FnMut(u64)) -> Result<VerifyReport> {
    verify_trusting(store, &Trust { key, trusted, witnesses: &[], quorum: 0 }, progress)
}

/// What an auditor brings to verification: the log's key, a checkpoint saved earlier, and the
/// witnesses whose cosignatures count.
pub struct Trust<'a> {
    pub key: &'a Verifier,
    pub trusted: Option<&'a str>,
    pub witnesses: &'a [CosignatureVerifier],
    /// How many of `witnesses` must have cosigned (0: all of them).
    pub quorum: usize,
}

/// The witnesses (`name+key id`) that cosigned a checkpoint, with their cosignatures' times.
pub type Cosigners = Vec<(String, u64)>;

/// Checkpoints read per page while looking for the newest witnessed one.
const CHECKPOINT_PAGE: usize = 256;

/// The newest kept checkpoint signed by `key` and cosigned by `quorum` of `witnesses`, with
/// the fingerprints of those that cosigned it.
fn newest_witnessed(
    store: &dyn Store,
    key: &Verifier,
    witnesses: &[CosignatureVerifier],
    quorum: usize,
) -> Result<Option<(Checkpoint, Cosigners)>> {
    let mut below = u64::MAX;
    loop {
        let page = store.checkpoints(below, CHECKPOINT_PAGE)?;
        for c in &page {
            // Most kept checkpoints carry no cosignature: skip those before any signature check.
            if !witnesses.iter().any(|w| c.note.contains(&format!("\u{2014} {} ", w.name()))) {
                continue;
            }
            let Ok(cp) = key.open(&c.note).map_err(|_| ()).and_then(|b| Checkpoint::parse(b).map_err(|_| ())) else { continue };
            let mut by: Vec<(String, u64)> =
                witnesses.iter().filter_map(|w| w.verify(&c.note).ok().map(|t| (w.fingerprint(), t))).collect();
            by.sort();
            by.dedup_by(|a, b| a.0 == b.0);
            if by.len() >= quorum {
                return Ok(Some((cp, by)));
            }
        }
        match page.last() {
            Some(c) if page.len() == CHECKPOINT_PAGE => below = c.size,
            _ => return Ok(None),
        }
    }
}

/// [`verify_extending`], and, when witnesses are given, that the store matches the newest
/// checkpoint a quorum of them cosigned: a witness cosigns only a tree consistent with every
/// one it cosigned before, so a log rewritten behind its back cannot show a witnessed
/// checkpoint of the rewrite.
pub fn verify_trusting(store: &dyn Store, trust: &Trust<'_>, mut progress: impl FnMut(u64)) -> Result<VerifyReport> {
    let (key, trusted) = (trust.key, trust.trusted);
    let mut report = VerifyReport::default();
    // The same witness given twice is one witness.
    let mut witnesses: Vec<CosignatureVerifier> = Vec::new();
    for w in trust.witnesses {
        if !witnesses.iter().any(|k| k.fingerprint() == w.fingerprint()) {
            witnesses.push(w.clone());
        }
    }
    let witnessed = if witnesses.is_empty() {
        None
    } else {
        let quorum = if trust.quorum == 0 { witnesses.len() } else { trust.quorum.min(witnesses.len()) };
        let found = newest_witnessed(store, key, &witnesses, quorum)?;
        if found.is_none() {
            report.problems.push(Problem::NotWitnessed { quorum, witnesses: witnesses.len() });
        }
        found
    };
    let trusted = match trusted.map(|note| {
        key.open(note).map_err(|e| key_changed(note, key, e)).and_then(|b| Checkpoint::parse(b).map_err(|e| e.to_string())).and_then(|cp| {
            if cp.origin == key.name() {
                Ok(cp)
            } else {
                Err(format!("it is a checkpoint of log {:?}, the key is {:?}'s", cp.origin, key.name()))
            }
        })
    }) {
        Some(Ok(cp)) => Some(cp),
        Some(Err(reason)) => {
            report.problems.push(Problem::TrustedBadSignature { reason });
            None
        }
        None => None,
    };
    let size = store.size()?;
    let signed = match store.latest_checkpoint()? {
        Some(c) => {
            match key.open(&c.note).map_err(|e| key_changed(&c.note, key, e)).and_then(|b| Checkpoint::parse(b).map_err(|e| e.to_string()))
            {
                Ok(cp) => Some(cp),
                Err(reason) => {
                    report.problems.push(Problem::BadCheckpointSignature { size: c.size, reason });
                    None
                }
            }
        }
        None => None,
    };
    report.checkpoint_size = signed.as_ref().map(|c| c.size);

    // 1. Entries against their logged leaves; what the indexes should find, counted on the way.
    let mut by_type: std::collections::BTreeMap<String, u64> = Default::default();
    let mut by_artifact: std::collections::HashMap<String, u64> = Default::default();
    let mut expected = 0u64;
    let mut mismatched: Vec<(u64, Hash)> = Vec::new();
    loop {
        let rows = store.scan(expected, SCAN_CHUNK)?;
        let (Some(first), Some(last)) = (rows.first().map(|r| r.seq), rows.last().map(|r| r.seq)) else {
            break;
        };
        let logged = store.leaves(first, (last - first + 1) as usize)?;
        for row in rows {
            if row.seq != expected {
                report.problems.push(Problem::Missing { from: expected, to: row.seq });
            }
            expected = row.seq + 1;
            let in_log = row.seq < size;
            if in_log {
                *by_type.entry(row.event_type.clone()).or_default() += 1;
            }
            let Some((leaf, artifacts)) = leaf_of(&row, &mut report.problems) else { continue };
            if in_log {
                let named: std::collections::BTreeSet<String> = artifacts.into_iter().collect();
                for a in named {
                    *by_artifact.entry(a).or_default() += 1;
                }
            }
            match logged.get((row.seq - first) as usize) {
                None => report.problems.push(Problem::Inserted { seq: row.seq }),
                Some(l) if *l != leaf => mismatched.push((row.seq, leaf)),
                Some(_) => {}
            }
        }
        progress(expected);
    }
    if size > expected {
        report.problems.push(Problem::Missing { from: expected, to: size });
    }
    // A leaf found at another index means the entries were shuffled, not edited.
    for &(seq, leaf) in &mismatched {
        let mut elsewhere = None;
        for &(other, _) in &mismatched {
            if other != seq && store.leaves(other, 1)?.first() == Some(&leaf) {
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

    // The indexes queries read must find every entry of every type and artifact.
    let counted = |q: EventQuery| -> Result<u64> {
        let mut q = EventQuery { limit: crate::MAX_PAGE, before: Some(size), ..q };
        let mut n = 0;
        loop {
            let page = store.query(&q)?;
            n += page.events.len() as u64;
            match page.next {
                Some(next) => q.after = Some(next),
                None => return Ok(n),
            }
        }
    };
    for (ty, entries) in by_type {
        let indexed = counted(EventQuery { types: vec![crate::TypePattern(ty.clone())], ..Default::default() })?;
        if indexed != entries {
            report.problems.push(Problem::IndexHides { index: "type", key: ty, indexed, entries });
        }
    }
    let mut artifacts: Vec<(String, u64)> = by_artifact.into_iter().collect();
    artifacts.sort();
    for (artifact, entries) in artifacts {
        let indexed = counted(EventQuery { artifact: Some(artifact.clone()), ..Default::default() })?;
        if indexed != entries {
            report.problems.push(Problem::IndexHides { index: "artifact", key: artifact, indexed, entries });
        }
    }

    // 2. The tree against its interior nodes and the signed checkpoint.
    let mut frontier = Frontier::default();
    let mut root_at_checkpoint = None;
    let mut root_at_trusted = trusted.as_ref().filter(|c| c.size == 0).map(|_| tree::empty_root());
    let mut root_at_witnessed = witnessed.as_ref().filter(|(c, _)| c.size == 0).map(|_| tree::empty_root());
    while frontier.size() < size {
        let leaves = store.leaves(frontier.size(), SCAN_CHUNK)?;
        if leaves.is_empty() {
            return Err(crate::StoreError::Corrupt(format!("the tree's leaves end at {} of {size}", frontier.size())));
        }
        for leaf in leaves {
            frontier.push(leaf);
            if signed.as_ref().is_some_and(|c| c.size == frontier.size()) {
                root_at_checkpoint = Some(frontier.root());
            }
            if trusted.as_ref().is_some_and(|c| c.size == frontier.size()) {
                root_at_trusted = Some(frontier.root());
            }
            if witnessed.as_ref().is_some_and(|(c, _)| c.size == frontier.size()) {
                root_at_witnessed = Some(frontier.root());
            }
        }
    }
    report.entries = size;
    report.root = frontier.root();
    if size > 0 && tree::root(&Nodes(store), size).ok() != Some(report.root) {
        report.problems.push(Problem::TreeMismatch { size });
    }
    if let Some(cp) = signed.as_ref().filter(|c| c.size > 0) {
        if cp.size > size {
            report.problems.push(Problem::CheckpointBeyondLog { size: cp.size, entries: size });
        } else if root_at_checkpoint != Some(cp.root) {
            report.problems.push(Problem::CheckpointMismatch { size: cp.size });
        }
    }
    if signed.is_none() && size > 0 && !report.problems.iter().any(|p| matches!(p, Problem::BadCheckpointSignature { .. })) {
        report.problems.push(Problem::NothingSigned { entries: size });
    }
    if let Some(cp) = &trusted {
        if cp.size > size {
            report.problems.push(Problem::TrustedBeyondLog { size: cp.size, entries: size });
        } else if root_at_trusted != Some(cp.root) {
            report.problems.push(Problem::NotAnExtension { size: cp.size });
        } else {
            report.trusted_size = Some(cp.size);
        }
    }
    if let Some((cp, by)) = witnessed {
        if cp.size > size {
            report.problems.push(Problem::WitnessedBeyondLog { size: cp.size, entries: size });
        } else if root_at_witnessed != Some(cp.root) {
            report.problems.push(Problem::WitnessedMismatch { size: cp.size });
        } else {
            if cp.size < size {
                report.problems.push(Problem::Unwitnessed { witnessed: cp.size, entries: size });
            }
            report.witnessed = Some((cp.size, by));
        }
    }
    Ok(report)
}

/// Why a note did not open; when another key signed it, which one (its fingerprint beside yours).
fn key_changed(note: &str, key: &Verifier, e: dossier_tlog::NoteError) -> String {
    let signed_by: Vec<String> = dossier_tlog::signers(note).into_iter().filter(|s| *s != key.fingerprint()).collect();
    match e {
        dossier_tlog::NoteError::NoSignature(_) if !signed_by.is_empty() => format!(
            "it is signed by {} and not by the key you gave ({}): the log's key changed, or this is another log",
            signed_by.join(", "),
            key.fingerprint()
        ),
        other => other.to_string(),
    }
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

/// The leaf hash of an entry's content and the artifacts it names, checking its indexed columns
/// on the way.
fn leaf_of(row: &StoredEvent, problems: &mut Vec<Problem>) -> Option<(Hash, Vec<String>)> {
    let value: serde_json::Value = match serde_json::from_slice(&row.raw) {
        Ok(v) => v,
        Err(e) => {
            problems.push(Problem::Unreadable { seq: row.seq, reason: format!("not JSON: {e}") });
            return None;
        }
    };
    let event = match Event::from_json(row.raw.clone(), &value) {
        Ok(e) => Event { sender: row.sender.clone(), ..e },
        Err(e) => {
            problems.push(Problem::Unreadable { seq: row.seq, reason: e.to_string() });
            let canonical = dossier_core::jcs::canonicalize(&value);
            return Some((crate::leaf::entry_leaf_hash(row.received_unix_nanos, row.sender.as_deref(), &row.raw, &canonical), Vec::new()));
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
    let leaf = crate::leaf_hash(&event, row.received_unix_nanos);
    Some((leaf, event.artifacts))
}
