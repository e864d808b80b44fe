//! The five ways an event arrives, decoded into events or precise errors.

use std::collections::BTreeMap;

use dossier_cdevents::Violation;
use dossier_core::Event;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::depth::max_depth;

/// Request-level limits; the body size is enforced by the HTTP layer before decoding.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most events one request may carry.
    pub max_batch: usize,
    /// Deepest nesting of arrays and objects accepted.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_batch: 10_000, max_depth: 64 }
    }
}

/// The CloudEvents attributes of a binary-mode request (`ce-*` headers).
#[derive(Debug, Clone, Default)]
pub struct CeHeaders {
    pub specversion: Option<String>,
    pub id: Option<String>,
    pub source: Option<String>,
    pub ty: Option<String>,
}

/// Why a whole request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("Content-Type {0:?} is not accepted; send application/json (a CDEvent or an array of them), application/cloudevents+json, application/cloudevents-batch+json or application/x-ndjson")]
    UnsupportedMediaType(String),
    #[error("the body is not valid JSON: {0}")]
    Malformed(String),
    #[error("the body nests arrays and objects deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("the request carries {count} events; at most {max} are accepted in one request")]
    TooMany { count: usize, max: usize },
    #[error("the body is empty; send a CDEvent")]
    Empty,
    #[error(
        "the name {name:?} appears twice in one object at {pointer}; JSON objects with duplicate names are refused (the log's canonical form, RFC 8785, is defined over I-JSON, RFC 7493)"
    )]
    DuplicateName { pointer: String, name: String },
    #[error("{0}")]
    Envelope(String),
}

/// Why one event of a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// Position of the event in the request (line number - 1 for NDJSON).
    pub index: usize,
    pub event_id: Option<String>,
    pub violations: Vec<Violation>,
}

/// The events of a request, each decoded or refused, in order.
#[derive(Debug)]
pub struct Decoded {
    pub items: Vec<Result<Event, ItemError>>,
    /// Whether the request was a list (batch, array, NDJSON): the answer lists results.
    pub list: bool,
}

enum Mode {
    Binary,
    Structured,
    Batch,
    Plain,
    Ndjson,
}

fn mode(content_type: Option<&str>, ce: &CeHeaders) -> Result<Mode, BodyError> {
    let essence = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let json_like = |m: &str| m == "application/json" || m.ends_with("+json") || m == "text/json";
    match essence.as_deref() {
        Some("application/cloudevents+json") => Ok(Mode::Structured),
        Some("application/cloudevents-batch+json") => Ok(Mode::Batch),
        Some("application/x-ndjson" | "application/ndjson" | "application/jsonl" | "application/json-seq") => Ok(Mode::Ndjson),
        Some(m) if json_like(m) && ce.specversion.is_some() => Ok(Mode::Binary),
        Some(m) if json_like(m) => Ok(Mode::Plain),
        None if ce.specversion.is_some() => Ok(Mode::Binary),
        None => Ok(Mode::Plain),
        Some(other) => Err(BodyError::UnsupportedMediaType(other.to_owned())),
    }
}

fn malformed(e: serde_json::Error) -> BodyError {
    BodyError::Malformed(e.to_string())
}

