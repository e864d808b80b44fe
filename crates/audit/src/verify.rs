//! Verifying a bundle with the log's public key alone: no server, no data directory, no clock.
//!
//! The steps, in the order `docs/audit-bundle.md` gives them, stop at the first failure and
//! name it: which checkpoint, which entry, which proof, what was expected and what was found.

use std::collections::BTreeMap;
use std::fmt;

use dossier_core::own::{Family, OwnType};
use dossier_core::{artifact_name, Event, Fact};
use dossier_tlog::checkpoint::CheckpointError;
use dossier_tlog::tree::{self, ProofError};
use dossier_tlog::{Checkpoint, Hash, NoteError, Verifier};
use sha2::{Digest, Sha256};

use crate::bundle::{decision_trigger, hashes, Bundle, Edge, FORMAT, MAX_ENTRIES};

/// Which checkpoint a failure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `checkpoint`: the one the entries' inclusion proofs lead to.
    Checkpoint,
    /// `newest`: the newest when the bundle was made.
    Newest,
    /// The checkpoint the auditor saved and trusts (`--checkpoint`).
    Trusted,
}

impl fmt::Display for Which {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Which::Checkpoint => "the bundle's checkpoint",
            Which::Newest => "the bundle's newest checkpoint",
            Which::Trusted => "your trusted checkpoint",
        })
    }
}

/// What cites an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Citation {
    /// The `documents` list, for document `digest`.
    Document { digest: String },
    /// The `decisions` list.
    Decision,
    /// A decision's trigger: the entry decision `decision` was made about.
    Trigger { decision: u64 },
    /// The `exceptions` list.
    Exception,
    /// The `signatures` list.
    Signature,
    /// A lineage edge.
    Lineage(Box<Edge>),
}

impl fmt::Display for Citation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Citation::Document { digest } => write!(f, "document {digest}"),
            Citation::Decision => f.write_str("the decisions"),
            Citation::Trigger { decision } => write!(f, "the decision of entry {decision}, as its trigger,"),
            Citation::Exception => f.write_str("the exceptions"),
            Citation::Signature => f.write_str("the signature checks"),
            Citation::Lineage(edge) => write!(f, "the lineage edge \"{edge}\""),
        }
    }
}

/// The first thing found wrong with a bundle.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("not an audit bundle of format {FORMAT}: its format is {found:?}")]
    Format { found: String },
    #[error("the bundle holds {count} entries, more than the {MAX_ENTRIES} a bundle may hold")]
    TooManyEntries { count: usize },
    #[error("{which} does not verify with the log key: {reason}")]
    Signature { which: Which, reason: NoteError },
    #[error("{which} is not a checkpoint: {reason}")]
    Checkpoint { which: Which, reason: CheckpointError },
    #[error("{which} is of log {found:?}; the key is of log {expected:?}")]
    Origin { which: Which, expected: String, found: String },
    #[error("the bundle's newest checkpoint (size {newest}) is older than its checkpoint (size {checkpoint})")]
    NewestOlder { checkpoint: u64, newest: u64 },
    #[error("the consistency proof from size {from} to size {to} does not verify: {reason} (a checkpoint was swapped, or the log was rewritten)")]
    Consistency { from: u64, to: u64, reason: ProofError },
    #[error("your trusted checkpoint (size {trusted}) is newer than the bundle's newest (size {newest}): make the bundle again")]
    TrustedNewer { trusted: u64, newest: u64 },
    #[error(
        "the bundle holds no consistency proof from your trusted checkpoint's size {trusted} (it has one from size {since:?}): make it with --since your checkpoint"
    )]
    NoProofFromTrusted { trusted: u64, since: Option<u64> },
    #[error("your trusted checkpoint of size {size} has another root than {which} of that size: the log was rewritten")]
    TrustedRootDiffers { size: u64, which: Which },
    #[error("entry {seq} is listed after entry {after}: entries are listed by increasing seq, each once")]
    Order { seq: u64, after: u64 },
    #[error("entry {seq} is beyond the bundle's checkpoint (size {size}), which its inclusion proof should lead to")]
    BeyondCheckpoint { seq: u64, size: u64 },
    #[error("entry {seq} is not an event: {reason}")]
    Unreadable { seq: u64, reason: String },
    #[error(
        "entry {seq} is not in the bundle's checkpoint (size {size}): {reason} (its raw bytes, receipt time or sender were changed, or its proof is for another tree)"
    )]
    Inclusion { seq: u64, size: u64, reason: ProofError },
    #[error("no entry of the bundle names {artifact}")]
    NothingAbout { artifact: String },
    #[error("{cited} cites entry {seq}, which the bundle does not hold")]
    MissingEntry { seq: u64, cited: Citation },
    #[error("{cited} cites entry {seq}, which is of type {found}, not {expected}*")]
    WrongKind { seq: u64, cited: Citation, expected: &'static str, found: String },
    #[error("entry {seq} does not state that {edge}")]
    NotStated { seq: u64, edge: Box<Edge> },
    #[error("document {digest} is cited with entry {seq}, which records document {recorded}")]
    DocumentNotRecorded { seq: u64, digest: String, recorded: String },
    #[error("the content given for document {digest} (entry {seq}) hashes to sha256:{found}")]
    DocumentContent { seq: u64, digest: String, found: String },
}

