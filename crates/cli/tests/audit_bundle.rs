//! `dossier audit bundle` against a real server, then `dossier audit verify` and the independent
//! `tools/verify_audit_bundle.py` with no server and no data directory: both accept the bundle
//! and both refuse a modified byte, a missing entry, a swapped checkpoint and a proof for the
//! wrong tree, each with its reason.
//!
//! The Python verifier runs when `python3` with `cryptography` is found; without them this part
//! is skipped with a message, unless `DOSSIER_TEST_PYTHON` is set, which makes it required.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{dossier, Server};
use dossier_audit::{Bundle, Citation, Edge, Failure, Which};
use dossier_tlog::tree::ProofError;
use dossier_tlog::{Checkpoint, NoteError, Signer, Verifier};
use serde_json::{json, Value};

const APP: &str = "pkg:oci/app@sha256:ab12";
const BASE: &str = "pkg:oci/base@sha256:01";

fn event(id: &str, ty: &str, subject: Value, custom: Value) -> Value {
    json!({
        "context": {"specversion": "0.5.1", "id": id, "source": "/ci", "type": ty, "timestamp": "2026-12-03T10:00:00Z"},
        "subject": subject,
        "customData": custom,
    })
}

fn history() -> Value {
    json!([
        event("base", "dev.cdevents.artifact.published.0.3.0", json!({"id": BASE, "content": {}}), json!({})),
        event(
            "app",
            "dev.cdevents.artifact.packaged.0.3.0",
            json!({"id": "pkg:oci/app@sha256%3Aab12", "content": {"change": {"id": "c0ffee", "source": "https://git.example.com/app"}}}),
            json!({"dossier": {"parents": [BASE]}})
        ),
        event(
            "deploy",
            "dev.cdevents.service.deployed.0.3.0",
            json!({"id": "shop", "content": {"environment": {"id": "prod"}, "artifactId": APP}}),
            json!({})
        ),
        event("other", "dev.cdevents.artifact.published.0.3.0", json!({"id": "pkg:oci/other@sha256:cd", "content": {}}), json!({})),
    ])
}

/// `python3` with `cryptography`, or `None` (and why) when this machine has not got them.
fn python() -> Option<PathBuf> {
    let found = Command::new("python3").args(["-c", "import cryptography"]).output();
    match found {
        Ok(out) if out.status.success() => Some(PathBuf::from("python3")),
        other => {
            let why = match other {
                Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                std::env::var_os("DOSSIER_TEST_PYTHON").is_none(),
                "DOSSIER_TEST_PYTHON is set and python3 with cryptography is not usable: {why}"
            );
            eprintln!("skipping the Python cross-check: python3 with cryptography is not usable here ({why})");
            None
        }
    }
}

/// Runs the independent verifier: (exit code, stdout, stderr).
fn python_verify(python: &Path, bundle: &Path, key: &Path) -> (i32, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/verify_audit_bundle.py");
    let out = Command::new(python).arg(script).arg(bundle).arg(key).output().expect("running python3");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn write(dir: &Path, name: &str, bundle: &Bundle) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(bundle).unwrap()).unwrap();
    path
}

