//! Which rules apply to an event: its spec version and type select them.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::schema::{Schema, Violation};

/// The spec versions Dossier validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecVersion {
    /// 0.3.x: validated with the 0.4 rules for event types whose version 0.4 kept, and for the
    /// envelope and subject shape otherwise (no official 0.3 schemas are bundled).
    V0_3,
    V0_4,
    V0_5,
}

impl SpecVersion {
    fn of(version: &str) -> Option<SpecVersion> {
        let mut parts = version.splitn(3, '.');
        match (parts.next(), parts.next()) {
            (Some("0"), Some("3")) => Some(SpecVersion::V0_3),
            (Some("0"), Some("4")) => Some(SpecVersion::V0_4),
            (Some("0"), Some("5")) => Some(SpecVersion::V0_5),
            _ => None,
        }
    }
}

/// Why an event was refused: every rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `context.id`, when the event has a readable one.
    pub event_id: Option<String>,
    pub violations: Vec<Violation>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.event_id {
            Some(id) => write!(f, "event {id:?} is invalid: ")?,
            None => write!(f, "event is invalid: ")?,
        }
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejection {}

/// The compiled rules of one spec version.
struct Rules {
    /// The whole-document schema of each event type.
    types: HashMap<String, Arc<Schema>>,
    /// Unversioned type (`dev.cdevents.artifact.packaged`) to its versioned name here.
    by_name: HashMap<String, String>,
    custom: Arc<Schema>,
    /// For 0.3 events of a type version these rules lack: envelope and generic subject.
    generic: Arc<Schema>,
}

fn compile_rules(text: &str) -> Rules {
    // The rules are generated and embedded at build time; a failure here is a build defect
    // that the crate's tests catch, never a consequence of input.
    let rules: Value = serde_json::from_str(text).expect("embedded rules are JSON");
    let links = rules["links"].as_object().expect("rules have links").clone();
    let envelope = rules["envelope"].as_object().expect("rules have an envelope");
    let contexts = rules["contexts"].as_array().expect("rules have contexts");
    let whole = |context: &Value, subject: &Value| -> Arc<Schema> {
        let mut doc: Map<String, Value> = envelope.clone();
        let props = doc.get_mut("properties").and_then(Value::as_object_mut).expect("envelope has properties");
        props.insert("context".into(), context.clone());
        props.insert("subject".into(), subject.clone());
        Arc::new(Schema::compile(&Value::Object(doc), &links).expect("embedded rules compile"))
    };
    let mut types = HashMap::new();
    let mut by_name = HashMap::new();
    for (name, t) in rules["types"].as_object().expect("rules have types") {
        let context = &contexts[t["context"].as_u64().expect("context index") as usize];
        types.insert(name.clone(), whole(context, &t["subject"]));
        by_name.insert(dossier_core::EventType::new(name.as_str()).unversioned().to_owned(), name.clone());
    }
    let custom = whole(&rules["custom"]["context"], &rules["custom"]["subject"]);
    // Spec 0.3's subject: an id, a type naming the subject kind, and its content.
    let generic_subject = serde_json::json!({
        "type": "object", "additionalProperties": false, "required": ["id", "type", "content"],
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "source": {"type": "string", "minLength": 1, "format": "uri-reference"},
            "type": {"type": "string", "minLength": 1},
            "content": {"type": "object"}
        }
    });
    let generic = whole(&contexts[0], &generic_subject);
    Rules { types, by_name, custom, generic }
}

fn rules(v: SpecVersion) -> &'static Rules {
    static V04: OnceLock<Rules> = OnceLock::new();
    static V05: OnceLock<Rules> = OnceLock::new();
    match v {
        SpecVersion::V0_3 | SpecVersion::V0_4 => V04.get_or_init(|| compile_rules(include_str!("../rules/v0.4.json"))),
        SpecVersion::V0_5 => V05.get_or_init(|| compile_rules(include_str!("../rules/v0.5.json"))),
    }
}

