//! Sigstore bundles (`application/vnd.dev.sigstore.bundle…`, v0.1 to v0.3) and DSSE envelopes,
//! read into types: every base64 field decoded, every number parsed, the version known.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;

use crate::error::Refusal;

/// The bundle format's versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Version {
    V0_1,
    V0_2,
    V0_3,
}

impl Version {
    pub fn from_media_type(media_type: &str) -> Option<Version> {
        match media_type {
            "application/vnd.dev.sigstore.bundle+json;version=0.1" => Some(Version::V0_1),
            "application/vnd.dev.sigstore.bundle+json;version=0.2" => Some(Version::V0_2),
            "application/vnd.dev.sigstore.bundle+json;version=0.3" | "application/vnd.dev.sigstore.bundle.v0.3+json" => Some(Version::V0_3),
            _ => None,
        }
    }
}

/// A bundle, read.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub version: Version,
    pub material: Material,
    pub tlog_entries: Vec<TlogEntry>,
    /// DER `TimeStampResp`s (RFC 3161).
    pub timestamps: Vec<Vec<u8>>,
    pub content: Content,
}

/// Who signed: a certificate (with the chain the bundle carries after it) or a key's hint.
#[derive(Debug, Clone)]
pub enum Material {
    Certificates(Vec<Vec<u8>>),
    PublicKey { hint: Option<String> },
}

#[derive(Debug, Clone)]
pub enum Content {
    Message { digest: Option<MessageDigest>, signature: Vec<u8> },
    Dsse(Envelope),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDigest {
    pub algorithm: String,
    pub digest: Vec<u8>,
}

/// A DSSE envelope with its one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub payload_type: String,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Envelope {
    /// DSSE's pre-authentication encoding, what the signature signs.
    pub fn pae(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload.len() + self.payload_type.len() + 32);
        out.extend_from_slice(b"DSSEv1 ");
        out.extend_from_slice(self.payload_type.len().to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.payload_type.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.payload.len().to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(&self.payload);
        out
    }

    /// A DSSE envelope as JSON (`payload`, `payloadType`, `signatures[].sig`), with one signature.
    pub fn from_json(json: &[u8]) -> Result<Envelope, Refusal> {
        let raw: EnvelopeJson = serde_json::from_slice(json).map_err(|e| Refusal::Malformed(e.to_string()))?;
        raw.read()
    }
}

