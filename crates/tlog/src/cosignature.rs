//! C2SP `tlog-cosignature` with Ed25519 (`cosignature/v1`): a witness's timestamped statement
//! that, as of that time, the checkpoint is the largest consistent tree head it has seen of
//! the log named by its origin line.
//!
//! A cosignature is a note signature line, `— <witness name> base64(key id || timestamp ||
//! signature)`, where the key id is `SHA-256(name || "\n" || 0x04 || public key)[:4]`, the
//! timestamp is 8 bytes big-endian (seconds since the Epoch), and the signature is over
//! `"cosignature/v1\ntime <timestamp>\n" || checkpoint body`.

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};

use crate::note::{self, NoteError};

/// The signature type of Ed25519 cosignatures.
const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The message a cosignature signs.
fn message(body: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// A witness's private key.
pub struct Cosigner {
    name: String,
    key: SigningKey,
}

impl Cosigner {
    /// A new random key.
    pub fn generate(name: &str) -> Result<Cosigner, NoteError> {
        if !note::valid_name(name) {
            return Err(NoteError::BadKey("a key name is non-empty, without spaces or '+'"));
        }
        Ok(Cosigner { name: name.to_owned(), key: SigningKey::generate(&mut rand_core::OsRng) })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+base64(0x04 || seed)`.
    pub fn parse(text: &str) -> Result<Cosigner, NoteError> {
        let (name, key) = note::parse_private(text, ALG_COSIGNATURE_V1)?;
        Ok(Cosigner { name, key })
    }

    /// The private key in the format [`Cosigner::parse`] reads.
    pub fn to_private_string(&self) -> String {
        note::private_string(&self.name, ALG_COSIGNATURE_V1, &self.key)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        let key = self.key.verifying_key();
        CosignatureVerifier { name: self.name.clone(), id: note::key_id_of(&self.name, ALG_COSIGNATURE_V1, &key), key }
    }

    /// The cosignature line (ending in a newline) over a checkpoint `body` at `timestamp`.
    pub fn cosign(&self, body: &str, timestamp: u64) -> String {
        debug_assert!(body.ends_with('\n'));
        let sig = self.key.sign(message(body, timestamp).as_bytes());
        let mut blob = note::key_id_of(&self.name, ALG_COSIGNATURE_V1, &self.key.verifying_key()).to_vec();
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {} {}\n", self.name, base64::Engine::encode(&base64::engine::general_purpose::STANDARD, blob))
    }
}

/// A witness's public key, `<name>+<hex key id>+base64(0x04 || public key)` (a C2SP vkey).
#[derive(Clone)]
pub struct CosignatureVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl CosignatureVerifier {
    pub fn parse(text: &str) -> Result<CosignatureVerifier, NoteError> {
        let (name, id, key) = note::parse_public(text, ALG_COSIGNATURE_V1)?;
        Ok(CosignatureVerifier { name, id, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<name>+<key id>`, as in a note's signature lines.
    pub fn fingerprint(&self) -> String {
        format!("{}+{}", self.name, note::hex(&self.id))
    }

    /// Finds this witness's cosignature on a signed note and verifies it over the note's text;
    /// returns its timestamp. Lines of other keys are ignored, as the protocol requires, and so
    /// are lines that do not read: a line someone else added cannot hide a valid cosignature.
    /// With several lines of this key, any one that verifies will do.
    pub fn verify(&self, note: &str) -> Result<u64, NoteError> {
        let (text, sigs) = note::split_note(note)?;
        let mut found = false;
        for line in sigs.lines() {
            let Ok((name, blob)) = note::signature_line(line) else { continue };
            if name != self.name || blob.len() != 4 + 8 + 64 || blob[..4] != self.id {
                continue;
            }
            found = true;
            let timestamp = u64::from_be_bytes(blob[4..12].try_into().expect("8 bytes"));
            if timestamp > i64::MAX as u64 {
                continue;
            }
            let Ok(sig) = Signature::from_slice(&blob[12..]) else { continue };
            if self.key.verify(message(text, timestamp).as_bytes(), &sig).is_ok() {
                return Ok(timestamp);
            }
        }
        Err(if found { NoteError::BadSignature(self.to_string()) } else { NoteError::NoSignature(self.to_string()) })
    }

    /// The lines of `answer` that are this witness's valid cosignatures of `note`: what a log
    /// keeps of a witness's answer (nothing else it sent).
    pub fn valid_lines(&self, note: &str, answer: &str) -> String {
        answer
            .lines()
            .filter(|line| line.starts_with(&format!("\u{2014} {} ", self.name)))
            .filter(|line| self.verify(&format!("{note}{line}\n")).is_ok())
            .map(|line| format!("{line}\n"))
            .collect()
    }
}

impl std::fmt::Display for CosignatureVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&note::public_string(&self.name, ALG_COSIGNATURE_V1, &self.id, &self.key))
    }
}

/// How many of `witnesses` cosigned `note` validly: the distinct witnesses, by key.
pub fn count_cosigners(note: &str, witnesses: &[CosignatureVerifier]) -> usize {
    let mut seen: Vec<String> = witnesses.iter().filter(|w| w.verify(note).is_ok()).map(|w| w.fingerprint()).collect();
    seen.sort();
    seen.dedup();
    seen.len()
}

