//! What a leaf of the log commits to (format 2, specified in `docs/log-format.md`).
//!
//! The leaf data of an entry is
//!
//! ```text
//! 0x02                              format version, one byte
//! received                          receipt time, nanoseconds since the Unix epoch, i64 big-endian
//! SHA-256(raw)                      the bytes exactly as received, 32 bytes
//! canonical                         the event's RFC 8785 canonical form, UTF-8, to the end
//! ```
//!
//! and its leaf hash is RFC 6962's `SHA-256(0x00 || leaf data)`. So the log vouches for the
//! event's content, for the bytes `/raw` returns and for when Dossier received it: changing any
//! of them changes the leaf. The canonical form comes last and unframed so that a verifier can
//! recompute it from the raw bytes alone.

use dossier_core::Event;
use dossier_tlog::Hash;
use sha2::{Digest, Sha256};

/// The leaf format this build writes and reads. A store records the format it was written in
/// and refuses to open with another.
pub const LOG_FORMAT: u8 = 2;

/// The leaf data of an entry received at `received` (Unix nanoseconds) as `raw`, whose
/// canonical form is `canonical`.
pub fn leaf_data(received: i64, raw: &[u8], canonical: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(1 + 8 + 32 + canonical.len());
    data.push(LOG_FORMAT);
    data.extend_from_slice(&received.to_be_bytes());
    data.extend_from_slice(&Sha256::digest(raw));
    data.extend_from_slice(canonical.as_bytes());
    data
}

/// The leaf hash of an entry: RFC 6962's leaf hash of [`leaf_data`].
pub fn entry_leaf_hash(received: i64, raw: &[u8], canonical: &str) -> Hash {
    dossier_tlog::tree::leaf_hash(&leaf_data(received, raw, canonical))
}

/// The leaf hash the log gives `event` received at `received`.
pub fn leaf_hash(event: &Event, received: i64) -> Hash {
    entry_leaf_hash(received, &event.raw, &event.canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of docs/log-format.md, computed there with Python's hashlib from the
    /// specification's text (an independent implementation).
    #[test]
    fn the_documented_test_vectors() {
        let raw = br#"{"context": {"id": "1"}, "subject": {}}"#;
        let canonical = r#"{"context":{"id":"1"},"subject":{}}"#;
        let received = 1_764_668_800_123_456_789;
        assert_eq!(
            hex::encode(leaf_data(received, raw, canonical)),
            format!("02187d5cec9192cd15{}{}", hex::encode(Sha256::digest(raw)), hex::encode(canonical))
        );
        assert_eq!(hex::encode(entry_leaf_hash(received, raw, canonical)), VECTOR_1);
        // The same event sent with other whitespace is another leaf: the raw bytes are covered.
        let spaced = br#"{"context":{"id":"1"},"subject":{}}"#;
        assert_eq!(hex::encode(entry_leaf_hash(received, spaced, canonical)), VECTOR_2);
        // And so is the receipt time.
        assert_eq!(hex::encode(entry_leaf_hash(received + 1, raw, canonical)), VECTOR_3);
    }

    const VECTOR_1: &str = "5bd2849d688cb8a970556e2d598fb7c6e72e5088cbb1d828c27cbf0200884fa5";
    const VECTOR_2: &str = "5f6950006de61762946ca018d8f237efdc134747ca990589eb8f4ee9bb94f794";
    const VECTOR_3: &str = "620123b62ad5d25bd491f620c9d15d80f072b20d4dc347b7261d6d15b02082b5";
}