/// Decodes a request body into events.
pub fn decode(content_type: Option<&str>, ce: &CeHeaders, body: &[u8], limits: &Limits) -> Result<Decoded, BodyError> {
    let mode = mode(content_type, ce)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::Empty);
    }
    if max_depth(body, limits.max_depth) > limits.max_depth {
        return Err(BodyError::TooDeep { max: limits.max_depth });
    }
    if let Some(d) = crate::keys::duplicate_name(body) {
        return Err(BodyError::DuplicateName { pointer: d.pointer, name: d.name });
    }
    let check_count = |count: usize| {
        if count > limits.max_batch {
            Err(BodyError::TooMany { count, max: limits.max_batch })
        } else {
            Ok(())
        }
    };
    match mode {
        Mode::Binary => {
            let value: Value = serde_json::from_slice(body).map_err(malformed)?;
            let mut item = event_from(0, body, &value);
            if let Ok(event) = &item {
                let mismatches = binary_mismatches(ce, event);
                if !mismatches.is_empty() {
                    item = Err(ItemError { index: 0, event_id: Some(event.key.id.clone()), violations: mismatches });
                }
            }
            Ok(Decoded { items: vec![item], list: false })
        }
        Mode::Structured => {
            let raw: &RawValue = serde_json::from_slice(body).map_err(malformed)?;
            let item = from_cloudevent(0, raw).map_err(|e| BodyError::Envelope(describe(&e)))?;
            Ok(Decoded { items: vec![item], list: false })
        }
        Mode::Batch => {
            let raws: Vec<&RawValue> =
                serde_json::from_slice(body).map_err(|e| BodyError::Malformed(format!("a batch is a JSON array of CloudEvents: {e}")))?;
            check_count(raws.len())?;
            let items = raws.iter().enumerate().map(|(i, raw)| from_cloudevent(i, raw).and_then(|r| r)).collect();
            Ok(Decoded { items, list: true })
        }
        Mode::Plain => {
            let raw: &RawValue = serde_json::from_slice(body).map_err(malformed)?;
            if raw.get().starts_with('[') {
                let raws: Vec<&RawValue> = serde_json::from_str(raw.get()).map_err(malformed)?;
                check_count(raws.len())?;
                let items = raws.iter().enumerate().map(|(i, raw)| event_from_text(i, raw.get())).collect();
                Ok(Decoded { items, list: true })
            } else {
                let value: Value = serde_json::from_str(raw.get()).map_err(malformed)?;
                Ok(Decoded { items: vec![event_from(0, body, &value)], list: false })
            }
        }
        Mode::Ndjson => {
            let text = std::str::from_utf8(body).map_err(|e| BodyError::Malformed(format!("not UTF-8: {e}")))?;
            let lines: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
            check_count(lines.len())?;
            let items = lines
                .into_iter()
                .map(|(n, line)| match serde_json::from_str::<Value>(line) {
                    Ok(v) => event_from(n, line.trim().as_bytes(), &v),
                    Err(e) => Err(ItemError {
                        index: n,
                        event_id: None,
                        violations: vec![Violation::new("", "json", format!("line {} is not valid JSON: {e}", n + 1))],
                    }),
                })
                .collect();
            Ok(Decoded { items, list: true })
        }
    }
}

fn describe(e: &ItemError) -> String {
    e.violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; ")
}

/// Parses and validates one CDEvent that is known to be well-formed JSON text.
fn event_from_text(index: usize, text: &str) -> Result<Event, ItemError> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => event_from(index, text.as_bytes(), &v),
        Err(e) => Err(ItemError { index, event_id: None, violations: vec![Violation::new("", "json", e.to_string())] }),
    }
}

/// Validates one CDEvent given as its raw bytes and parsed value.
fn event_from(index: usize, raw: &[u8], value: &Value) -> Result<Event, ItemError> {
    dossier_cdevents::validate(value).map_err(|r| ItemError { index, event_id: r.event_id, violations: r.violations })?;
    Event::from_json(raw.to_vec(), value).map_err(|e| {
        let dossier_core::ParseError::Field { pointer, reason } = e;
        ItemError {
            index,
            event_id: value.pointer("/context/id").and_then(Value::as_str).map(str::to_owned),
            violations: vec![Violation::new(pointer, "convention", reason)],
        }
    })
}

