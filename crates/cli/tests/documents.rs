//! Documents through the real server: kept once by digest, linked to the artifact, feeding the
//! lineage graph (packages, provenance), answered per artifact (components, findings with
//! inheritance and VEX, scans), and refused precisely when they cannot be read.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{dossier, eventually, Server};
use serde_json::{json, Value};

const BASE: &str = "pkg:oci/shop-base@sha256%3Aa1";
const SHOP: &str = "pkg:oci/shop@sha256%3Ab2";
/// The two images as Dossier names them: their purls in canonical form (docs/lineage.md).
const BASE_NAME: &str = "pkg:oci/shop-base@sha256:a1";
const SHOP_NAME: &str = "pkg:oci/shop@sha256:b2";

fn document(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../evidence/tests/documents").join(name)
}

fn event(id: &str, ty: &str, subject: &str, content: Value, custom: Value) -> Value {
    json!({
        "context": {"specversion": "0.5.1", "id": id, "source": "/test", "type": ty, "timestamp": "2026-11-25T10:00:00Z"},
        "subject": {"id": subject, "content": content},
        "customData": custom
    })
}

/// A base image, an image built on it, deployed in prod.
fn images(server: &Server) {
    let events = json!([
        event("1", "dev.cdevents.artifact.packaged.0.3.0", BASE, json!({"change": {"id": "b"}}), json!({})),
        event("2", "dev.cdevents.artifact.packaged.0.3.0", SHOP, json!({"change": {"id": "s"}}), json!({"dossier": {"parents": [BASE]}})),
        event("3", "dev.cdevents.service.deployed.0.3.0", "shop", json!({"environment": {"id": "prod"}, "artifactId": SHOP}), json!({})),
    ]);
    let (status, answer) = server.post("application/json", events.to_string().as_bytes());
    assert_eq!(status, 200, "{answer}");
}

fn upload(server: &Server, query: &[(&str, &str)], content_type: &str, body: &[u8]) -> (u16, Value) {
    let mut req = crate::common::http()
        .post(&format!("{}/api/v1/documents", server.url))
        .timeout(Duration::from_secs(30))
        .set("Content-Type", content_type);
    for (k, v) in query {
        req = req.query(k, v);
    }
    match req.send_bytes(body) {
        Ok(r) => (r.status(), r.into_json().expect("JSON answer")),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("POST /api/v1/documents: {e}"),
    }
}

fn sha256_of(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned()
}

fn enc(s: &str) -> String {
    s.replace('%', "%25").replace(':', "%3A").replace('/', "%2F").replace('@', "%40").replace('<', "%3C").replace('=', "%3D")
}

