//! Dossier's audit bundle: one self-contained file holding every entry about an artifact and
//! its lineage (their bytes as received), an inclusion proof of each into one signed
//! checkpoint, a consistency proof from that checkpoint to the newest, the documents (or their
//! digests), and the decisions, exceptions, signature checks and lineage edges, each citing the
//! entries that state it.
//!
//! * [`bundle`]: the format (`dossier-audit-bundle/v1`, JSON), specified field by field in
//!   `docs/audit-bundle.md`, and its bounds.
//! * [`verify()`]: checks a bundle with the log's public key alone — no I/O, no server, no
//!   clock — and names the first thing that fails ([`Failure`]).

pub mod bundle;
pub mod verify;

pub use bundle::{Bundle, Document, Edge, Entry, Since, FORMAT, MAX_BUNDLE_BYTES, MAX_CONTENT_BYTES, MAX_ENTRIES};
pub use verify::{verify, Citation, Failure, Verified, Which};