/// The CDEvents binding requires the CloudEvent's id, source and type to equal the CDEvent's.
fn binding_mismatches(ce_id: Option<&str>, ce_source: Option<&str>, ce_type: Option<&str>, event: &Event, at: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    for (attr, got, want) in [
        ("id", ce_id, event.key.id.as_str()),
        ("source", ce_source, event.key.source.as_str()),
        ("type", ce_type, event.event_type.as_str()),
    ] {
        match got {
            Some(g) if g == want => {}
            Some(g) => out.push(Violation::new(
                format!("/context/{attr}"),
                "binding",
                format!("{want:?} differs from the CloudEvent {attr} {g:?} ({at}{attr}); the CDEvents binding requires them to be equal"),
            )),
            None => out.push(Violation::new(
                format!("{}{attr}", if at.starts_with("header") { "" } else { "/" }),
                "required",
                format!("the CloudEvent {attr} ({at}{attr}) is missing"),
            )),
        }
    }
    out
}

fn binary_mismatches(ce: &CeHeaders, event: &Event) -> Vec<Violation> {
    let mut out = Vec::new();
    if ce.specversion.as_deref() != Some("1.0") {
        out.push(Violation::new("", "binding", format!("header ce-specversion is {:?}; CloudEvents 1.0 is supported", ce.specversion)));
    }
    out.extend(binding_mismatches(ce.id.as_deref(), ce.source.as_deref(), ce.ty.as_deref(), event, "header ce-"));
    out
}

