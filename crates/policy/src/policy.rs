//! One policy: its source, version and declared metadata.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How a policy's decisions count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Denials block (a gate says no) and actions run.
    Enforce,
    /// Evaluated and recorded, but denials do not block and actions do not run.
    Audit,
    /// Loaded, never evaluated.
    Disabled,
}

impl Mode {
    /// The mode as policies declare it (`mode := "enforce"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Audit => "audit",
            Mode::Disabled => "disabled",
        }
    }
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "enforce" => Some(Mode::Enforce),
            "audit" | "audit-only" => Some(Mode::Audit),
            "disabled" => Some(Mode::Disabled),
            _ => None,
        }
    }
}

/// A loaded policy.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    /// The module's file name without `.rego`.
    pub name: String,
    /// Its Rego package, e.g. `dossier.sbom_required`.
    pub package: String,
    /// SHA-256 of its source: the policy's version.
    pub version: String,
    /// Event type globs that trigger it.
    pub triggers: Vec<String>,
    pub mode: Mode,
    /// Action kinds it may ask for; others are refused.
    pub allowed_actions: Vec<String>,
    #[serde(skip)]
    pub source: String,
}

impl Policy {
    pub fn version_of(source: &str) -> String {
        hex::encode(Sha256::digest(source.as_bytes()))
    }

    /// Whether an event of this type triggers the policy.
    pub fn triggered_by(&self, event_type: &str) -> bool {
        self.mode != Mode::Disabled && dossier_core::glob_match_any(&self.triggers, event_type)
    }
}
