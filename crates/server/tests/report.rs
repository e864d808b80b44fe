//! The report of a period (issue 16): every section counted in full — 13 violations among 520
//! decisions that only warn are 13, not the 0 a capped read found — the gate's decisions per
//! environment, each line naming its entry under the signed checkpoint cited; and a period
//! that ends before it starts is refused, on the API and on the dashboard.

use std::time::{Duration, Instant};

use dossier_server::Server;
use serde_json::{json, Value};

const ADMIN: &str = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";

const POLICY: &str = r#"package noisy

triggers := ["dev.cdevents.artifact.published.*"]

warn contains "published" if true

deny contains msg if {
	startswith(input.event.subject.id, "pkg:generic/bad")
	msg := sprintf("%s is bad", [input.event.subject.id])
}
"#;

fn get(url: &str) -> (u16, Value) {
    match ureq::get(url).set("Authorization", &format!("Bearer {ADMIN}")).call() {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(code, r)) => {
            let text = r.into_string().unwrap_or_default();
            (code, serde_json::from_str(&text).unwrap_or(Value::String(text)))
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_section_is_counted_in_full_and_each_line_names_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(policies.join("noisy.rego"), POLICY).unwrap();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/no_critical_in_production.rego"),
        policies.join("no_critical_in_production.rego"),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = runtime.block_on(async {
        let server = Server::builder(dir.path().join("data")).admin_token(Some(ADMIN.into())).policies(&policies).start().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, std::future::pending()));
        url
    });
    let event = |i: usize, subject: String| {
        json!({"context": {"specversion": "0.5.1", "id": format!("e{i}"), "source": "/ci", "type": "dev.cdevents.artifact.published.0.3.0", "timestamp": "2026-12-01T10:00:00Z"},
               "subject": {"id": subject, "content": {}}})
    };
    // 520 publications that only warn, then 13 that are denied.
    let mut events: Vec<Value> = (0..520).map(|i| event(i, format!("pkg:generic/ok-{i}@1"))).collect();
    events.extend((0..13).map(|i| event(520 + i, format!("pkg:generic/bad-{i}@1"))));
    // The status of a POST.
    let post = |path: &str, body: Value| match ureq::post(&format!("{url}{path}"))
        .set("Authorization", &format!("Bearer {ADMIN}"))
        .send_json(body)
    {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{path}: {e}"),
    };
    assert_eq!(post("/api/v1/events", json!(events)), 200);
    let shop = format!("pkg:oci/shop@sha256:{}", "a".repeat(64));
    let packaged = json!([{"context": {"specversion": "0.5.1", "id": "p", "source": "/ci", "type": "dev.cdevents.artifact.packaged.0.3.0", "timestamp": "2026-12-01T10:00:00Z"}, "subject": {"id": shop, "content": {"change": {"id": "c"}}}}]);
    assert_eq!(post("/api/v1/events", packaged), 200);
    for env in ["production", "staging", "staging"] {
        assert_eq!(post("/api/v1/gate", json!({"artifact": shop, "environment": env})), 200);
    }
    assert_eq!(post("/api/v1/gate", json!({"artifact": shop, "environment": "production", "dry_run": true})), 200);

    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let (status, r) = get(&format!("{url}/api/v1/audit/report"));
        assert_eq!(status, 200, "{r}");
        if r["violations"]["count"] == 13 {
            break r;
        }
        assert!(Instant::now() < deadline, "the decisions were not all recorded: {}", r["violations"]["count"]);
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(report["violations"]["lines"].as_array().unwrap().len(), 13);
    let mut messages: Vec<&str> =
        report["violations"]["lines"].as_array().unwrap().iter().map(|l| l["message"].as_str().unwrap()).collect();
    messages.sort();
    assert_eq!(messages.first(), Some(&"pkg:generic/bad-0@1 is bad"));
    assert_eq!(messages.last(), Some(&"pkg:generic/bad-9@1 is bad"));
    assert_eq!(report["gate"]["count"], 4);
    assert_eq!(
        report["environments"],
        json!([{"environment": "production", "deployments": 0, "gate_allowed": 1, "gate_denied": 0},
               {"environment": "staging", "deployments": 0, "gate_allowed": 2, "gate_denied": 0}]),
        "dry runs are decisions, not deployments: they are listed, not counted per environment"
    );
    // Each line names its entry, and the checkpoint cited holds every one of them.
    let size = report["checkpoint"]["size"].as_u64().unwrap();
    assert!(report["checkpoint"]["note"].as_str().unwrap().contains(&format!("\n{size}\n")));
    for line in report["gate"]["lines"].as_array().unwrap() {
        let seq = line["seq"].as_u64().unwrap();
        assert!(seq < size, "entry {seq} is in the checkpoint of size {size}");
        let (_, entry) = get(&format!("{url}/api/v1/events/{seq}"));
        assert_eq!(entry["type"], "dev.cdeventsx.dossier-gate.decided.0.1.0", "{entry}");
    }

    // The dashboard's page counts alike.
    let page =
        ureq::get(&format!("{url}/ui/audit")).set("Authorization", &format!("Bearer {ADMIN}")).call().unwrap().into_string().unwrap();
    assert!(page.contains("4 gate decisions (0 denied), 13 violations"), "{}", &page[page.find("Received from").unwrap_or(0)..][..400]);

    // A period that ends before it starts is refused, not answered empty.
    let (status, e) = get(&format!("{url}/api/v1/audit/report?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z"));
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("is after until"), "{e}");
    let (status, page) = get(&format!("{url}/ui/audit?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z"));
    assert_eq!(status, 400);
    assert!(page.as_str().unwrap().contains("the period would be empty"), "{page}");
    drop(runtime);
}
