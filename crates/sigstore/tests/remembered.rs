//! A trusted root remembers the signatures that verified (issuers', SCTs', artifacts',
//! envelopes', signed entry timestamps', checkpoints', timestamp authorities'). What it
//! remembers must change no verdict: a bundle verified before, then changed in one byte that a
//! remembered signature covers, is refused as a bundle never seen; and every conformance case
//! gives its verdict with one root shared by all cases, verified over and over.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dossier_sigstore::bundle::Content;
use dossier_sigstore::{verify, Artifact, Bundle, Expected, Matcher, PublicKey, Refusal, TimestampRefusal, TrustedRoot};

const DEFAULT_IDENTITY: &str =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sigstore-conformance/bundle-verify");
    if dir.is_dir() {
        return Some(dir);
    }
    let required = std::env::var_os("CI").is_some() || std::env::var_os("DOSSIER_REQUIRE_FIXTURES").is_some();
    assert!(!required, "the Sigstore conformance fixtures are missing at {}", dir.display());
    eprintln!("skipped: no Sigstore conformance fixtures at {}", dir.display());
    None
}

/// A case's bundle (read or not), artifact and expectation.
struct Case {
    name: String,
    bundle: Result<Bundle, Refusal>,
    artifact: Vec<u8>,
    expected: Expected,
    /// The case's own trusted root's JSON, if it has one.
    root: Option<Vec<u8>>,
}

fn case(dir: &Path) -> Case {
    let read = |name: &str| std::fs::read(dir.join(name)).ok();
    let text = |name: &str| read(name).map(|b| String::from_utf8(b).unwrap().trim().to_owned());
    Case {
        name: dir.file_name().unwrap().to_string_lossy().into_owned(),
        bundle: Bundle::from_json(&read("bundle.sigstore.json").unwrap()),
        artifact: read("artifact").unwrap_or_else(|| std::fs::read(dir.join("../a.txt")).unwrap()),
        expected: match text("key.pub") {
            Some(pem) => Expected::Key(PublicKey::from_pem(&pem).unwrap()),
            None => Expected::Identity {
                identity: Matcher::Exact(text("identity").unwrap_or_else(|| DEFAULT_IDENTITY.to_owned())),
                issuer: Matcher::Exact(text("issuer").unwrap_or_else(|| DEFAULT_ISSUER.to_owned())),
            },
        },
        root: read("trusted_root.json"),
    }
}

fn check(bundle: &Bundle, c: &Case, root: &TrustedRoot) -> Result<dossier_sigstore::Verified, Refusal> {
    verify(bundle, Artifact::Bytes(&c.artifact), &c.expected, root, time::OffsetDateTime::now_utc())
}

#[test]
fn one_root_for_every_case_over_and_over_gives_each_verdict_of_a_fresh_root() {
    let Some(dir) = fixtures() else { return };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let cases: Vec<Case> = dirs.iter().map(|d| case(d)).collect();
    // The verdict of each case with a root of its own, used once.
    let fresh = |c: &Case| -> Result<(), String> {
        let root = match &c.root {
            Some(json) => TrustedRoot::from_json(json).map_err(|e| format!("{e:?}"))?,
            None => TrustedRoot::public_good(),
        };
        let bundle = c.bundle.clone().map_err(|e| format!("{e:?}"))?;
        check(&bundle, c, &root).map(|_| ()).map_err(|e| format!("{e:?}"))
    };
    let verdicts: Vec<Result<(), String>> = cases.iter().map(fresh).collect();
    assert!(verdicts.iter().any(|v| v.is_ok()) && verdicts.iter().any(|v| v.is_err()));

    // One root per trusted root JSON (the public-good one shared by most cases), kept across
    // rounds: the cases that verify first, so that their signatures are remembered before the
    // cases made from them by changing a byte.
    let public_good = TrustedRoot::public_good();
    let mut roots: HashMap<Vec<u8>, TrustedRoot> = HashMap::new();
    let mut order: Vec<usize> = (0..cases.len()).filter(|&i| verdicts[i].is_ok()).collect();
    order.extend((0..cases.len()).filter(|&i| verdicts[i].is_err()));
    for round in 0..3 {
        for &i in &order {
            let c = &cases[i];
            let verdict = match (&c.root, &c.bundle) {
                (_, Err(e)) => Err(format!("{e:?}")),
                (None, Ok(bundle)) => check(bundle, c, &public_good).map(|_| ()).map_err(|e| format!("{e:?}")),
                (Some(json), Ok(bundle)) => match TrustedRoot::from_json(json) {
                    Err(e) => Err(format!("{e:?}")),
                    Ok(root) => {
                        let root = roots.entry(json.clone()).or_insert(root);
                        check(bundle, c, root).map(|_| ()).map_err(|e| format!("{e:?}"))
                    }
                },
            };
            let expected = &verdicts[i];
            match (expected, &verdict) {
                (Ok(()), Ok(())) => {}
                (Err(a), Err(b)) => assert_eq!(
                    a.split('(').next(),
                    b.split('(').next(),
                    "{} (round {round}): refused for another reason with a shared root",
                    c.name
                ),
                _ => panic!("{} (round {round}): {expected:?} with its own root, {verdict:?} with a shared one", c.name),
            }
        }
    }
}