/// What a bundle was shown to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub artifact: String,
    /// The log's origin (its key's name).
    pub origin: String,
    /// The size of the checkpoint the entries are proven in.
    pub checkpoint: u64,
    /// The size of the newest checkpoint, shown consistent with it.
    pub newest: u64,
    /// The size of the auditor's trusted checkpoint, shown to be a prefix of the newest.
    pub trusted: Option<u64>,
    pub entries: usize,
    pub documents: usize,
    /// Of them, those whose content the bundle holds (and which hash to their digest).
    pub documents_included: usize,
    pub decisions: usize,
    pub exceptions: usize,
    pub signatures: usize,
    pub edges: usize,
}

/// Verifies `bundle` with the log's key `key` and, optionally, a signed checkpoint the auditor
/// saved earlier (`trusted`, the note's text): the bundle's newest checkpoint must extend it.
pub fn verify(bundle: &Bundle, key: &Verifier, trusted: Option<&str>) -> Result<Verified, Failure> {
    if bundle.format != FORMAT {
        return Err(Failure::Format { found: bundle.format.clone() });
    }
    if bundle.entries.len() > MAX_ENTRIES {
        return Err(Failure::TooManyEntries { count: bundle.entries.len() });
    }
    // 1. The two checkpoints, signed by the log's key, and the newest extends the other.
    let newest = open(&bundle.newest, key, Which::Newest)?;
    let checkpoint = open(&bundle.checkpoint, key, Which::Checkpoint)?;
    if newest.size < checkpoint.size {
        return Err(Failure::NewestOlder { checkpoint: checkpoint.size, newest: newest.size });
    }
    consistent(&checkpoint, &newest, &hashes(&bundle.consistency))?;
    // 2. The auditor's own checkpoint, if given, is a prefix of the newest.
    let trusted = trusted.map(|note| hold_to(bundle, key, note, &checkpoint, &newest)).transpose()?;
    // 3. Every entry: its leaf from its bytes, in the checkpoint's tree.
    let mut events: BTreeMap<u64, Event> = BTreeMap::new();
    let mut last: Option<u64> = None;
    for entry in &bundle.entries {
        let seq = entry.seq;
        if let Some(after) = last.filter(|&after| seq <= after) {
            return Err(Failure::Order { seq, after });
        }
        last = Some(seq);
        if seq >= checkpoint.size {
            return Err(Failure::BeyondCheckpoint { seq, size: checkpoint.size });
        }
        let unreadable = |reason: String| Failure::Unreadable { seq, reason };
        let value: serde_json::Value = serde_json::from_slice(&entry.raw.0).map_err(|e| unreadable(format!("not JSON: {e}")))?;
        let event = Event::from_json(entry.raw.0.clone(), &value).map_err(|e| unreadable(e.to_string()))?;
        let leaf = leaf_hash(entry.received, entry.sender.as_deref(), &entry.raw.0, &event.canonical)
            .ok_or_else(|| unreadable("its sender's name is longer than 65 535 bytes".into()))?;
        tree::verify_inclusion(&leaf, seq, checkpoint.size, &hashes(&entry.inclusion), &checkpoint.root)
            .map_err(|reason| Failure::Inclusion { seq, size: checkpoint.size, reason })?;
        events.insert(seq, event);
    }
    // 4. The bundle is about its artifact.
    let artifact = artifact_name(&bundle.artifact).into_owned();
    if !events.values().any(|e| e.artifacts.contains(&artifact)) {
        return Err(Failure::NothingAbout { artifact });
    }
    // 5. Everything cited is there, and is what it is cited as.
    let cited = Cited { events: &events };
    let mut included = 0;
    for doc in &bundle.documents {
        let citation = Citation::Document { digest: doc.digest.clone() };
        let event = cited.kind(doc.entry, &citation, Kind::Own(OwnType::DocumentReceived))?;
        if event.subject_id != doc.digest {
            return Err(Failure::DocumentNotRecorded { seq: doc.entry, digest: doc.digest.clone(), recorded: event.subject_id.clone() });
        }
        if let Some(content) = &doc.content {
            let found = hex::encode(Sha256::digest(&content.0));
            if doc.digest.strip_prefix("sha256:") != Some(found.as_str()) {
                return Err(Failure::DocumentContent { seq: doc.entry, digest: doc.digest.clone(), found });
            }
            included += 1;
        }
    }
    for &seq in &bundle.decisions {
        let event = cited.kind(seq, &Citation::Decision, Kind::Own(OwnType::PolicyDecided))?;
        if let Some(trigger) = decision_trigger(&event.raw) {
            cited.get(trigger, &Citation::Trigger { decision: seq })?;
        }
    }
    for &seq in &bundle.exceptions {
        cited.kind(seq, &Citation::Exception, Kind::Family(Family::Exception))?;
    }
    for &seq in &bundle.signatures {
        cited.kind(seq, &Citation::Signature, Kind::Own(OwnType::SignatureChecked))?;
    }
    for edge in &bundle.lineage {
        let event = cited.get(edge.entry(), &Citation::Lineage(Box::new(edge.clone())))?;
        if !event.facts.iter().any(|fact| states(fact, edge)) {
            return Err(Failure::NotStated { seq: edge.entry(), edge: Box::new(edge.clone()) });
        }
    }
    Ok(Verified {
        artifact,
        origin: newest.origin,
        checkpoint: checkpoint.size,
        newest: newest.size,
        trusted,
        entries: bundle.entries.len(),
        documents: bundle.documents.len(),
        documents_included: included,
        decisions: bundle.decisions.len(),
        exceptions: bundle.exceptions.len(),
        signatures: bundle.signatures.len(),
        edges: bundle.lineage.len(),
    })
}

