//! Security documents as evidence: each kept once under `DATA/documents/sha256/<hex>`, read by
//! `dossier-evidence`, and recorded by a `dev.cdeventsx.dossier-document.received.0.1.0` entry
//! that names the artifact, who sent it, how it arrived and everything extracted from it.
//!
//! Order of work, so that nothing is half-stored: the body streams into `incoming/` while it is
//! hashed (memory stays bounded whatever its size); it is read; only a document that reads is
//! renamed to its content address (fsync'd); only then is its entry appended. An entry
//! therefore always has its document; a document without an entry (a crash in between) is
//! harmless and is reused by the next submission of the same bytes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dossier_core::EventKey;
use dossier_evidence::{DocumentError, Extract, Format};
use dossier_store::{AppendOutcome, StoreError};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::log::EvidenceLog;
use crate::own::{hex, own_event};

pub const SOURCE: &str = "/dossier/documents";
pub const RECEIVED: &str = "dev.cdeventsx.dossier-document.received.0.1.0";

/// Why a document was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the document is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("{0}")]
    Artifact(String),
    #[error("storing the document: {0}; nothing was recorded, retry")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("recording the document: {0}")]
    Event(String),
}

/// The document directory.
#[derive(Debug)]
pub struct Documents {
    dir: PathBuf,
    max_size: u64,
}

/// A body written to `incoming/` and hashed; removed unless kept.
pub struct Staged {
    path: PathBuf,
    pub digest: String,
    pub size: u64,
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes chunks to a staging file, hashing them and enforcing the size limit.
pub struct Stager {
    file: File,
    hasher: Sha256,
    staged: Staged,
    max_size: u64,
}

impl Stager {
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), SubmitError> {
        self.staged.size += chunk.len() as u64;
        if self.staged.size > self.max_size {
            return Err(SubmitError::TooLarge(self.max_size));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk)?;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Staged, SubmitError> {
        self.file.sync_all()?;
        let mut staged = Staged { path: std::mem::take(&mut self.staged.path), digest: String::new(), size: self.staged.size };
        staged.digest = hex(&self.hasher.finalize_reset());
        Ok(staged)
    }
}

impl Documents {
    /// Opens (creating) the directory; staging files left by a crash are removed.
    pub fn open(dir: &Path, max_size: u64) -> io::Result<Arc<Documents>> {
        std::fs::create_dir_all(dir.join("sha256"))?;
        let incoming = dir.join("incoming");
        if incoming.exists() {
            std::fs::remove_dir_all(&incoming)?;
        }
        std::fs::create_dir_all(&incoming)?;
        Ok(Arc::new(Documents { dir: dir.to_owned(), max_size }))
    }

    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    pub fn stager(&self) -> Result<Stager, SubmitError> {
        let mut name = [0u8; 12];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut name);
        let path = self.dir.join("incoming").join(hex(&name));
        let file = File::create(&path)?;
        Ok(Stager { file, hasher: Sha256::new(), staged: Staged { path, digest: String::new(), size: 0 }, max_size: self.max_size })
    }

    /// Stages a file (a document fetched from a directory), streaming it.
    pub fn stage_file(&self, source: &Path) -> Result<Staged, SubmitError> {
        let mut stager = self.stager()?;
        let mut file = File::open(source)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return stager.finish();
            }
            stager.write(&buf[..n])?;
        }
    }

    /// Keeps bytes Dossier made or received itself (a tool's output) under their digest, durably;
    /// answers `sha256:<hex>`.
    pub fn keep_bytes(&self, bytes: &[u8]) -> Result<String, SubmitError> {
        let mut stager = self.stager()?;
        stager.write(bytes)?;
        let staged = stager.finish()?;
        self.keep(&staged)?;
        Ok(format!("sha256:{}", staged.digest))
    }

    /// Where the document with this sha256 digest (hex) is kept.
    pub fn path(&self, hex_digest: &str) -> Option<PathBuf> {
        let ok = hex_digest.len() == 64 && hex_digest.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        ok.then(|| self.dir.join("sha256").join(hex_digest))
    }

    /// Moves a staged document to its content address, durably.
    fn keep(&self, staged: &Staged) -> io::Result<()> {
        let target = self.dir.join("sha256").join(&staged.digest);
        if !target.exists() {
            std::fs::rename(&staged.path, &target)?;
            File::open(self.dir.join("sha256"))?.sync_all()?;
        }
        Ok(())
    }
}

