//! Issue 14, "one model", done when: a vulnerability that arrived only in scanners' documents
//! (GHSA-35jh-r3h4-6jhm, found by osv-scanner on a base image and by Grype, as CVE-2021-23337,
//! on an image built on it) shows on the impact API and page with the clusters it reaches, and
//! an approved exception or a VEX `not_affected` statement takes it out of that cluster's risk
//! live (`unaffected` on the impact stream); the exception's expiry brings it back. Over real
//! connections, with the real tools' documents of `crates/evidence/tests/documents`.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use dossier_server::Server;
use serde_json::{json, Value};

const ADMIN: &str = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";
const BASE: &str = "pkg:oci/node@sha256:9e1c";
const SHOP: &str = "pkg:oci/shop@sha256:4d2a";
const CART: &str = "pkg:oci/cart@sha256:77aa";

struct Running {
    url: String,
    _dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = runtime.block_on(async {
        let server = Server::builder(dir.path()).log_name(Some("test/log".into())).admin_token(Some(ADMIN.into())).start().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, std::future::pending()));
        url
    });
    Running { url, _dir: dir, _runtime: runtime }
}

fn answer(resp: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let (status, text) = match resp {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    };
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A document made by a real tool (see crates/evidence/tests/documents/README.md).
fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../evidence/tests/documents").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn in_seconds(s: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    dossier_core::event::format_timestamp(now + s * 1_000_000_000)
}

