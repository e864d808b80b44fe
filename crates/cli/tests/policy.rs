//! `dossier policy`: the starter pack's Rego tests pass, broken policies are refused with their
//! line, and `eval` shows what the policies decide given a subject's history on a server.

mod common;

use std::path::PathBuf;

use common::{caught_up, dossier, eventually, policy_dir, Server};
use serde_json::{json, Value};

fn starter_pack() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

#[test]
fn the_starter_pack_passes_its_own_tests() {
    let (code, out, err) = dossier(&["policy", "test", starter_pack().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("29 passed, 0 failed\n"), "{out}");
}

#[test]
fn policy_test_follows_opa_test() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/data.json"), r#"{"envs": ["prod"]}"#).unwrap();
    std::fs::write(
        dir.path().join("lib/envs_test.rego"),
        "package lib_test\n\n    test_data_is_loaded if { data.lib.envs == [\"prod\"] }\n\ntodo_test_someday if { false }\n\ntest_fails if { input.x == 1 }\n",
    )
    .unwrap();
    let path = dir.path().to_str().unwrap();
    let (code, out, err) = dossier(&["policy", "test", path]);
    assert_eq!(code, 2, "a failing test exits 2: {out}{err}");
    assert_eq!(
        out,
        format!(
            "FAIL  lib_test.test_fails ({path}/lib/envs_test.rego:7): undefined: a condition did not hold\n1 passed, 1 failed, 1 skipped\n"
        )
    );
    let (code, out, _) = dossier(&["policy", "test", path, "-v", "--run", "data_is"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("PASS  lib_test.test_data_is_loaded ("), "{out}");
    assert!(out.ends_with("\n1 passed, 0 failed\n"), "{out}");
    let (_, out, _) = dossier(&["policy", "test", path, "--format", "json"]);
    let results: Value = serde_json::from_str(&out).unwrap();
    let outcomes: Vec<(&str, &str)> =
        results.as_array().unwrap().iter().map(|r| (r["name"].as_str().unwrap(), r["outcome"].as_str().unwrap())).collect();
    assert_eq!(
        outcomes,
        vec![("lib_test.test_data_is_loaded", "passed"), ("lib_test.todo_test_someday", "skipped"), ("lib_test.test_fails", "failed")]
    );
}

#[test]
fn an_opa_bundle_tarball_loads_with_its_libraries_and_data() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bundle");
    std::fs::create_dir_all(root.join("lib")).unwrap();
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::write(root.join(".manifest"), r#"{"revision": "1", "roots": [""]}"#).unwrap();
    std::fs::write(root.join("config/data.json"), r#"{"allowed_envs": ["prod"]}"#).unwrap();
    std::fs::write(root.join("lib/envs.rego"), "package lib.envs\n\nallowed(env) if { env in data.config.allowed_envs }\n").unwrap();
    std::fs::write(
        root.join("envs.rego"),
        "package envs\n\nimport data.lib.envs\n\ntriggers := [\"*\"]\n\ndeny contains \"not an allowed environment\" if { not envs.allowed(input.event.subject.content.environment.id) }\n",
    )
    .unwrap();
    let tarball = dir.path().join("bundle.tar.gz");
    let made = std::process::Command::new("tar").arg("-czf").arg(&tarball).arg("-C").arg(&root).arg(".").status().unwrap();
    assert!(made.success());
    let (code, out, err) = dossier(&["policy", "check", tarball.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("envs "), "{out}");
    assert!(out.contains("lib.envs                         library  lib/envs.rego"), "{out}");
    let event = dir.path().join("deploy.json");
    std::fs::write(
        &event,
        json!({"context": {"specversion": "0.5.1", "id": "d", "source": "/cd", "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": "2026-11-25T10:00:00Z"},
               "subject": {"id": "shop", "content": {"environment": {"id": "dev"}, "artifactId": "pkg:oci/shop@sha256:ab"}}})
        .to_string(),
    )
    .unwrap();
    let (code, out, _) = dossier(&["policy", "eval", "--dir", tarball.to_str().unwrap(), "--event", event.to_str().unwrap(), "--offline"]);
    assert_eq!(code, 1, "the data and the library decide: dev is not allowed");
    assert!(out.contains("not an allowed environment"), "{out}");
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
    let (code, out, err) =
        dossier(&["policy", "eval", "--dir", pack.to_str().unwrap(), "--event", deploy.to_str().unwrap(), "--server", &server.url]);
    assert_eq!((code, err.as_str()), (1, "denied by no_critical_in_production\n"), "an enforce policy denies: the command fails");
    let answer: Value = serde_json::from_str(&out).unwrap();
    let decisions = answer["decisions"].as_array().unwrap();
    let critical = decisions.iter().find(|d| d["policy"] == "no_critical_in_production").unwrap();
    assert_eq!(critical["deny"], json!([format!("{image} runs in prod-eu-1 but is affected by critical CVE-2026-1234")]));
    let unsigned = decisions.iter().find(|d| d["policy"] == "unsigned_artifact").unwrap();
    assert_eq!(
        (unsigned["mode"].as_str(), unsigned["deny"].clone()),
        (Some("audit"), json!([format!("artifact {image} has no signature (no artifact.signed event or signed attestation names it)")]))
    );
}

/// Polls `f` until it returns something, for effects that follow a commit asynchronously.
#[test]
fn the_server_evaluates_policies_records_decisions_emits_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    for f in ["sbom_required.rego", "unsigned_artifact.rego"] {
        std::fs::copy(starter_pack().join(f), policies.join(f)).unwrap();
    }
    let server = Server::start_with(&dir.path().join("data"), &["--policies", policies.to_str().unwrap()]);
    let (_, status) = server.get("/api/v1/policies");
    assert_eq!(status["policies"].as_array().unwrap().len(), 2, "{status}");
    let (_, loaded) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.loaded.*");
    assert_eq!(loaded["events"].as_array().unwrap().len(), 2, "each policy version is in the log");

    let purl = "pkg:oci/shop@sha256%3Ab2";
    let published = event("p1", "dev.cdevents.artifact.published.0.3.0", purl, json!({"user": "ci"}), json!({}));
    assert_eq!(server.post("application/json", published.to_string().as_bytes()).0, 201);

    let query = format!("/api/v1/events?type=dev.cdeventsx.dossier-policy.decided.*&artifact={}", purl.replace('%', "%25"));
    let decisions = eventually("the decisions", || {
        let (_, page) = server.get(&query);
        let list = page["events"].as_array().cloned().unwrap_or_default();
        (list.len() == 2).then_some(list)
    });
    let sbom = decisions.iter().find(|d| d["subject"] == "sbom_required").unwrap();
    let content = &sbom["event"]["subject"]["content"];
    assert_eq!(content["deny"], json!([format!("artifact {purl} was published without an SBOM")]));
    assert_eq!(content["trigger"]["id"], "p1");
    assert_eq!(content["inputDigest"].as_str().unwrap().len(), 64);
    let statuses: Vec<&str> = content["actions"].as_array().unwrap().iter().map(|a| a["outcome"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.len(), 2, "{content}");
    assert!(statuses.contains(&"done") && statuses.contains(&"scheduled"), "the emit is done, the recheck scheduled: {content}");
    let unsigned = decisions.iter().find(|d| d["subject"] == "unsigned_artifact").unwrap();
    assert_eq!(unsigned["event"]["subject"]["content"]["actions"], json!([]));

    let (_, queued) = server.get("/api/v1/events?type=dev.cdevents.testsuiterun.queued.*");
    assert_eq!(queued["events"][0]["subject"], format!("sbom-generation-{purl}"), "the emit action put the event in the log");

    // A broken edit is refused and the previous version stays; a new policy is picked up.
    std::fs::write(policies.join("sbom_required.rego"), "package dossier.sbom_required\n\ntriggers := [\n").unwrap();
    std::fs::write(policies.join("extra.rego"), "package dossier.extra\n\ntriggers := [\"dev.cdevents.build.*\"]\n").unwrap();
    let status = eventually("the reload", || {
        let (_, s) = server.get("/api/v1/policies");
        (s["policies"].as_array().map(|p| p.len()) == Some(3)).then_some(s)
    });
    assert_eq!(status["errors"][0]["file"], "sbom_required.rego");
    assert!(status["policies"].as_array().unwrap().iter().any(|p| p["name"] == "sbom_required"), "the previous version stays active");
}

/// A one-shot HTTP receiver on loopback: returns its URL and, later, the request it got.
fn receiver() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            head.push_str(&line);
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").unwrap();
        tx.send((head, String::from_utf8(body).unwrap())).unwrap();
    });
    (url, rx)
}

