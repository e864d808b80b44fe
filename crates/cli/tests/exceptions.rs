//! Exceptions through the real server and CLI: requested, approved by someone else, revoked,
//! listed at any moment; waiving a gate exactly until expiry, whose announcement makes the
//! policy look again; imported from VEX with the document as justification.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use common::{dossier, dossier_as, eventually, Server, ADMIN_TOKEN};
use dossier_core::event::format_timestamp;
use serde_json::{json, Value};

const SHOP: &str = "pkg:oci/shop@sha256%3Ab2";
/// The image as Dossier names it, in its own entries: its purl in canonical form (docs/lineage.md).
const SHOP_NAME: &str = "pkg:oci/shop@sha256:b2";

fn in_seconds(s: i64) -> String {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as i64;
    format_timestamp(now + s * 1_000_000_000)
}

fn event(id: &str, ty: &str, subject: &str, content: Value) -> Value {
    json!({
        "context": {"specversion": "0.5.1", "id": id, "source": "/test", "type": ty, "timestamp": "2026-11-25T10:00:00Z"},
        "subject": {"id": subject, "content": content}
    })
}

fn post_json(server: &Server, path: &str, body: Value) -> (u16, Value) {
    post_json_as(ADMIN_TOKEN, server, path, body)
}

/// POSTs `body` with `token` as the credential: who asks is who the token names.
fn post_json_as(token: &str, server: &Server, path: &str, body: Value) -> (u16, Value) {
    match common::as_bearer(token).post(&format!("{}{path}", server.url)).send_json(body) {
        Ok(r) => (r.status(), r.into_json().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("POST {path}: {e}"),
    }
}

#[test]
fn an_exception_is_requested_approved_by_another_and_revoked_each_step_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let s = server.url.as_str();
    // Alice asks, Bob approves, Carol revokes: each with a token of their own.
    let alice = common::token(&server, "alice", &["exceptions:request", "exceptions:approve", "read"]);
    let bob = common::token(&server, "bob", &["exceptions:approve", "read"]);
    let carol = common::token(&server, "carol", &["exceptions:approve", "read"]);
    let expires = in_seconds(7 * 86_400);
    let (code, out, err) = dossier_as(
        &alice,
        &[
            "exception",
            "request",
            "--id",
            "exc-1",
            "--vulnerability",
            "CVE-2021-23337",
            "--artifact",
            "pkg:oci/shop@*",
            "--environment",
            "prod",
            "--reason",
            "not reachable",
            "--expires",
            &expires,
            "--server",
            s,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("exc-1                    requested"), "{out}");

    assert!(out.contains("requested by alice"), "{out}");

    let (code, _, err) = dossier_as(&alice, &["exception", "approve", "exc-1", "--server", s]);
    assert_eq!((code, err.trim()), (2, "error: HTTP 422: approver: \"alice\" requested this exception; another person must approve it"));
    let (code, out, err) = dossier_as(&bob, &["exception", "approve", "exc-1", "--server", s]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" active ") && out.contains("approved by bob"), "{out}");
    let approved_at = in_seconds(0);
    std::thread::sleep(Duration::from_millis(20));

    let (_, list) = server.get(&format!("/api/v1/exceptions?artifact={}&vulnerability=CVE-2021-23337", SHOP.replace('%', "%25")));
    assert_eq!(list["exceptions"][0]["state"], "active");
    assert_eq!(
        (list["exceptions"][0]["requested"]["by"].as_str(), list["exceptions"][0]["approved"]["by"].as_str()),
        (Some("alice"), Some("bob"))
    );
    let (_, other) = server.get("/api/v1/exceptions?environment=staging");
    assert_eq!(other["exceptions"].as_array().unwrap().len(), 0);

    let (code, out, err) = dossier_as(&carol, &["exception", "revoke", "exc-1", "--reason", "the fix shipped", "--server", s]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" revoked "), "{out}");
    // The past stays answerable.
    let (_, then) = server.get(&format!("/api/v1/exceptions?at={approved_at}"));
    assert_eq!(then["exceptions"][0]["state"], "active");
    assert_eq!(then["exceptions"][0].get("revoked"), None, "the revocation came later");
    let (_, before) = server.get("/api/v1/exceptions?at=2020-01-01T00:00:00Z");
    assert_eq!(before["exceptions"], json!([]), "nothing was requested yet");
    let (status, again) = post_json_as(&carol, &server, "/api/v1/exceptions/exc-1/revoke", json!({"reason": "again"}));
    assert_eq!((status, again["error"].as_str().unwrap()), (409, "exception \"exc-1\" is revoked: there is nothing left to revoke"));

    let (_, entries) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-exception.*");
    let steps: Vec<(&str, &str)> =
        entries["events"].as_array().unwrap().iter().map(|e| (e["type"].as_str().unwrap(), e["sender"].as_str().unwrap())).collect();
    assert_eq!(
        steps,
        [
            ("dev.cdeventsx.dossier-exception.requested.0.1.0", "alice"),
            ("dev.cdeventsx.dossier-exception.approved.0.1.0", "bob"),
            ("dev.cdeventsx.dossier-exception.revoked.0.1.0", "carol")
        ],
        "each step in the log, sent by who took it"
    );
}

