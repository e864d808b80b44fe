//! What a policy may ask for, as types: the `actions` a decision lists are read into an
//! [`Action`] before anything is done, and what was done is an [`Outcome`]. The ids of what
//! actions record are made in one place ([`ActionId`]), because an invariant depends on them:
//! a repetition after a crash must be a duplicate, never a second entry.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An action a policy asked for (`{"kind": "...", ...}` in its `actions` rule).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Action {
    /// Append an event of the policy's own.
    Emit {
        #[serde(rename = "type")]
        ty: String,
        subject: String,
        #[serde(default)]
        content: Value,
    },
    /// Mark an artifact quarantined (the triggering event's first artifact unless named).
    Quarantine {
        #[serde(default)]
        artifact: Option<String>,
        #[serde(default)]
        reason: Value,
    },
    /// Lift a quarantine.
    Release {
        #[serde(default)]
        artifact: Option<String>,
        #[serde(default)]
        reason: Value,
    },
    /// Run a tool the operator configured.
    Run {
        tool: String,
        #[serde(default)]
        args: Vec<String>,
    },
    /// Call a webhook.
    Webhook {
        url: String,
        #[serde(default = "post")]
        method: String,
        /// The body (`null` included); without one, the decision and its trigger.
        #[serde(default, deserialize_with = "present")]
        body: Option<Value>,
        #[serde(default)]
        format: BodyFormat,
        /// Header values; `secret:NAME` is resolved when the action runs.
        #[serde(default)]
        headers: BTreeMap<String, String>,
        /// The name of the secret that signs the body (HMAC-SHA256).
        #[serde(default)]
        hmac: Option<String>,
    },
    /// Evaluate this policy on this trigger again after a while (`30s`, `15m`, `2h`, `1d`).
    Recheck { after: String },
}

/// A field that is present, whatever its value (`null` too): absent is `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn post() -> String {
    "POST".to_owned()
}

/// How a webhook's body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    #[default]
    Json,
    /// A CloudEvent in structured mode.
    Cloudevents,
}

/// Why an action could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// `kind` is missing or not one Dossier knows.
    UnknownKind(Option<String>),
    /// The kind is known; its fields are not right.
    Invalid { kind: String, reason: String },
}

impl Action {
    /// Every kind, as policies name them.
    pub const KINDS: [&'static str; 6] = ["emit", "quarantine", "release", "run", "webhook", "recheck"];

    /// Reads an action as a policy wrote it.
    pub fn read(value: &Value) -> Result<Action, Unreadable> {
        let kind = value.get("kind").and_then(Value::as_str);
        match kind {
            Some(k) if Action::KINDS.contains(&k) => {
                serde_json::from_value(value.clone()).map_err(|e| Unreadable::Invalid { kind: k.to_owned(), reason: e.to_string() })
            }
            other => Err(Unreadable::UnknownKind(other.map(str::to_owned))),
        }
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreadable::UnknownKind(None) => write!(f, "an action needs a \"kind\": one of {}", Action::KINDS.join(", ")),
            Unreadable::UnknownKind(Some(k)) => {
                write!(f, "action kind {k:?} is not available yet; the kinds are {}", Action::KINDS.join(", "))
            }
            Unreadable::Invalid { kind, reason } => write!(f, "a {kind} action: {reason}"),
        }
    }
}

/// A reference to an entry an action appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryRef {
    pub source: String,
    pub id: String,
    pub seq: u64,
}

/// A reference to a run's `queued` entry (appended with the decision, so without its seq yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRef {
    pub source: String,
    pub id: String,
}

/// What came of an action, as its decision records it (`{"status": ..., ...}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    /// The policy is in audit mode: nothing was done.
    Skipped {
        reason: String,
    },
    /// The event was appended (or was already: a repetition).
    Done {
        event: EntryRef,
    },
    /// The run was queued for the action workers.
    Queued {
        run: RunRef,
    },
    /// The recheck's timer was set.
    Scheduled {
        due: String,
        timer: EntryRef,
    },
    Failed {
        reason: String,
    },
    /// A kind this version does not run.
    Unsupported {
        reason: String,
    },
}

impl Outcome {
    pub fn failed(reason: impl Into<String>) -> Outcome {
        Outcome::Failed { reason: reason.into() }
    }
}

/// The id of the `n`th action of `policy`'s decision about entry `key` (the trigger, or the
/// timer for a recheck): the id of what it appends, the run's idempotency key, the timer's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActionId(String);

impl ActionId {
    pub fn new(key: u64, policy: &str, n: usize) -> ActionId {
        ActionId(format!("action-{key}-{policy}-{n}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `30s`, `15m`, `2h`, `1d` in nanoseconds.
pub fn parse_after(s: &str) -> Option<i64> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    secs.checked_mul(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions_are_read_by_kind_with_their_defaults() {
        assert_eq!(Action::read(&json!({"kind": "run", "tool": "syft"})), Ok(Action::Run { tool: "syft".into(), args: vec![] }));
        let Ok(Action::Webhook { method, format, body, .. }) = Action::read(&json!({"kind": "webhook", "url": "https://h/x"})) else {
            panic!("a webhook")
        };
        assert_eq!((method.as_str(), format, body), ("POST", BodyFormat::Json, None));
        assert_eq!(Action::read(&json!({"kind": "recheck", "after": "15m"})), Ok(Action::Recheck { after: "15m".into() }));
        let Ok(Action::Webhook { body, .. }) = Action::read(&json!({"kind": "webhook", "url": "https://h/x", "body": null})) else {
            panic!("a webhook")
        };
        assert_eq!(body, Some(Value::Null), "a null body is sent as null");
    }

    #[test]
    fn an_action_that_does_not_read_says_why() {
        assert_eq!(
            Action::read(&json!({"tool": "x"})).unwrap_err().to_string(),
            "an action needs a \"kind\": one of emit, quarantine, release, run, webhook, recheck"
        );
        assert_eq!(
            Action::read(&json!({"kind": "page"})).unwrap_err().to_string(),
            "action kind \"page\" is not available yet; the kinds are emit, quarantine, release, run, webhook, recheck"
        );
        assert_eq!(Action::read(&json!({"kind": "emit", "subject": "s"})).unwrap_err().to_string(), "a emit action: missing field `type`");
    }

    #[test]
    fn outcomes_are_recorded_with_their_status() {
        assert_eq!(serde_json::to_value(Outcome::failed("no")).unwrap(), json!({"status": "failed", "reason": "no"}));
        let done = Outcome::Done { event: EntryRef { source: "/s".into(), id: "i".into(), seq: 4 } };
        assert_eq!(serde_json::to_value(done).unwrap(), json!({"status": "done", "event": {"source": "/s", "id": "i", "seq": 4}}));
    }

    #[test]
    fn after_reads_seconds_minutes_hours_days() {
        assert_eq!(parse_after("30s"), Some(30_000_000_000));
        assert_eq!(parse_after("2h"), Some(7_200_000_000_000));
        assert_eq!((parse_after("15"), parse_after("m"), parse_after("1w")), (None, None, None));
    }
}
