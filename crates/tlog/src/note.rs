//! C2SP signed notes with Ed25519, in the key formats of Go's `golang.org/x/mod/sumdb/note`.
//!
//! A note is its text, a blank line, and one line per signature:
//! `— <key name> base64(key id || signature)`. The key id is the first four bytes of
//! `SHA-256(name || "\n" || 0x01 || public key)`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

/// The signature type of a log's Ed25519 note signatures.
pub(crate) const ALG_ED25519: u8 = 0x01;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("the note has no signature by key {0}")]
    NoSignature(String),
    #[error("the signature by key {0} does not verify: the note was changed or signed by another key")]
    BadSignature(String),
}

/// A signed note's text, without its signature lines (not verified).
pub fn note_text(note: &str) -> Result<&str, NoteError> {
    split_note(note).map(|(text, _)| text)
}

/// Who signed a note: `<name>+<key id>` of each signature line that reads, whether or not it
/// verifies (to say which key a note was signed with when it is not the one expected).
pub fn signers(note: &str) -> Vec<String> {
    let Some(split) = note.rfind("\n\n") else { return Vec::new() };
    note[split + 2..]
        .lines()
        .filter_map(|line| {
            let (name, b64) = line.strip_prefix("\u{2014} ")?.split_once(' ')?;
            let blob = B64.decode(b64).ok()?;
            (blob.len() >= 4).then(|| format!("{name}+{}", hex(&blob[..4])))
        })
        .collect()
}

fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    key_id_of(name, ALG_ED25519, public)
}

/// `SHA-256(name || "\n" || signature type || public key)[:4]`.
pub(crate) fn key_id_of(name: &str, alg: u8, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// A private key that signs notes.
pub struct Signer {
    name: String,
    key: SigningKey,
}

impl Signer {
    /// A new random key.
    pub fn generate(name: &str) -> Result<Signer, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::BadKey("a key name is non-empty, without spaces or '+'"));
        }
        Ok(Signer { name: name.to_owned(), key: SigningKey::generate(&mut rand_core::OsRng) })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key id>+base64(0x01 || seed)`.
    pub fn parse(text: &str) -> Result<Signer, NoteError> {
        let (name, key) = parse_private(text, ALG_ED25519)?;
        Ok(Signer { name, key })
    }

    /// The private key in the format [`Signer::parse`] reads.
    pub fn to_private_string(&self) -> String {
        private_string(&self.name, ALG_ED25519, &self.key)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> Verifier {
        let key = self.key.verifying_key();
        Verifier { name: self.name.clone(), id: key_id(&self.name, &key), key }
    }

    /// The Ed25519 signature of `message` with this key.
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Signs `text` (which must end with a newline) and returns the signed note.
    pub fn sign(&self, text: &str) -> String {
        debug_assert!(text.ends_with('\n'));
        let sig = self.key.sign(text.as_bytes());
        let mut blob = key_id(&self.name, &self.key.verifying_key()).to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        format!("{text}\n\u{2014} {} {}\n", self.name, B64.encode(blob))
    }
}

/// A public key that verifies notes: `<name>+<hex key id>+base64(0x01 || public key)`.
#[derive(Clone)]
pub struct Verifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl Verifier {
    pub fn parse(text: &str) -> Result<Verifier, NoteError> {
        let (name, id, key) = parse_public(text, ALG_ED25519)?;
        Ok(Verifier { name, id, key })
    }

    /// The verifier of an Ed25519 public key held elsewhere (a KMS, an HSM) for log `name`.
    pub fn from_ed25519(name: &str, public: &[u8; 32]) -> Result<Verifier, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::BadKey("a key name is non-empty, without spaces or '+'"));
        }
        let key = VerifyingKey::from_bytes(public).map_err(|_| NoteError::BadKey("not a valid Ed25519 public key"))?;
        Ok(Verifier { name: name.to_owned(), id: key_id(name, &key), key })
    }

    /// The signed note of `text` with `signature`, made elsewhere; refused unless the signature
    /// verifies with this key (so a signer that answers wrongly is caught before anyone relies
    /// on the note).
    pub fn note_with(&self, text: &str, signature: &[u8; 64]) -> Result<String, NoteError> {
        let sig = Signature::from_bytes(signature);
        self.key.verify(text.as_bytes(), &sig).map_err(|_| NoteError::BadSignature(self.to_string()))?;
        let mut blob = self.id.to_vec();
        blob.extend_from_slice(signature);
        Ok(format!("{text}\n\u{2014} {} {}\n", self.name, B64.encode(blob)))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<name>+<key id>`: what identifies the key in a note's signature lines.
    pub fn fingerprint(&self) -> String {
        format!("{}+{}", self.name, hex(&self.id))
    }

    /// Verifies a signed note and returns its text (without the signature lines).
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let (text, sigs) = split_note(note)?;
        for line in sigs.lines() {
            let (name, blob) = signature_line(line)?;
            if name != self.name {
                continue;
            }
            if blob.len() != 4 + 64 || blob[..4] != self.id {
                continue;
            }
            let sig = Signature::from_slice(&blob[4..]).map_err(|_| NoteError::Malformed("bad signature bytes"))?;
            return match self.key.verify(text.as_bytes(), &sig) {
                Ok(()) => Ok(text),
                Err(_) => Err(NoteError::BadSignature(self.to_string())),
            };
        }
        Err(NoteError::NoSignature(self.to_string()))
    }
}

