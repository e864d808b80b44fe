//! What a leaf of the log commits to (formats 2 and 3, specified in `docs/log-format.md`).
//!
//! The leaf data of an entry sent by an authenticated principal is format 3:
//!
//! ```text
//! 0x03                              format version, one byte
//! received                          receipt time, nanoseconds since the Unix epoch, i64 big-endian
//! len(sender)                       u16 big-endian
//! sender                            the principal's name, UTF-8, len(sender) bytes
//! SHA-256(raw)                      the bytes exactly as received, 32 bytes
//! canonical                         the event's RFC 8785 canonical form, UTF-8, to the end
//! ```
//!
//! An entry with no sender (Dossier's own acts, and entries written before authentication) is
//! format 2: the same without the two sender fields, starting `0x02`. The leaf hash is RFC
//! 6962's `SHA-256(0x00 || leaf data)`. So the log vouches for the event's content, for the
//! bytes `/raw` returns, for when Dossier received it and for whose credential sent it: changing
//! any of them changes the leaf. The canonical form comes last and unframed so that a verifier
//! can recompute it from the raw bytes alone.

use dossier_core::Event;
use dossier_tlog::Hash;
use sha2::{Digest, Sha256};

/// The log format this build writes: a store records it, and is refused by a build that does
/// not know it. Format 3 stores hold format 2 leaves (no sender) and format 3 leaves (a
/// sender); a format 2 store is upgraded in place when opened (its leaves stay as they are).
pub const LOG_FORMAT: u8 = 3;

/// Leaf version of an entry with no sender.
const UNSENT: u8 = 2;

/// The leaf data of an entry received at `received` (Unix nanoseconds) from `sender` as `raw`,
/// whose canonical form is `canonical`. A sender longer than 65 535 bytes cannot be framed:
/// principals' names are at most 200.
pub fn leaf_data(received: i64, sender: Option<&str>, raw: &[u8], canonical: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(1 + 8 + 2 + sender.map_or(0, str::len) + 32 + canonical.len());
    match sender {
        None => {
            data.push(UNSENT);
            data.extend_from_slice(&received.to_be_bytes());
        }
        Some(sender) => {
            let len = u16::try_from(sender.len()).expect("a sender's name fits in 65 535 bytes");
            data.push(LOG_FORMAT);
            data.extend_from_slice(&received.to_be_bytes());
            data.extend_from_slice(&len.to_be_bytes());
            data.extend_from_slice(sender.as_bytes());
        }
    }
    data.extend_from_slice(&Sha256::digest(raw));
    data.extend_from_slice(canonical.as_bytes());
    data
}

/// The leaf hash of an entry: RFC 6962's leaf hash of [`leaf_data`].
pub fn entry_leaf_hash(received: i64, sender: Option<&str>, raw: &[u8], canonical: &str) -> Hash {
    dossier_tlog::tree::leaf_hash(&leaf_data(received, sender, raw, canonical))
}

/// The leaf hash the log gives `event` received at `received`.
pub fn leaf_hash(event: &Event, received: i64) -> Hash {
    entry_leaf_hash(received, event.sender.as_deref(), &event.raw, &event.canonical)
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
            hex::encode(leaf_data(received, None, raw, canonical)),
            format!("02187d5cec9192cd15{}{}", hex::encode(Sha256::digest(raw)), hex::encode(canonical))
        );
        assert_eq!(hex::encode(entry_leaf_hash(received, None, raw, canonical)), VECTOR_1);
        // The same event sent with other whitespace is another leaf: the raw bytes are covered.
        let spaced = br#"{"context":{"id":"1"},"subject":{}}"#;
        assert_eq!(hex::encode(entry_leaf_hash(received, None, spaced, canonical)), VECTOR_2);
        // And so is the receipt time.
        assert_eq!(hex::encode(entry_leaf_hash(received + 1, None, raw, canonical)), VECTOR_3);
        // And the sender, framed by its length, in format 3.
        assert_eq!(
            hex::encode(leaf_data(received, Some("jenkins"), raw, canonical)),
            format!("03187d5cec9192cd150007{}{}{}", hex::encode("jenkins"), hex::encode(Sha256::digest(raw)), hex::encode(canonical))
        );
        assert_eq!(hex::encode(entry_leaf_hash(received, Some("jenkins"), raw, canonical)), VECTOR_4);
        assert_ne!(entry_leaf_hash(received, Some("jenkins"), raw, canonical), entry_leaf_hash(received, Some("jenkinz"), raw, canonical));
    }

    const VECTOR_1: &str = "5bd2849d688cb8a970556e2d598fb7c6e72e5088cbb1d828c27cbf0200884fa5";
    const VECTOR_2: &str = "5f6950006de61762946ca018d8f237efdc134747ca990589eb8f4ee9bb94f794";
    const VECTOR_3: &str = "620123b62ad5d25bd491f620c9d15d80f072b20d4dc347b7261d6d15b02082b5";
    const VECTOR_4: &str = "a0417268d5cca80d1573e5fb708fb2e755f2409d42b3c1631bf137e4bdef6a9f";
}
