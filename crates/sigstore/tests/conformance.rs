//! The Sigstore client conformance suite's `bundle-verify` cases (../shared/fixtures): every
//! case gives its expected verdict, and every refusal is the one the case is about.

use std::path::{Path, PathBuf};

use dossier_sigstore::{verify, Artifact, Bundle, Expected, Matcher, PublicKey, Refusal, RootError, TimestampRefusal, TrustedRoot};

const DEFAULT_IDENTITY: &str =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sigstore-conformance");
    if dir.join("bundle-verify").is_dir() {
        return Some(dir);
    }
    let required = std::env::var_os("CI").is_some() || std::env::var_os("DOSSIER_REQUIRE_FIXTURES").is_some();
    assert!(!required, "the Sigstore conformance fixtures are missing at {}", dir.display());
    eprintln!("skipped: no Sigstore conformance fixtures at {}", dir.display());
    None
}

/// Runs one case as the conformance suite does.
fn run(case: &Path) -> Result<dossier_sigstore::Verified, Refusal> {
    let read = |name: &str| std::fs::read(case.join(name)).ok();
    let text = |name: &str| read(name).map(|b| String::from_utf8(b).unwrap().trim().to_owned());
    let root = match read("trusted_root.json") {
        Some(json) => TrustedRoot::from_json(&json)?,
        None => TrustedRoot::public_good(),
    };
    let artifact = read("artifact").unwrap_or_else(|| std::fs::read(case.join("../a.txt")).unwrap());
    let expected = match text("key.pub") {
        Some(pem) => Expected::Key(PublicKey::from_pem(&pem).unwrap()),
        None => Expected::Identity {
            identity: Matcher::Exact(text("identity").unwrap_or_else(|| DEFAULT_IDENTITY.to_owned())),
            issuer: Matcher::Exact(text("issuer").unwrap_or_else(|| DEFAULT_ISSUER.to_owned())),
        },
    };
    let bundle = Bundle::from_json(&read("bundle.sigstore.json").unwrap())?;
    verify(&bundle, Artifact::Bytes(&artifact), &expected, &root, time::OffsetDateTime::now_utc())
}

/// The refusal each `_fail` case must get: the check its README says it breaks.
fn expected_refusal(case: &str) -> fn(&Refusal) -> bool {
    use Refusal as R;
    match case {
        "bundle-empty-certificate-chain_fail" => |r| matches!(r, R::EmptyCertificateChain),
        "bundle-from-wrong-instance_fail" => |r| matches!(r, R::UnknownLog(_)),
        "bundle-invalid-base64-signature_fail" => |r| matches!(r, R::Base64("messageSignature.signature")),
        "bundle-malformed-json_fail" => |r| matches!(r, R::Malformed(_)),
        "bundle-unknown-version_fail" => |r| matches!(r, R::UnsupportedMediaType(m) if m.ends_with("version=99.9")),
        "bundle-with-root-cert_fail" => |r| matches!(r, R::RootCertificateInBundle),
        "checkpoint-wrong-roothash_fail" => |r| matches!(r, R::CheckpointMismatch("root hash")),
        "dsse-invalid-sig_fail" => |r| matches!(r, R::BadSignature),
        "dsse-mismatch-envelope_fail" => |r| matches!(r, R::LogEntryMismatch(_)),
        "inclusion-proof-corrupted-hash_fail" => |r| matches!(r, R::InclusionProof(_)),
        "incorrect-public-key_fail" => |r| matches!(r, R::LogEntryMismatch("another signer")),
        "integrated-time-in-future_fail" => |r| matches!(r, R::TimeOutsideCertificateValidity { .. }),
        "intoto-expired-certificate_fail" => |r| matches!(r, R::TimeOutsideCertificateValidity { .. }),
        "intoto-log-entry-mismatch_fail" => |r| matches!(r, R::LogEntryMismatch(_)),
        "intoto-missing-inclusion-proof_fail" => |r| matches!(r, R::MissingInclusionProof),
        "intoto-tsa-timestamp-outside-cert-validity_fail" => |r| matches!(r, R::TimeOutsideCertificateValidity { .. }),
        "invalid-checkpoint-signature_fail" => |r| matches!(r, R::BadCheckpointSignature),
        "invalid-inclusion-proof_fail" => |r| matches!(r, R::InclusionProof(_)),
        "managed-key-no-key_fail" => |r| matches!(r, R::NoKeyConfigured),
        "message-digest-mismatch_fail" => |r| matches!(r, R::ArtifactDigestMismatch),
        "rekor2-checkpoint-missing-log-signature_fail" => |r| matches!(r, R::NoCheckpointSignature),
        "rekor2-checkpoint-missing-origin_fail" => |r| matches!(r, R::CheckpointMalformed(_)),
        "rekor2-checkpoint-missing-root-hash_fail" => |r| matches!(r, R::CheckpointMalformed(_)),
        "rekor2-checkpoint-missing-size_fail" => |r| matches!(r, R::CheckpointMalformed(_)),
        "rekor2-dsse-invalid-sig_fail" => |r| matches!(r, R::BadSignature),
        "rekor2-dsse-mismatch-envelope_fail" => |r| matches!(r, R::LogEntryMismatch(_)),
        "rekor2-dsse-mismatch-sig_fail" => |r| matches!(r, R::LogEntryMismatch("another signature")),
        "rekor2-no-inclusion-proof_fail" => |r| matches!(r, R::MissingInclusionProof),
        "rekor2-no-timestamp_fail" => |r| matches!(r, R::NoVerifiedTime),
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail" => {
            |r| matches!(r, R::Timestamp { index: 0, reason: TimestampRefusal::OutsideAuthorityValidity(_) })
        }
        "rekor2-timestamp-outside-tsa-cert-validity_fail" => {
            |r| matches!(r, R::Timestamp { index: 0, reason: TimestampRefusal::OutsideCertificateValidity(_) })
        }
        "rekor2-timestamp-payload-mismatch_fail" => |r| matches!(r, R::Timestamp { index: 0, reason: TimestampRefusal::ImprintMismatch }),
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail" | "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail" => {
            |r| matches!(r, R::Timestamp { index: 0, reason: TimestampRefusal::UntrustedAuthority })
        }
        "signature-mismatch_fail" => |r| matches!(r, R::BadSignature),
        "trust-root-tlog-missing-validity-start_fail" => |r| matches!(r, R::TrustedRoot(RootError::MissingValidityStart(_))),
        "wrong-hashedrekord-artifact_fail" => |r| matches!(r, R::LogEntryMismatch(_)),
        "wrong-hashedrekord-cert-and-sig_fail" => |r| matches!(r, R::LogEntryMismatch("another signer")),
        "wrong-material_fail" => |r| matches!(r, R::ArtifactDigestMismatch),
        other => panic!("no expected refusal is written for {other}: add it to the table"),
    }
}