#[test]
fn a_webhook_action_posts_a_signed_body_and_its_outcome_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let (url, got) = receiver();
    std::fs::write(
        policies.join("scan.rego"),
        format!(
            "package dossier.scan\n\ntriggers := [\"dev.cdevents.artifact.published.*\"]\nallowed_actions := [\"webhook\"]\n\n\
             actions contains {{\"kind\": \"webhook\", \"url\": \"{url}\", \"hmac\": \"hook-key\", \"body\": {{\"scan\": input.event.subject.id}}}} if {{ true }}\n"
        ),
    )
    .unwrap();
    // The secret reaches the server through its environment, never through the policy.
    std::env::set_var("DOSSIER_SECRET_HOOK_KEY", "s3cret");
    let server = Server::start_with(&dir.path().join("data"), &["--policies", policies.to_str().unwrap()]);
    let published = event("w1", "dev.cdevents.artifact.published.0.3.0", "pkg:oci/x@1", json!({}), json!({}));
    assert_eq!(server.post("application/json", published.to_string().as_bytes()).0, 201);

    let (head, body) = got.recv_timeout(std::time::Duration::from_secs(10)).expect("the webhook was called");
    assert_eq!(body, r#"{"scan":"pkg:oci/x@1"}"#);
    // HMAC-SHA256 of the body with the secret "s3cret".
    let head = head.to_ascii_lowercase();
    assert!(head.contains("x-dossier-signature: sha256=e0cd6ba67198ad4cb3fa0dc28707d2f0664ea1e0c3c39288b132a5eadf2e53de"), "{head}");
    assert_eq!(
        hmac_sha256_hex(b"s3cret", body.as_bytes()),
        "e0cd6ba67198ad4cb3fa0dc28707d2f0664ea1e0c3c39288b132a5eadf2e53de",
        "the test's HMAC agrees with the plain signature"
    );
    // The timestamped signature: HMAC-SHA256 of "<t>.<body>", t the time of sending.
    let timestamped = head
        .lines()
        .find_map(|l| l.strip_prefix("x-dossier-signature-256: "))
        .unwrap_or_else(|| panic!("no x-dossier-signature-256: {head}"))
        .trim();
    let (t, v1) =
        timestamped.strip_prefix("t=").and_then(|rest| rest.split_once(",v1=")).unwrap_or_else(|| panic!("not t=…,v1=…: {timestamped}"));
    let sent: i64 = t.parse().unwrap_or_else(|_| panic!("t is not seconds: {timestamped}"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now - 60..=now).contains(&sent), "t={sent} is not the time of sending ({now})");
    assert_eq!(v1, hmac_sha256_hex(b"s3cret", format!("{t}.{body}").as_bytes()), "{timestamped}");
    // Entry 0 records the admin token and entry 1 the policy's version; the trigger is entry 2.
    assert!(head.contains("idempotency-key: action-2-scan-0"), "{head}");

    let decision = eventually("the decision", || {
        let (_, page) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.decided.*");
        page["events"].as_array().and_then(|e| e.first().cloned())
    });
    let outcome = &decision["event"]["subject"]["content"]["actions"][0]["outcome"];
    assert_eq!((outcome["status"].as_str(), outcome["run"]["id"].as_str()), (Some("queued"), Some("queued-action-2-scan-0")));
    let run = finished_run(&server, "pkg:oci/x@1");
    assert_eq!((run["kind"].as_str(), run["target"].as_str(), run["policy"].as_str()), (Some("webhook"), Some(url.as_str()), Some("scan")));
    let f = &run["finished"];
    assert_eq!(
        (f["status"].as_str(), f["httpStatus"].as_u64(), f["attempts"].as_u64(), f["execution"].as_u64()),
        (Some("succeeded"), Some(200), Some(1), Some(1))
    );
    // No secret is written down: the log holds the secret's name only.
    let (_, all) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-action.*");
    assert!(!all.to_string().contains("s3cret"));
    let types: Vec<&str> = all["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "dev.cdeventsx.dossier-action.queued.0.1.0",
            "dev.cdeventsx.dossier-action.started.0.1.0",
            "dev.cdeventsx.dossier-action.finished.0.1.0"
        ]
    );
}

