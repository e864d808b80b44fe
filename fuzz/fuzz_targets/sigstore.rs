//! Any bytes, as what `dossier-sigstore` reads: a Sigstore bundle (then verified against the
//! public-good root, with the artifact named by a digest made of the bytes, as any identity),
//! a DSSE envelope (its PAE), an in-toto statement, a trusted root, a PEM public key, and an
//! RFC 3161 timestamp response over the bytes. Nothing panics, and a refusal always names a
//! check (its message is never empty).
#![no_main]

use std::sync::OnceLock;

use dossier_sigstore::{verify, Artifact, Bundle, Envelope, Expected, PublicKey, Statement, TrustedRoot};
use libfuzzer_sys::fuzz_target;

fn root() -> &'static TrustedRoot {
    static ROOT: OnceLock<TrustedRoot> = OnceLock::new();
    ROOT.get_or_init(TrustedRoot::public_good)
}

fuzz_target!(|data: &[u8]| {
    // 2026-12-01T00:00:00Z: no clock in the verifier, none here.
    let now = time::OffsetDateTime::from_unix_timestamp(1_796_083_200).unwrap();
    match Bundle::from_json(data) {
        Ok(bundle) => {
            let digest: [u8; 32] = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(data)).into();
            for artifact in [Artifact::Bytes(data), Artifact::Sha256(digest)] {
                if let Err(refusal) = verify(&bundle, artifact, &Expected::any_identity(), root(), now) {
                    assert!(!refusal.to_string().is_empty());
                }
            }
        }
        Err(refusal) => assert!(!refusal.to_string().is_empty()),
    }
    if let Ok(envelope) = Envelope::from_json(data) {
        let pae = envelope.pae();
        assert!(pae.len() > envelope.payload.len() + envelope.payload_type.len());
        let _ = Statement::from_json(&envelope.payload);
    }
    let _ = Statement::from_json(data);
    let _ = TrustedRoot::from_json(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PublicKey::from_pem(text);
    }
    let _ = dossier_sigstore::verify_timestamp(data, b"signature", root());
});