fn happy(dir: &Path, name: &str) -> (Case, Bundle, TrustedRoot) {
    let c = case(&dir.join(name));
    let bundle = c.bundle.clone().unwrap();
    let root = c.root.as_deref().map_or_else(TrustedRoot::public_good, |json| TrustedRoot::from_json(json).unwrap());
    check(&bundle, &c, &root).unwrap_or_else(|e| panic!("{name} verifies: {e}"));
    check(&bundle, &c, &root).unwrap_or_else(|e| panic!("{name} verifies again: {e}"));
    (c, bundle, root)
}

#[test]
fn a_remembered_timestamp_with_a_changed_signature_byte_is_refused() {
    let Some(dir) = fixtures() else { return };
    let (c, bundle, root) = happy(&dir, "rekor2-happy-path");
    // The authority's signature ends the TimeStampResp (no unsigned attributes): its last byte
    // is the last byte of s; the signed attributes are the bytes remembered.
    let mut changed = bundle.clone();
    *changed.timestamps[0].last_mut().unwrap() ^= 1;
    assert_eq!(check(&changed, &c, &root).unwrap_err(), Refusal::Timestamp { index: 0, reason: TimestampRefusal::UntrustedAuthority });
    assert!(dossier_sigstore::verify_timestamp(&changed.timestamps[0], bundle.signature(), &root).is_err());
    assert!(dossier_sigstore::verify_timestamp(&bundle.timestamps[0], bundle.signature(), &root).is_ok());
    check(&bundle, &c, &root).expect("the unchanged bundle still verifies");
}

#[test]
fn a_remembered_artifact_signature_with_a_changed_byte_is_refused() {
    let Some(dir) = fixtures() else { return };
    let (c, bundle, root) = happy(&dir, "happy-path-v0.3");
    let mut changed = bundle.clone();
    let Content::Message { signature, .. } = &mut changed.content else { panic!("a message signature") };
    *signature.last_mut().unwrap() ^= 1;
    assert_eq!(check(&changed, &c, &root).unwrap_err(), Refusal::BadSignature);
    // The same signature over another artifact (known by its digest alone, as the bundle's
    // digest is not the other artifact's, without it).
    let mut other = bundle.clone();
    let Content::Message { digest, .. } = &mut other.content else { panic!("a message signature") };
    *digest = None;
    let mut artifact = c.artifact.clone();
    artifact[0] ^= 1;
    let refused = verify(&other, Artifact::Bytes(&artifact), &c.expected, &root, time::OffsetDateTime::now_utc());
    assert_eq!(refused.unwrap_err(), Refusal::BadSignature);
    check(&bundle, &c, &root).expect("the unchanged bundle still verifies");
}

#[test]
fn a_remembered_entry_promise_or_checkpoint_with_a_changed_byte_is_refused() {
    let Some(dir) = fixtures() else { return };
    let (c, bundle, root) = happy(&dir, "happy-path-v0.3");
    // The signed entry timestamp signs the integrated time.
    let mut changed = bundle.clone();
    *changed.tlog_entries[0].integrated_time.as_mut().unwrap() -= 1;
    assert_eq!(check(&changed, &c, &root).unwrap_err(), Refusal::BadInclusionPromise);
    // The promise's signature itself.
    let mut changed = bundle.clone();
    *changed.tlog_entries[0].inclusion_promise.as_mut().unwrap().last_mut().unwrap() ^= 1;
    assert_eq!(check(&changed, &c, &root).unwrap_err(), Refusal::BadInclusionPromise);
    // The checkpoint's text (its origin line, which no other check reads).
    let mut changed = bundle.clone();
    let checkpoint = changed.tlog_entries[0].inclusion_proof.as_mut().unwrap().checkpoint.as_mut().unwrap();
    assert!(checkpoint.starts_with("rekor.sigstore.dev"), "{checkpoint}");
    checkpoint.replace_range(0..1, "R");
    assert_eq!(check(&changed, &c, &root).unwrap_err(), Refusal::BadCheckpointSignature);
    check(&bundle, &c, &root).expect("the unchanged bundle still verifies");
}