#[test]
fn an_sbom_links_its_packages_to_the_artifact_its_descendants_and_their_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    images(&server);
    let report = document("cyclonedx-vex.json");
    let file = report.to_str().unwrap();
    let digest = format!("sha256:{}", sha256_of(&report));

    // Entry 0 records the admin token and entries 1-3 the images: the document is entry 4.
    let (code, out, err) = dossier(&["document", "send", file, "--artifact", BASE, "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        format!("recorded {digest} (cyclonedx, 3 components, 1 findings, 1 VEX statements) about {BASE_NAME} as entry 4")
    );
    let (code, out, _) = dossier(&["document", "send", file, "--artifact", BASE, "--server", &server.url]);
    assert_eq!((code, out.trim().starts_with("already recorded") && out.trim().ends_with("as entry 4")), (0, true), "{out}");
    assert_eq!(server.size(), 5);
    // Its sender is who sent it: the principal of the credential.
    let (_, newest) = server.get("/api/v1/events?order=desc&limit=1");
    assert_eq!(newest["events"][0]["sender"], "admin", "{newest}");

    // Kept byte for byte under its digest.
    let kept = crate::common::http().get(&format!("{}/api/v1/documents/{digest}", server.url)).call().unwrap().into_string().unwrap();
    assert_eq!(kept, std::fs::read_to_string(&report).unwrap());

    // The SBOM's packages are the base's, and the shop image's through it.
    let (_, found) = server.get(&format!("/api/v1/contains?package={}&versions={}", enc("pkg:npm/lodash"), enc("<4.17.21")));
    assert_eq!(
        found["artifacts"],
        json!([
            {"artifact": BASE_NAME, "version": "4.17.20", "via": null},
            {"artifact": SHOP_NAME, "version": "4.17.20", "via": BASE_NAME},
        ])
    );
    // dpkg ordering: ~deb12u1 sorts before the release, so 3.0.11-1~deb12u1 < 3.0.11-1.
    let (_, found) = server.get(&format!("/api/v1/contains?package={}&versions={}", enc("pkg:deb/debian/openssl"), enc("<3.0.11-1")));
    assert_eq!(found["artifacts"].as_array().unwrap().len(), 2, "{found}");

    let (_, c) = server.get(&format!("/api/v1/components?artifact={}", enc(BASE)));
    assert_eq!(c["components"].as_array().unwrap().len(), 3);
    assert_eq!(c["licenses"], json!({"Apache-2.0 AND OpenSSL": 1, "MIT": 1, "unknown": 1}));

    // The shop image inherits the base's finding; a VEX about the shop answers it.
    let (_, f) = server.get(&format!("/api/v1/findings?artifact={}", enc(SHOP)));
    let finding = &f["findings"][0];
    assert_eq!(
        (finding["id"].as_str(), finding["artifact"].as_str(), finding["inherited"].as_bool()),
        (Some("CVE-2021-23337"), Some(BASE_NAME), Some(true))
    );
    assert_eq!((finding["vex"].clone(), finding["tools"][0]["name"].as_str()), (Value::Null, Some("grype")));
    // The fixture's VEX names another image (pkg:oci/shop@sha256%3A4d2a): sent about this one,
    // it is kept with a warning and answers none of its findings.
    let (code, _, err) =
        dossier(&["document", "send", document("openvex.json").to_str().unwrap(), "--artifact", SHOP, "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: no VEX statement of this document names pkg:oci/shop@sha256"), "{err}");
    let (_, f) = server.get(&format!("/api/v1/findings?artifact={}", enc(SHOP)));
    assert_eq!(f["findings"][0]["vex"], Value::Null);
    // The same statements about this image answer its inherited finding.
    let about_shop = dir.path().join("openvex-shop.json");
    let text = std::fs::read_to_string(document("openvex.json")).unwrap().replace("pkg:oci/shop@sha256%3A4d2a", SHOP);
    std::fs::write(&about_shop, text).unwrap();
    let (code, _, err) = dossier(&["document", "send", about_shop.to_str().unwrap(), "--artifact", SHOP, "--server", &server.url]);
    assert_eq!((code, err.contains("warning")), (0, false), "{err}");
    let (_, f) = server.get(&format!("/api/v1/findings?artifact={}", enc(SHOP)));
    assert_eq!(
        (f["findings"][0]["vex"]["status"].as_str(), f["findings"][0]["vex"]["matched"].as_str()),
        (
            Some("not_affected"),
            Some("product pkg:oci/shop@sha256%3Ab2 names this artifact; its subcomponent pkg:npm/lodash@4.17.20 is the finding's package")
        )
    );
    let (_, out, _) = dossier(&["findings", SHOP, "--server", &server.url]);
    assert!(out.contains("[VEX: not_affected, product pkg:oci/shop@sha256%3Ab2 names this artifact;"), "{out}");
    let (_, scans) = server.get(&format!("/api/v1/scans?artifact={}", enc(SHOP)));
    assert_eq!(scans["scans"][0]["tools"][0]["name"], "vexctl");

    // A vulnerability in a package range reaches the cluster running the derived image: one
    // vulnerability with the base's finding, and the VEX statement about the shop image (limited
    // to lodash 4.17.20, the only way it reaches it) waives it there (issue 14).
    let vuln = event(
        "v1",
        "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0",
        "CVE-2021-23337",
        json!({"severity": "high", "packages": [{"purl": "pkg:npm/lodash", "versions": "<4.17.21"}]}),
        json!({}),
    );
    assert_eq!(server.post("application/json", vuln.to_string().as_bytes()).0, 201);
    let (_, impact) = server.get("/api/v1/impact?vulnerability=CVE-2021-23337");
    assert_eq!(impact["deployments"][0]["environment"], "prod", "{impact}");
    assert_eq!(impact["sources"].as_array().map(Vec::len), Some(2), "the base's scan and the event: {impact}");
    assert_eq!((impact["clusters"].clone(), impact["waived"][0]["cluster"].clone()), (json!([]), json!("prod")), "{impact}");
    assert_eq!(impact["waived"][0]["deployments"][0]["by"]["kind"], "vex", "{impact}");
}

