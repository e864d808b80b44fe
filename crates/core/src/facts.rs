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
    Vulnerability {
        id: String,
        severity: Severity,
        commits: Vec<(String, String)>,
        artifacts: Vec<String>,
        packages: Vec<(String, VersionRange)>,
    },
    /// The vulnerability was withdrawn or fixed: it affects nothing any more.
    VulnerabilityGone { id: String },
    /// The artifact was deleted from its registry; what runs it still runs it.
    ArtifactDeleted { artifact: String },
    /// The artifact was quarantined (`true`) or released from quarantine (`false`).
    Quarantine { artifact: String, quarantined: bool },
}
