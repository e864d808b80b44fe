//! The dashboard says what it shows: the overview counts what it summarises whole, though it
//! lists only the newest; a filter that matches nothing says so, not that the log is empty.

use dossier_server::Server;
use serde_json::json;

const ADMIN: &str = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";

#[test]
fn the_overview_counts_every_recent_violation_though_it_lists_the_ten_newest() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(
        policies.join("deny_all.rego"),
        "package deny_all\n\ntriggers := [\"dev.cdevents.artifact.published.*\"]\n\ndeny contains sprintf(\"no %s\", [input.event.subject.id])\n",
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
    let events: Vec<_> = (0..13)
        .map(|i| {
            json!({"context": {"specversion": "0.5.1", "id": format!("p-{i}"), "source": "/ci", "type": "dev.cdevents.artifact.published.0.3.0",
                               "timestamp": "2026-12-01T10:00:00Z"},
                   "subject": {"id": format!("pkg:oci/app-{i}@sha256:{i:064x}"), "content": {}}})
        })
        .collect();
    let auth = format!("Bearer {ADMIN}");
    ureq::post(&format!("{url}/api/v1/events")).set("Authorization", &auth).send_json(json!(events)).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let page = loop {
        let page = ureq::get(&format!("{url}/ui")).set("Authorization", &auth).call().unwrap().into_string().unwrap();
        if page.contains(r#"<b id="violation-count">13</b>"#) {
            break page;
        }
        assert!(std::time::Instant::now() < deadline, "the 13 denials did not show: {page}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let listed = page.split(r#"id="p-viol""#).nth(1).unwrap().split("</section>").next().unwrap();
    assert_eq!(listed.matches("<tr>").count() - 1, 10, "a header row and the ten newest: {listed}");
    let filtered = ureq::get(&format!("{url}/ui/events?type=dev.cdevents.nothing.*"))
        .set("Authorization", &auth)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(filtered.contains(r#"id="live-empty">No event matches these filters yet"#), "{filtered}");
    assert!(!filtered.contains("No events yet"), "{filtered}");
    drop(runtime);
}
