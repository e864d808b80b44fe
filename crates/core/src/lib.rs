//! Dossier's domain types.
//!
//! This crate knows nothing about HTTP, storage or the log. It turns the bytes of a
//! CDEvent that a validator has accepted into an [`Event`]: the fields Dossier indexes
//! (its key, type, subject, chain, time and the artifacts it names) plus the exact bytes
//! as received and their RFC 8785 canonical form, which is what the evidence log hashes, and
//! the lineage [`Fact`]s the event states under Dossier's [`conventions`].

pub mod conventions;
pub mod event;
mod facts;
pub mod image;
pub mod jcs;
pub mod own;
pub mod purl;
mod version;

pub use event::{Event, EventKey, EventType, ParseError};

/// Whether `s` matches any of `patterns` (see [`glob_match`]).
pub fn glob_match_any(patterns: &[String], s: &str) -> bool {
    patterns.iter().any(|p| glob_match(p, s))
}

/// Whether `s` matches `pattern`, where `*` matches any run of characters (event type globs
/// such as `dev.cdevents.artifact.*`).
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = s.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}
pub use facts::{Fact, Found, Severity, VexFact, VexProduct};
pub use purl::{artifact_name, Purl, PurlError};
pub use version::{split_purl_version, Scheme, VersionRange};
