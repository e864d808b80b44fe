//! The document intake: a staged document read by `dossier-evidence` and recorded by a
//! `dev.cdeventsx.dossier-document.received` entry that names the artifact, who sent it, how it
//! arrived and everything extracted from it. Uploads (HTTP) and the fetcher both come here.
//!
//! Order of work, so that nothing is half-stored: the body is staged and hashed
//! (`dossier_log::documents`); it is read; only a document that reads is renamed to its content
//! address (fsync'd); only then is its entry appended. An entry therefore always has its
//! document; a document without an entry (a crash in between) is harmless and is reused by the
//! next submission of the same bytes.

use std::fs::File;
use std::io;

use dossier_core::own::{OwnType, DOCUMENTS_SOURCE as SOURCE};
use dossier_core::EventKey;
use dossier_evidence::binding::{self, NotAbout};
use dossier_evidence::signatures::{Check, CheckKind, Trust};
use dossier_evidence::{DocumentError, Extract, Format};
use dossier_log::documents::{BlobError, Documents, Staged};
use dossier_log::own::{hex, own_event, OwnEventError};
use dossier_log::EvidenceLog;
use dossier_store::{AppendOutcome, StoreError};
use dossier_views::lineage::LineageView;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Why a document was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("{0}")]
    Artifact(String),
    /// An attestation whose subjects are not the artifact it was sent about.
    #[error(transparent)]
    NotAbout(#[from] NotAbout),
    #[error("storing the document: {0}; nothing was recorded, retry")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("recording the document: {0}")]
    Event(#[from] OwnEventError),
    #[error("recording the document: the log answered nothing")]
    NoAnswer,
    #[error("recording the document: {0}")]
    Encode(serde_json::Error),
    #[error("recording the document: its extract is not a JSON object")]
    NotAnObject,
}

/// Who sent a document, about what, and how.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The artifact's purl, or `sha256:<hex>` naming a known artifact by digest.
    pub artifact: String,
    /// The principal that sent it (none: Dossier fetched it itself); the entry's sender.
    pub sender: Option<String>,
    /// How it reached Dossier.
    pub via: Via,
    /// The format, when the sender said (media type or parameter); detected otherwise.
    pub format: Option<Format>,
}

/// How a document reached Dossier: recorded as the entry's `origin` (`upload`, the URI it was
/// fetched from, or `gate:<decision>`), and deciding the entry's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// Sent through the documents API.
    Upload,
    /// Fetched by Dossier from this URI, which an event named.
    Fetch(String),
    /// The signed verification summary of this gate decision, which Dossier made: a record
    /// ([`dossier_core::own::is_record`]), kept under the gate's source.
    GateSummary(String),
}

impl Via {
    /// The entry's `origin`.
    pub fn origin(&self) -> String {
        match self {
            Via::Upload => "upload".to_owned(),
            Via::Fetch(uri) => uri.clone(),
            Via::GateSummary(decision) => format!("{}{decision}", dossier_gate::GATE_ORIGIN),
        }
    }

    /// The source the entry is appended under.
    pub fn source(&self) -> &'static str {
        match self {
            Via::Upload | Via::Fetch(_) => SOURCE,
            Via::GateSummary(_) => dossier_core::own::GATE_SOURCE,
        }
    }
}

/// What was recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub seq: u64,
    /// The same document about the same artifact was recorded before (at `seq`).
    pub duplicate: bool,
    pub digest: String,
    pub size: u64,
    pub format: Format,
    pub artifact: String,
    pub components: usize,
    pub findings: usize,
    pub vex: usize,
    pub provenance: bool,
    /// Each signature the document carries, as checked against the configured trust.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<Signed>,
    /// Said when no event names the artifact yet (a typo in the purl, or a document sent
    /// before the build's events), or when none of a VEX document's statements names the
    /// artifact (they answer none of its findings): the document is kept all the same. Two
    /// such warnings are joined by "; ".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// A signature of the document, as the receipt tells it.