#[test]
fn provenance_names_the_sources_and_parents_of_an_artifact_named_by_digest() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let hex = format!("4d2a{}", "0".repeat(60));
    let artifact = format!("pkg:oci/shop@sha256%3A{hex}");
    let packaged = event("1", "dev.cdevents.artifact.packaged.0.3.0", &artifact, json!({"change": {"id": "x"}}), json!({}));
    assert_eq!(server.post("application/json", packaged.to_string().as_bytes()).0, 201);
    let (status, receipt) = upload(
        &server,
        &[("artifact", &format!("sha256:{hex}"))],
        "application/vnd.dsse.envelope.v1+json",
        &std::fs::read(document("slsa-v1.dsse.json")).unwrap(),
    );
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(
        (receipt["artifact"].as_str(), receipt["format"].as_str(), receipt["provenance"].as_bool()),
        (Some(format!("pkg:oci/shop@sha256:{hex}").as_str()), Some("intoto"), Some(true))
    );
    let (_, lineage) = server.get(&format!("/api/v1/lineage?purl={}", enc(&artifact)));
    assert_eq!(lineage["built_by"][0], "https://github.com/example/shop/actions/runs/1234/attempts/1");
    assert_eq!(lineage["sources"][0]["commit"], "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d");
    assert_eq!(lineage["ancestors"][0]["parent"], "pkg:oci/node@sha256:9e1c?repository_url=docker.io%2Flibrary");
}

#[test]
fn documents_that_cannot_be_read_are_refused_precisely_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-document", "4096"]);
    let before = server.size();
    let a = [("artifact", BASE)];
    // (query, content type, body, status, start of the error)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (a.to_vec(), "application/json", br#"{"hello": "world"}"#.to_vec(), 422, "not a document Dossier reads: expected CycloneDX JSON"),
        (a.to_vec(), "application/json", b"{\"bomFormat\": ".to_vec(), 400, "not JSON: EOF while parsing a value"),
        (a.to_vec(), "text/plain", b"{}".to_vec(), 415, "content type \"text/plain\" is not accepted for a document"),
        (vec![], "application/json", b"{}".to_vec(), 400, "parameter artifact is required"),
        (
            vec![("artifact", "sha256:0000000000000000000000000000000000000000000000000000000000000000")],
            "application/json",
            b"{}".to_vec(),
            422,
            "no artifact with digest sha256:0000",
        ),
        (vec![("artifact", "shop")], "application/json", b"{}".to_vec(), 422, "artifact \"shop\" is neither a package URL"),
        (
            vec![("artifact", BASE), ("format", "xml")],
            "application/json",
            b"{}".to_vec(),
            400,
            "format \"xml\" is not read; accepted: cyclonedx, spdx",
        ),
        (a.to_vec(), "application/json", vec![b' '; 5000], 413, "the document is larger than the limit of 4096 bytes"),
        (
            a.to_vec(),
            "application/vnd.cyclonedx+json",
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"version": "1"}]}"#.to_vec(),
            422,
            "cyclonedx document: /components/0: missing field `name`",
        ),
    ];
    for (query, content_type, body, status, message) in cases {
        let (got, answer) = upload(&server, &query, content_type, &body);
        assert_eq!(got, status, "{query:?}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.starts_with(message), "{query:?}: {error}");
    }
    assert_eq!(server.size(), before, "nothing was stored");
    let kept = |sub: &str| std::fs::read_dir(dir.path().join("documents").join(sub)).unwrap().count();
    assert_eq!((kept("sha256"), kept("incoming")), (0, 0));
}