/// The one action run about `artifact`, once it has finished.
fn finished_run(server: &Server, artifact: &str) -> Value {
    eventually("the action's end", || {
        let (_, runs) = server.get(&format!(
            "/api/v1/actions?artifact={}",
            artifact.replace('%', "%25").replace(';', "%3B").replace(' ', "%20").replace('/', "%2F")
        ));
        runs["runs"].as_array().and_then(|r| r.first().cloned()).filter(|r| r["finished"].is_object())
    })
}

#[test]
fn events_committed_before_a_crash_are_evaluated_after_the_restart_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::copy(starter_pack().join("sbom_required.rego"), policies.join("sbom_required.rego")).unwrap();
    let mut server = Server::start(&data);
    let published = event("c1", "dev.cdevents.artifact.published.0.3.0", "pkg:oci/crash@1", json!({}), json!({}));
    assert_eq!(server.post("application/json", published.to_string().as_bytes()).0, 201);
    server.kill9();
    // As if the policy engine had been running and died before evaluating entry 0.
    std::fs::write(data.join("policy.cursor"), "0\n").unwrap();

    let decided = "/api/v1/events?type=dev.cdeventsx.dossier-policy.decided.*";
    let mut server = Server::start_with(&data, &["--policies", policies.to_str().unwrap()]);
    let first = eventually("the caught-up decision", || {
        let (_, page) = server.get(decided);
        page["events"].as_array().filter(|e| !e.is_empty()).cloned()
    });
    assert_eq!(first[0]["event"]["subject"]["content"]["trigger"]["id"], "c1");
    server.kill9();
    // The cursor may not have been saved: evaluating again records nothing new.
    std::fs::write(data.join("policy.cursor"), "0\n").unwrap();
    let server = Server::start_with(&data, &["--policies", policies.to_str().unwrap()]);
    // The catch-up has run once the cursor is saved past the log's end again.
    caught_up(&data.join("policy.cursor"));
    let (_, page) = server.get(decided);
    assert_eq!(page["events"].as_array().unwrap().len(), 1, "one decision, however often it is evaluated");
    let (_, emitted) = server.get("/api/v1/events?type=dev.cdevents.testsuiterun.queued.*");
    assert_eq!(emitted["events"].as_array().unwrap().len(), 1, "one emitted event");
}