#[derive(Debug, Clone, Serialize)]
pub struct Signed {
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trust: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Signed {
    fn of(c: &Check) -> Signed {
        Signed {
            verified: c.verified,
            identity: c.identity.clone(),
            issuer: c.issuer.clone(),
            trust: c.trust.clone(),
            reason: c.reason.clone(),
        }
    }
}

/// Checks the signatures a signed document carries: a Sigstore bundle against the artifact's
/// digest, a DSSE envelope's signatures with the configured keys. Other documents carry none.
fn check_signatures(trust: &Trust, extract: &Extract, artifact: &binding::Artifact, staged: &Staged) -> Result<Vec<Check>, SubmitError> {
    let signed = match extract.format {
        Format::Sigstore => true,
        Format::InToto => !extract.signatures.is_empty(),
        _ => false,
    };
    if !signed {
        return Ok(Vec::new());
    }
    if staged.size > MAX_SIGNED_DOCUMENT {
        let kind = if extract.format == Format::Sigstore { CheckKind::SigstoreBundle } else { CheckKind::Dsse };
        return Ok(vec![Check::not_checked(
            kind,
            format!("not checked: a signed document over {} MiB is recorded without checking its signatures", MAX_SIGNED_DOCUMENT >> 20),
        )]);
    }
    let bytes = std::fs::read(staged.path())?;
    Ok(match extract.format {
        Format::Sigstore => {
            let digest = artifact.digest.as_ref().filter(|d| d.algorithm == "sha256").and_then(|d| d.sha256_bytes());
            vec![trust.check_bundle(&bytes, digest, time::OffsetDateTime::now_utc())]
        }
        _ => trust.check_envelope(&bytes),
    })
}

impl Receipt {
    fn warn(&mut self, warning: String) {
        self.warning = Some(match self.warning.take() {
            Some(earlier) => format!("{earlier}; {warning}"),
            None => warning,
        });
    }
}

/// Resolves the artifact a submission names: a purl in canonical form, a digest to the one
/// artifact known to carry it.
fn resolve_artifact(lineage: &LineageView, named: &str) -> Result<String, SubmitError> {
    if named.starts_with("pkg:") {
        return Ok(dossier_core::artifact_name(named).into_owned());
    }
    let Some(hex_digest) = named.strip_prefix("sha256:").filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())) else {
        return Err(SubmitError::Artifact(format!(
            "artifact {named:?} is neither a package URL (pkg:…) nor a digest (sha256:<64 hex digits>)"
        )));
    };
    let mut found = lineage.read().artifacts_with_digest(&hex_digest.to_ascii_lowercase());
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(SubmitError::Artifact(format!("no artifact with digest {named} is known; name it by its purl"))),
        _ => Err(SubmitError::Artifact(format!("several artifacts carry digest {named} ({}); name one by its purl", found.join(", ")))),
    }
}

/// Most bytes of a signed document (a DSSE envelope, a Sigstore bundle) whose signatures are
/// checked; a larger one is recorded with a check that says it was not.
pub const MAX_SIGNED_DOCUMENT: u64 = 16 * 1024 * 1024;

/// Where a document is recorded, and what its signatures are checked against.
#[derive(Clone, Copy)]
pub struct Intake<'a> {
    pub log: &'a EvidenceLog,
    pub lineage: &'a LineageView,
    pub documents: &'a Documents,
    pub trust: &'a Trust,
}