impl std::fmt::Display for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&public_string(&self.name, ALG_ED25519, &self.id, &self.key))
    }
}

fn unsupported(alg: u8) -> NoteError {
    match alg {
        ALG_ED25519 => NoteError::BadKey("expected an Ed25519 note key (signature type 0x01); a witness's cosignature key is type 0x04"),
        _ => NoteError::BadKey("expected an Ed25519 cosignature key (signature type 0x04); a log's note key is type 0x01"),
    }
}

/// Parses `PRIVATE+KEY+<name>+<hex key id>+base64(alg || seed)`.
pub(crate) fn parse_private(text: &str, alg: u8) -> Result<(String, SigningKey), NoteError> {
    let parts: Vec<&str> = text.trim().splitn(5, '+').collect();
    let [p, k, name, id, data] = parts[..] else {
        return Err(NoteError::BadKey("expected PRIVATE+KEY+name+id+data"));
    };
    if p != "PRIVATE" || k != "KEY" || !valid_name(name) {
        return Err(NoteError::BadKey("expected PRIVATE+KEY+name+id+data"));
    }
    let bytes = B64.decode(data).map_err(|_| NoteError::BadKey("key data is not base64"))?;
    let seed: [u8; 32] = match bytes.split_first() {
        Some((&a, seed)) if a == alg => seed.try_into().map_err(|_| NoteError::BadKey("an Ed25519 seed is 32 bytes"))?,
        _ => return Err(unsupported(alg)),
    };
    let key = SigningKey::from_bytes(&seed);
    if hex(&key_id_of(name, alg, &key.verifying_key())) != id {
        return Err(NoteError::BadKey("key id does not match the key"));
    }
    Ok((name.to_owned(), key))
}

/// The private key text [`parse_private`] reads.
pub(crate) fn private_string(name: &str, alg: u8, key: &SigningKey) -> String {
    let mut data = vec![alg];
    data.extend_from_slice(key.as_bytes());
    format!("PRIVATE+KEY+{name}+{}+{}", hex(&key_id_of(name, alg, &key.verifying_key())), B64.encode(data))
}

