//! From request bodies to validated events, with no HTTP in sight.
//!
//! The CDEvents spec binds to CloudEvents over HTTP in three modes, and Dossier accepts two
//! more for convenience:
//!
//! | mode | Content-Type | body |
//! |---|---|---|
//! | binary | any JSON type, with `ce-*` headers | one CDEvent |
//! | structured | `application/cloudevents+json` | a CloudEvent whose `data` is a CDEvent |
//! | batch | `application/cloudevents-batch+json` | an array of structured CloudEvents |
//! | plain | `application/json` without `ce-*` headers | a CDEvent, or an array of them |
//! | NDJSON | `application/x-ndjson` | one CDEvent per line |
//!
//! A request-level problem (wrong content type, malformed JSON, too deep, too many events)
//! refuses the whole request; an invalid event refuses that event only, and the others go on.

mod depth;
mod keys;
mod modes;

pub use modes::{decode, BodyError, CeHeaders, Decoded, ItemError, Limits};