#[test]
fn replay_reports_what_a_policy_would_have_decided_without_acting() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut with_sbom =
        event("r2", "dev.cdevents.artifact.published.0.3.0", "pkg:oci/b@1", json!({"sbom": {"uri": "https://s/b.json"}}), json!({}));
    with_sbom["context"]["timestamp"] = json!("2026-11-25T11:00:00Z");
    let events = json!([
        event("r1", "dev.cdevents.artifact.published.0.3.0", "pkg:oci/a@1", json!({}), json!({})),
        with_sbom,
        event("r3", "dev.cdevents.build.finished.0.3.0", "b-1", json!({}), json!({})),
    ]);
    assert_eq!(server.post("application/json", events.to_string().as_bytes()).1["accepted"], 3);
    let pack = starter_pack();
    let (code, out, err) = dossier(&["policy", "replay", "sbom_required", "--dir", pack.to_str().unwrap(), "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    // Entry 0 records the admin token: r1 is entry 1.
    assert!(out.contains("       1  deny: artifact pkg:oci/a@1 was published without an SBOM; would recheck: {\"after\":\"15m\",\"kind\":\"recheck\"}; would emit:"), "{out}");
    assert!(out.ends_with("2 evaluations: 1 would deny, 0 would warn, 2 would act (nothing was run)\n"), "{out}");
    // A window by event time.
    let (_, out, _) = dossier(&[
        "policy",
        "replay",
        "sbom_required",
        "--dir",
        pack.to_str().unwrap(),
        "--since",
        "2026-11-25T10:30:00Z",
        "--server",
        &server.url,
    ]);
    assert!(out.ends_with("1 evaluations: 0 would deny, 0 would warn, 1 would act (nothing was run)\n"), "{out}");
    let (_, page) = server.get("/api/v1/events?type=dev.cdevents.testsuiterun.queued.*");
    assert_eq!(page["events"], json!([]), "replay runs no action");
}

#[test]
fn a_critical_vulnerability_in_production_opens_a_ticket_and_quarantines_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::copy(starter_pack().join("critical_in_production_response.rego"), policies.join("critical_in_production_response.rego"))
        .unwrap();
    let server = Server::start_with(&dir.path().join("data"), &["--policies", policies.to_str().unwrap()]);
    let image = "pkg:oci/shop@sha256%3Ab2";
    let history = json!([
        event("1", "dev.cdevents.pipelinerun.started.0.3.0", "run-1", json!({"pipelineName": "b", "uri": "https://ci/1"}),
              json!({"sources": [{"repository": "https://git/shop", "commit": "c1"}]})),
        event("2", "dev.cdevents.artifact.packaged.0.3.0", image, json!({"change": {"id": "c1"}}), json!({})),
        {"context": {"specversion": "0.5.1", "id": "3", "source": "/cd", "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": "2026-11-25T10:00:00Z"},
         "subject": {"id": "shop", "content": {"environment": {"id": "prod-eu-1"}, "artifactId": image}}},
        {"context": {"specversion": "0.5.1", "id": "4", "source": "/sec", "type": "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0", "timestamp": "2026-11-25T10:01:00Z"},
         "subject": {"id": "CVE-2026-7777", "content": {"severity": "critical", "commits": [{"repository": "https://git/shop", "commit": "c1"}]}}}
    ]);
    assert_eq!(server.post("application/json", history.to_string().as_bytes()).1["accepted"], 4);

    let lineage_path = format!("/api/v1/lineage?purl={}", image.replace('%', "%25"));
    let quarantined = eventually("the quarantine", || {
        let (_, l) = server.get(&lineage_path);
        l["quarantined"].as_u64()
    });
    // The decision's actions are recorded one after the other: the ticket may come second.
    let ticket = eventually("the ticket", || {
        let (_, tickets) = server.get("/api/v1/events?type=dev.cdevents.ticket.created.*");
        tickets["events"].as_array().and_then(|t| t.first().cloned())
    });
    assert_eq!(ticket["subject"], "vuln-CVE-2026-7777");
    let (_, timeline) = server.get(&format!("/api/v1/artifact?purl={}", image.replace('%', "%25")));
    assert!(timeline["events"].as_array().unwrap().iter().any(|e| e["seq"] == quarantined), "the quarantine is in the artifact's timeline");

    // Lifting it is an event too.
    let release = json!({"context": {"specversion": "0.5.1", "id": "r1", "source": "/security/alice", "type": "dev.cdeventsx.dossier-artifact.released.0.1.0", "timestamp": "2026-11-25T11:00:00Z"},
                         "subject": {"id": image, "content": {"reason": "patched base image deployed"}}});
    assert_eq!(server.post("application/json", release.to_string().as_bytes()).0, 201);
    let (_, l) = server.get(&lineage_path);
    assert_eq!(l["quarantined"], Value::Null);
}