#[test]
fn a_bundle_made_by_the_server_verifies_offline_and_every_tampering_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let mut server = server;
    let (code, answer) = server.post("application/json", history().to_string().as_bytes());
    assert_eq!((code, &answer["accepted"]), (200, &json!(4)), "{answer}");
    let sbom = dir.path().join("sbom.json");
    std::fs::write(&sbom, br#"{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"components":[{"type":"library","name":"lodash","version":"4.17.20","purl":"pkg:npm/lodash@4.17.20"}]}"#).unwrap();
    let (code, _, err) = dossier(&["document", "send", sbom.to_str().unwrap(), "--artifact", APP, "--server", &server.url]);
    assert_eq!(code, 0, "{err}");

    let file = dir.path().join("app.audit.json");
    let (code, out, err) = dossier(&["audit", "bundle", APP, "-o", file.to_str().unwrap(), "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&format!("wrote {}", file.display())), "{out}");
    let digests = dir.path().join("app.digests.json");
    let (code, _, err) =
        dossier(&["audit", "bundle", APP, "-o", digests.to_str().unwrap(), "--documents", "digests", "--server", &server.url]);
    assert_eq!(code, 0, "{err}");

    // Offline: no server, no data directory, the key alone.
    server.stop();
    let key = dir.path().join("log.pub");
    std::fs::copy(data.join("log.pub"), &key).unwrap();
    std::fs::remove_dir_all(&data).unwrap();
    let verifier = Verifier::parse(std::fs::read_to_string(&key).unwrap().trim()).unwrap();

    let bundle: Bundle = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    // Entry 0 records the admin token; 1 to 4 the events, 5 the document.
    assert_eq!(bundle.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3, 5]);
    assert_eq!(bundle.documents.len(), 1);
    assert!(bundle.documents[0].content.is_some());
    assert_eq!(
        bundle.lineage,
        vec![
            Edge::BuiltBy { artifact: APP.into(), run: format!("build of {APP}"), entry: 2 },
            Edge::Source { artifact: APP.into(), repository: "https://git.example.com/app".into(), commit: "c0ffee".into(), entry: 2 },
            Edge::Parent { artifact: APP.into(), parent: BASE.into(), entry: 2 },
            Edge::Deployed { environment: "prod".into(), service: "shop".into(), artifact: APP.into(), entry: 3 },
        ]
    );

    let audit_verify = |path: &Path| dossier(&["audit", "verify", path.to_str().unwrap(), "--key", key.to_str().unwrap()]);
    let (code, out, err) = audit_verify(&file);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with(&format!("OK  4 entries about {APP} are in log ")), "{out}");
    assert!(out.contains("1 documents (1 with their bytes, which match their digests)"), "{out}");
    let (code, out, err) = audit_verify(&digests);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 documents (0 with their bytes"), "{out}");

    // Each tampering: what `dossier audit verify` says, and the Python verifier's reason.
    let mut cases: Vec<(&str, Bundle, Failure, &str)> = Vec::new();
    let mut modified = bundle.clone();
    let raw = &mut modified.entries[1].raw.0;
    let at = raw.windows(6).position(|w| w == b"c0ffee").unwrap();
    raw[at] = b'C';
    cases.push((
        "modified.json",
        modified,
        Failure::Inclusion { seq: 2, size: bundle_size(&bundle), reason: ProofError::RootMismatch },
        "entry 2 is not in the checkpoint",
    ));
    let mut missing = bundle.clone();
    missing.entries.retain(|e| e.seq != 3);
    let deployed = Edge::Deployed { environment: "prod".into(), service: "shop".into(), artifact: APP.into(), entry: 3 };
    cases.push((
        "missing.json",
        missing,
        Failure::MissingEntry { seq: 3, cited: Citation::Lineage(Box::new(deployed)) },
        "cites entry 3, which the bundle does not hold",
    ));
    let mut swapped = bundle.clone();
    let impostor = Signer::generate(verifier.name()).unwrap();
    let body = dossier_tlog::note_text(&bundle.checkpoint).unwrap().to_owned();
    swapped.checkpoint = impostor.sign(&body);
    cases.push((
        "swapped.json",
        swapped,
        Failure::Signature { which: Which::Checkpoint, reason: NoteError::NoSignature(verifier.to_string()) },
        "the checkpoint has no signature by the log key",
    ));
    let mut wrong_tree = bundle.clone();
    wrong_tree.entries[0].inclusion = bundle.entries[1].inclusion.clone();
    cases.push((
        "wrong-tree.json",
        wrong_tree,
        Failure::Inclusion { seq: 1, size: bundle_size(&bundle), reason: ProofError::RootMismatch },
        "entry 1 is not in the checkpoint",
    ));

    let python = python();
    for (name, tampered, failure, python_says) in cases {
        let said = failure.to_string();
        assert_eq!(dossier_audit::verify(&tampered, &verifier, None), Err(failure), "{name}");
        let path = write(dir.path(), name, &tampered);
        let (code, out, err) = audit_verify(&path);
        assert_eq!((code, out.trim(), err.as_str()), (1, format!("REFUSED  {}: {said}", path.display()).as_str(), ""), "{name}");
        if let Some(python) = &python {
            let (code, out, err) = python_verify(python, &path, &key);
            assert_eq!((code, out.as_str()), (1, ""), "{name}: {err}");
            assert!(err.starts_with("refused: ") && err.contains(python_says), "{name}: {err}");
        }
    }
    if let Some(python) = &python {
        for good in [&file, &digests] {
            let (code, out, err) = python_verify(python, good, &key);
            assert_eq!(code, 0, "{out}{err}");
            assert!(out.starts_with(&format!("verified: 4 entries about {APP}")), "{out}");
        }
    }
}

fn bundle_size(bundle: &Bundle) -> u64 {
    Checkpoint::parse(dossier_tlog::note_text(&bundle.checkpoint).unwrap()).unwrap().size
}

#[test]
fn a_bundle_of_an_unknown_artifact_is_refused_and_a_saved_checkpoint_holds_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data);
    assert_eq!(server.post("application/json", history().to_string().as_bytes()).0, 200);
    let key = data.join("log.pub");
    let saved = dir.path().join("saved.note");
    let (code, note, err) = dossier(&["log", "checkpoint", "--server", &server.url, "--key", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(&saved, &note).unwrap();
    let more = json!([event(
        "later",
        "dev.cdevents.service.deployed.0.3.0",
        json!({"id": "shop", "content": {"environment": {"id": "staging"}, "artifactId": APP}}),
        json!({})
    )]);
    assert_eq!(server.post("application/json", more.to_string().as_bytes()).0, 200);

    let file = dir.path().join("b.json");
    let (code, _, err) = dossier(&["audit", "bundle", "pkg:oci/nothing@sha256:00", "-o", file.to_str().unwrap(), "--server", &server.url]);
    assert_eq!((code, err.trim()), (2, "error: /api/v1/audit/bundle: HTTP 404: no entry names pkg:oci/nothing@sha256:00"));
    assert!(!file.exists(), "no half file is left behind");

    let (code, _, err) =
        dossier(&["audit", "bundle", APP, "-o", file.to_str().unwrap(), "--since", saved.to_str().unwrap(), "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    server.stop();
    let (code, out, err) =
        dossier(&["audit", "verify", file.to_str().unwrap(), "--key", key.to_str().unwrap(), "--checkpoint", saved.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("trusted: the bundle's newest checkpoint extends your checkpoint of size 5"), "{out}");
}