/// Parses a verifier key, `<name>+<hex key id>+base64(alg || public key)`.
pub(crate) fn parse_public(text: &str, alg: u8) -> Result<(String, [u8; 4], VerifyingKey), NoteError> {
    let parts: Vec<&str> = text.trim().splitn(3, '+').collect();
    let [name, id, data] = parts[..] else {
        return Err(NoteError::BadKey("expected name+id+data"));
    };
    if !valid_name(name) {
        return Err(NoteError::BadKey("a key name is non-empty, without spaces or '+'"));
    }
    let bytes = B64.decode(data).map_err(|_| NoteError::BadKey("key data is not base64"))?;
    let public: [u8; 32] = match bytes.split_first() {
        Some((&a, k)) if a == alg => k.try_into().map_err(|_| NoteError::BadKey("an Ed25519 public key is 32 bytes"))?,
        _ => return Err(unsupported(alg)),
    };
    let key = VerifyingKey::from_bytes(&public).map_err(|_| NoteError::BadKey("not a valid Ed25519 public key"))?;
    let kid = key_id_of(name, alg, &key);
    if hex(&kid) != id {
        return Err(NoteError::BadKey("key id does not match the key"));
    }
    Ok((name.to_owned(), kid, key))
}

/// The verifier key text [`parse_public`] reads.
pub(crate) fn public_string(name: &str, alg: u8, id: &[u8; 4], key: &VerifyingKey) -> String {
    let mut data = vec![alg];
    data.extend_from_slice(key.as_bytes());
    format!("{name}+{}+{}", hex(id), B64.encode(data))
}

/// A signed note's text (up to and including the newline before the blank line) and its
/// signature lines.
pub(crate) fn split_note(note: &str) -> Result<(&str, &str), NoteError> {
    let split = note.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if !sigs.ends_with('\n') {
        return Err(NoteError::Malformed("the last signature line must end with a newline"));
    }
    Ok((text, sigs))
}

/// One signature line, `— <name> base64(blob)`, as its key name and decoded blob.
pub(crate) fn signature_line(line: &str) -> Result<(&str, Vec<u8>), NoteError> {
    let rest = line.strip_prefix("\u{2014} ").ok_or(NoteError::Malformed("a signature line starts with '— '"))?;
    let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed("a signature line is '— name signature'"))?;
    let blob = B64.decode(b64).map_err(|_| NoteError::Malformed("a signature is base64"))?;
    Ok((name, blob))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    // From the C2SP signed-note specification's example (a test vector of Go's sumdb/note).
    const GO_PUBLIC: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn verifies_the_go_sumdb_note_test_vector() {
        let v = Verifier::parse(GO_PUBLIC).unwrap();
        assert_eq!(
            v.open(GO_NOTE).unwrap(),
            "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
        );
        assert_eq!(v.to_string(), GO_PUBLIC);
        assert_eq!(v.fingerprint(), "PeterNeumann+c74f20a3");
        assert_eq!(signers(GO_NOTE), vec!["PeterNeumann+c74f20a3".to_owned()]);
    }

    #[test]
    fn a_changed_text_fails_verification() {
        let v = Verifier::parse(GO_PUBLIC).unwrap();
        let changed = GO_NOTE.replacen("cryptography", "Cryptography", 1);
        assert_eq!(v.open(&changed), Err(NoteError::BadSignature(GO_PUBLIC.into())));
    }

    #[test]
    fn a_signature_made_elsewhere_becomes_the_same_note() {
        let s = Signer::generate("kms.example/log").unwrap();
        let v = Verifier::from_ed25519("kms.example/log", s.verifier().key.as_bytes()).unwrap();
        assert_eq!(v.to_string(), s.verifier().to_string());
        assert_eq!(v.note_with("hello\n", &s.sign_bytes(b"hello\n")), Ok(s.sign("hello\n")));
        assert_eq!(v.note_with("hello\n", &s.sign_bytes(b"other\n")), Err(NoteError::BadSignature(v.to_string())));
    }

    #[test]
    fn signs_and_reloads_a_generated_key() {
        let s = Signer::generate("dossier.local/log").unwrap();
        let reloaded = Signer::parse(&s.to_private_string()).unwrap();
        let note = reloaded.sign("hello\n");
        assert_eq!(s.verifier().open(&note), Ok("hello\n"));
        let other = Signer::generate("dossier.local/log").unwrap().verifier();
        assert_eq!(other.open(&note), Err(NoteError::NoSignature(other.to_string())));
        assert_eq!(signers(&note), vec![s.verifier().fingerprint()], "the note says which key signed it");
        assert_ne!(other.fingerprint(), s.verifier().fingerprint(), "same name, another key");
    }
}
