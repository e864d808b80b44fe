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

/// Issue 14: the overview opens with what needs attention first, as linked rows — a critical
/// vulnerability running in production, a quarantined artifact, a deployment a policy denied —
/// and says nothing needs attention when nothing does.
#[test]
fn the_overview_opens_with_what_needs_attention_as_linked_rows() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(
        policies.join("frozen.rego"),
        "package frozen\n\ntriggers := [\"dev.cdevents.service.deployed.*\"]\n\ndeny contains \"production is frozen\" if input.event.subject.content.environment.id == \"prod-eu-1\"\n",
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
    let auth = format!("Bearer {ADMIN}");
    let overview = || ureq::get(&format!("{url}/ui")).set("Authorization", &auth).call().unwrap().into_string().unwrap();
    let attention = |page: &str| page.split(r#"id="p-attention""#).nth(1).unwrap().split("</section>").next().unwrap().to_owned();
    assert!(attention(&overview()).contains("Nothing needs attention"), "an empty log needs nothing");

    let (shop, cart) = (format!("pkg:oci/shop@sha256:{}", "a".repeat(64)), format!("pkg:oci/cart@sha256:{}", "b".repeat(64)));
    let event = |id: &str, ty: &str, subject: &str, content: serde_json::Value| {
        json!({"context": {"specversion": "0.5.1", "id": id, "source": "/ci", "type": ty, "timestamp": "2026-12-01T10:00:00Z"},
               "subject": {"id": subject, "content": content}})
    };
    let events = vec![
        event("shop", "dev.cdevents.artifact.packaged.0.3.0", &shop, json!({"change": {"id": "c1"}})),
        event("cart", "dev.cdevents.artifact.packaged.0.3.0", &cart, json!({"change": {"id": "c2"}})),
        event(
            "deploy-shop",
            "dev.cdevents.service.deployed.0.3.0",
            "shop",
            json!({"environment": {"id": "prod-eu-1"}, "artifactId": shop}),
        ),
        event("deploy-cart", "dev.cdevents.service.deployed.0.3.0", "cart", json!({"environment": {"id": "staging"}, "artifactId": cart})),
        event(
            "cve",
            "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0",
            "CVE-2026-4242",
            json!({"severity": "critical", "artifacts": [shop, cart]}),
        ),
        event("quarantine", "dev.cdeventsx.dossier-artifact.quarantined.0.1.0", &cart, json!({"reason": "suspicious"})),
    ];
    let answer = ureq::post(&format!("{url}/api/v1/events")).set("Authorization", &auth).send_json(json!(events)).unwrap();
    assert_eq!(answer.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let rows = loop {
        let rows = attention(&overview());
        if rows.contains("badge st-denied") {
            break rows;
        }
        assert!(std::time::Instant::now() < deadline, "the denial did not show: {rows}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(rows.contains("Needs attention <small>(3)</small>"), "{rows}");
    let order: Vec<usize> =
        ["badge sev-critical", "badge st-quarantined", "badge st-denied"].iter().map(|b| rows.find(b).expect(b)).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "critical in production, then quarantined, then denied: {rows}");
    assert!(
        rows.contains(r#"<a class="mono" href="/ui/vulnerabilities/CVE-2026-4242">CVE-2026-4242</a> runs in production"#)
            && rows.contains(r##"<a href="/ui/environments#prod-eu-1">prod-eu-1</a>"##)
            && !rows.contains(r##"<a href="/ui/environments#staging">staging</a>"##),
        "only production clusters are named: {rows}"
    );
    assert!(rows.contains(r#"<a class="mono" href="/ui/artifact?purl=pkg%3Aoci%2Fcart"#), "{rows}");
    assert!(
        rows.contains(r#"deployed: production is frozen"#) && rows.contains(r#"by <a href="/ui/policies#frozen">frozen</a>"#),
        "{rows}"
    );
    drop(runtime);
}
