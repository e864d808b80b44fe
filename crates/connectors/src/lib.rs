//! Sources and sinks of the evidence log, as uniform components: every source hands what it
//! received to the one [`submit`] path (decode → validate → append → answer); sinks follow the
//! log.
//!
//! * [`submit`]: the one submit path, for HTTP ingest and NATS (webhook adapters next).
//! * [`documents`]: the document intake (uploads and fetched SBOMs): read, kept, recorded.
//! * [`fetch`]: a follower that fetches the SBOMs artifact events point at.
//! * [`signatures`]: a follower that checks the signatures `artifact.signed` events carry.
//! * [`consume`]: CDEvents consumed from NATS JetStream, through the submit path.
//! * [`publish`]: a follower that publishes what policies emit onto NATS JetStream.
//! * [`vsa`]: a follower that keeps each gate decision's signed verification summary as a
//!   document about its artifact.
//! * [`witnessing`]: checkpoints sent to witnesses, their cosignatures kept.
//!
//! Architecture invariant: connectors depend on the log and the views, never on the engine or
//! on HTTP; what they need of the vocabulary comes from `dossier_core::own`.

pub mod consume;
pub mod documents;
pub mod fetch;
pub mod publish;
pub mod signatures;
pub mod submit;
pub mod vsa;
pub mod witnessing;