/// Who sent a document, about what, and how.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The artifact's purl, or `sha256:<hex>` naming a known artifact by digest.
    pub artifact: String,
    pub sender: String,
    /// `upload`, or the URI it was fetched from.
    pub origin: String,
    /// The format, when the sender said (media type or parameter); detected otherwise.
    pub format: Option<Format>,
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
}

/// Resolves the artifact a submission names: a purl as is, a digest to the one artifact
/// known to carry it.
fn resolve_artifact(log: &EvidenceLog, named: &str) -> Result<String, SubmitError> {
    if named.starts_with("pkg:") {
        return Ok(named.to_owned());
    }
    let Some(hex_digest) = named.strip_prefix("sha256:").filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())) else {
        return Err(SubmitError::Artifact(format!(
            "artifact {named:?} is neither a package URL (pkg:…) nor a digest (sha256:<64 hex digits>)"
        )));
    };
    let mut found = log.lineage().read().artifacts_with_digest(&hex_digest.to_ascii_lowercase());
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(SubmitError::Artifact(format!("no artifact with digest {named} is known; name it by its purl"))),
        _ => Err(SubmitError::Artifact(format!("several artifacts carry digest {named} ({}); name one by its purl", found.join(", ")))),
    }
}

/// Reads a staged document and records it (blocking: run it off the async threads).
pub fn record(log: &EvidenceLog, documents: &Documents, staged: Staged, submission: Submission) -> Result<Receipt, SubmitError> {
    let artifact = resolve_artifact(log, &submission.artifact)?;
    let format = match submission.format {
        Some(f) => f,
        None => dossier_evidence::detect(File::open(&staged.path)?)?,
    };
    let extract = dossier_evidence::extract(format, File::open(&staged.path)?)?;
    let digest = format!("sha256:{}", staged.digest);
    let about = hex(&Sha256::digest(artifact.as_bytes()));
    let key = EventKey { source: SOURCE.to_owned(), id: format!("document-{}-{}", &staged.digest[..32], &about[..16]) };
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
    };
    if let Some(earlier) = log.store().get_by_key(&key)? {
        receipt.seq = earlier.seq;
        receipt.duplicate = true;
        return Ok(receipt);
    }
    documents.keep(&staged)?;
    let content = content(&artifact, &digest, staged.size, &submission, extract)?;
    let event = own_event(key.id.clone(), SOURCE, RECEIVED, &digest, content, None).map_err(SubmitError::Event)?;
    match log.append_blocking(vec![event])?.pop() {
        Some(AppendOutcome::Accepted { seq }) => receipt.seq = seq,
        // Recorded concurrently by another submission of the same document.
        Some(AppendOutcome::Duplicate { seq }) | Some(AppendOutcome::Conflict { seq, .. }) => {
            receipt.seq = seq;
            receipt.duplicate = true;
        }
        None => return Err(SubmitError::Event("the log answered nothing".into())),
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
    let Value::Object(mut fields) = serde_json::to_value(extract).map_err(|e| SubmitError::Event(e.to_string()))? else {
        return Err(SubmitError::Event("the extract is not an object".into()));
    };
    for (name, list) in [("components", components), ("findings", findings)] {
        if !list.is_empty() {
            fields.insert(name.into(), Value::Array(list));
        }
    }
    fields.insert("artifactId".into(), json!(artifact));
    fields.insert("digest".into(), json!(digest));
    fields.insert("size".into(), json!(size));
    fields.insert("sender".into(), json!(submission.sender));
    fields.insert("origin".into(), json!(submission.origin));
    Ok(Value::Object(fields))
}

fn into_values<T: Serialize>(items: Vec<T>) -> Result<Vec<Value>, SubmitError> {
    items.into_iter().map(|item| serde_json::to_value(item).map_err(|e| SubmitError::Event(e.to_string()))).collect()
}