#[test]
fn a_run_action_executes_a_configured_tool_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_dir(
        dir.path(),
        "scan",
        "package dossier.scan\n\ntriggers := [\"dev.cdevents.artifact.published.*\"]\nallowed_actions := [\"run\"]\n\n\
         actions contains {\"kind\": \"run\", \"tool\": \"scanner\", \"args\": [input.event.subject.id]} if { true }\n",
    );
    let tools = dir.path().join("tools.toml");
    std::fs::write(&tools, "[tools.scanner]\nargv = [\"/bin/echo\", \"scanned\"]\ntimeout_secs = 10\n").unwrap();
    let server =
        Server::start_with(&dir.path().join("data"), &["--policies", policies.to_str().unwrap(), "--tools", tools.to_str().unwrap()]);
    let published = event("t1", "dev.cdevents.artifact.published.0.3.0", "pkg:oci/x@1;rm -rf /", json!({}), json!({}));
    assert_eq!(server.post("application/json", published.to_string().as_bytes()).0, 201);
    let decision = eventually("the decision", || {
        let (_, page) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.decided.*");
        page["events"].as_array().and_then(|e| e.first().cloned())
    });
    assert_eq!(decision["event"]["subject"]["content"]["actions"][0]["outcome"]["status"], "queued");
    let run = finished_run(&server, "pkg:oci/x@1;rm -rf /");
    let f = &run["finished"];
    assert_eq!(
        (f["status"].as_str(), f["exitCode"].as_i64(), run["target"].as_str()),
        (Some("succeeded"), Some(0), Some("scanner")),
        "{run}"
    );
    let output = "scanned pkg:oci/x@1;rm -rf /\n";
    assert_eq!(f["output"], output);
    // The whole output is kept, under the digest the run records.
    let digest = f["outputDigest"].as_str().unwrap();
    assert_eq!(digest, format!("sha256:{}", sha256_hex(output.as_bytes())));
    let kept = crate::common::http().get(&format!("{}/api/v1/documents/{digest}", server.url)).call().unwrap().into_string().unwrap();
    assert_eq!(kept, output);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104) of `message` with `key` (shorter than a block), in hex.
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    use sha2::Digest;
    assert!(key.len() <= 64);
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let inner = sha2::Sha256::new().chain_update(block.map(|b| b ^ 0x36)).chain_update(message).finalize();
    let outer = sha2::Sha256::new().chain_update(block.map(|b| b ^ 0x5c)).chain_update(inner).finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn an_action_cut_short_by_a_crash_runs_again_and_a_finished_one_never_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let policies = policy_dir(
        dir.path(),
        "scan",
        "package dossier.scan\n\ntriggers := [\"dev.cdevents.artifact.published.*\"]\nallowed_actions := [\"run\"]\n\n\
         actions contains {\"kind\": \"run\", \"tool\": \"slow\"} if { true }\n",
    );
    // Each execution leaves a line, then takes a while: long enough to be killed in the middle.
    let ran = dir.path().join("ran.log");
    let tools = dir.path().join("tools.toml");
    std::fs::write(&tools, format!("[tools.slow]\nargv = [\"/bin/sh\", \"-c\", \"echo ran >> {}; sleep 1\"]\n", ran.display())).unwrap();
    let flags = ["--policies", policies.to_str().unwrap(), "--tools", tools.to_str().unwrap()];
    let mut server = Server::start_with(&data, &flags);
    let published = event("k1", "dev.cdevents.artifact.published.0.3.0", "pkg:oci/k@1", json!({}), json!({}));
    assert_eq!(server.post("application/json", published.to_string().as_bytes()).0, 201);
    eventually("the first execution", || std::fs::read_to_string(&ran).ok().filter(|t| !t.is_empty()));
    server.kill9();

    let mut server = Server::start_with(&data, &flags);
    let run = finished_run(&server, "pkg:oci/k@1");
    assert_eq!(
        (run["status"].as_str(), run["started"].as_array().unwrap().len(), run["finished"]["execution"].as_u64()),
        (Some("succeeded"), 2, Some(2))
    );
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran\nran\n");
    server.kill9();

    // Even from a cursor that was not saved, a finished action is not run again.
    std::fs::write(data.join("actions.cursor"), "0\n").unwrap();
    let server = Server::start_with(&data, &flags);
    caught_up(&data.join("actions.cursor"));
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran\nran\n");
    let (_, finished) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-action.finished.*");
    assert_eq!(finished["events"].as_array().unwrap().len(), 1);
}

