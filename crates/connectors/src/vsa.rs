//! A follower that keeps each gate decision's signed verification summary (SLSA VSA v1.0) as a
//! document about its artifact, through the one document intake: the summary is then in the
//! artifact's evidence, its audit bundle and its page, with its signature checked like any
//! other (under the trust set [`TRUST_SET`], the verifier's own key).
//!
//! Off the gate's path: the gate answers once its decision is durable; the summary follows, at
//! least once (a follower from a cursor; the same summary again is the same document, one entry).

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use dossier_core::own::OwnType;
use dossier_evidence::signatures::Trust;
use dossier_gate::vsa::{self, Input, Verifier, VerifierKey};
use dossier_gate::GateDecided;
use dossier_log::documents::Documents;
use dossier_log::follow::Follower;
use dossier_log::own::hex;
use dossier_log::{Appended, EvidenceLog};
use dossier_views::lineage::LineageView;

use crate::documents::{record, Intake, Submission};

/// The trust set the verifier's key is trusted under, so that its summaries read as verified.
pub const TRUST_SET: &str = "dossier-gate";

/// Who makes the summaries and what they are recorded with.
#[derive(Clone)]
pub struct Summaries {
    pub log: Arc<EvidenceLog>,
    pub lineage: Arc<LineageView>,
    pub documents: Arc<Documents>,
    pub trust: Arc<Trust>,
    pub key: Arc<VerifierKey>,
    pub verifier: Verifier,
}

impl std::fmt::Debug for Summaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summaries").field("key", &self.key).field("verifier", &self.verifier).finish_non_exhaustive()
    }
}

/// Why a summary could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error(transparent)]
    Vsa(#[from] vsa::VsaError),
    #[error("reading entry {0}: {1}")]
    Store(u64, dossier_store::StoreError),
}

impl Summaries {
    /// The verifier as named from the log's origin: `https://<origin>/gate`, inputs under
    /// `dossier://<origin>/`.
    pub fn verifier_of(origin: &str) -> Verifier {
        Verifier { id: format!("https://{origin}/gate"), base: format!("dossier://{origin}") }
    }

    /// The signed summary of decision `d`: its inputs are the entries (by the SHA-256 of their
    /// raw bytes, which each leaf commits to) and documents it was made on.
    pub fn envelope(&self, d: &GateDecided) -> Result<vsa::Envelope, SummaryError> {
        let mut inputs = Vec::with_capacity(d.evidence.entries.len() + d.evidence.documents.len());
        for &seq in &d.evidence.entries {
            if let Some(row) = self.log.store().get(seq).map_err(|e| SummaryError::Store(seq, e))? {
                inputs.push(Input { uri: format!("{}/entry/{seq}", self.verifier.base), sha256: hex(&Sha256::digest(&row.raw)) });
            }
        }
        for doc in &d.evidence.documents {
            let h = doc.strip_prefix("sha256:").unwrap_or(doc);
            inputs.push(Input { uri: format!("{}/document/sha256:{h}", self.verifier.base), sha256: h.to_owned() });
        }
        let statement = vsa::statement(d, &self.verifier, &inputs)?;
        Ok(vsa::sign(&statement, &self.key))
    }

    /// Keeps the summary of the decision entry `a` as a document about its artifact.
    fn keep(&self, a: &Appended) {
        if !OwnType::GateDecided.matches(a.event.event_type.as_str()) {
            return;
        }
        let Some(d) = GateDecided::read(&a.event.raw) else { return };
        let envelope = match self.envelope(&d) {
            Ok(e) => e,
            // An artifact without a digest gets no summary: said once, at the decision's entry.
            Err(SummaryError::Vsa(vsa::VsaError::NoDigest(_))) => return,
            Err(e) => {
                tracing::error!("the verification summary of gate decision {} (entry {}): {e}", d.decision_id, a.seq);
                return;
            }
        };
        let bytes = match serde_json::to_vec(&envelope) {
            Ok(b) => b,
            Err(e) => return tracing::error!("the verification summary of {}: {e}", d.decision_id),
        };
        let staged = self.documents.stager().and_then(|mut s| {
            s.write(&bytes)?;
            s.finish()
        });
        let staged = match staged {
            Ok(s) => s,
            Err(e) => return tracing::error!("keeping the verification summary of {}: {e}", d.decision_id),
        };
        let intake = Intake { log: &self.log, lineage: &self.lineage, documents: &self.documents, trust: &self.trust };
        let submission = Submission {
            artifact: d.artifact.clone(),
            sender: None,
            via: crate::documents::Via::GateSummary(d.decision_id.clone()),
            format: Some(dossier_evidence::Format::InToto),
        };
        if let Err(e) = record(intake, staged, submission) {
            tracing::error!("recording the verification summary of {}: {e}", d.decision_id);
        }
    }
}

/// Starts the follower that keeps the summaries.
pub fn start(summaries: Summaries, cursor_file: &Path) {
    let follower = Follower::new(summaries.log.clone(), cursor_file.to_owned());
    let spawned = std::thread::Builder::new().name("dossier-vsa".into()).spawn(move || {
        behind_the_answers();
        follower.follow(|a| summaries.keep(a))
    });
    if let Err(e) = spawned {
        tracing::error!("starting the verification summary follower: {e}");
    }
}

/// Lowers the calling thread's priority (nice 10): the summaries follow the gate's answers, and
/// signing and keeping one must not take the core the next answer needs. On a machine with
/// cores to spare it changes nothing; the summaries still follow, at least once.
fn behind_the_answers() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id; no memory is passed.
        let done = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
        if done != 0 {
            tracing::debug!("the verification summary follower keeps its priority: {}", std::io::Error::last_os_error());
        }
    }
}