/// A signed checkpoint opened with the log's key, of the key's log.
fn open(note: &str, key: &Verifier, which: Which) -> Result<Checkpoint, Failure> {
    let body = key.open(note).map_err(|reason| Failure::Signature { which, reason })?;
    let checkpoint = Checkpoint::parse(body).map_err(|reason| Failure::Checkpoint { which, reason })?;
    if checkpoint.origin != key.name() {
        return Err(Failure::Origin { which, expected: key.name().to_owned(), found: checkpoint.origin });
    }
    Ok(checkpoint)
}

fn consistent(old: &Checkpoint, new: &Checkpoint, proof: &[Hash]) -> Result<(), Failure> {
    tree::verify_consistency(old.size, new.size, &old.root, &new.root, proof).map_err(|reason| Failure::Consistency {
        from: old.size,
        to: new.size,
        reason,
    })
}

/// Holds the bundle to the auditor's saved checkpoint; its size once shown a prefix.
fn hold_to(bundle: &Bundle, key: &Verifier, note: &str, checkpoint: &Checkpoint, newest: &Checkpoint) -> Result<u64, Failure> {
    let trusted = open(note, key, Which::Trusted)?;
    if trusted.size > newest.size {
        return Err(Failure::TrustedNewer { trusted: trusted.size, newest: newest.size });
    }
    for (which, same) in [(Which::Newest, newest), (Which::Checkpoint, checkpoint)] {
        if trusted.size == same.size {
            return if trusted.root == same.root {
                Ok(trusted.size)
            } else {
                Err(Failure::TrustedRootDiffers { size: trusted.size, which })
            };
        }
    }
    match &bundle.since {
        Some(since) if since.size == trusted.size => consistent(&trusted, newest, &hashes(&since.consistency)).map(|()| trusted.size),
        other => Err(Failure::NoProofFromTrusted { trusted: trusted.size, since: other.as_ref().map(|s| s.size) }),
    }
}