#[test]
fn a_recheck_timer_survives_a_crash_and_fires_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let policies = policy_dir(
        dir.path(),
        "scan_deadline",
        r#"package dossier.scan_deadline

triggers := ["dev.cdevents.artifact.published.*"]
allowed_actions := ["recheck"]

scanned if {
    some t in input.subject.tests
    t.outcome == "success"
}

actions contains {"kind": "recheck", "after": "2s"} if { not input.recheck }

deny contains msg if {
    input.recheck
    not scanned
    msg := sprintf("no security test suite finished for %s in time", [input.event.subject.id])
}
"#,
    );
    let args = ["--policies", policies.to_str().unwrap()];
    let mut server = Server::start_with(&data, &args);
    let published = event("d1", "dev.cdevents.artifact.published.0.3.0", "pkg:oci/late@1", json!({}), json!({}));
    assert_eq!(server.post("application/json", published.to_string().as_bytes()).0, 201);
    eventually("the timer", || {
        let (_, page) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-timer.set.*");
        page["events"].as_array().filter(|e| !e.is_empty()).cloned()
    });
    server.kill9();

    let mut server = Server::start_with(&data, &args);
    let rechecked = eventually("the recheck", || {
        let (_, page) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-timer.fired.*");
        (!page["events"].as_array()?.is_empty()).then_some(())?;
        let (_, page) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.decided.*");
        page["events"].as_array()?.iter().find(|d| !d["event"]["subject"]["content"]["recheck"].is_null()).cloned()
    });
    assert_eq!(rechecked["event"]["subject"]["content"]["deny"], json!(["no security test suite finished for pkg:oci/late@1 in time"]));
    server.stop();

    let server = Server::start_with(&data, &args);
    std::thread::sleep(std::time::Duration::from_millis(700));
    let (_, fired) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-timer.fired.*");
    assert_eq!(fired["events"].as_array().unwrap().len(), 1, "the timer fires once");
    let (_, decided) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.decided.*");
    assert_eq!(decided["events"].as_array().unwrap().len(), 2, "the scheduling decision and the recheck's");
}

