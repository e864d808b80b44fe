//! Offline verification of Sigstore signatures, with no I/O and no clock: the trusted root,
//! the bundle, the artifact, who is expected to have signed and the time of verification are
//! all arguments.
//!
//! * [`Bundle`]: Sigstore bundles v0.1, v0.2 and v0.3 (both v0.3 media types), with a message
//!   signature or a DSSE envelope, a certificate (chain) or a public key's hint.
//! * [`TrustedRoot`]: the logs and authorities trusted, each for a period; the Sigstore
//!   public-good root ships with the crate ([`TrustedRoot::public_good`]).
//! * [`verify`]: Fulcio certificate chains at the signing time, SCTs, Rekor v1 signed entry
//!   timestamps and inclusion proofs with checkpoints, Rekor v2 entries with checkpoints
//!   (witness cosignatures passed over), RFC 3161 timestamps, identity and issuer matched
//!   exactly or by pattern ([`Matcher`]), or a managed key ([`Expected::Key`]).
//! * [`cosign`]: cosign's key-based signatures over a simple-signing payload.
//!
//! Every refusal is a [`Refusal`] naming the check that failed. Merkle proofs and checkpoints
//! are `dossier-tlog`'s.

mod asn1;
pub mod bundle;
mod cert;
pub mod cosign;
pub mod error;
pub mod keys;
mod memory;
pub mod policy;
mod rekor;
pub mod root;
pub mod statement;
mod tsa;
mod verify;

pub use bundle::{Bundle, Envelope, Version};
pub use error::{Refusal, RootError, TimestampRefusal};
pub use keys::PublicKey;
pub use policy::{Expected, Matcher, PatternError};
pub use root::TrustedRoot;
pub use statement::Statement;
pub use verify::{verify, Artifact, LogEntry, Signer, Verified};

/// The media types a bundle is sent with.
pub const BUNDLE_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
];

/// A time as RFC 3339, for messages.
pub(crate) fn show(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// Verifies an RFC 3161 `TimeStampResp` (DER) over `signature` with the timestamp authorities
/// of `root`, and returns its time.
pub fn verify_timestamp(resp: &[u8], signature: &[u8], root: &TrustedRoot) -> Result<time::OffsetDateTime, TimestampRefusal> {
    tsa::verify(resp, signature, &root.timestamp_authorities, &root.signatures)
}
