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

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;

    const DIGEST: &str = "ab12000000000000000000000000000000000000000000000000000000000000";

    fn key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap()
    }

    fn payload(digest: &str, kind: &str) -> Vec<u8> {
        serde_json::json!({"critical": {"identity": {"docker-reference": "registry.example/shop"},
            "image": {"docker-manifest-digest": format!("sha256:{digest}")}, "type": kind}, "optional": null})
        .to_string()
        .into_bytes()
    }

    fn sign(payload: &[u8]) -> String {
        let sig: p256::ecdsa::Signature = key().sign(payload);
        B64.encode(sig.to_der().as_bytes())
    }

    #[test]
    fn a_cosign_signature_verifies_with_its_key_and_names_the_image() {
        let public = PublicKey::P256(*key().verifying_key());
        let p = payload(DIGEST, SIMPLE_SIGNING_TYPE);
        assert_eq!(verify_simple_signing(&p, &sign(&p), &public, DIGEST), Ok(()));
        assert_eq!(verify_simple_signing(&p, &sign(&p), &public, &DIGEST.replace("ab12", "cd34")), Err(Refusal::ArtifactDigestMismatch));
    }

    #[test]
    fn a_forged_or_foreign_signature_is_refused() {
        let public = PublicKey::P256(*key().verifying_key());
        let p = payload(DIGEST, SIMPLE_SIGNING_TYPE);
        assert_eq!(verify_simple_signing(&p, "MEUCIQDnotarealsig", &public, DIGEST), Err(Refusal::Base64("the cosign signature")));
        let other = PublicKey::P256(*p256::ecdsa::SigningKey::from_bytes(&[9u8; 32].into()).unwrap().verifying_key());
        assert_eq!(verify_simple_signing(&p, &sign(&p), &other, DIGEST), Err(Refusal::BadSignature));
        let mut changed = p.clone();
        changed[10] ^= 1;
        assert_eq!(verify_simple_signing(&changed, &sign(&p), &public, DIGEST), Err(Refusal::BadSignature));
        let q = payload(DIGEST, "something else");
        assert!(matches!(verify_simple_signing(&q, &sign(&q), &public, DIGEST), Err(Refusal::BadStatement(_))));
    }

    #[test]
    fn a_key_reads_from_pem_and_names_itself_by_fingerprint() {
        let public = PublicKey::P256(*key().verifying_key());
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", B64.encode(public.to_spki_der()));
        let read = PublicKey::from_pem(&pem).unwrap();
        assert_eq!(read, public);
        assert_eq!(read.fingerprint(), public.fingerprint());
        assert!(read.fingerprint().starts_with("sha256:"));
    }
}
