//! `dossier policy`: the starter pack's Rego tests pass, broken policies are refused with their
//! line, and `eval` shows what the policies decide given a subject's history on a server.

mod common;

use std::path::PathBuf;

use common::{dossier, Server};
use serde_json::{json, Value};

fn starter_pack() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

#[test]
fn the_starter_pack_passes_its_own_tests() {
    let (code, out, err) = dossier(&["policy", "test", starter_pack().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("7 passed, 0 failed\n"), "{out}");
}

#[test]
fn a_policy_that_does_not_compile_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ok.rego"), "package ok\n\ntriggers := [\"*\"]\n").unwrap();
    std::fs::write(dir.path().join("broken.rego"), "package broken\n\ntriggers := [\"*\"\n").unwrap();
    let (code, out, err) = dossier(&["policy", "check", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.starts_with("ok "), "the valid policy still loads: {out}");
    assert!(err.contains("broken.rego") && err.contains("broken.rego:4:1"), "{err}");
}

fn event(id: &str, ty: &str, subject: &str, content: Value, custom: Value) -> Value {
    json!({
        "context": {"specversion": "0.5.1", "id": id, "source": "/test", "type": ty, "timestamp": "2026-11-25T10:00:00Z", "chainId": "run-1"},
        "subject": {"id": subject, "content": content},
        "customData": {"dossier": custom}
    })
}

#[test]
fn eval_decides_with_the_subjects_history_and_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let image = "pkg:oci/shop@sha256%3Ab2";
    let history = json!([
        event("1", "dev.cdevents.pipelinerun.started.0.3.0", "run-1", json!({"pipelineName": "b", "uri": "https://ci/1"}),
              json!({"sources": [{"repository": "https://git/shop", "commit": "c1"}]})),
        event("2", "dev.cdevents.artifact.packaged.0.3.0", image, json!({"change": {"id": "c1"}}), json!({})),
        {"context": {"specversion": "0.5.1", "id": "3", "source": "/sec", "type": "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0", "timestamp": "2026-11-25T10:00:00Z"},
         "subject": {"id": "CVE-2026-1234", "content": {"severity": "critical", "commits": [{"repository": "https://git/shop", "commit": "c1"}]}}}
    ]);
    assert_eq!(server.post("application/json", history.to_string().as_bytes()).1["accepted"], 3);

    let deploy = dir.path().join("deploy.json");
    std::fs::write(&deploy, json!({
        "context": {"specversion": "0.5.1", "id": "4", "source": "/cd", "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": "2026-11-25T10:05:00Z"},
        "subject": {"id": "shop", "content": {"environment": {"id": "prod-eu-1"}, "artifactId": image}}
    }).to_string()).unwrap();
    let pack = starter_pack();
    let (code, out, err) = dossier(&["policy", "eval", "--dir", pack.to_str().unwrap(), "--event", deploy.to_str().unwrap(), "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let decisions = answer["decisions"].as_array().unwrap();
    let critical = decisions.iter().find(|d| d["policy"] == "no_critical_in_production").unwrap();
    assert_eq!(critical["deny"], json!([format!("{image} runs in prod-eu-1 but is affected by critical CVE-2026-1234")]));
    let unsigned = decisions.iter().find(|d| d["policy"] == "unsigned_artifact").unwrap();
    assert_eq!((unsigned["mode"].as_str(), unsigned["warn"].as_array().map(|w| w.len())), (Some("audit"), Some(1)));
}