impl Running {
    fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        answer(ureq::post(&format!("{}{path}", self.url)).set("Authorization", &format!("Bearer {token}")).send_json(body.clone()))
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let mut req = ureq::get(&format!("{}{path}", self.url)).set("Authorization", &format!("Bearer {ADMIN}"));
        for (k, v) in query {
            req = req.query(k, v);
        }
        answer(req.call())
    }

    fn event(&self, id: &str, ty: &str, subject: Value, custom: Value) {
        let event = json!({
            "context": {"specversion": "0.5.1", "id": id, "source": "/ci", "type": ty, "timestamp": "2026-11-25T10:00:00Z"},
            "subject": subject, "customData": {"dossier": custom}
        });
        let (status, body) = self.post("/api/v1/events", ADMIN, &event);
        assert_eq!(status, 201, "{body}");
    }

    fn document(&self, artifact: &str, text: &str) -> Value {
        let (status, receipt) = answer(
            ureq::post(&format!("{}/api/v1/documents", self.url))
                .query("artifact", artifact)
                .set("Authorization", &format!("Bearer {ADMIN}"))
                .set("Content-Type", "application/json")
                .send_string(text),
        );
        assert_eq!(status, 201, "{receipt}");
        receipt
    }

    fn page(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut req = ureq::get(&format!("{}{path}", self.url)).set("Authorization", &format!("Bearer {ADMIN}"));
        for (k, v) in query {
            req = req.query(k, v);
        }
        req.call().unwrap().into_string().unwrap()
    }

    fn token(&self, name: &str, scopes: &[&str]) -> String {
        let (status, v) = self.post("/api/v1/tokens", ADMIN, &json!({"name": name, "scopes": scopes}));
        assert_eq!(status, 201, "{v}");
        v["token"].as_str().unwrap().to_owned()
    }

    /// The impact stream's events, as (event name, data), from now on.
    fn stream(&self, query: &[(&str, &str)]) -> mpsc::Receiver<(String, Value)> {
        let mut req = ureq::get(&format!("{}/api/v1/impact/stream", self.url)).set("Authorization", &format!("Bearer {ADMIN}"));
        for (k, v) in query {
            req = req.query(k, v);
        }
        let lines = BufReader::new(req.call().unwrap().into_reader()).lines();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut name = String::new();
            for line in lines {
                let Ok(line) = line else { return };
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    if let Ok(data) = serde_json::from_str::<Value>(d) {
                        if tx.send((name.clone(), data)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        rx
    }

    fn risk_of(&self, cluster: &str) -> Value {
        let (_, risk) = self.get("/api/v1/risk", &[]);
        risk["clusters"].as_array().unwrap().iter().find(|c| c["cluster"] == cluster).cloned().unwrap_or(Value::Null)
    }
}

fn next(changes: &mpsc::Receiver<(String, Value)>, within: Duration) -> (String, String, String, bool) {
    let (name, data) = changes.recv_timeout(within).expect("a change on the impact stream");
    (
        name,
        data["cluster"].as_str().unwrap().to_owned(),
        data["vulnerability"].as_str().unwrap().to_owned(),
        data["waived"].as_bool().unwrap(),
    )
}

/// The shop image and the cart image, both built on the node base image, run in prod-eu-1
/// and staging.
fn estate(s: &Running) {
    s.event("base", "dev.cdevents.artifact.packaged.0.3.0", json!({"id": BASE, "content": {"change": {"id": "b1"}}}), json!({}));
    for (name, image) in [("shop", SHOP), ("cart", CART)] {
        s.event(
            name,
            "dev.cdevents.artifact.packaged.0.3.0",
            json!({"id": image, "content": {"change": {"id": "c1"}}}),
            json!({"parents": [BASE]}),
        );
    }
    for (env, service, image) in [("prod-eu-1", "shop", SHOP), ("staging", "cart", CART)] {
        s.event(
            &format!("deploy-{service}"),
            "dev.cdevents.service.deployed.0.3.0",
            json!({"id": service, "content": {"environment": {"id": env}, "artifactId": image}}),
            json!({}),
        );
    }
}

#[test]
fn a_vulnerability_only_scanners_found_reaches_its_clusters_and_an_exception_or_a_vex_statement_waives_it_live() {
    let s = start();
    estate(&s);
    // osv-scanner on the base image: GHSA-35jh-r3h4-6jhm (alias CVE-2021-23337) in lodash and
    // PYSEC-2021-98 in django; Grype on the shop image: CVE-2021-23337 (alias the GHSA).
    s.document(BASE, &fixture("osv-scanner.json"));
    s.document(SHOP, &fixture("cyclonedx-vex.json"));

    let (status, impact) = s.get("/api/v1/impact", &[("vulnerability", "GHSA-35jh-r3h4-6jhm")]);
    assert_eq!(status, 200, "{impact}");
    assert_eq!((&impact["vulnerability"], &impact["aliases"]), (&json!("CVE-2021-23337"), &json!(["GHSA-35jh-r3h4-6jhm"])));
    assert_eq!(impact["clusters"], json!(["prod-eu-1", "staging"]));
    let sources: Vec<(&str, &str)> =
        impact["sources"].as_array().unwrap().iter().map(|r| (r["id"].as_str().unwrap(), r["artifact"].as_str().unwrap())).collect();
    assert_eq!(sources, vec![("GHSA-35jh-r3h4-6jhm", BASE), ("CVE-2021-23337", SHOP)]);
    let shop = impact["artifacts"].as_array().unwrap().iter().find(|a| a["artifact"] == SHOP).unwrap();
    assert_eq!(shop["path"], json!([SHOP]), "Grype found it in the shop image itself");
    let cart = impact["artifacts"].as_array().unwrap().iter().find(|a| a["artifact"] == CART).unwrap();
    assert_eq!(cart["path"], json!([BASE, CART]), "inherited from the base image");
    assert_eq!(s.risk_of("prod-eu-1")["vulnerabilities"], 2, "CVE-2021-23337 and PYSEC-2021-98");

    // The vulnerability, by any id, and the index.
    let (status, details) = s.get("/api/v1/vulnerabilities/GHSA-35jh-r3h4-6jhm", &[]);
    assert_eq!(status, 200, "{details}");
    let titles: Vec<&str> = details["findings"].as_array().unwrap().iter().map(|f| f["title"].as_str().unwrap()).collect();
    assert_eq!(titles, vec!["Command Injection in lodash", "Command Injection in lodash"]);
    let (_, index) = s.get("/api/v1/vulnerabilities", &[("q", "pysec")]);
    let found = &index["vulnerabilities"][0];
    assert_eq!(
        (index["total"].clone(), found["vulnerability"].clone(), found["aliases"].clone(), found["clusters"].clone()),
        (json!(1), json!("CVE-2021-33203"), json!(["PYSEC-2021-98"]), json!(["prod-eu-1", "staging"])),
        "PYSEC-2021-98 is an alias of CVE-2021-33203 in osv-scanner's record"
    );
    // The impact page shows the clusters too, and links the vulnerability's page.
    let page = s.page("/ui/impact", &[("vulnerability", "GHSA-35jh-r3h4-6jhm")]);
    assert!(page.contains("in clusters: <b>prod-eu-1</b>, <b>staging</b>"), "{page}");
    assert!(page.contains(r#"<a class="mono" href="/ui/vulnerabilities/CVE-2021-23337">CVE-2021-23337</a>"#), "{page}");
    let index = s.page("/ui/vulnerabilities", &[("q", "pysec")]);
    assert!(index.contains("1 of 2 vulnerabilities") && index.contains(">CVE-2021-33203</a>"), "{index}");
    let page = s.page("/ui/vulnerabilities/GHSA-35jh-r3h4-6jhm", &[]);
    assert!(page.contains("Also known as <span class=\"mono\">GHSA-35jh-r3h4-6jhm</span>"), "{page}");
    assert!(page.contains("Command Injection in lodash") && page.contains("pkg:npm/lodash@4.17.20 4.17.21"), "{page}");
    // Both scanners' CVSS v3.1 vector, once, scored.
    assert!(page.contains(r#"<dd><b>7.2</b> <span class="mono">CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H</span></dd>"#), "{page}");
    // Triage from the page: a request through the exceptions API, for what it reaches where.
    assert!(page.contains(r#"<form class="stack" data-api="/api/v1/exceptions" aria-labelledby="h-triage">"#), "{page}");
    assert!(page.contains(&format!(r#"name="artifacts" data-list required value="{CART}, {SHOP}""#)), "{page}");
    assert!(page.contains(r#"<form class="stack" data-vex="CVE-2021-23337" data-author="admin" aria-labelledby="h-vex-new">"#), "{page}");
    assert!(page.contains(&format!(r#"<option value="{SHOP}">{SHOP}</option>"#)), "{page}");
    // The artifact page's finding rows lead to it.
    let artifact = s.page("/ui/artifact", &[("purl", SHOP)]);
    assert!(artifact.contains(r#"<a href="/ui/vulnerabilities/CVE-2021-23337#h-triage">triage</a>"#), "{artifact}");

    // An exception for prod-eu-1, requested by one person and approved by another: waived there, live.
    let changes = s.stream(&[("vulnerability", "GHSA-35jh-r3h4-6jhm")]);
    let (alice, bob) = (s.token("alice", &["exceptions:request", "read"]), s.token("bob", &["exceptions:approve", "read"]));
    let request = json!({"id": "lodash-prod", "vulnerabilities": ["GHSA-35jh-r3h4-6jhm"], "artifacts": ["pkg:oci/shop@*"],
                         "environments": ["prod-eu-1"], "reason": "template() never sees user input", "expires": in_seconds(4)});
    let (status, body) = s.post("/api/v1/exceptions", &alice, &request);
    assert_eq!(status, 201, "{body}");
    assert!(changes.recv_timeout(Duration::from_millis(300)).is_err(), "requested is not approved: nothing changes");
    let (status, body) = s.post("/api/v1/exceptions/lodash-prod/approve", &bob, &json!({"comment": "ok until the upgrade"}));
    assert_eq!((status, &body["state"]), (200, &json!("active")), "{body}");
    assert_eq!(next(&changes, Duration::from_secs(5)), ("unaffected".into(), "prod-eu-1".into(), "CVE-2021-23337".into(), true));
    let prod = s.risk_of("prod-eu-1");
    assert_eq!((prod["vulnerabilities"].clone(), prod["waived"].clone()), (json!(1), json!(["CVE-2021-23337"])));
    // The environments page: a summary row per environment, production first, its counts
    // named, what is waived there said so, and each deployment's vulnerabilities linked.
    let page = s.page("/ui/environments", &[]);
    let summary = &page[page.find(r#"id="h-summary""#).expect("a summary")..];
    let (prod_row, staging_row) =
        (summary.find(r##"<a href="#prod-eu-1">prod-eu-1</a>"##), summary.find(r##"<a href="#staging">staging</a>"##));
    assert!(prod_row.unwrap() < staging_row.unwrap(), "production first: {summary}");
    assert!(
        summary.contains(
            r#"<a class="mono" href="/ui/vulnerabilities/CVE-2021-23337">CVE-2021-23337</a> <span class="badge st-waived">waived</span>"#
        ),
        "{summary}"
    );
    // The exceptions page links the vulnerability and the environment it names.
    let exceptions = s.page("/ui/exceptions", &[]);
    assert!(
        exceptions.contains(r#"<a class="mono" href="/ui/vulnerabilities/GHSA-35jh-r3h4-6jhm">GHSA-35jh-r3h4-6jhm</a> in <a href="/ui/environments#prod-eu-1">prod-eu-1</a>"#),
        "{exceptions}"
    );
    let prod_section = &page[page.find(r#"<section class="panel wide" id="prod-eu-1""#).unwrap()..];
    assert!(
        prod_section.contains(r#"href="/ui/vulnerabilities/CVE-2021-33203">CVE-2021-33203</a> <span class="badge sev-"#),
        "{prod_section}"
    );
    let (_, impact) = s.get("/api/v1/impact", &[("vulnerability", "CVE-2021-23337")]);
    assert_eq!(impact["clusters"], json!(["staging"]));
    assert_eq!(
        impact["waived"],
        json!([{"cluster": "prod-eu-1", "deployments": [{"service": "shop", "artifact": SHOP, "by": {"kind": "exception", "id": "lodash-prod"}}]}])
    );

    // Its expiry, announced by the server, brings it back.
    assert_eq!(next(&changes, Duration::from_secs(10)), ("affected".into(), "prod-eu-1".into(), "CVE-2021-23337".into(), false));
    assert_eq!(s.risk_of("prod-eu-1")["waived"], json!([]));

    // The shop team's OpenVEX: not_affected for the shop image, limited to lodash 4.17.20.
    let receipt = s.document(SHOP, &fixture("openvex.json"));
    assert_eq!(next(&changes, Duration::from_secs(5)), ("unaffected".into(), "prod-eu-1".into(), "CVE-2021-23337".into(), true));
    let (_, impact) = s.get("/api/v1/impact", &[("vulnerability", "GHSA-35jh-r3h4-6jhm")]);
    assert_eq!(
        impact["waived"][0]["deployments"][0]["by"],
        json!({"kind": "vex", "document": receipt["digest"], "statement": 0, "seq": impact["waived"][0]["deployments"][0]["by"]["seq"]})
    );
    assert_eq!(impact["clusters"], json!(["staging"]), "the statement names the shop image, not the cart image");
    let (_, details) = s.get("/api/v1/vulnerabilities/CVE-2021-23337", &[]);
    assert_eq!(details["vex"][0]["justification"], "vulnerable_code_not_in_execute_path");
    assert_eq!(details["exceptions"][0]["state"], "expired");
    let page = s.page("/ui/vulnerabilities/CVE-2021-23337", &[]);
    let digest = receipt["digest"].as_str().unwrap();
    assert!(page.contains(&format!(r#"VEX statement 0 of document <span class="mono">{digest}</span>"#)), "{page}");
    assert!(page.contains("vulnerable_code_not_in_execute_path") && page.contains(">lodash-prod</a>"), "{page}");
}