/// Reads a staged document and records it (blocking: run it off the async threads).
pub fn record(intake: Intake<'_>, staged: Staged, submission: Submission) -> Result<Receipt, SubmitError> {
    let Intake { log, lineage, documents, trust } = intake;
    let artifact = resolve_artifact(lineage, &submission.artifact)?;
    let format = match submission.format {
        Some(f) => f,
        None => dossier_evidence::detect(File::open(staged.path())?)?,
    };
    let mut extract = dossier_evidence::extract(format, File::open(staged.path())?)?;
    // An attestation about another artifact is refused before anything is kept.
    let bound = binding::Artifact::new(&artifact);
    binding::check_subjects(&extract, &bound)?;
    extract.checks = check_signatures(trust, &extract, &bound, &staged)?;
    let digest = format!("sha256:{}", staged.digest);
    let about = hex(&Sha256::digest(artifact.as_bytes()));
    let key = EventKey { source: submission.via.source().to_owned(), id: format!("document-{}-{}", &staged.digest[..32], &about[..16]) };
    let mut receipt = Receipt {
        seq: 0,
        duplicate: false,
        digest: digest.clone(),
        size: staged.size,
        format: extract.format,
        artifact: artifact.clone(),
        components: extract.components.len(),
        findings: extract.findings.len(),
        vex: extract.vex.len(),
        provenance: extract.provenance.is_some(),
        signatures: extract.checks.iter().map(Signed::of).collect(),
        warning: None,
    };
    // Documents about it do not count: only events from producers say the artifact exists.
    let named = dossier_store::EventQuery { artifact: Some(artifact.clone()), without_records: true, limit: 50, ..Default::default() };
    if !log.store().query(&named)?.events.iter().any(|e| e.key.source != SOURCE) {
        receipt.warn(format!(
            "no event names {artifact} yet: the document is kept and applies once events name the artifact; check the purl if none will"
        ));
    }
    if let Some(unnamed) = binding::vex_unnamed(&extract, &bound) {
        receipt.warn(unnamed.to_string());
    }
    if let Some(earlier) = log.store().get_by_key(&key)? {
        receipt.seq = earlier.seq;
        receipt.duplicate = true;
        return Ok(receipt);
    }
    documents.keep(&staged).map_err(BlobError::Io)?;
    let content = content(&artifact, &digest, staged.size, &submission, extract)?;
    let mut event = own_event(key.id.clone(), submission.via.source(), OwnType::DocumentReceived, &digest, content, None)?;
    event.sender = submission.sender.clone();
    match log.append_blocking(vec![event])?.pop() {
        Some(AppendOutcome::Accepted { seq }) => receipt.seq = seq,
        // Recorded concurrently by another submission of the same document.
        Some(AppendOutcome::Duplicate { seq }) | Some(AppendOutcome::Conflict { seq, .. }) => {
            receipt.seq = seq;
            receipt.duplicate = true;
        }
        None => return Err(SubmitError::NoAnswer),
    }
    Ok(receipt)
}

/// The entry's content: the artifact, the document's identity and arrival, and the extract.
///
/// The long lists are converted item by item, each freed as soon as it is converted, so that
/// a large SBOM's extract and its JSON form are not both held whole.
fn content(artifact: &str, digest: &str, size: u64, submission: &Submission, mut extract: Extract) -> Result<Value, SubmitError> {
    let components = into_values(std::mem::take(&mut extract.components))?;
    let findings = into_values(std::mem::take(&mut extract.findings))?;
    let Value::Object(mut fields) = serde_json::to_value(extract).map_err(SubmitError::Encode)? else {
        return Err(SubmitError::NotAnObject);
    };
    for (name, list) in [("components", components), ("findings", findings)] {
        if !list.is_empty() {
            fields.insert(name.into(), Value::Array(list));
        }
    }
    fields.insert("artifactId".into(), json!(artifact));
    fields.insert("digest".into(), json!(digest));
    fields.insert("size".into(), json!(size));
    fields.insert("sender".into(), json!(submission.sender.as_deref().unwrap_or("dossier-fetch")));
    fields.insert("origin".into(), json!(submission.via.origin()));
    Ok(Value::Object(fields))
}

fn into_values<T: Serialize>(items: Vec<T>) -> Result<Vec<Value>, SubmitError> {
    items.into_iter().map(|item| serde_json::to_value(item).map_err(SubmitError::Encode)).collect()
}