#[test]
fn every_conformance_case_gives_its_verdict_and_each_refusal_its_reason() {
    let Some(dir) = fixtures() else { return };
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(dir.join("bundle-verify")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert_eq!(cases.len(), 58, "the suite's cases");
    let mut wrong = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        match (run(case), name.ends_with("_fail")) {
            (Ok(_), false) => {}
            (Err(refusal), true) if expected_refusal(&name)(&refusal) => {}
            (Err(refusal), true) => wrong.push(format!("{name}: refused for another reason: {refusal:?}")),
            (Ok(_), true) => wrong.push(format!("{name}: verified, and must be refused")),
            (Err(refusal), false) => wrong.push(format!("{name}: refused, and must verify: {refusal}")),
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases are wrong:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

#[test]
fn a_verified_bundle_says_who_signed_where_and_when() {
    let Some(dir) = fixtures() else { return };
    let v = run(&dir.join("bundle-verify/happy-path-v0.3")).unwrap();
    assert_eq!(v.identity(), DEFAULT_IDENTITY);
    assert_eq!(v.issuer(), Some(DEFAULT_ISSUER));
    assert_eq!(v.log_entries.len(), 1);
    assert_eq!(v.log_entries[0].log_url, "https://rekor.sigstore.dev");
    assert_eq!(v.log_entries[0].index, 79571823);
    assert_eq!(v.signed_at.unix_timestamp(), 1710869186, "the integrated time its promise signs");
    assert_eq!(v.statement, None);

    let v = run(&dir.join("bundle-verify/happy-path-intoto-in-dsse-v3")).unwrap();
    let statement = v.statement.expect("a DSSE bundle's statement");
    assert_eq!(statement.predicate_type, "https://slsa.dev/provenance/v1");

    let v = run(&dir.join("bundle-verify/rekor2-happy-path")).unwrap();
    assert_eq!(v.timestamps.len(), 1, "Rekor v2: the time is the timestamp authority's");
    assert_eq!(v.log_entries[0].integrated_time, None);
}

#[test]
fn an_expected_identity_or_issuer_is_required_exactly_or_by_pattern() {
    let Some(dir) = fixtures() else { return };
    let case = dir.join("bundle-verify/happy-path-v0.3");
    let bundle = Bundle::from_json(&std::fs::read(case.join("bundle.sigstore.json")).unwrap()).unwrap();
    let artifact = std::fs::read(dir.join("bundle-verify/a.txt")).unwrap();
    let root = TrustedRoot::public_good();
    let check = |identity: Matcher, issuer: Matcher| {
        verify(&bundle, Artifact::Bytes(&artifact), &Expected::Identity { identity, issuer }, &root, time::OffsetDateTime::now_utc())
    };
    let repo = Matcher::pattern(r"https://github\.com/sigstore-conformance/.*").unwrap();
    assert!(check(repo.clone(), Matcher::Exact(DEFAULT_ISSUER.into())).is_ok());
    assert!(matches!(
        check(Matcher::pattern(r"https://github\.com/acme/.*").unwrap(), Matcher::Any),
        Err(Refusal::IdentityMismatch { .. })
    ));
    assert!(matches!(
        check(repo, Matcher::Exact("https://accounts.google.com".into())),
        Err(Refusal::IssuerMismatch { found: Some(i), .. }) if i == DEFAULT_ISSUER
    ));
    // The digest alone verifies a message signature as the bytes do.
    let digest = sha2_256(&artifact);
    let any = Expected::any_identity();
    assert!(verify(&bundle, Artifact::Sha256(digest), &any, &root, time::OffsetDateTime::now_utc()).is_ok());
    assert_eq!(
        verify(&bundle, Artifact::Sha256([0; 32]), &any, &root, time::OffsetDateTime::now_utc()).unwrap_err(),
        Refusal::ArtifactDigestMismatch
    );
    // Verified before the log integrated it: refused.
    let before = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    assert!(matches!(verify(&bundle, Artifact::Bytes(&artifact), &any, &root, before), Err(Refusal::IntegratedTimeInFuture { .. })));
}

#[test]
fn the_shipped_root_is_the_public_good_root_of_the_fixtures() {
    let Some(dir) = fixtures() else { return };
    let shared = std::fs::read_to_string(dir.join("trusted_root.production.json")).unwrap();
    assert_eq!(dossier_sigstore::root::PUBLIC_GOOD, shared);
}

fn sha2_256(bytes: &[u8]) -> [u8; 32] {
    Artifact::Bytes(bytes).sha256()
}
