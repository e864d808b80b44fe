//! Entries of Dossier's own (policy versions and decisions, timers, action runs, documents
//! received, exceptions): built here, validated like any other event, appended to the same log.
//! Their types are `dossier_core::own::OwnType`.

use std::time::SystemTime;

use dossier_core::own::OwnType;
use dossier_core::Event;
use serde_json::{json, Map, Value};

pub fn now_nanos() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

pub fn now_rfc3339() -> String {
    dossier_core::event::format_timestamp(now_nanos())
}

pub fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

/// Why an entry of Dossier's own could not be built: a bug in Dossier, never the user's input.
#[derive(Debug, thiserror::Error)]
pub enum OwnEventError {
    #[error("{ty} {id:?} is not a valid event: {reason}")]
    Invalid { ty: String, id: String, reason: String },
}

/// An event of Dossier's own, validated like any other.
pub fn own_event(
    id: String,
    source: &str,
    ty: OwnType,
    subject: &str,
    content: Value,
    chain: Option<&str>,
) -> Result<Event, OwnEventError> {
    custom_event(id, source, ty.as_str(), subject, content, chain)
}

/// An event Dossier appends under a type a policy named (its `emit` action), validated like any
/// other: a type the spec does not allow is refused here.
pub fn custom_event(
    id: String,
    source: &str,
    ty: &str,
    subject: &str,
    content: Value,
    chain: Option<&str>,
) -> Result<Event, OwnEventError> {
    let invalid = |id: &str, reason: String| OwnEventError::Invalid { ty: ty.to_owned(), id: id.to_owned(), reason };
    let mut context = json!({"specversion": "0.5.1", "id": &id, "source": source, "type": ty, "timestamp": now_rfc3339()});
    if let Some(c) = chain {
        context["chainId"] = json!(c);
    }
    // Built by moving `content` in: `json!` would copy it, and a large SBOM's extract is big.
    let mut subject_fields = Map::new();
    subject_fields.insert("id".into(), Value::String(subject.to_owned()));
    subject_fields.insert("content".into(), content);
    let mut fields = Map::new();
    fields.insert("context".into(), context);
    fields.insert("subject".into(), Value::Object(subject_fields));
    let v = Value::Object(fields);
    dossier_cdevents::validate(&v).map_err(|r| invalid(&id, r.to_string()))?;
    let raw = serde_json::to_vec(&v).map_err(|e| invalid(&id, e.to_string()))?;
    Event::from_json(raw, &v).map_err(|e| invalid(&id, e.to_string()))
}
