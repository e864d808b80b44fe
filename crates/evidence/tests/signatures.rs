//! Signatures checked against a trust, on bundles made by Sigstore's clients (the conformance
//! suite's cases in `../shared/fixtures/sigstore-conformance`).

use std::path::PathBuf;

use dossier_evidence::signatures::{CheckKind, Trust, TrustSet, TrustedKey};
use dossier_sigstore::{Matcher, PublicKey};
use time::OffsetDateTime;

fn case(name: &str, file: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sigstore-conformance/bundle-verify").join(name);
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{name}/{file}: {e}"))
}

/// SHA-256 of `a.txt`, the artifact the suite's bundles sign.
const A_TXT: &str = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
const BEACON: &str =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";

fn a_txt() -> Option<[u8; 32]> {
    Some(hex::decode(A_TXT).unwrap().try_into().unwrap())
}

#[test]
fn a_bundle_from_the_public_good_instance_verifies_and_names_who_signed_where_and_when() {
    let c = Trust::default().check_bundle(&case("happy-path-v0.3", "bundle.sigstore.json"), a_txt(), OffsetDateTime::now_utc());
    assert_eq!((c.kind, c.verified, c.trust.clone(), c.reason.clone()), (CheckKind::SigstoreBundle, true, vec!["default".into()], None));
    assert_eq!(c.identity.as_deref(), Some(BEACON));
    assert_eq!(c.issuer.as_deref(), Some("https://token.actions.githubusercontent.com"));
    assert_eq!(c.log_url.as_deref(), Some("https://rekor.sigstore.dev"));
    assert!(c.log_index.is_some() && c.time.is_some(), "{c:?}");
}

#[test]
fn the_same_bundle_for_another_artifact_or_another_identity_is_refused_with_the_check_that_failed() {
    let bundle = case("happy-path-v0.3", "bundle.sigstore.json");
    let other = Trust::default().check_bundle(&bundle, Some([7; 32]), OffsetDateTime::now_utc());
    assert!(!other.verified);
    assert_eq!(other.reason.as_deref(), Some("default: the artifact's digest is not the one the bundle signs"));
    let mut strict = TrustSet::public_good();
    strict.name = "acme-releases".into();
    strict.identity = Matcher::pattern(r"https://github\.com/acme/.*").unwrap();
    let c = Trust { sets: vec![strict, TrustSet::public_good()] }.check_bundle(&bundle, a_txt(), OffsetDateTime::now_utc());
    assert!(c.verified, "verified under the set that accepts any identity");
    assert_eq!(c.trust, vec!["default".to_owned()], "and only under it: {c:?}");
}

#[test]
fn a_forged_signature_is_recorded_unverified_with_the_reason() {
    let c = Trust::default().check_bundle(&case("signature-mismatch_fail", "bundle.sigstore.json"), a_txt(), OffsetDateTime::now_utc());
    assert!(!c.verified);
    assert!(c.reason.as_deref().unwrap().starts_with("default: "), "{c:?}");
    assert!(c.identity.is_none() && c.trust.is_empty());
}

#[test]
fn a_dsse_bundle_verifies_against_its_subject() {
    let c =
        Trust::default().check_bundle(&case("happy-path-intoto-in-dsse-v3", "bundle.sigstore.json"), a_txt(), OffsetDateTime::now_utc());
    assert!(c.verified, "{c:?}");
}

#[test]
fn a_managed_key_bundle_verifies_with_a_configured_key_and_only_with_one() {
    let bundle = case("managed-key-happy-path", "bundle.sigstore.json");
    let key = PublicKey::from_pem(std::str::from_utf8(&case("managed-key-happy-path", "key.pub")).unwrap()).unwrap();
    let without = Trust::default().check_bundle(&bundle, a_txt(), OffsetDateTime::now_utc());
    assert_eq!(without.reason.as_deref(), Some("default: the bundle is signed with a key, and the trust set has no keys"));
    let mut set = TrustSet::public_good();
    set.keys.push(TrustedKey { name: "release-key".into(), key: key.clone() });
    let with = Trust { sets: vec![set] }.check_bundle(&bundle, a_txt(), OffsetDateTime::now_utc());
    assert!(with.verified, "{with:?}");
    assert_eq!((with.identity.as_deref(), with.key.clone()), (Some("release-key"), Some(key.fingerprint())));
}
