//! How far policy evaluation is behind the log is part of what the policies API answers
//! (`lag: {entries, seconds}`), and the dashboard's policies page says it.

use std::time::{Duration, Instant};

use dossier_server::Server;
use serde_json::{json, Value};

const ADMIN: &str = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";

const POLICY: &str = r#"package published

triggers := ["dev.cdevents.artifact.published.*"]

mode := "audit"

warn contains "published" if true
"#;

fn get(url: &str) -> ureq::Response {
    ureq::get(url).set("Authorization", &format!("Bearer {ADMIN}")).call().unwrap()
}

#[test]
fn the_policies_api_and_page_say_how_far_evaluation_is_behind() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("published.rego"), POLICY).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = runtime.block_on(async {
        let server = Server::builder(dir.path().join("data"))
            .log_name(Some("test/log".into()))
            .admin_token(Some(ADMIN.into()))
            .policies_opt(Some(policies))
            .start()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, std::future::pending()));
        url
    });
    let events: Vec<Value> = (0..20)
        .map(|i| {
            json!({"context": {"specversion": "0.5.1", "id": format!("e{i}"), "source": "/ci", "type": "dev.cdevents.artifact.published.0.3.0",
                               "timestamp": "2026-11-25T10:00:00Z"},
                   "subject": {"id": format!("pkg:oci/app@{i}"), "content": {}}})
        })
        .collect();
    let answer = ureq::post(&format!("{url}/api/v1/events"))
        .set("Authorization", &format!("Bearer {ADMIN}"))
        .send_json(Value::Array(events))
        .unwrap()
        .into_json::<Value>()
        .unwrap();
    assert_eq!(answer["accepted"], 20);
    // Every entry decided, and the decisions' own entries passed over: nothing behind.
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status: Value = get(&format!("{url}/api/v1/policies")).into_json().unwrap();
        if status["lag"]["entries"] == 0 {
            break status;
        }
        assert!(Instant::now() < deadline, "evaluation did not catch up: {}", status["lag"]);
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status["lag"], json!({"entries": 0, "seconds": 0.0}));
    assert_eq!(status["policies"][0]["name"], "published");
    let page = get(&format!("{url}/ui/policies")).into_string().unwrap();
    assert!(
        page.contains(r#"<p id="policy-lag">Evaluation is up to date: every entry of the log is decided.</p>"#),
        "the policies page says so"
    );
    drop(runtime);
}
