//! cosign's key-based signatures: a base64 signature over a "simple signing" payload that names
//! the image's manifest digest, verified with a configured public key.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;

use crate::error::Refusal;
use crate::keys::{HashAlg, PublicKey, SignatureError};

const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

#[derive(Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    manifest_digest: String,
}

/// Verifies a cosign signature (base64) over `payload` with `key`, and that the payload is
/// about the image whose manifest digest is `sha256` (hex).
pub fn verify_simple_signing(payload: &[u8], signature_b64: &str, key: &PublicKey, sha256: &str) -> Result<(), Refusal> {
    let signature = B64.decode(signature_b64.trim()).map_err(|_| Refusal::Base64("the cosign signature"))?;
    key.verify(HashAlg::Sha256, payload, &signature).map_err(|e| match e {
        SignatureError::NeedsMessage | SignatureError::Encoding | SignatureError::Invalid => Refusal::BadSignature,
    })?;
    let payload: Payload =
        serde_json::from_slice(payload).map_err(|e| Refusal::BadStatement(format!("not a simple-signing payload: {e}")))?;
    if payload.critical.kind != SIMPLE_SIGNING_TYPE {
        return Err(Refusal::BadStatement(format!("simple-signing type {:?}", payload.critical.kind)));
    }
    let named = payload.critical.image.manifest_digest.strip_prefix("sha256:").unwrap_or_default();
    if !named.eq_ignore_ascii_case(sha256) {
        return Err(Refusal::ArtifactDigestMismatch);
    }
    Ok(())
}
