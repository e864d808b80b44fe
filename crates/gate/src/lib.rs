//! The deployment gate's vocabulary, with no I/O but the verifier's key file: the question
//! ([`Ask`]), the decision as the log records it ([`GateDecided`], the content of a
//! `dossier-gate.decided` entry, read by the CLI, the admission webhook, the audit bundle and
//! the dashboard alike), and its signed SLSA verification summary ([`vsa`]).
//!
//! The deciding is the engine's (`dossier_engine::gate`): the same `decide` as live evaluation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use dossier_policy::Mode;

pub mod vsa;

/// The type of the deployment the gate asks about: what policies that gate deployments trigger on.
pub const DEPLOYMENT_TYPE: &str = "dev.cdevents.service.deployed.0.3.0";

/// Largest `context` a question may carry, in bytes of JSON (it is recorded with the decision).
pub const MAX_CONTEXT: usize = 64 * 1024;

/// What the gate is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    /// A purl (`pkg:oci/shop@sha256:…`), or an image reference pinned by digest
    /// (`ghcr.io/acme/shop@sha256:…`).
    pub artifact: String,
    pub environment: String,
    /// Anything the caller wants recorded with the decision and shown to policies as
    /// `input.gate.context`: the pipeline run, the change, the ticket.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub context: Value,
    /// Decided and recorded as a dry run: nothing is deployed on its strength.
    #[serde(default)]
    pub dry_run: bool,
    /// The caller's id for the question: asked again, it is answered with the same decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// What to do about an artifact Dossier has no evidence about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unknown {
    /// Deny it: the default.
    #[default]
    Deny,
    /// Let the policies decide, with a warning that Dossier knows nothing of it.
    Allow,
}

/// How the gate is configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GateConfig {
    /// For an unknown artifact, per environment; environments not named here deny.
    pub unknown: BTreeMap<String, Unknown>,
}

impl GateConfig {
    pub fn unknown_in(&self, environment: &str) -> Unknown {
        self.unknown.get(environment).copied().unwrap_or_default()
    }
}

/// What one policy said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Said {
    /// The policy (for the gate's own rule about unknown artifacts, `unknown_artifact`).
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    pub messages: Vec<String>,
}

/// A policy the decision evaluated, at its version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluated {
    pub policy: String,
    pub version: String,
    pub mode: Mode,
}

/// What the decision was made on: the entries of the artifact's history and the documents
/// among them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub entries: Vec<u64>,
    /// `sha256:<hex>` of each document.
    pub documents: Vec<String>,
}

/// The name of the gate's own rule about artifacts it has no evidence about.
pub const UNKNOWN_ARTIFACT: &str = "unknown_artifact";

/// The origin of the documents that are the gate's verification summaries (`gate:<decision>`):
/// the gate's record, never evidence about the artifact.
pub const GATE_ORIGIN: &str = "gate:";

/// A decision of the gate: the content of its `dossier-gate.decided` entry, and the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateDecided {
    /// The decision's id (`gd-…`): derived from the request id when there is one.
    pub decision_id: String,
    pub allowed: bool,
    /// The artifact as Dossier names it (a purl in canonical form).
    #[serde(rename = "artifactId")]
    pub artifact: String,
    pub environment: String,
    /// Who asked (the authenticated principal).
    pub requester: String,
    /// The question as asked.
    pub asked: Ask,
    /// Whether Dossier had evidence about the artifact.
    pub known: bool,
    /// Enforce-mode denials: why the answer is no.
    pub denies: Vec<Said>,
    /// Audit-mode denials and warnings: said, not blocking.
    pub warnings: Vec<Said>,
    /// Policies that failed to evaluate, and how.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Said>,
    /// Ids of the exceptions that policies let through.
    pub exceptions_applied: Vec<String>,
    pub evidence: Evidence,
    /// Every policy evaluated, at its version.
    pub policies: Vec<Evaluated>,
    /// SHA-256 of the evaluated policies' names and versions (`name version\n`, sorted): the
    /// policy set, by digest.
    pub policy_set: String,
    /// SHA-256 of the input's RFC 8785 form.
    pub input_digest: String,
    /// The moment decided at: the history is the entries before `before`, exceptions those in
    /// force `at` (RFC 3339).
    pub moment: RecordedMoment,
}

/// A [`Moment`] as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedMoment {
    pub before: u64,
    pub at_unix_nanos: i64,
}

impl GateDecided {
    /// Reads a `gate.decided` entry's raw bytes.
    pub fn read(raw: &[u8]) -> Option<GateDecided> {
        #[derive(Deserialize)]
        struct Entry {
            subject: Subject,
        }
        #[derive(Deserialize)]
        struct Subject {
            content: GateDecided,
        }
        serde_json::from_slice::<Entry>(raw)
            .map(|e| e.subject.content)
            .map_err(|e| tracing::error!("a gate decision that does not read: {e}"))
            .ok()
    }
}

/// SHA-256 of `name version\n` for each policy, sorted.
pub fn policy_set_digest(policies: &[Evaluated]) -> String {
    let mut lines: Vec<String> = policies.iter().map(|p| format!("{} {}\n", p.policy, p.version)).collect();
    lines.sort();
    hex(&Sha256::digest(lines.concat().as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
