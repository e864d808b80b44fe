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
pub mod jcs;
mod version;

pub use event::{Event, EventKey, EventType, ParseError};
pub use facts::{Fact, Severity};
pub use version::{split_purl_version, VersionRange};