/// Serves `body` at every path but `/moved`, which redirects; for as many requests as come.
fn http_server(body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let n = stream.read(&mut request).unwrap_or(0);
            let head = String::from_utf8_lossy(&request[..n]).into_owned();
            let answer = if head.starts_with("GET /moved") || head.starts_with("GET /sboms/moved") {
                b"HTTP/1.1 302 Found\r\nLocation: http://example.com/\r\nContent-Length: 0\r\n\r\n".to_vec()
            } else {
                let mut a =
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
                a.extend_from_slice(&body);
                a
            };
            let _ = stream.write_all(&answer);
        }
    });
    url
}

fn wait_for(server: &Server, artifact: &str, ty: &str) -> Value {
    eventually(&format!("a {ty} entry for {artifact}"), || {
        let (_, page) = server.get(&format!("/api/v1/artifact?purl={}&type={}", enc(artifact), enc(ty)));
        page["events"].as_array().and_then(|e| e.first()).cloned()
    })
}

#[test]
fn sboms_named_by_artifact_events_are_fetched_from_the_directory_or_allowed_urls_and_refusals_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let sboms = tempfile::tempdir().unwrap();
    std::fs::copy(document("cyclonedx-py-1.5.json"), sboms.path().join("app.cdx.json")).unwrap();
    let allowed = http_server(std::fs::read(document("sbom4python-spdx.json")).unwrap());
    let server =
        Server::start_with(dir.path(), &["--fetch-dir", sboms.path().to_str().unwrap(), "--fetch-allow", &format!("{allowed}/sboms/")]);
    let published = |id: &str, artifact: &str, uri: &str| {
        let e = event(id, "dev.cdevents.artifact.published.0.3.0", artifact, json!({"sbom": {"uri": uri}}), json!({}));
        assert_eq!(server.post("application/json", e.to_string().as_bytes()).0, 201);
    };
    published("1", "pkg:oci/app@sha256%3A01", "app.cdx.json");
    published("2", "pkg:oci/lib@sha256%3A02", &format!("{allowed}/sboms/lib.spdx.json"));
    published("3", "pkg:oci/etc@sha256%3A03", "../../../../etc/passwd");
    published("4", "pkg:oci/web@sha256%3A04", &format!("{allowed}/elsewhere.json"));
    published("5", "pkg:oci/hop@sha256%3A05", &format!("{allowed}/sboms/../moved"));
    published("7", "pkg:oci/jmp@sha256%3A07", &format!("{allowed}/sboms/moved"));
    published("6", "pkg:oci/oci@sha256%3A06", "oci://registry.example.com/app:sbom");

    let fetched = wait_for(&server, "pkg:oci/app@sha256%3A01", "dev.cdeventsx.dossier-document.received.*");
    assert_eq!(fetched["event"]["subject"]["content"]["origin"], "app.cdx.json");
    assert_eq!(fetched["event"]["subject"]["content"]["components"].as_array().unwrap().len(), 60);
    let fetched = wait_for(&server, "pkg:oci/lib@sha256%3A02", "dev.cdeventsx.dossier-document.received.*");
    assert_eq!(fetched["event"]["subject"]["content"]["format"], "spdx");

    let reason = |artifact: &str| {
        let e = wait_for(&server, artifact, "dev.cdeventsx.dossier-document.refused.*");
        e["event"]["subject"]["content"]["reason"].as_str().unwrap().to_owned()
    };
    assert_eq!(reason("pkg:oci/etc@sha256%3A03"), "../../../../etc/passwd is not a file in the fetch directory");
    assert_eq!(
        reason("pkg:oci/web@sha256%3A04"),
        format!("{allowed}/elsewhere.json is not on the fetch allowlist; allowed prefixes: {allowed}/sboms/")
    );
    // `..` is resolved before the allowlist is consulted: /sboms/../moved is /moved.
    assert_eq!(
        reason("pkg:oci/hop@sha256%3A05"),
        format!("{allowed}/sboms/../moved is not on the fetch allowlist; allowed prefixes: {allowed}/sboms/")
    );
    assert_eq!(reason("pkg:oci/jmp@sha256%3A07"), format!("{allowed}/sboms/moved answered HTTP 302 (redirects are not followed)"));
    assert!(reason("pkg:oci/oci@sha256%3A06")
        .starts_with("oci://registry.example.com/app:sbom is not fetched: Dossier fetches paths under its fetch directory"));
}
