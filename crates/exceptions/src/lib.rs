//! Central exception management, as pure functions over the evidence log.
//!
//! An exception waives findings or policy rules within a scope (vulnerabilities, artifacts by
//! purl or glob, environments, policies) until a mandatory expiry. Its life is four kinds of
//! log entries under Dossier's own types — `dev.cdeventsx.dossier-exception.requested`,
//! `.approved`, `.revoked` and `.expired` — folded into a [`Book`]. Whether an exception is in
//! force is always asked *at a moment* ([`Book::active`]), so the gate, a replay of history and
//! a query about the past give the same answer for the same moment.
//!
//! [`Rules`] are the operator's: whether approval is required, whether the approver must be
//! someone other than the requester, the longest an exception may last.

use std::collections::BTreeMap;

use dossier_core::event::{format_timestamp, parse_timestamp};
use dossier_core::glob_match;
use serde::{Deserialize, Serialize};
use serde_json::Value;

// The entry types are `dossier_core::own::OwnType::Exception*`, defined once there.
use dossier_core::own::Family;

const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// What an exception waives. Every list that is not empty must match; `artifacts` are purls
/// or globs (`pkg:oci/shop@*`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default)]
    pub vulnerabilities: Vec<String>,
    #[serde(default)]
    pub artifacts: Vec<String>,
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub policies: Vec<String>,
}

/// A request for an exception, as sent to the API (and recorded in its `requested` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Chosen by the requester (letters, digits, `.`, `_`, `-`), or given by Dossier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub scope: Scope,
    pub reason: String,
    pub requester: String,
    /// RFC 3339.
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The document that justifies it (a VEX statement's document digest), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

/// The operator's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rules {
    pub approval_required: bool,
    pub distinct_approver: bool,
    pub max_days: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { approval_required: true, distinct_approver: true, max_days: 90 }
    }
}

/// A refused request, approval or revocation: which field, why, what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExceptionError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("no exception {0:?}")]
    Unknown(String),
    #[error("exception {id:?} is {state}: {message}")]
    WrongState { id: String, state: State, message: String },
}

fn invalid(field: &'static str, message: impl Into<String>) -> ExceptionError {
    ExceptionError::Invalid { field, message: message.into() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for approval.
    Requested,
    Active,
    Revoked,
    Expired,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Requested => "requested",
            State::Active => "active",
            State::Revoked => "revoked",
            State::Expired => "expired",
        })
    }
}

/// Who did something, when, and the log entry that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Act {
    pub by: String,
    pub at: String,
    #[serde(skip)]
    pub at_nanos: i64,
    pub seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An exception as the log tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exception {
    pub id: String,
    #[serde(flatten)]
    pub scope: Scope,
    pub reason: String,
    pub requested: Act,
    pub expires: String,
    #[serde(skip)]
    pub expires_nanos: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved: Option<Act>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Act>,
    /// The entry announcing its expiry, once written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_announced: Option<u64>,
}

impl Exception {
    /// Its state at `at` (nanoseconds since the epoch): what it was then, by the acts made
    /// by then.
    pub fn state(&self, at: i64, rules: &Rules) -> State {
        if self.revoked.as_ref().is_some_and(|r| r.at_nanos <= at) {
            State::Revoked
        } else if at >= self.expires_nanos {
            State::Expired
        } else if rules.approval_required && self.approved.as_ref().is_none_or(|a| a.at_nanos > at) {
            State::Requested
        } else {
            State::Active
        }
    }

    /// It as it stood at `at`: `None` before its request, and without the acts made later.
    pub fn as_of(&self, at: i64) -> Option<Exception> {
        if self.requested.at_nanos > at {
            return None;
        }
        let mut then = self.clone();
        then.approved = then.approved.filter(|a| a.at_nanos <= at);
        then.revoked = then.revoked.filter(|r| r.at_nanos <= at);
        then.expiry_announced = then.expiry_announced.filter(|_| at >= then.expires_nanos);
        Some(then)
    }