#[derive(Debug, Clone)]
pub struct TlogEntry {
    pub log_index: u64,
    pub log_id: Vec<u8>,
    pub kind: String,
    pub version: String,
    pub integrated_time: Option<i64>,
    /// The signed entry timestamp.
    pub inclusion_promise: Option<Vec<u8>>,
    pub inclusion_proof: Option<InclusionProof>,
    pub canonicalized_body: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct InclusionProof {
    pub log_index: u64,
    pub root_hash: [u8; 32],
    pub tree_size: u64,
    pub hashes: Vec<[u8; 32]>,
    /// The signed note of the checkpoint the root hash is of (older v0.1 bundles have none).
    pub checkpoint: Option<String>,
}

// The JSON, as sent.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BundleJson {
    media_type: String,
    verification_material: MaterialJson,
    message_signature: Option<MessageSignatureJson>,
    dsse_envelope: Option<EnvelopeJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MaterialJson {
    x509_certificate_chain: Option<ChainJson>,
    certificate: Option<RawBytesJson>,
    public_key: Option<HintJson>,
    #[serde(default)]
    tlog_entries: Vec<TlogEntryJson>,
    timestamp_verification_data: Option<TimestampDataJson>,
}

#[derive(Deserialize)]
struct ChainJson {
    #[serde(default)]
    certificates: Vec<RawBytesJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytesJson {
    raw_bytes: String,
}

#[derive(Deserialize)]
struct HintJson {
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimestampDataJson {
    #[serde(default)]
    rfc3161_timestamps: Vec<SignedTimestampJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignedTimestampJson {
    signed_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TlogEntryJson {
    log_index: Number,
    log_id: KeyIdJson,
    kind_version: KindVersionJson,
    integrated_time: Option<Number>,
    inclusion_promise: Option<PromiseJson>,
    inclusion_proof: Option<ProofJson>,
    canonicalized_body: String,
}

/// Protobuf's JSON writes 64-bit integers as strings, and accepts numbers.
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Text(String),
    Int(i64),
}

impl Number {
    fn get(&self, field: &'static str) -> Result<i64, Refusal> {
        match self {
            Number::Int(n) => Ok(*n),
            Number::Text(s) => s.parse().map_err(|_| Refusal::Malformed(format!("{field} is not an integer"))),
        }
    }

    fn unsigned(&self, field: &'static str) -> Result<u64, Refusal> {
        u64::try_from(self.get(field)?).map_err(|_| Refusal::Malformed(format!("{field} is negative")))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyIdJson {
    key_id: String,
}

#[derive(Deserialize)]
struct KindVersionJson {
    kind: String,
    version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromiseJson {
    signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProofJson {
    log_index: Number,
    root_hash: String,
    tree_size: Number,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Option<CheckpointJson>,
}

#[derive(Deserialize)]
struct CheckpointJson {
    envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageSignatureJson {
    message_digest: Option<DigestJson>,
    signature: String,
}

#[derive(Deserialize)]
struct DigestJson {
    algorithm: String,
    digest: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeJson {
    payload: String,
    payload_type: String,
    #[serde(default)]
    signatures: Vec<SigJson>,
}

#[derive(Deserialize)]
struct SigJson {
    sig: String,
}

pub(crate) fn b64(s: &str, field: &'static str) -> Result<Vec<u8>, Refusal> {
    B64.decode(s).map_err(|_| Refusal::Base64(field))
}

fn hash32(s: &str, field: &'static str) -> Result<[u8; 32], Refusal> {
    b64(s, field)?.try_into().map_err(|_| Refusal::Malformed(format!("{field} is not a 32-byte hash")))
}

impl EnvelopeJson {
    fn read(self) -> Result<Envelope, Refusal> {
        let [sig] = &self.signatures[..] else { return Err(Refusal::DsseSignatureCount(self.signatures.len())) };
        Ok(Envelope {
            payload: b64(&self.payload, "dsseEnvelope.payload")?,
            payload_type: self.payload_type,
            signature: b64(&sig.sig, "dsseEnvelope.signatures[0].sig")?,
        })
    }
}

impl Bundle {
    /// Reads a bundle: every field decoded, its version known, its material consistent.
    pub fn from_json(json: &[u8]) -> Result<Bundle, Refusal> {
        let raw: BundleJson = serde_json::from_slice(json).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let version = Version::from_media_type(&raw.media_type).ok_or(Refusal::UnsupportedMediaType(raw.media_type))?;
        let vm = raw.verification_material;
        let material = match (vm.x509_certificate_chain, vm.certificate, vm.public_key) {
            (Some(chain), None, None) => {
                if chain.certificates.is_empty() {
                    return Err(Refusal::EmptyCertificateChain);
                }
                let certs = chain
                    .certificates
                    .iter()
                    .map(|c| b64(&c.raw_bytes, "verificationMaterial.x509CertificateChain"))
                    .collect::<Result<_, _>>()?;
                Material::Certificates(certs)
            }
            (None, Some(cert), None) => Material::Certificates(vec![b64(&cert.raw_bytes, "verificationMaterial.certificate")?]),
            (None, None, Some(key)) => Material::PublicKey { hint: key.hint },
            (None, None, None) => return Err(Refusal::Malformed("no verification material".into())),
            _ => return Err(Refusal::Malformed("more than one kind of verification material".into())),
        };
        let tlog_entries = vm
            .tlog_entries
            .into_iter()
            .map(|e| {
                Ok(TlogEntry {
                    log_index: e.log_index.unsigned("logIndex")?,
                    log_id: b64(&e.log_id.key_id, "logId.keyId")?,
                    kind: e.kind_version.kind,
                    version: e.kind_version.version,
                    integrated_time: e.integrated_time.map(|t| t.get("integratedTime")).transpose()?.filter(|&t| t != 0),
                    inclusion_promise: e
                        .inclusion_promise
                        .map(|p| b64(&p.signed_entry_timestamp, "inclusionPromise.signedEntryTimestamp"))
                        .transpose()?,
                    inclusion_proof: e
                        .inclusion_proof
                        .map(|p| {
                            Ok::<_, Refusal>(InclusionProof {
                                log_index: p.log_index.unsigned("inclusionProof.logIndex")?,
                                root_hash: hash32(&p.root_hash, "inclusionProof.rootHash")?,
                                tree_size: p.tree_size.unsigned("inclusionProof.treeSize")?,
                                hashes: p.hashes.iter().map(|h| hash32(h, "inclusionProof.hashes")).collect::<Result<_, Refusal>>()?,
                                checkpoint: p.checkpoint.map(|c| c.envelope),
                            })
                        })
                        .transpose()?,
                    canonicalized_body: b64(&e.canonicalized_body, "canonicalizedBody")?,
                })
            })
            .collect::<Result<Vec<_>, Refusal>>()?;
        let timestamps = vm
            .timestamp_verification_data
            .map(|t| t.rfc3161_timestamps)
            .unwrap_or_default()
            .iter()
            .map(|t| b64(&t.signed_timestamp, "rfc3161Timestamps.signedTimestamp"))
            .collect::<Result<_, _>>()?;
        let content = match (raw.message_signature, raw.dsse_envelope) {
            (Some(m), None) => Content::Message {
                digest: m
                    .message_digest
                    .map(|d| Ok::<_, Refusal>(MessageDigest { algorithm: d.algorithm, digest: b64(&d.digest, "messageDigest.digest")? }))
                    .transpose()?,
                signature: b64(&m.signature, "messageSignature.signature")?,
            },
            (None, Some(e)) => Content::Dsse(e.read()?),
            (None, None) => return Err(Refusal::NoContent),
            (Some(_), Some(_)) => return Err(Refusal::Malformed("both a message signature and a DSSE envelope".into())),
        };
        Ok(Bundle { version, material, tlog_entries, timestamps, content })
    }

    /// The signature bytes: the message signature, or the envelope's.
    pub fn signature(&self) -> &[u8] {
        match &self.content {
            Content::Message { signature, .. } => signature,
            Content::Dsse(e) => &e.signature,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_the_dsse_specification_s() {
        let e = Envelope { payload_type: "http://example.com/HelloWorld".into(), payload: b"hello world".to_vec(), signature: vec![] };
        assert_eq!(e.pae(), b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec());
    }

    #[test]
    fn media_types() {
        assert_eq!(Version::from_media_type("application/vnd.dev.sigstore.bundle.v0.3+json"), Some(Version::V0_3));
        assert_eq!(Version::from_media_type("application/vnd.dev.sigstore.bundle+json;version=0.1"), Some(Version::V0_1));
        assert_eq!(Version::from_media_type("application/vnd.dev.sigstore.bundle+json;version=99.9"), None);
    }

    #[test]
    fn an_envelope_needs_exactly_one_signature() {
        assert_eq!(Envelope::from_json(br#"{"payload":"","payloadType":"t","signatures":[]}"#), Err(Refusal::DsseSignatureCount(0)));
    }
}