#[test]
fn policies_are_uploaded_checked_and_removed_over_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let server = Server::start_with(&dir.path().join("data"), &["--policies", policies.to_str().unwrap()]);
    let put = |name: &str, body: &str| match crate::common::http().put(&format!("{}/api/v1/policies/{name}", server.url)).send_string(body)
    {
        Ok(r) => (r.status(), r.into_json::<Value>().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json::<Value>().unwrap()),
        Err(e) => panic!("{e}"),
    };
    let (status, policy) = put("builds", "package dossier.builds\n\ntriggers := [\"dev.cdevents.build.*\"]\nmode := \"audit\"\n");
    assert_eq!((status, policy["name"].as_str(), policy["mode"].as_str()), (201, Some("builds"), Some("audit")));
    assert!(policies.join("builds.rego").is_file());
    eventually("the upload to be active", || {
        let (_, s) = server.get("/api/v1/policies");
        (s["policies"].as_array()?.len() == 1).then_some(())
    });

    let (status, err) = put("broken", "package dossier.broken\n\ntriggers := [\n");
    assert_eq!(status, 422);
    assert!(err["error"].as_str().unwrap().contains("broken.rego:4:1"), "{err}");
    assert!(!policies.join("broken.rego").exists(), "nothing is written");
    let (status, err) = put("../escape", "package x\n");
    assert_eq!(status, 404, "a name with a slash is not a route: {err}");
    let (status, err) = put("Bad-Name", "package x\n");
    assert_eq!(status, 422);
    assert_eq!(err["error"], "a policy name is 1 to 64 lowercase letters, digits and underscores, not \"Bad-Name\"");

    let delete = |name: &str| match crate::common::http().delete(&format!("{}/api/v1/policies/{name}", server.url)).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(delete("builds"), 204);
    assert_eq!(delete("builds"), 404);

    // The refused upload and the removal are evidence, like every load.
    let (_, refused) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.refused.*");
    let refused = &refused["events"][0]["event"]["subject"]["content"];
    assert_eq!(refused["policy"], "broken");
    assert!(refused["reason"].as_str().unwrap().contains("broken.rego:4:1"), "{refused}");
    let (_, removed) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.removed.*");
    let removed = &removed["events"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "one removal, the 404 records nothing");
    assert_eq!(removed[0]["event"]["subject"]["content"]["policy"], "builds");
    assert_eq!(removed[0]["event"]["subject"]["content"]["version"].as_str().map(str::len), Some(64));
}