    /// Whether it covers the given subject; `None` means "any" for that dimension of the
    /// question, and an empty list in the scope means "any" for that dimension of the scope.
    pub fn covers(&self, artifact: Option<&str>, vulnerability: Option<&str>, environment: Option<&str>, policy: Option<&str>) -> bool {
        fn fits(list: &[String], value: Option<&str>, glob: bool) -> bool {
            match value {
                None => true,
                Some(v) => list.is_empty() || list.iter().any(|p| if glob { glob_match(p, v) } else { p == v }),
            }
        }
        fits(&self.scope.artifacts, artifact, true)
            && fits(&self.scope.vulnerabilities, vulnerability, false)
            && fits(&self.scope.environments, environment, false)
            && fits(&self.scope.policies, policy, false)
    }
}

fn check_id(id: &str) -> Result<(), ExceptionError> {
    let ok = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid("id", format!("{id:?} is not an id: use 1 to 128 letters, digits, '.', '_' or '-'")))
    }
}

/// Whether `text` is an absolute `http` or `https` URL with a host: the only links a ticket may
/// be (a `javascript:` or `data:` one would run in whoever clicks it on the dashboard).
pub fn is_web_link(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

impl Rules {
    /// Checks a request made at `now`; returns its expiry in nanoseconds.
    pub fn check_request(&self, r: &Request, now: i64) -> Result<i64, ExceptionError> {
        if let Some(id) = &r.id {
            check_id(id)?;
        }
        if r.scope.vulnerabilities.is_empty() && r.scope.policies.is_empty() {
            return Err(invalid("vulnerabilities", "an exception names the vulnerabilities and/or the policies it waives"));
        }
        if r.scope.artifacts.is_empty() {
            return Err(invalid(
                "artifacts",
                "an exception names the artifacts it covers: purls, or globs such as \"pkg:oci/shop@*\" (\"*\" for all)",
            ));
        }
        for (field, list) in [
            ("vulnerabilities", &r.scope.vulnerabilities),
            ("artifacts", &r.scope.artifacts),
            ("environments", &r.scope.environments),
            ("policies", &r.scope.policies),
        ] {
            if list.iter().any(|x| x.trim().is_empty()) {
                return Err(invalid(field, "entries must not be empty"));
            }
        }
        if r.reason.trim().is_empty() {
            return Err(invalid("reason", "say why the exception is needed"));
        }
        if r.requester.trim().is_empty() {
            return Err(invalid("requester", "name who asks for the exception"));
        }
        if let Some(ticket) = &r.ticket {
            if !is_web_link(ticket) {
                return Err(invalid(
                    "ticket",
                    format!("{ticket:?} is not an http(s) URL; give the ticket's web address, e.g. https://tracker.example.com/SEC-42"),
                ));
            }
        }
        let expires = parse_timestamp(&r.expires)
            .ok_or_else(|| invalid("expires", format!("{:?} is not an RFC 3339 date-time, e.g. 2026-12-31T00:00:00Z", r.expires)))?;
        if expires <= now {
            return Err(invalid("expires", format!("{} is not in the future", r.expires)));
        }
        let latest = now.saturating_add(i64::from(self.max_days) * NANOS_PER_DAY);
        if expires > latest {
            return Err(invalid(
                "expires",
                format!("{} is more than {} days away; the latest accepted now is {}", r.expires, self.max_days, format_timestamp(latest)),
            ));
        }
        Ok(expires)
    }
}

/// Every exception the log knows, by id.
#[derive(Debug, Clone, Default)]
pub struct Book {
    exceptions: BTreeMap<String, Exception>,
}

/// The `subject.content` of an exception entry, by kind.
#[derive(Deserialize)]
struct Approval {
    approver: String,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Deserialize)]
struct Revocation {
    by: String,
    reason: String,
}

impl Book {
    pub fn new() -> Book {
        Book::default()
    }