#[test]
fn requests_that_break_the_rules_are_refused_with_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--exception-max-days", "30"]);
    let before = server.size();
    let base = json!({"vulnerabilities": ["CVE-1"], "artifacts": ["*"], "reason": "r", "expires": in_seconds(60)});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("expires", json!(in_seconds(31 * 86_400))), 422, "expires: "),
        (with("expires", json!("soon")), 422, "expires: \"soon\" is not an RFC 3339 date-time"),
        (with("reason", json!(" ")), 422, "reason: say why the exception is needed"),
        (with("artifacts", json!([])), 422, "artifacts: an exception names the artifacts it covers"),
        (with("colour", json!("red")), 422, "unknown field `colour`"),
        (
            with("requester", json!("alice")),
            422,
            "requester: \"alice\" is not who asks; it is taken from the credential (admin); omit the field",
        ),
        (json!({"vulnerabilities": ["CVE-1"]}), 422, "missing field `reason`"),
    ];
    for (body, status, start) in cases {
        let (got, answer) = post_json(&server, "/api/v1/exceptions", body.clone());
        assert_eq!(got, status, "{body}: {answer}");
        assert!(answer["error"].as_str().unwrap().starts_with(start), "{body}: {answer}");
    }
    // What a form on another site could make a browser send is refused before it is read.
    for (content_type, path) in [
        ("text/plain", "/api/v1/exceptions"),
        ("application/x-www-form-urlencoded", "/api/v1/exceptions"),
        ("text/plain", "/api/v1/exceptions/exc-1/approve"),
    ] {
        let forged = match crate::common::http()
            .post(&format!("{}{path}", server.url))
            .set("Content-Type", content_type)
            .send_string(&base.to_string())
        {
            Err(ureq::Error::Status(code, r)) => (code, r.into_json::<Value>().unwrap()),
            other => panic!("{content_type} {path}: {other:?}"),
        };
        assert_eq!(forged.0, 415, "{content_type} {path}");
        assert!(
            forged.1["error"].as_str().unwrap().starts_with(&format!("Content-Type {content_type:?} is not accepted here")),
            "{forged:?}"
        );
    }
    assert_eq!(server.size(), before, "nothing was stored");
}

#[test]
fn an_exception_waives_the_production_gate_until_it_expires_and_the_expiry_makes_the_policy_look_again() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/no_critical_in_production.rego");
    std::fs::copy(pack, policies.join("no_critical_in_production.rego")).unwrap();
    let server = Server::start_with(&dir.path().join("data"), &["--policies", policies.to_str().unwrap()]);
    let setup = json!([
        event("1", "dev.cdevents.artifact.packaged.0.3.0", SHOP, json!({"change": {"id": "c"}})),
        event(
            "2",
            "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0",
            "CVE-2026-1",
            json!({"severity": "critical", "artifacts": [SHOP]})
        ),
    ]);
    assert_eq!(server.post("application/json", setup.to_string().as_bytes()).0, 200);
    let alice = common::token(&server, "alice", &["exceptions:request", "read"]);
    let bob = common::token(&server, "bob", &["exceptions:approve", "read"]);
    let request = json!({"id": "exc-9", "vulnerabilities": ["CVE-2026-1"], "artifacts": ["pkg:oci/shop@*"], "environments": ["prod"],
                         "reason": "mitigated by the WAF", "expires": in_seconds(3)});
    assert_eq!(post_json_as(&alice, &server, "/api/v1/exceptions", request).0, 201);
    assert_eq!(post_json_as(&bob, &server, "/api/v1/exceptions/exc-9/approve", json!({})).0, 200);

    let deployed = event("3", "dev.cdevents.service.deployed.0.3.0", "shop", json!({"environment": {"id": "prod"}, "artifactId": SHOP}));
    assert_eq!(server.post("application/json", deployed.to_string().as_bytes()).0, 201);
    let decisions = |server: &Server| {
        let (_, page) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-policy.decided.*");
        page["events"].as_array().cloned().unwrap_or_default()
    };
    let first = eventually("the deployment's decision", || decisions(&server).first().cloned());
    let content = &first["event"]["subject"]["content"];
    assert_eq!((content["deny"].clone(), content["exceptions"].clone()), (json!([]), json!(["exc-9"])));

    // At expiry: an announcement per concerned artifact, and the gate closes.
    let expired = eventually("the expiry", || {
        let (_, page) = server.get("/api/v1/events?type=dev.cdeventsx.dossier-exception.expired.*");
        page["events"].as_array()?.first().cloned()
    });
    assert_eq!(expired["event"]["subject"]["content"]["artifactId"], SHOP_NAME);
    let second = eventually("the expiry's decision", || decisions(&server).get(1).cloned());
    assert_eq!(
        second["event"]["subject"]["content"]["deny"],
        json!([format!("{SHOP_NAME} runs in prod but is affected by critical CVE-2026-1")])
    );
}

#[test]
fn vex_statements_become_exceptions_that_keep_their_document() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // The fixture's statements, about this image.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../evidence/tests/documents/openvex.json");
    let vex = dir.path().join("openvex-shop.json");
    std::fs::write(&vex, std::fs::read_to_string(fixture).unwrap().replace("pkg:oci/shop@sha256%3A4d2a", SHOP)).unwrap();
    let (code, out, err) = dossier(&["document", "send", vex.to_str().unwrap(), "--artifact", SHOP, "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    let digest = out.split_whitespace().nth(1).unwrap().to_owned();
    let (status, answer) =
        post_json(&server, "/api/v1/exceptions/from-vex", json!({"document": digest, "artifact": SHOP, "expires": in_seconds(86_400)}));
    assert_eq!(status, 201, "{answer}");
    let created = answer["exceptions"].as_array().unwrap();
    assert_eq!(created.len(), 1, "only the not_affected statement waives");
    assert_eq!(created[0]["vulnerabilities"], json!(["CVE-2021-23337", "GHSA-35jh-r3h4-6jhm"]));
    assert_eq!(created[0]["justification"], json!(digest));
    assert_eq!((created[0]["state"].as_str(), created[0]["requested"]["by"].as_str()), (Some("requested"), Some("admin")));
    assert!(created[0]["reason"].as_str().unwrap().starts_with("VEX not_affected: vulnerable_code_not_in_execute_path"));
}
