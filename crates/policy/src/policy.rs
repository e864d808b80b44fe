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

/// What an evaluation error (a runtime error, the time limit) means for an enforce policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// The policy denies: a gate fails closed. The default.
    #[default]
    Deny,
    /// The error is recorded and the policy denies nothing (fail open, chosen knowingly).
    Allow,
}

impl OnError {
    pub fn parse(s: &str) -> Option<OnError> {
        match s {
            "deny" => Some(OnError::Deny),
            "allow" => Some(OnError::Allow),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OnError::Deny => "deny",
            OnError::Allow => "allow",
        }
    }
}

/// A loaded policy.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    /// The file name (without `.rego`) of the module that declares its `triggers`.
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
    /// What an evaluation error means in enforce mode (`on_error := "deny"`, else the set's
    /// default).
    pub on_error: OnError,
    /// Its own `on_error`, if it declares one.
    #[serde(skip)]
    pub on_error_declared: Option<OnError>,
    /// The files of its package (one, or several when the package is split).
    pub files: Vec<String>,
    /// Its source: the module, or each module of the package after a `# file: NAME` line.
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
