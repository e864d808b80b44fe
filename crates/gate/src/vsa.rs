//! SLSA verification summaries (VSA v1.0) of gate decisions: an in-toto Statement v1 with
//! `predicateType: https://slsa.dev/verification_summary/v1`, in a DSSE envelope signed with the
//! verifier's ECDSA P-256 key (SHA-256, ASN.1 DER signatures: what cosign, slsa-verifier and
//! `openssl dgst -verify` accept).
//!
//! A summary is a function of the decision entry and the key: ECDSA signatures here are
//! deterministic (RFC 6979), so the summary served at `GET /api/v1/gate/{decision}/vsa` and the
//! one kept as a document about the artifact are the same bytes.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use p256::ecdsa::signature::{Signer, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{hex, GateDecided};

/// The VSA predicate type.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/verification_summary/v1";
/// The in-toto statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// Why a summary cannot be made or read.
#[derive(Debug, thiserror::Error)]
pub enum VsaError {
    #[error("{0} names no sha256 digest: a verification summary's subject is the artifact's digest")]
    NoDigest(String),
    #[error("the verifier key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("the envelope: {0}")]
    Envelope(String),
}

/// The verifier's signing key: ECDSA P-256, kept as PKCS#8 PEM.
pub struct VerifierKey {
    key: SigningKey,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifierKey({})", self.keyid())
    }
}

impl VerifierKey {
    /// The key at `path` (PKCS#8 PEM), created (mode 0600) if there is none; its public key is
    /// written beside it as `<path>.pub` (SubjectPublicKeyInfo PEM, what `cosign` and `openssl`
    /// read).
    pub fn load_or_create(path: &Path) -> Result<VerifierKey, VsaError> {
        let err = |reason: String| VsaError::Key { path: path.display().to_string(), reason };
        let key = match std::fs::read_to_string(path) {
            Ok(pem) => SigningKey::from_pkcs8_pem(&pem).map_err(|e| err(format!("not a PKCS#8 P-256 private key: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SigningKey::random(&mut rand_core::OsRng);
                let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| err(e.to_string()))?;
                write_private(path, pem.as_bytes()).map_err(|e| err(e.to_string()))?;
                key
            }
            Err(e) => return Err(err(e.to_string())),
        };
        let k = VerifierKey { key };
        let public = path.with_extension("pub");
        if std::fs::read_to_string(&public).ok().as_deref() != Some(k.public_pem().as_str()) {
            std::fs::write(&public, k.public_pem()).map_err(|e| err(format!("writing {}: {e}", public.display())))?;
        }
        Ok(k)
    }

    /// The public key, SubjectPublicKeyInfo PEM.
    pub fn public_pem(&self) -> String {
        self.key.verifying_key().to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }

    /// SHA-256 of the public key's DER encoding, hex: the envelope's `keyid`.
    pub fn keyid(&self) -> String {
        let der = self.key.verifying_key().to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        hex(&Sha256::digest(der))
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// One input the decision was made on, as the summary names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub uri: String,
    /// SHA-256, hex.
    pub sha256: String,
}

/// Who verified: the verifier's id and where its policy set and inputs are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// `verifier.id`, e.g. `https://dossier.example/gate`.
    pub id: String,
    /// The base of the URIs of the policy set and the inputs (`dossier://<log origin>`).
    pub base: String,
}

/// A summary's `verificationResult`, as SLSA spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VerificationResult {
    Passed,
    Failed,
}

impl VerificationResult {
    /// `PASSED` when the gate allowed, `FAILED` when it denied.
    pub fn of(d: &GateDecided) -> VerificationResult {
        if d.allowed {
            VerificationResult::Passed
        } else {
            VerificationResult::Failed
        }
    }
}

/// The in-toto statement summarising `d`: `PASSED` when the gate allowed, `FAILED` when it
/// denied; the inputs are the entries and documents it was made on.
pub fn statement(d: &GateDecided, verifier: &Verifier, inputs: &[Input]) -> Result<Value, VsaError> {
    let digest = d
        .artifact
        .split_once('@')
        .and_then(|(_, v)| v.split(['?', '#']).next())
        .and_then(|v| v.strip_prefix("sha256:"))
        .filter(|h| h.len() == 64)
        .ok_or_else(|| VsaError::NoDigest(d.artifact.clone()))?;
    let name = d.artifact.split(['@', '?']).next().unwrap_or(&d.artifact);
    let result = VerificationResult::of(d);
    // Levels: Dossier's own, per environment (SLSA reserves the SLSA_ prefix for its tracks; the
    // gate does not compute a SLSA build level, its policies may require one).
    let levels: Vec<String> = if d.allowed { vec![format!("DOSSIER_GATE_{}", level_name(&d.environment))] } else { Vec::new() };
    Ok(json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": digest}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "verifier": {"id": verifier.id, "version": {"dossier": env!("CARGO_PKG_VERSION")}},
            "timeVerified": dossier_core::event::format_timestamp(d.moment.at_unix_nanos),
            "resourceUri": d.artifact,
            "policy": {"uri": format!("{}/policy-set/{}", verifier.base, d.policy_set), "digest": {"sha256": d.policy_set}},
            "inputAttestations": inputs.iter().map(|i| json!({"uri": i.uri, "digest": {"sha256": i.sha256}})).collect::<Vec<_>>(),
            "verificationResult": result,
            "verifiedLevels": levels,
            "slsaVersion": "1.0",
        }
    }))
}

fn level_name(environment: &str) -> String {
    environment.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// A DSSE envelope as JSON carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Base64 of the payload.
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    pub keyid: String,
    /// Base64 of the ASN.1 DER ECDSA signature.
    pub sig: String,
}

/// DSSE's pre-authentication encoding: what the signature signs.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// `statement` (its RFC 8785 form) in an envelope signed by `key`.
pub fn sign(statement: &Value, key: &VerifierKey) -> Envelope {
    let payload = dossier_core::jcs::canonicalize(statement).into_bytes();
    let signature = key.sign(&pae(PAYLOAD_TYPE, &payload));
    Envelope {
        payload: B64.encode(&payload),
        payload_type: PAYLOAD_TYPE.into(),
        signatures: vec![EnvelopeSignature { keyid: key.keyid(), sig: B64.encode(signature) }],
    }
}

/// The statement of `envelope` if a signature of it verifies with `public_pem`.
pub fn verify(envelope: &Envelope, public_pem: &str) -> Result<Value, VsaError> {
    let key = VerifyingKey::from_public_key_pem(public_pem).map_err(|e| VsaError::Envelope(format!("the public key: {e}")))?;
    let payload = B64.decode(&envelope.payload).map_err(|e| VsaError::Envelope(format!("payload: {e}")))?;
    let message = pae(&envelope.payload_type, &payload);
    let verified = envelope.signatures.iter().any(|s| {
        B64.decode(&s.sig).ok().and_then(|der| Signature::from_der(&der).ok()).is_some_and(|sig| key.verify(&message, &sig).is_ok())
    });
    if !verified {
        return Err(VsaError::Envelope("no signature verifies with the key".into()));
    }
    serde_json::from_slice(&payload).map_err(|e| VsaError::Envelope(format!("the payload is not JSON: {e}")))
}
