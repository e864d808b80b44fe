//! Events of Dossier's own (policy versions and decisions, timers, documents received,
//! exceptions): built here, validated like any other event, appended to the same log.

use std::time::SystemTime;

use dossier_core::Event;
use serde_json::{json, Map, Value};

pub(crate) fn now_nanos() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

pub(crate) fn now_rfc3339() -> String {
    dossier_core::event::format_timestamp(now_nanos())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An event of Dossier's own, validated like any other.
pub(crate) fn own_event(id: String, source: &str, ty: &str, subject: &str, content: Value, chain: Option<&str>) -> Result<Event, String> {
    let mut context = json!({"specversion": "0.5.1", "id": id, "source": source, "type": ty, "timestamp": now_rfc3339()});
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
    dossier_cdevents::validate(&v).map_err(|r| r.to_string())?;
    Event::from_json(serde_json::to_vec(&v).map_err(|e| e.to_string())?, &v).map_err(|e| e.to_string())
}