/// Decodes one structured-mode CloudEvent. The outer error is a problem with the CloudEvent
/// envelope itself; the inner result is the CDEvent's.
fn from_cloudevent(index: usize, raw: &RawValue) -> Result<Result<Event, ItemError>, ItemError> {
    let fail = |rule: &'static str, pointer: &str, msg: String| ItemError {
        index,
        event_id: None,
        violations: vec![Violation::new(pointer, rule, msg)],
    };
    let attrs: BTreeMap<String, &RawValue> = serde_json::from_str(raw.get())
        .map_err(|_| fail("type", "", "a CloudEvent must be a JSON object with specversion, id, source, type and data".into()))?;
    let string = |name: &str| -> Option<String> { attrs.get(name).and_then(|r| serde_json::from_str::<String>(r.get()).ok()) };
    if string("specversion").as_deref() != Some("1.0") {
        return Err(fail("binding", "/specversion", "a CloudEvent needs specversion \"1.0\"".into()));
    }
    if attrs.contains_key("data_base64") {
        return Err(fail("binding", "/data_base64", "data_base64 is not accepted; put the CDEvent in data as JSON".into()));
    }
    let Some(data) = attrs.get("data") else {
        return Err(fail("required", "/data", "the CloudEvent has no data; it must carry the CDEvent".into()));
    };
    let value: Value = serde_json::from_str(data.get()).map_err(|e| fail("json", "/data", e.to_string()))?;
    Ok(event_from(index, data.get().as_bytes(), &value).and_then(|event| {
        let mismatches = binding_mismatches(string("id").as_deref(), string("source").as_deref(), string("type").as_deref(), &event, "");
        if mismatches.is_empty() {
            Ok(event)
        } else {
            Err(ItemError { index, event_id: Some(event.key.id.clone()), violations: mismatches })
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cdevent(id: &str) -> Value {
        json!({
            "context": {"specversion": "0.5.1", "id": id, "source": "/ci", "type": "dev.cdevents.pipelinerun.queued.0.3.0",
                        "timestamp": "2024-01-01T00:00:00Z"},
            "subject": {"id": "run-1", "content": {}}
        })
    }

    fn cloudevent(id: &str) -> Value {
        json!({"specversion": "1.0", "id": id, "source": "/ci", "type": "dev.cdevents.pipelinerun.queued.0.3.0", "data": cdevent(id)})
    }

    fn dec(ct: Option<&str>, ce: &CeHeaders, body: &[u8]) -> Result<Decoded, BodyError> {
        decode(ct, ce, body, &Limits::default())
    }

    #[test]
    fn plain_mode_keeps_the_body_exactly() {
        let body = b" {\"context\": {\"specversion\": \"0.5.1\", \"id\": \"a\", \"source\": \"/ci\", \"type\": \"dev.cdevents.pipelinerun.queued.0.3.0\", \"timestamp\": \"2024-01-01T00:00:00Z\"}, \"subject\": {\"id\": \"r\", \"content\": {}}}\n";
        let d = dec(Some("application/json"), &CeHeaders::default(), body).unwrap();
        assert_eq!(d.items[0].as_ref().unwrap().raw, body.to_vec());
        assert!(!d.list);
    }

    #[test]
    fn structured_mode_keeps_the_data_bytes() {
        let body = serde_json::to_vec(&cloudevent("a")).unwrap();
        let d = dec(Some("application/cloudevents+json; charset=utf-8"), &CeHeaders::default(), &body).unwrap();
        let e = d.items[0].as_ref().unwrap();
        assert_eq!(e.raw, serde_json::to_vec(&cdevent("a")).unwrap());
    }

    #[test]
    fn batch_mode_answers_per_event() {
        let mut bad = cloudevent("b");
        bad["data"]["subject"]["content"]["pipelineName"] = json!(1);
        let body = serde_json::to_vec(&json!([cloudevent("a"), bad, {"specversion": "1.0"}])).unwrap();
        let d = dec(Some("application/cloudevents-batch+json"), &CeHeaders::default(), &body).unwrap();
        assert!(d.list);
        assert!(d.items[0].is_ok());
        let e1 = d.items[1].as_ref().unwrap_err();
        assert_eq!((e1.index, e1.event_id.as_deref()), (1, Some("b")));
        assert_eq!(e1.violations[0].pointer, "/subject/content/pipelineName");
        assert_eq!(d.items[2].as_ref().unwrap_err().violations[0].pointer, "/data");
    }

    #[test]
    fn binary_mode_requires_headers_that_match_the_event() {
        let ce = CeHeaders {
            specversion: Some("1.0".into()),
            id: Some("other".into()),
            source: Some("/ci".into()),
            ty: Some("dev.cdevents.pipelinerun.queued.0.3.0".into()),
        };
        let d = dec(Some("application/json"), &ce, &serde_json::to_vec(&cdevent("a")).unwrap()).unwrap();
        let err = d.items[0].as_ref().unwrap_err();
        assert_eq!(err.violations.len(), 1);
        assert_eq!(err.violations[0].pointer, "/context/id");
        assert_eq!(
            err.violations[0].message,
            "\"a\" differs from the CloudEvent id \"other\" (header ce-id); the CDEvents binding requires them to be equal"
        );
    }

    #[test]
    fn ndjson_reports_bad_lines_by_number() {
        let body = format!("{}\n\nnot json\n{}\n", cdevent("a"), cdevent("b"));
        let d = dec(Some("application/x-ndjson"), &CeHeaders::default(), body.as_bytes()).unwrap();
        assert_eq!(d.items.len(), 3);
        let err = d.items[1].as_ref().unwrap_err();
        assert_eq!(err.index, 2);
        assert!(err.violations[0].message.starts_with("line 3 is not valid JSON"), "{}", err.violations[0].message);
        assert!(d.items[2].is_ok());
    }

    #[test]
    fn refuses_bad_requests_as_a_whole() {
        let none = CeHeaders::default();
        assert_eq!(
            dec(Some("application/x-www-form-urlencoded"), &none, b"{}").unwrap_err(),
            BodyError::UnsupportedMediaType("application/x-www-form-urlencoded".into())
        );
        assert_eq!(dec(None, &none, b"  ").unwrap_err(), BodyError::Empty);
        assert_eq!(dec(None, &none, &[b'['; 100]).unwrap_err(), BodyError::TooDeep { max: 64 });
        assert!(matches!(dec(None, &none, b"{\"context\": ").unwrap_err(), BodyError::Malformed(_)));
        assert!(matches!(dec(None, &none, b"\xff\xfe{}").unwrap_err(), BodyError::Malformed(_)));
        let many = serde_json::to_vec(&vec![cdevent("a"); 3]).unwrap();
        let limits = Limits { max_batch: 2, max_depth: 64 };
        assert_eq!(decode(None, &none, &many, &limits).unwrap_err(), BodyError::TooMany { count: 3, max: 2 });
    }
}
