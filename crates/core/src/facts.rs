//! What the graph is made of.

use serde::{Deserialize, Serialize};

pub use crate::version::VersionRange;

/// Severity of a vulnerability, ordered from least to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "unknown" | "none" => Severity::Unknown,
            "low" => Severity::Low,
            "medium" | "moderate" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    pub const ALL: [Severity; 5] = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Unknown];

    pub fn name(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One fact about the delivery history, or its removal. `seq` on [`crate::Graph::apply`] names
/// the log entry that states it. Artifacts are named as [`crate::artifact_name`] names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// Pipeline run `run` used `commit` of `repository` as a source: a source of every artifact
    /// the run builds.
    RunSource { run: String, repository: String, commit: String },
    /// `artifact` was built by pipeline run `run` (a later statement replaces an earlier one).
    BuiltBy { artifact: String, run: String },
    /// `artifact` was built from `commit` of `repository` (its `subject.content.change`): a
    /// source of that artifact only, not of the other artifacts its run builds.
    Change { artifact: String, repository: String, commit: String },
    /// `artifact` was derived from `parent` (an image from a binary, an image from its base).
    Parent { artifact: String, parent: String },
    /// `service` in `environment` now runs `artifact` (deployed, upgraded or rolled back).
    Deployed { environment: String, service: String, artifact: String },
    /// `service` was removed from `environment`.
    Removed { environment: String, service: String },
    /// `artifact` contains package `package` (a purl without version) at `version`, as its
    /// SBOM or its build says; derived artifacts contain it too.
    Contains { artifact: String, package: String, version: String },
    /// A vulnerability, found in commits (`(repository, commit)`), artifacts, and/or versions of
    /// packages (`(package purl without version, range)`). Stating it again replaces what was
    /// known of it.
    /// `aliases` are other ids of the same vulnerability (CVE ↔ GHSA ↔ PYSEC ↔ OSV): every
    /// statement of any of them is one vulnerability.
    Vulnerability {
        id: String,
        aliases: Vec<String>,
        severity: Severity,
        commits: Vec<(String, String)>,
        artifacts: Vec<String>,
        packages: Vec<(String, VersionRange)>,
    },
    /// What document `document` (its digest), received about `artifact`, reports: each
    /// vulnerability found in the artifact, or an advisory naming affected versions of
    /// packages. Stating the same document about the same artifact again replaces it.
    Findings { document: String, artifact: String, found: Vec<Found> },
    /// The VEX statements of document `document` (its digest). Stating it again replaces them.
    Vex { document: String, statements: Vec<VexFact> },
    /// Exception `id` waives `vulnerabilities` for the artifacts its patterns match, in its
    /// environments (any when none are named), while `in_force`; a later statement of the same
    /// id replaces an earlier one.
    Exception { id: String, vulnerabilities: Vec<String>, artifacts: Vec<String>, environments: Vec<String>, in_force: bool },
    /// The vulnerability was withdrawn or fixed: it affects nothing any more.
    VulnerabilityGone { id: String },
    /// The artifact was deleted from its registry; what runs it still runs it.
    ArtifactDeleted { artifact: String },
    /// The artifact was quarantined (`true`) or released from quarantine (`false`).
    Quarantine { artifact: String, quarantined: bool },
}

/// A vulnerability a document reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub aliases: Vec<String>,
    pub severity: Severity,
    /// The package (a purl with its version) a scanner found it in, if it says.
    pub package: Option<String>,
    /// Empty: found in the artifact the document is about (a scanner's finding). Otherwise an
    /// advisory: the affected versions of each package (purl without version), wherever they are.
    pub affected: Vec<(String, VersionRange)>,
}

/// A VEX statement: whether `products` are affected by `vulnerability` (also known as
/// `aliases`). `waives` for `not_affected` and `false_positive`; the newest statement about a
/// product and a vulnerability decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexFact {
    pub vulnerability: String,
    pub aliases: Vec<String>,
    pub products: Vec<VexProduct>,
    pub waives: bool,
}

/// A product a VEX statement is about: the names it goes by (purls, `sha256:<hex>` digests),
/// and the subcomponents (purls with versions) the statement is limited to — none: the whole
/// product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexProduct {
    pub names: Vec<String>,
    pub subcomponents: Vec<String>,
}