/// Adds cosignature lines to a signed note, skipping lines it already carries.
pub fn with_cosignatures(note: &str, lines: &str) -> String {
    let mut out = note.to_owned();
    for line in lines.lines().filter(|l| l.starts_with('\u{2014}')) {
        if !note.lines().any(|l| l == line) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Signer;

    const BODY: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn the_signed_message_is_the_header_the_time_and_the_body() {
        assert_eq!(
            message(BODY, 1679315147),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn a_cosignature_is_key_id_timestamp_and_signature() {
        let w = Cosigner::generate("witness.example/w1").unwrap();
        let line = w.cosign(BODY, 1679315147);
        let (name, blob) = note::signature_line(line.trim_end()).unwrap();
        assert_eq!(name, "witness.example/w1");
        assert_eq!(blob.len(), 4 + 8 + 64);
        assert_eq!(u64::from_be_bytes(blob[4..12].try_into().unwrap()), 1679315147);
        let v = w.verifier();
        assert_eq!(format!("{}+{}", v.name(), note::hex(&blob[..4])), v.fingerprint());
        // The signature is Ed25519 over the message, with the witness's key.
        let sig = Signature::from_slice(&blob[12..]).unwrap();
        assert!(v.key.verify(message(BODY, 1679315147).as_bytes(), &sig).is_ok());
    }

    #[test]
    fn cosignatures_verify_on_the_log_signed_note_and_fail_on_another_checkpoint() {
        let log = Signer::generate("example.com/behind-the-sofa").unwrap();
        let w = Cosigner::generate("witness.example/w1").unwrap();
        let signed = log.sign(BODY);
        let cosigned = with_cosignatures(&signed, &w.cosign(BODY, 7));
        assert_eq!(w.verifier().verify(&cosigned), Ok(7));
        assert_eq!(log.verifier().open(&cosigned), Ok(BODY), "the log's signature still opens the note");
        let other_body = BODY.replace("20852163", "20852164");
        let moved = with_cosignatures(&log.sign(&other_body), &w.cosign(BODY, 7));
        assert_eq!(w.verifier().verify(&moved), Err(NoteError::BadSignature(w.verifier().to_string())));
        assert_eq!(w.verifier().verify(&signed), Err(NoteError::NoSignature(w.verifier().to_string())));
    }

    #[test]
    fn keys_round_trip_and_are_not_taken_for_log_keys() {
        let w = Cosigner::generate("witness.example/w1").unwrap();
        let again = Cosigner::parse(&w.to_private_string()).unwrap();
        assert_eq!(again.verifier().to_string(), w.verifier().to_string());
        assert_eq!(CosignatureVerifier::parse(&w.verifier().to_string()).unwrap().fingerprint(), w.verifier().fingerprint());
        assert!(crate::Verifier::parse(&w.verifier().to_string()).is_err(), "a cosignature key is not a note key");
        let log = Signer::generate("log").unwrap();
        assert!(CosignatureVerifier::parse(&log.verifier().to_string()).is_err(), "a note key is not a cosignature key");
    }

    #[test]
    fn lines_added_by_someone_else_do_not_hide_a_valid_cosignature() {
        let log = Signer::generate("log").unwrap();
        let (a, b) = (Cosigner::generate("w/a").unwrap(), Cosigner::generate("w/b").unwrap());
        let body = "log\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n";
        let signed = log.sign(body);
        // Witness a answers with its cosignature, a forged line in b's name and junk.
        let b_id = hex::decode(b.verifier().fingerprint().rsplit('+').next().unwrap()).unwrap();
        let forged_blob = [b_id, 9u64.to_be_bytes().to_vec(), vec![0u8; 64]].concat();
        let forged_b = format!("\u{2014} w/b {}\n", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, forged_blob));
        let answer = format!("{}{forged_b}\u{2014} junk !!!\n", a.cosign(body, 1));
        assert_eq!(a.verifier().valid_lines(&signed, &answer), a.cosign(body, 1), "only a's valid line is kept");
        // Even stored, the bad lines do not stop b's genuine cosignature from counting.
        let poisoned = with_cosignatures(&signed, &answer);
        let fixed = with_cosignatures(&poisoned, &b.cosign(body, 2));
        assert_eq!(b.verifier().verify(&fixed), Ok(2));
        assert_eq!(a.verifier().verify(&fixed), Ok(1));
    }

    #[test]
    fn quorum_counts_distinct_valid_witnesses() {
        let log = Signer::generate("log").unwrap();
        let (a, b, c) = (Cosigner::generate("w/a").unwrap(), Cosigner::generate("w/b").unwrap(), Cosigner::generate("w/c").unwrap());
        let body = "log\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n";
        let note = with_cosignatures(&log.sign(body), &format!("{}{}", a.cosign(body, 1), b.cosign(body, 2)));
        let all = [a.verifier(), b.verifier(), c.verifier(), a.verifier()];
        assert_eq!(count_cosigners(&note, &all), 2);
        assert_eq!(with_cosignatures(&note, &a.cosign(body, 1)), note, "a line already there is not added twice");
    }
}
