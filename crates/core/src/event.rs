//! A CDEvent as Dossier indexes it.

use serde_json::Value;
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::jcs;
use crate::purl::artifact_name;

/// The de-duplication key of an event: `(context.source, context.id)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    pub source: String,
    pub id: String,
}

impl fmt::Display for EventKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.source, self.id)
    }
}

/// A CDEvents type such as `dev.cdevents.artifact.packaged.0.3.0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventType(String);

impl EventType {
    pub fn new(s: impl Into<String>) -> Self {
        EventType(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The type without its version: `dev.cdevents.artifact.packaged`.
    pub fn unversioned(&self) -> &str {
        // The version is the last three dot-separated parts.
        let mut end = self.0.len();
        for _ in 0..3 {
            match self.0[..end].rfind('.') {
                Some(i) => end = i,
                None => return &self.0,
            }
        }
        &self.0[..end]
    }

    /// The subject kind: `artifact` in `dev.cdevents.artifact.packaged.0.3.0`.
    pub fn subject(&self) -> Option<&str> {
        self.unversioned().split('.').nth(2)
    }

    /// Custom events use the `dev.cdeventsx.` prefix.
    pub fn is_custom(&self) -> bool {
        self.0.starts_with("dev.cdeventsx.")
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated CDEvent, with the fields Dossier indexes and the bytes it keeps.
#[derive(Debug, Clone)]
pub struct Event {
    pub key: EventKey,
    pub event_type: EventType,
    pub spec_version: String,
    /// `context.timestamp` as sent.
    pub timestamp: String,
    /// `context.timestamp` in nanoseconds since the Unix epoch.
    pub time_unix_nanos: i64,
    pub subject_id: String,
    pub chain_id: Option<String>,
    /// Artifacts this event names: the subject of an `artifact` event and every `artifactId`
    /// in the subject's content, each as [`crate::artifact_name`] names it (a purl in canonical
    /// form), de-duplicated, in order of appearance. `raw` keeps the spelling received.
    pub artifacts: Vec<String>,
    /// The event exactly as received.
    pub raw: Vec<u8>,
    /// RFC 8785 canonical form of the event; the evidence log hashes this.
    pub canonical: String,
    /// The lineage facts the event states (see [`crate::conventions`]).
    pub facts: Vec<crate::Fact>,
    /// The principal whose credential sent it (none: Dossier's own act, or an entry from
    /// before authentication). Set by whoever authenticated the request, never read from the
    /// event; the log's leaf covers it.
    pub sender: Option<String>,
}

/// Why a JSON document could not be read as an event. The validator reports schema errors
/// in detail; this covers what indexing needs on top of it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("{pointer}: {reason}")]
    Field { pointer: String, reason: String },
}

/// Why a field Dossier indexes may not hold U+0000: PostgreSQL's text cannot, and one event's
/// NUL must not fail the commit it shares with other senders' events. Refused for every store.
const NO_NUL: &str = "must not contain the character U+0000 (NUL): Dossier indexes this field as text, which cannot hold it";

fn str_at<'a>(v: &'a Value, pointer: &'static str) -> Result<&'a str, ParseError> {
    match v.pointer(pointer) {
        Some(Value::String(s)) if s.contains('\0') => Err(ParseError::Field { pointer: pointer.into(), reason: NO_NUL.into() }),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ParseError::Field { pointer: pointer.into(), reason: "must be a string".into() }),
        None => Err(ParseError::Field { pointer: pointer.into(), reason: "is required".into() }),
    }
}

/// Formats nanoseconds since the Unix epoch as RFC 3339 in UTC.
pub fn format_timestamp(nanos: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(nanos as i128).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_else(|| nanos.to_string())
}

/// Parses an RFC 3339 timestamp into nanoseconds since the Unix epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos()).ok()
}

impl Event {
    /// Builds the indexed view of an event. `raw` must be the bytes `value` was parsed from.
    pub fn from_json(raw: Vec<u8>, value: &Value) -> Result<Event, ParseError> {
        // Spec 0.3 named the version field `version`; 0.4 renamed it `specversion`.
        let spec_version = match value.pointer("/context/specversion") {
            Some(_) => str_at(value, "/context/specversion")?,
            None => str_at(value, "/context/version")?,
        }
        .to_owned();
        let timestamp = str_at(value, "/context/timestamp")?.to_owned();
        let time_unix_nanos = parse_timestamp(&timestamp).ok_or_else(|| {
            let reason = if OffsetDateTime::parse(&timestamp, &Rfc3339).is_ok() {
                // A valid date-time that 64-bit nanoseconds since 1970 cannot hold.
                "is a valid date-time outside the range Dossier stores, 1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z"
            } else {
                "must be an RFC 3339 date-time"
            };
            ParseError::Field { pointer: "/context/timestamp".into(), reason: reason.into() }
        })?;
        let event_type = EventType::new(str_at(value, "/context/type")?);
        let subject_id = str_at(value, "/subject/id")?.to_owned();
        let chain_id = match value.pointer("/context/chainId") {
            Some(Value::String(s)) if s.contains('\0') => {
                return Err(ParseError::Field { pointer: "/context/chainId".into(), reason: NO_NUL.into() })
            }
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let mut artifacts = Vec::new();
        // `dev.cdevents.artifact.*`, and Dossier's own `dev.cdeventsx.dossier-artifact.*`.
        if event_type.subject() == Some("artifact") || crate::own::Family::Artifact.contains(event_type.as_str()) {
            artifacts.push(artifact_name(&subject_id).into_owned());
        }
        if let Some(content) = value.pointer("/subject/content") {
            collect_artifact_ids(content, &mut artifacts);
        }
        if artifacts.iter().any(|a| a.contains('\0')) {
            return Err(ParseError::Field { pointer: "/subject/content".into(), reason: format!("an artifactId {NO_NUL}") });
        }
        let facts = if crate::conventions::relevant(event_type.as_str()) {
            crate::conventions::facts(value).map_err(|e| ParseError::Field { pointer: e.pointer, reason: e.message })?
        } else {
            Vec::new()
        };
        Ok(Event {
            key: EventKey { source: str_at(value, "/context/source")?.to_owned(), id: str_at(value, "/context/id")?.to_owned() },
            event_type,
            spec_version,
            timestamp,
            time_unix_nanos,
            subject_id,
            chain_id,
            artifacts,
            raw,
            canonical: jcs::canonicalize(value),
            facts,
            sender: None,
        })
    }
}

fn collect_artifact_ids(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                match (k.as_str(), item) {
                    ("artifactId", Value::String(purl)) => {
                        let name = artifact_name(purl);
                        if !out.iter().any(|a| *a == name) {
                            out.push(name.into_owned());
                        }
                    }
                    _ => collect_artifact_ids(item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_artifact_ids(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(v: Value) -> Result<Event, ParseError> {
        Event::from_json(serde_json::to_vec(&v).unwrap(), &v)
    }

    #[test]
    fn a_nul_in_an_indexed_field_is_refused_naming_the_field() {
        let with = |pointer: &str| {
            let mut v = json!({
                "context": {"specversion": "0.5.1", "id": "1", "source": "/ci", "type": "dev.cdevents.service.deployed.0.3.0",
                            "timestamp": "2024-01-01T00:00:01Z", "chainId": "c1"},
                "subject": {"id": "svc", "content": {"artifactId": "pkg:oci/app@sha256:ab", "environment": {"id": "prod"}}}
            });
            let field = v.pointer_mut(pointer).unwrap();
            *field = Value::String(format!("{}\u{0}x", field.as_str().unwrap()));
            event(v).map(|_| ()).map_err(|ParseError::Field { pointer, reason }| (pointer, reason))
        };
        for pointer in ["/context/id", "/context/source", "/context/chainId", "/subject/id"] {
            let (at, reason) = with(pointer).unwrap_err();
            assert_eq!(at, pointer);
            assert!(reason.starts_with("must not contain the character U+0000"), "{reason}");
        }
        assert_eq!(with("/subject/content/artifactId"), Ok(()), "not a purl, so not indexed: kept in the raw bytes only");
        assert_eq!(with("/subject/content/environment/id"), Ok(()), "a field kept only in the raw bytes may hold it");
    }

    #[test]
    fn indexes_an_artifact_event_by_its_subject_purl() {
        let e = event(json!({
            "context": {"specversion": "0.4.1", "id": "1", "source": "/ci", "type": "dev.cdevents.artifact.packaged.0.2.0",
                        "timestamp": "2024-01-01T00:00:01Z", "chainId": "c1"},
            "subject": {"id": "pkg:oci/app@sha256%3Aabc", "content": {"change": {"id": "x"}}}
        }))
        .unwrap();
        assert_eq!(e.key, EventKey { source: "/ci".into(), id: "1".into() });
        assert_eq!(e.event_type.unversioned(), "dev.cdevents.artifact.packaged");
        assert_eq!(e.event_type.subject(), Some("artifact"));
        assert_eq!(e.time_unix_nanos, 1_704_067_201_000_000_000);
        assert_eq!(e.chain_id.as_deref(), Some("c1"));
        assert_eq!(e.artifacts, vec!["pkg:oci/app@sha256:abc".to_string()]);
        assert_eq!(e.subject_id, "pkg:oci/app@sha256%3Aabc", "the subject stays as received");
    }

    #[test]
    fn an_artifact_named_twice_in_two_spellings_is_indexed_once_in_canonical_form() {
        let raw = br#"{"context": {"specversion": "0.4.1", "id": "1", "source": "/cd", "type": "dev.cdevents.service.deployed.0.1.1", "timestamp": "2024-01-01T00:00:00Z"}, "subject": {"id": "svc", "content": {"artifactId": "pkg:oci/app@sha256%3Aab", "environment": {"id": "prod", "artifactId": "pkg:oci/App@sha256:AB"}}}}"#;
        let value: Value = serde_json::from_slice(raw).unwrap();
        let e = Event::from_json(raw.to_vec(), &value).unwrap();
        assert_eq!(e.artifacts, vec!["pkg:oci/app@sha256:ab".to_string()]);
        assert_eq!(e.raw, raw.to_vec(), "the bytes are kept as received");
    }

    #[test]
    fn collects_every_artifact_id_in_the_content() {
        let e = event(json!({
            "context": {"version": "0.3.0", "id": "1", "source": "/cd", "type": "dev.cdevents.service.deployed.0.1.1",
                        "timestamp": "2024-01-01T00:00:00+01:00"},
            "subject": {"id": "svc", "content": {"artifactId": "pkg:oci/a", "environment": {"id": "prod"}}}
        }))
        .unwrap();
        assert_eq!(e.spec_version, "0.3.0");
        assert_eq!(e.artifacts, vec!["pkg:oci/a".to_string()]);
    }

    #[test]
    fn rejects_an_unparseable_timestamp_naming_the_field() {
        let err = event(json!({
            "context": {"specversion": "0.4.1", "id": "1", "source": "/ci", "type": "t", "timestamp": "yesterday"},
            "subject": {"id": "s"}
        }))
        .unwrap_err();
        assert_eq!(err.to_string(), "/context/timestamp: must be an RFC 3339 date-time");
    }

    #[test]
    fn a_valid_timestamp_beyond_what_is_stored_is_refused_with_the_real_reason() {
        let err = event(json!({
            "context": {"specversion": "0.4.1", "id": "1", "source": "/ci", "type": "t", "timestamp": "9999-12-31T23:59:59Z"},
            "subject": {"id": "s"}
        }))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/context/timestamp: is a valid date-time outside the range Dossier stores, 1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z"
        );
        assert_eq!(parse_timestamp("2262-04-11T23:47:16Z"), Some(9_223_372_036_000_000_000));
        assert_eq!(parse_timestamp("2262-04-11T23:47:17Z"), None);
    }
}