/// The leaf hash of an entry (`docs/log-format.md`): `None` for a sender too long to frame.
pub fn leaf_hash(received: i64, sender: Option<&str>, raw: &[u8], canonical: &str) -> Option<Hash> {
    let mut data = Vec::with_capacity(1 + 8 + 2 + sender.map_or(0, str::len) + 32 + canonical.len());
    match sender {
        None => {
            data.push(2);
            data.extend_from_slice(&received.to_be_bytes());
        }
        Some(name) => {
            let len = u16::try_from(name.len()).ok()?;
            data.push(3);
            data.extend_from_slice(&received.to_be_bytes());
            data.extend_from_slice(&len.to_be_bytes());
            data.extend_from_slice(name.as_bytes());
        }
    }
    data.extend_from_slice(&Sha256::digest(raw));
    data.extend_from_slice(canonical.as_bytes());
    Some(tree::leaf_hash(&data))
}

/// What an entry must be to be cited as it is.
#[derive(Clone, Copy)]
enum Kind {
    Own(OwnType),
    Family(Family),
}

impl Kind {
    fn matches(self, event_type: &str) -> bool {
        match self {
            Kind::Own(t) => t.matches(event_type),
            Kind::Family(f) => f.contains(event_type),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Own(t) => t.unversioned(),
            Kind::Family(f) => f.prefix(),
        }
    }
}

struct Cited<'a> {
    events: &'a BTreeMap<u64, Event>,
}

impl<'a> Cited<'a> {
    fn get(&self, seq: u64, cited: &Citation) -> Result<&'a Event, Failure> {
        self.events.get(&seq).ok_or_else(|| Failure::MissingEntry { seq, cited: cited.clone() })
    }

    fn kind(&self, seq: u64, cited: &Citation, kind: Kind) -> Result<&'a Event, Failure> {
        let event = self.get(seq, cited)?;
        if !kind.matches(event.event_type.as_str()) {
            return Err(Failure::WrongKind {
                seq,
                cited: cited.clone(),
                expected: kind.name(),
                found: event.event_type.as_str().to_owned(),
            });
        }
        Ok(event)
    }
}

/// Whether `fact`, as Dossier's conventions read it from an entry (docs/lineage.md), states
/// `edge`.
fn states(fact: &Fact, edge: &Edge) -> bool {
    match (edge, fact) {
        (Edge::Parent { artifact, parent, .. }, Fact::Parent { artifact: a, parent: p }) => a == artifact && p == parent,
        (Edge::BuiltBy { artifact, run, .. }, Fact::BuiltBy { artifact: a, run: r }) => a == artifact && r == run,
        (Edge::Source { artifact, repository, commit, .. }, Fact::Change { artifact: a, repository: r, commit: c }) => {
            a == artifact && r == repository && c == commit
        }
        // A run's source is a source of every artifact the run builds (the bundle's `built_by`
        // edge says which run built it).
        (Edge::Source { repository, commit, .. }, Fact::RunSource { repository: r, commit: c, .. }) => r == repository && c == commit,
        (Edge::Deployed { environment, service, artifact, .. }, Fact::Deployed { environment: e, service: s, artifact: a }) => {
            e == environment && s == service && a == artifact
        }
        _ => false,
    }
}
