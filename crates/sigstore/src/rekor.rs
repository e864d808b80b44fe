//! Transparency-log entries: what the entry's body records (Rekor v1 `hashedrekord` 0.0.1,
//! `dsse` 0.0.1, `intoto` 0.0.2; Rekor v2 `hashedrekord` and `dsse` 0.0.2), the signed entry
//! timestamp, and the inclusion proof with its signed checkpoint (through `dossier-tlog`).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use dossier_tlog::tree::{leaf_hash, verify_inclusion};
use dossier_tlog::Checkpoint;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::bundle::{b64, InclusionProof, TlogEntry};
use crate::error::Refusal;
use crate::keys::{HashAlg, PublicKey};
use crate::memory::SignatureMemory;
use crate::root::Log;

/// What a log entry says was signed, read from its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    /// The digest of the signed message (hashedrekord), or of the DSSE payload (dsse, intoto).
    pub digest: Vec<u8>,
    /// Whether `digest` is of a DSSE payload (else of the signed message itself).
    pub of_payload: bool,
    pub signature: Vec<u8>,
    /// The signer: a certificate's DER or a key's DER `SubjectPublicKeyInfo`.
    pub verifier: Verifier,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verifier {
    Certificate(Vec<u8>),
    Key(Vec<u8>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    api_version: String,
    kind: String,
    spec: serde_json::Value,
}

#[derive(Deserialize)]
struct HashedRekordV001 {
    data: HashedData,
    signature: HashedSignature,
}

#[derive(Deserialize)]
struct HashedData {
    hash: AlgValue,
}

#[derive(Deserialize)]
struct AlgValue {
    algorithm: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedSignature {
    content: String,
    public_key: Content,
}

#[derive(Deserialize)]
struct Content {
    content: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV001 {
    payload_hash: AlgValue,
    signatures: Vec<DsseV001Signature>,
}

#[derive(Deserialize)]
struct DsseV001Signature {
    signature: String,
    verifier: String,
}

#[derive(Deserialize)]
struct IntotoV002 {
    content: IntotoContent,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoContent {
    envelope: IntotoEnvelope,
    payload_hash: AlgValue,
}

#[derive(Deserialize)]
struct IntotoEnvelope {
    signatures: Vec<IntotoSignature>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntotoSignature {
    sig: String,
    public_key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordV002Spec {
    hashed_rekord_v002: HashedRekordV002,
}

#[derive(Deserialize)]
struct HashedRekordV002 {
    data: V2Digest,
    signature: V2Signature,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV002Spec {
    dsse_v002: DsseV002,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DsseV002 {
    payload_hash: V2Digest,
    signatures: Vec<V2Signature>,
}

#[derive(Deserialize)]
struct V2Digest {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
struct V2Signature {
    content: String,
    verifier: V2Verifier,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Verifier {
    x509_certificate: Option<RawBytes>,
    public_key: Option<RawBytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: String,
}

fn bad(what: impl std::fmt::Display) -> Refusal {
    Refusal::BadLogEntry(what.to_string())
}

/// A PEM certificate or public key (as v1 bodies carry them, base64 of the PEM) → its DER.
fn pem_verifier(b64_pem: &str) -> Result<Verifier, Refusal> {
    let pem = b64(b64_pem, "the log entry's verifier")?;
    let pem = std::str::from_utf8(&pem).map_err(|_| bad("verifier is not PEM text"))?;
    let (label, der) = crate::keys::pem_decode(pem).map_err(|e| bad(format!("verifier is not PEM: {e}")))?;
    match label.as_str() {
        "CERTIFICATE" => Ok(Verifier::Certificate(der)),
        "PUBLIC KEY" => Ok(Verifier::Key(der)),
        other => Err(bad(format!("verifier is a PEM {other:?}"))),
    }
}

fn sha256_only(algorithm: &str) -> Result<(), Refusal> {
    match algorithm {
        "sha256" | "SHA2_256" => Ok(()),
        other => Err(bad(format!("unsupported digest algorithm {other}"))),
    }
}

fn v2_verifier(v: V2Verifier) -> Result<Verifier, Refusal> {
    match (v.x509_certificate, v.public_key) {
        (Some(c), None) => Ok(Verifier::Certificate(b64(&c.raw_bytes, "the log entry's certificate")?)),
        (None, Some(k)) => Ok(Verifier::Key(b64(&k.raw_bytes, "the log entry's public key")?)),
        _ => Err(bad("a verifier is one certificate or one key")),
    }
}

/// Reads what the entry records, checking its kind and version are what the bundle says.
pub(crate) fn recorded(entry: &TlogEntry) -> Result<Recorded, Refusal> {
    let body: Body = serde_json::from_slice(&entry.canonicalized_body).map_err(bad)?;
    if body.kind != entry.kind || body.api_version != entry.version {
        return Err(Refusal::LogEntryMismatch("another kind or version than the bundle's kindVersion"));
    }
    let one = |n: usize| if n == 1 { Ok(()) } else { Err(bad(format!("{n} signatures; one is expected"))) };
    match (body.kind.as_str(), body.api_version.as_str()) {
        ("hashedrekord", "0.0.1") => {
            let s: HashedRekordV001 = serde_json::from_value(body.spec).map_err(bad)?;
            sha256_only(&s.data.hash.algorithm)?;
            Ok(Recorded {
                digest: hex::decode(&s.data.hash.value).map_err(bad)?,
                of_payload: false,
                signature: b64(&s.signature.content, "the log entry's signature")?,
                verifier: pem_verifier(&s.signature.public_key.content)?,
            })
        }
        ("dsse", "0.0.1") => {
            let s: DsseV001 = serde_json::from_value(body.spec).map_err(bad)?;
            sha256_only(&s.payload_hash.algorithm)?;
            one(s.signatures.len())?;
            let sig = &s.signatures[0];
            Ok(Recorded {
                digest: hex::decode(&s.payload_hash.value).map_err(bad)?,
                of_payload: true,
                signature: b64(&sig.signature, "the log entry's signature")?,
                verifier: pem_verifier(&sig.verifier)?,
            })
        }
        ("intoto", "0.0.2") => {
            let s: IntotoV002 = serde_json::from_value(body.spec).map_err(bad)?;
            sha256_only(&s.content.payload_hash.algorithm)?;
            one(s.content.envelope.signatures.len())?;
            let sig = &s.content.envelope.signatures[0];
            // The envelope's signature, base64 once more (as Rekor writes it).
            let inner = b64(&sig.sig, "the log entry's signature")?;
            let signature = B64.decode(&inner).unwrap_or(inner);
            Ok(Recorded {
                digest: hex::decode(&s.content.payload_hash.value).map_err(bad)?,
                of_payload: true,
                signature,
                verifier: pem_verifier(&sig.public_key)?,
            })
        }
        ("hashedrekord", "0.0.2") => {
            let s: HashedRekordV002Spec = serde_json::from_value(body.spec).map_err(bad)?;
            let s = s.hashed_rekord_v002;
            sha256_only(&s.data.algorithm)?;
            Ok(Recorded {
                digest: b64(&s.data.digest, "the log entry's digest")?,
                of_payload: false,
                signature: b64(&s.signature.content, "the log entry's signature")?,
                verifier: v2_verifier(s.signature.verifier)?,
            })
        }
        ("dsse", "0.0.2") => {
            let s: DsseV002Spec = serde_json::from_value(body.spec).map_err(bad)?;
            let s = s.dsse_v002;
            sha256_only(&s.payload_hash.algorithm)?;
            one(s.signatures.len())?;
            let sig = s.signatures.into_iter().next().expect("one signature");
            Ok(Recorded {
                digest: b64(&s.payload_hash.digest, "the log entry's digest")?,
                of_payload: true,
                signature: b64(&sig.content, "the log entry's signature")?,
                verifier: v2_verifier(sig.verifier)?,
            })
        }
        (kind, version) => Err(bad(format!("unsupported entry kind {kind} {version}"))),
    }
}

/// Verifies the signed entry timestamp: the log's signature over the canonical JSON of the
/// body, integrated time, log id and index.
pub(crate) fn verify_promise(entry: &TlogEntry, set: &[u8], log: &Log, memory: &SignatureMemory) -> Result<i64, Refusal> {
    let time = entry.integrated_time.ok_or(Refusal::BadLogEntry("an inclusion promise without an integrated time".into()))?;
    // RFC 8785 canonical form: keys sorted, no spaces; base64 and hex need no escaping.
    let payload = format!(
        "{{\"body\":\"{}\",\"integratedTime\":{},\"logID\":\"{}\",\"logIndex\":{}}}",
        B64.encode(&entry.canonicalized_body),
        time,
        hex::encode(&entry.log_id),
        entry.log_index
    );
    memory.verify(&log.key, HashAlg::Sha256, payload.as_bytes(), set).map_err(|_| Refusal::BadInclusionPromise)?;
    Ok(time)
}

/// Verifies the inclusion proof of the entry's body and the checkpoint that signs its root.
pub(crate) fn verify_proof(entry: &TlogEntry, proof: &InclusionProof, log: &Log, memory: &SignatureMemory) -> Result<(), Refusal> {
    let leaf = leaf_hash(&entry.canonicalized_body);
    verify_inclusion(&leaf, proof.log_index, proof.tree_size, &proof.hashes, &proof.root_hash)
        .map_err(|e| Refusal::InclusionProof(e.to_string()))?;
    let note = proof.checkpoint.as_deref().ok_or(Refusal::MissingCheckpoint)?;
    let checkpoint = verify_checkpoint(note, log, memory)?;
    if checkpoint.root != proof.root_hash {
        return Err(Refusal::CheckpointMismatch("root hash"));
    }
    if checkpoint.size != proof.tree_size {
        return Err(Refusal::CheckpointMismatch("tree size"));
    }
    Ok(())
}

/// Verifies a C2SP signed note with the log's key and returns its checkpoint. The log's signature
/// line is the one whose key hint is the log's (the first four bytes of its id, or of the
/// note key id of an Ed25519 key); other lines (witnesses' cosignatures) are passed over.
pub(crate) fn verify_checkpoint(note: &str, log: &Log, memory: &SignatureMemory) -> Result<Checkpoint, Refusal> {
    let split = note.rfind("\n\n").ok_or(Refusal::CheckpointMalformed("no blank line before the signatures".into()))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    let checkpoint = Checkpoint::parse(text).map_err(|e| Refusal::CheckpointMalformed(e.to_string()))?;
    let origin = checkpoint.origin.as_str();
    let ed25519_id = match &log.key {
        PublicKey::Ed25519(k) => {
            let mut h = Sha256::new();
            h.update(origin.as_bytes());
            h.update(b"\n\x01");
            h.update(k.as_bytes());
            Some(<[u8; 4]>::try_from(&h.finalize()[..4]).expect("4 bytes"))
        }
        _ => None,
    };
    for line in sigs.lines() {
        let Some((_name, sig64)) = line.strip_prefix("\u{2014} ").and_then(|l| l.split_once(' ')) else {
            return Err(Refusal::CheckpointMalformed("a signature line is '— name signature'".into()));
        };
        let Ok(blob) = B64.decode(sig64) else { return Err(Refusal::CheckpointMalformed("a signature is not base64".into())) };
        if blob.len() < 5 {
            continue;
        }
        let (hint, sig) = blob.split_at(4);
        if hint != log.id.get(..4).unwrap_or_default() && Some(hint) != ed25519_id.as_ref().map(|h| &h[..]) {
            continue;
        }
        return match memory.verify(&log.key, HashAlg::Sha256, text.as_bytes(), sig) {
            Ok(()) => Ok(checkpoint),
            Err(_) => Err(Refusal::BadCheckpointSignature),
        };
    }
    Err(Refusal::NoCheckpointSignature)
}