#[test]
fn policies_query_events_through_the_dossier_events_function() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_dir(
        dir.path(),
        "signed_only",
        r#"package dossier.signed_only

triggers := ["dev.cdevents.service.deployed.*"]

deny contains msg if {
    signatures := dossier.events({"type": "dev.cdevents.artifact.signed.*", "artifact": input.subject.artifact, "limit": 10})
    count(signatures) == 0
    msg := sprintf("%s is not signed", [input.subject.artifact])
}
"#,
    );
    let server = Server::start_with(&dir.path().join("data"), &["--policies", policies.to_str().unwrap()]);
    let deploy = |id: &str, artifact: &str| {
        json!({"context": {"specversion": "0.5.1", "id": id, "source": "/cd", "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": "2026-11-25T10:00:00Z"},
               "subject": {"id": "svc", "content": {"environment": {"id": "prod"}, "artifactId": artifact}}})
    };
    let events = json!([
        event("s1", "dev.cdevents.artifact.signed.0.3.0", "pkg:oci/a@1", json!({"signature": "MEUC"}), json!({})),
        deploy("d-a", "pkg:oci/a@1"),
        deploy("d-b", "pkg:oci/b@1"),
    ]);
    assert_eq!(server.post("application/json", events.to_string().as_bytes()).1["accepted"], 3);
    let decisions = eventually("the decision", || {
        let (_, page) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.decided.*");
        page["events"].as_array().filter(|e| !e.is_empty()).cloned()
    });
    assert_eq!(decisions.len(), 1, "only the unsigned deployment is denied");
    assert_eq!(decisions[0]["event"]["subject"]["content"]["deny"], json!(["pkg:oci/b@1 is not signed"]));
}

#[test]
fn replay_over_stored_history_decides_as_the_live_engine_did() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::copy(starter_pack().join("unsigned_artifact.rego"), policies.join("unsigned_artifact.rego")).unwrap();
    let server = Server::start_with(&dir.path().join("data"), &["--policies", policies.to_str().unwrap()]);
    let signed = event("s1", "dev.cdevents.artifact.signed.0.3.0", "pkg:oci/a@1", json!({"signature": "MEUC"}), json!({}));
    let events = [
        signed,
        event("p1", "dev.cdevents.artifact.published.0.3.0", "pkg:oci/a@1", json!({}), json!({})),
        event("p2", "dev.cdevents.artifact.published.0.3.0", "pkg:oci/b@1", json!({}), json!({})),
        event("p3", "dev.cdevents.artifact.published.0.3.0", "pkg:oci/c@1", json!({}), json!({})),
    ];
    for e in &events {
        assert_eq!(server.post("application/json", e.to_string().as_bytes()).0, 201);
    }
    // The signed artifact is denied too: its signature is not verified.
    let live = eventually("the live decisions", || {
        let (_, page) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.decided.*");
        let list = page["events"].as_array().cloned().unwrap_or_default();
        (list.len() == 3).then_some(list)
    });
    let mut live_triggers: Vec<u64> = live.iter().map(|d| d["event"]["subject"]["content"]["trigger"]["seq"].as_u64().unwrap()).collect();
    live_triggers.sort();

    let (code, replay) = server.get("/api/v1/policies/unsigned_artifact/replay?since=2026-01-01T00:00:00Z");
    assert_eq!(code, 200, "{replay}");
    assert_eq!(
        (replay["evaluated"].as_u64(), replay["denied"].as_u64(), replay["warned"].as_u64(), replay["truncated"].as_bool()),
        (Some(3), Some(3), Some(0), Some(false))
    );
    let replayed: Vec<u64> = replay["decisions"].as_array().unwrap().iter().map(|d| d["seq"].as_u64().unwrap()).collect();
    assert_eq!(replayed, live_triggers, "the same entries denied");
    let signed = replay["decisions"].as_array().unwrap().iter().find(|d| d["artifact"] == "pkg:oci/a@1").unwrap();
    assert_eq!(
        signed["decision"]["deny"],
        json!(["artifact pkg:oci/a@1 has 1 signatures and none is verified (the artifact is named without a sha256 digest: a cosign signature names an image by its manifest digest): an unverified signature is not a signature"])
    );
    let (code, missing) = server.get("/api/v1/policies/nope/replay");
    assert_eq!((code, missing["error"].as_str()), (404, Some("no policy \"nope\" is loaded")));
    // Replaying ran nothing and recorded nothing.
    let (_, after) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.decided.*");
    assert_eq!(after["events"].as_array().unwrap().len(), 3);

    let page = crate::common::http()
        .get(&format!("{}/ui/policies?replay=unsigned_artifact&since=2026-01-01T00:00:00Z", server.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(page.contains("<b>unsigned_artifact</b>: 3 evaluations — 3 would deny, 0 would warn, 0 would act. Nothing was run."), "{page}");
}
