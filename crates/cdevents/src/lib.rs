//! CDEvents validation.
//!
//! Dossier accepts the CDEvents specification versions 0.3, 0.4.x and 0.5.x, every event type
//! they define, and custom `dev.cdeventsx.*` events (validated for their envelope). The rules
//! are compiled from the official JSON schemas by `tools/gen-cdevents-rules.py` (see
//! `rules/`) and interpreted by a small JSON-schema engine ([`schema`]) that reports every
//! violation as a JSON pointer and the rule broken. Its verdicts are tested to equal the
//! official schemas' on every conformance file and on mutated copies of them.

mod format;
pub mod schema;
mod spec;

pub use schema::Violation;
pub use spec::{validate, Rejection, SpecVersion};
