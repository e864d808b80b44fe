//! in-toto statements (v0.1 and v1): subjects and predicate type, and the builder of SLSA
//! provenance.

use std::collections::BTreeMap;

use serde::Deserialize;

pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub predicate_type: String,
    pub subjects: Vec<Subject>,
    /// The builder of SLSA provenance (v0.2 `builder.id`, v1 `runDetails.builder.id`).
    pub builder: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Subject {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatementJson {
    #[serde(rename = "_type")]
    kind: String,
    #[serde(default)]
    subject: Vec<Subject>,
    predicate_type: String,
    #[serde(default)]
    predicate: Option<PredicateJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PredicateJson {
    builder: Option<BuilderJson>,
    run_details: Option<RunDetailsJson>,
}

#[derive(Deserialize)]
struct RunDetailsJson {
    builder: Option<BuilderJson>,
}

#[derive(Deserialize)]
struct BuilderJson {
    id: Option<String>,
}

impl Statement {
    pub fn from_json(payload: &[u8]) -> Result<Statement, String> {
        let s: StatementJson = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        if !s.kind.starts_with("https://in-toto.io/Statement/") {
            return Err(format!("_type {:?} is not an in-toto statement", s.kind));
        }
        if s.subject.is_empty() {
            return Err("a statement without subject".into());
        }
        let builder = s.predicate.and_then(|p| p.run_details.and_then(|r| r.builder).or(p.builder)).and_then(|b| b.id);
        Ok(Statement { predicate_type: s.predicate_type, subjects: s.subject, builder })
    }

    /// Whether a subject has this SHA-256 digest (hex, compared case-insensitively).
    pub fn has_subject_sha256(&self, digest: &[u8; 32]) -> bool {
        let hex = hex::encode(digest);
        self.subjects.iter().any(|s| s.digest.get("sha256").is_some_and(|d| d.eq_ignore_ascii_case(&hex)))
    }
}
