//! The bundle as it is written: `docs/audit-bundle.md` specifies every field.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use dossier_tlog::Hash;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The value of `format` this crate writes and reads.
pub const FORMAT: &str = "dossier-audit-bundle/v1";

/// At most this many entries in one bundle: a server refuses to make a larger one (and says
/// how many the artifact's history has), and a verifier refuses to read one.
pub const MAX_ENTRIES: usize = 20_000;

/// At most this many bytes of content in one bundle: the entries' raw bytes and, with
/// `documents=include`, the documents'. Past it the server refuses, and suggests
/// `documents=digests` when documents were asked for.
pub const MAX_CONTENT_BYTES: u64 = 128 * 1024 * 1024;

/// The largest bundle file a verifier reads, in bytes: content at its limit, base64-encoded
/// (4/3), with its proofs (at most 64 hashes of 44 characters an entry).
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;

/// One self-contained file of evidence about an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`FORMAT`].
    pub format: String,
    /// The artifact the bundle is about, as Dossier names it (its canonical purl).
    pub artifact: String,
    /// When the bundle was made (RFC 3339); said, not proven.
    pub created: String,
    /// The signed checkpoint (C2SP signed note) every entry's inclusion proof leads to.
    pub checkpoint: String,
    /// The newest signed checkpoint when the bundle was made (may be `checkpoint` itself).
    pub newest: String,
    /// RFC 6962 consistency proof from `checkpoint`'s tree to `newest`'s.
    pub consistency: Vec<B64Hash>,
    /// Optionally, a consistency proof from a tree size the auditor saved a checkpoint of, to
    /// `newest`'s (made on request, `since=`): holds the bundle to the auditor's checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Since>,
    /// The entries, by increasing `seq`, each once.
    pub entries: Vec<Entry>,
    /// The documents received about the artifact or its ancestors.
    pub documents: Vec<Document>,
    /// Entries recording policy decisions about the artifact (`dossier-policy.decided`).
    pub decisions: Vec<u64>,
    /// Entries of the exceptions that cover the artifact (`dossier-exception.*`).
    pub exceptions: Vec<u64>,
    /// Entries recording signature checks about it (`dossier-signature.checked`).
    pub signatures: Vec<u64>,
    /// The lineage edges of the artifact, each with the entry that states it.
    pub lineage: Vec<Edge>,
}

/// A consistency proof from the auditor's saved tree size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Since {
    pub size: u64,
    pub consistency: Vec<B64Hash>,
}

/// One log entry, with what its leaf covers and its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Its index in the log (its leaf index).
    pub seq: u64,
    /// When Dossier received it: nanoseconds since the Unix epoch.
    pub received: i64,
    /// The principal whose credential sent it; `null` for Dossier's own acts.
    pub sender: Option<String>,
    /// The event's bytes exactly as received.
    pub raw: Bytes,
    /// Its RFC 6962 inclusion proof in `checkpoint`'s tree, leaf to root.
    pub inclusion: Vec<B64Hash>,
}

/// A document received about the artifact, cited by the entry that records its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// The `dossier-document.received` entry.
    pub entry: u64,
    /// `sha256:<hex>`, as the entry names it.
    pub digest: String,
    /// The document's bytes (`documents=include`); absent with `documents=digests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Bytes>,
}

/// A lineage edge and the entry that states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "relation", rename_all = "snake_case", deny_unknown_fields)]
pub enum Edge {
    /// `artifact` was derived from `parent` (an image from its base, a binary's image).
    Parent { artifact: String, parent: String, entry: u64 },
    /// `artifact` was built by pipeline run `run`.
    BuiltBy { artifact: String, run: String, entry: u64 },
    /// `artifact` was built from `commit` of `repository`.
    Source { artifact: String, repository: String, commit: String, entry: u64 },
    /// `service` in `environment` runs `artifact` (the artifact or one derived from it).
    Deployed { environment: String, service: String, artifact: String, entry: u64 },
}

impl Edge {
    /// The entry that states it.
    pub fn entry(&self) -> u64 {
        match self {
            Edge::Parent { entry, .. } | Edge::BuiltBy { entry, .. } | Edge::Source { entry, .. } | Edge::Deployed { entry, .. } => *entry,
        }
    }
}

impl std::fmt::Display for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Edge::Parent { artifact, parent, .. } => write!(f, "{artifact} derives from {parent}"),
            Edge::BuiltBy { artifact, run, .. } => write!(f, "{artifact} was built by run {run}"),
            Edge::Source { artifact, repository, commit, .. } => write!(f, "{artifact} was built from {repository}@{commit}"),
            Edge::Deployed { environment, service, artifact, .. } => write!(f, "{service} in {environment} runs {artifact}"),
        }
    }
}

/// Bytes written as standard base64 (RFC 4648, with padding).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        B64.decode(text.as_bytes()).map(Bytes).map_err(|_| serde::de::Error::custom("not standard base64"))
    }
}

/// A SHA-256 hash written as standard base64, as the API writes proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct B64Hash(pub Hash);

impl Serialize for B64Hash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for B64Hash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<B64Hash, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = B64.decode(text.as_bytes()).map_err(|_| serde::de::Error::custom("a hash is standard base64"))?;
        Hash::try_from(bytes.as_slice()).map(B64Hash).map_err(|_| serde::de::Error::custom("a hash is 32 bytes"))
    }
}

/// The entry a `dossier-policy.decided` entry's raw bytes say it decided about
/// (`subject.content.trigger.seq`).
pub fn decision_trigger(raw: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Trigger {
        seq: u64,
    }
    #[derive(Deserialize)]
    struct Content {
        trigger: Trigger,
    }
    #[derive(Deserialize)]
    struct Subject {
        content: Content,
    }
    #[derive(Deserialize)]
    struct Decided {
        subject: Subject,
    }
    serde_json::from_slice::<Decided>(raw).ok().map(|d| d.subject.content.trigger.seq)
}

/// The hashes of a proof.
pub fn hashes(proof: &[B64Hash]) -> Vec<Hash> {
    proof.iter().map(|h| h.0).collect()
}

/// A proof's hashes as the bundle writes them.
pub fn b64_hashes(proof: &[Hash]) -> Vec<B64Hash> {
    proof.iter().copied().map(B64Hash).collect()
}