/// Validates a CDEvent document and returns its spec version, or every rule it breaks.
pub fn validate(doc: &Value) -> Result<SpecVersion, Rejection> {
    let event_id = doc.pointer("/context/id").and_then(Value::as_str).map(str::to_owned);
    let reject = |violations: Vec<Violation>| Rejection { event_id: event_id.clone(), violations };
    let Some(obj) = doc.as_object() else {
        return Err(reject(vec![Violation::new("", "type", "a CDEvent must be a JSON object with context and subject")]));
    };
    let Some(context) = obj.get("context").and_then(Value::as_object) else {
        return Err(reject(vec![Violation::new("/context", "required", "a CDEvent needs a context object")]));
    };
    // 0.3 and 0.4 call the version field `version`; 0.5 calls it `specversion`.
    let (field, version) = match (context.get("specversion"), context.get("version")) {
        (Some(v), _) => ("/context/specversion", v),
        (None, Some(v)) => ("/context/version", v),
        (None, None) => {
            return Err(reject(vec![Violation::new(
                "/context",
                "required",
                "required field \"specversion\" (spec 0.5) or \"version\" (spec 0.3, 0.4) is missing",
            )]))
        }
    };
    // The field's name decides the rules' generation: drafts of 0.5 still used `version`.
    let spec = match (field, version.as_str().and_then(SpecVersion::of)) {
        ("/context/specversion", Some(SpecVersion::V0_5)) => SpecVersion::V0_5,
        ("/context/version", Some(SpecVersion::V0_5)) => SpecVersion::V0_4,
        ("/context/version", Some(v)) => v,
        _ => {
            return Err(reject(vec![Violation::new(
                field,
                "enum",
                format!("spec version {version} is not supported here; Dossier accepts context.specversion 0.5.x, and context.version 0.3.x or 0.4.x"),
            )]))
        }
    };
    let Some(event_type) = context.get("type").and_then(Value::as_str) else {
        return Err(reject(vec![Violation::new("/context/type", "required", "a CDEvent needs a string context.type")]));
    };
    let r = rules(spec);
    let schema = if event_type.starts_with("dev.cdeventsx.") {
        &r.custom
    } else if let Some(s) = r.types.get(event_type) {
        s
    } else {
        let unversioned = dossier_core::EventType::new(event_type).unversioned().to_owned();
        match (spec, r.by_name.get(&unversioned)) {
            (SpecVersion::V0_3, Some(_)) => &r.generic,
            (_, Some(known)) => {
                return Err(reject(vec![Violation::new(
                    "/context/type",
                    "enum",
                    format!("{event_type:?} is not an event type of spec {version}; this spec defines {known:?}"),
                )]))
            }
            (_, None) => {
                return Err(reject(vec![Violation::new(
                    "/context/type",
                    "enum",
                    format!("unknown event type {event_type:?}; expected a CDEvents type of spec {version} or a custom dev.cdeventsx.<tool>-<subject>.<predicate>.<major>.<minor>.<patch> type"),
                )]))
            }
        }
    };
    let mut violations = Vec::new();
    schema.validate(doc, &mut String::new(), &mut violations);
    if violations.is_empty() {
        Ok(spec)
    } else {
        Err(reject(violations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pipeline_started(extra: Value) -> Value {
        let mut e = json!({
            "context": {"specversion": "0.5.1", "id": "e1", "source": "/ci", "type": "dev.cdevents.pipelinerun.started.0.3.0",
                        "timestamp": "2024-01-01T00:00:00Z"},
            "subject": {"id": "run-1", "content": {"pipelineName": "build", "uri": "https://ci/run/1"}}
        });
        if let (Some(a), Some(b)) = (e.as_object_mut(), extra.as_object()) {
            a.extend(b.clone());
        }
        e
    }

    #[test]
    fn accepts_a_valid_event() {
        assert_eq!(validate(&pipeline_started(json!({}))), Ok(SpecVersion::V0_5));
    }

    #[test]
    fn names_the_event_the_field_and_the_rule() {
        let err =
            validate(&pipeline_started(json!({"subject": {"id": "run-1", "content": {"pipelineName": 7, "uri": "https://ci/run/1"}}})))
                .unwrap_err();
        assert_eq!(err.to_string(), "event \"e1\" is invalid: /subject/content/pipelineName: must be a string, not a number [type]");
    }

    #[test]
    fn refuses_an_unsupported_spec_version() {
        let mut e = pipeline_started(json!({}));
        e["context"]["specversion"] = json!("0.9.0");
        let err = validate(&e).unwrap_err();
        assert_eq!(err.violations[0].pointer, "/context/specversion");
        assert_eq!(
            err.violations[0].message,
            "spec version \"0.9.0\" is not supported here; Dossier accepts context.specversion 0.5.x, and context.version 0.3.x or 0.4.x"
        );
    }

    #[test]
    fn a_type_of_another_spec_version_names_the_right_one() {
        let mut e = pipeline_started(json!({}));
        e["context"]["type"] = json!("dev.cdevents.pipelinerun.started.0.1.1");
        let err = validate(&e).unwrap_err();
        assert_eq!(
            err.violations[0].message,
            "\"dev.cdevents.pipelinerun.started.0.1.1\" is not an event type of spec \"0.5.1\"; this spec defines \"dev.cdevents.pipelinerun.started.0.3.0\""
        );
    }

    #[test]
    fn accepts_a_spec_0_3_event_by_its_envelope() {
        let e = json!({
            "context": {"version": "0.3.0", "id": "e1", "source": "/ci", "type": "dev.cdevents.pipelinerun.started.0.1.1",
                        "timestamp": "2024-01-01T00:00:00Z"},
            "subject": {"id": "run-1", "source": "/ci", "type": "pipelineRun", "content": {"pipelineName": "build", "uri": "https://ci/run/1"}}
        });
        assert_eq!(validate(&e), Ok(SpecVersion::V0_3));
    }
}