    /// Folds in an exception entry (`seq`, its type, subject id, content, and timestamp in
    /// nanoseconds). Entries were validated when appended; one that does not fit is skipped.
    pub fn apply(&mut self, seq: u64, event_type: &str, subject: &str, content: &Value, at: i64) {
        let act = |by: String, comment: Option<String>| Act { by, at: format_timestamp(at), at_nanos: at, seq, comment };
        // `dev.cdeventsx.dossier-exception.<kind>.<version>`
        let kind = event_type.strip_prefix(Family::Exception.prefix()).and_then(|rest| rest.split('.').next()).unwrap_or_default();
        if kind == "requested" {
            let Ok(r) = serde_json::from_value::<Request>(content.clone()) else { return };
            let Some(expires_nanos) = parse_timestamp(&r.expires) else { return };
            self.exceptions.entry(subject.to_owned()).or_insert(Exception {
                id: subject.to_owned(),
                scope: r.scope,
                reason: r.reason,
                requested: act(r.requester, None),
                expires: r.expires,
                expires_nanos,
                ticket: r.ticket,
                justification: r.justification,
                approved: None,
                revoked: None,
                expiry_announced: None,
            });
        } else if let Some(e) = self.exceptions.get_mut(subject) {
            if kind == "approved" {
                if let Ok(a) = serde_json::from_value::<Approval>(content.clone()) {
                    e.approved.get_or_insert(act(a.approver, a.comment));
                }
            } else if kind == "revoked" {
                if let Ok(r) = serde_json::from_value::<Revocation>(content.clone()) {
                    e.revoked.get_or_insert(act(r.by, Some(r.reason)));
                }
            } else if kind == "expired" {
                e.expiry_announced.get_or_insert(seq);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&Exception> {
        self.exceptions.get(id)
    }

    pub fn all(&self) -> impl Iterator<Item = &Exception> {
        self.exceptions.values()
    }

    /// The exceptions in force at `at`.
    pub fn active<'a>(&'a self, at: i64, rules: &'a Rules) -> impl Iterator<Item = &'a Exception> + 'a {
        self.exceptions.values().filter(move |e| e.requested.at_nanos <= at && e.state(at, rules) == State::Active)
    }

    /// Checks that `approver` may approve `id` at `now`.
    pub fn check_approval(&self, id: &str, approver: &str, now: i64, rules: &Rules) -> Result<&Exception, ExceptionError> {
        let e = self.exceptions.get(id).ok_or_else(|| ExceptionError::Unknown(id.to_owned()))?;
        if approver.trim().is_empty() {
            return Err(invalid("approver", "name who approves the exception"));
        }
        let state = e.state(now, &Rules { approval_required: true, ..rules.clone() });
        if state != State::Requested {
            let message = if e.approved.is_some() { "it was approved already" } else { "only a requested exception can be approved" };
            return Err(ExceptionError::WrongState { id: id.to_owned(), state, message: message.into() });
        }
        if rules.distinct_approver && approver == e.requested.by {
            return Err(invalid("approver", format!("{approver:?} requested this exception; another person must approve it")));
        }
        Ok(e)
    }

    /// Checks that `id` may be revoked at `now`.
    pub fn check_revocation(&self, id: &str, by: &str, reason: &str, now: i64, rules: &Rules) -> Result<&Exception, ExceptionError> {
        let e = self.exceptions.get(id).ok_or_else(|| ExceptionError::Unknown(id.to_owned()))?;
        if by.trim().is_empty() {
            return Err(invalid("by", "name who revokes the exception"));
        }
        if reason.trim().is_empty() {
            return Err(invalid("reason", "say why the exception is revoked"));
        }
        match e.state(now, rules) {
            s @ (State::Revoked | State::Expired) => {
                Err(ExceptionError::WrongState { id: id.to_owned(), state: s, message: "there is nothing left to revoke".into() })
            }
            _ => Ok(e),
        }
    }

    /// Exceptions past their expiry at `now` whose expiry was not announced yet, and that had
    /// been in force (approved, or approval not required, and not revoked).
    pub fn due(&self, now: i64, rules: &Rules) -> Vec<&Exception> {
        self.exceptions
            .values()
            .filter(|e| e.expiry_announced.is_none() && e.expires_nanos <= now)
            .filter(|e| e.state(e.expires_nanos - 1, rules) == State::Active)
            .collect()
    }
}

#[cfg(test)]
mod tests;
