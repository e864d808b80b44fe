//! Evidence bound to its subject (issue 13), over real connections: a VEX statement answers
//! only the findings of the artifact its products name, and says which statement applied and
//! why; an attestation about another digest is refused whole; a signature that was not verified
//! is shown unverified, with the reason, on the API, the dashboard and to policies.

use std::sync::Arc;

use base64::Engine;
use dossier_server::Server;
use serde_json::{json, Value};

const ADMIN: &str = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";

struct Running {
    url: String,
    log: Arc<dossier_log::EvidenceLog>,
    dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (url, log) = runtime.block_on(async {
        let server = Server::builder(dir.path()).log_name(Some("test/log".into())).admin_token(Some(ADMIN.into())).start().unwrap();
        let log = server.log().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, std::future::pending()));
        (url, log)
    });
    Running { url, log, dir, _runtime: runtime }
}

fn answer(resp: Result<ureq::Response, ureq::Error>) -> (u16, String) {
    match resp {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    }
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

impl Running {
    fn size(&self) -> u64 {
        self.log.store().size().unwrap()
    }

    fn packaged(&self, artifact: &str) {
        let event = json!({
            "context": {"specversion": "0.5.1", "id": format!("packaged-{artifact}"), "source": "/ci", "type": "dev.cdevents.artifact.packaged.0.3.0",
                        "timestamp": "2026-11-25T10:00:00Z"},
            "subject": {"id": artifact, "content": {"change": {"id": "c1"}}}
        });
        let (status, text) = answer(
            ureq::post(&format!("{}/api/v1/events", self.url))
                .set("Authorization", &format!("Bearer {ADMIN}"))
                .set("Content-Type", "application/json")
                .send_string(&event.to_string()),
        );
        assert_eq!(status, 201, "{text}");
    }

    fn send(&self, artifact: &str, document: &Value) -> (u16, Value) {
        let (status, text) = answer(
            ureq::post(&format!("{}/api/v1/documents", self.url))
                .query("artifact", artifact)
                .set("Authorization", &format!("Bearer {ADMIN}"))
                .set("Content-Type", "application/json")
                .send_string(&document.to_string()),
        );
        (status, json_of(&text))
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, String) {
        let mut req = ureq::get(&format!("{}{path}", self.url)).set("Authorization", &format!("Bearer {ADMIN}"));
        for (k, v) in query {
            req = req.query(k, v);
        }
        answer(req.call())
    }
}

/// A scan report (CycloneDX, as Grype writes it) with one finding: lodash, CVE-2021-23337.
fn scan() -> Value {
    json!({"bomFormat": "CycloneDX", "specVersion": "1.5",
           "components": [{"type": "library", "bom-ref": "lodash", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"}],
           "vulnerabilities": [{"id": "CVE-2021-23337", "ratings": [{"severity": "high"}], "affects": [{"ref": "lodash"}]}]})
}

fn openvex(product: &str) -> Value {
    json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "statements": [
        {"vulnerability": {"name": "CVE-2021-23337"}, "products": [{"@id": product, "subcomponents": [{"@id": "pkg:npm/lodash@4.17.20"}]}],
         "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]})
}

const SHOP: &str = "pkg:oci/shop@sha256:b2";

#[test]
fn a_vex_statement_answers_only_the_artifact_its_products_name_and_says_why() {
    let s = start();
    s.packaged(SHOP);
    assert_eq!(s.send(SHOP, &scan()).0, 201);

    // A VEX about another image, sent about this one: kept, with a warning, answering nothing.
    let (status, receipt) = s.send(SHOP, &openvex("pkg:oci/shop@sha256%3A4d2a"));
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(
        receipt["warning"],
        "no VEX statement of this document names pkg:oci/shop@sha256:b2 (its products: pkg:oci/shop@sha256%3A4d2a): the statements \
         apply to none of its findings; send the document about the artifact its products name, or name this one by purl or digest"
    );
    let findings = |s: &Running| json_of(&s.get("/api/v1/findings", &[("artifact", SHOP)]).1)["findings"][0].clone();
    assert_eq!(findings(&s)["vex"], Value::Null);

    // One naming it by digest answers its finding, and says which statement applied and why.
    let vex = openvex("sha256:b2");
    let (status, receipt) = s.send(SHOP, &vex);
    assert_eq!((status, receipt.get("warning")), (201, None), "{receipt}");
    assert_eq!(
        findings(&s)["vex"],
        json!({"status": "not_affected", "justification": "vulnerable_code_not_in_execute_path", "statement": 0,
               "document": receipt["digest"],
               "matched": "product sha256:b2 is the digest of this artifact; its subcomponent pkg:npm/lodash@4.17.20 is the finding's package"})
    );
    let (_, page) = s.get("/ui/artifact", &[("purl", SHOP)]);
    assert!(page.contains("product sha256:b2 is the digest of this artifact; its subcomponent pkg:npm/lodash@4.17.20"), "{page}");

    // Exceptions from a VEX take only the statements that name the artifact.
    let expires = dossier_core::event::format_timestamp(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64 + 86_400_000_000_000,
    );
    let (_, documents) = s.get("/api/v1/documents", &[("artifact", SHOP)]);
    let other = json_of(&documents)["documents"][1]["digest"].as_str().unwrap().to_owned();
    let (status, text) = answer(
        ureq::post(&format!("{}/api/v1/exceptions/from-vex", s.url))
            .set("Authorization", &format!("Bearer {ADMIN}"))
            .send_json(json!({"document": other, "artifact": SHOP, "expires": expires})),
    );
    assert_eq!(
        (status, json_of(&text)["error"].as_str().unwrap_or_default().to_owned()),
        (
            422,
            format!(
                "no not_affected or false_positive statement of {other} names {SHOP} (their products: pkg:oci/shop@sha256%3A4d2a): \
                 it waives nothing for it"
            )
        )
    );
}

/// A DSSE envelope holding an SLSA v1 statement about `subject_hex`, signed by a key Dossier
/// cannot check.
fn envelope(subject_hex: &str) -> Value {
    let statement = json!({"_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "ghcr.io/example/shop", "digest": {"sha256": subject_hex}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"},
                      "runDetails": {"builder": {"id": "https://forged.example/builder"}}}});
    let payload = base64::engine::general_purpose::STANDARD.encode(statement.to_string());
    json!({"payloadType": "application/vnd.in-toto+json", "payload": payload, "signatures": [{"keyid": "SHA256:kXd1", "sig": "MEUCIQ"}]})
}

#[test]
fn an_attestation_about_another_digest_is_refused_and_what_is_kept_is_shown_unverified() {
    let s = start();
    let (ab, cd) = (format!("ab12{}", "0".repeat(60)), format!("cd34{}", "0".repeat(60)));
    let artifact = format!("pkg:oci/shop@sha256:{cd}");
    s.packaged(&artifact);
    let before = s.size();
    let (status, refused) = s.send(&artifact, &envelope(&ab));
    assert_eq!(
        (status, refused["error"].as_str().unwrap_or_default()),
        (
            422,
            format!(
                "the in-toto statement is about ghcr.io/example/shop (sha256:{ab}), not {artifact} (sha256:{cd}): nothing was \
                 recorded; send it about the artifact its subject names"
            )
            .as_str()
        )
    );
    assert_eq!(s.size(), before, "nothing was stored");
    let kept = |sub: &str| std::fs::read_dir(s.dir.path().join("documents").join(sub)).map(|d| d.count()).unwrap_or(0);
    assert_eq!((kept("sha256"), kept("incoming")), (0, 0));

    // About its own digest it is kept, and shown for what it is: not verified.
    let (status, receipt) = s.send(&artifact, &envelope(&cd));
    assert_eq!(status, 201, "{receipt}");
    let (_, documents) = s.get("/api/v1/documents", &[("artifact", &artifact)]);
    let document = &json_of(&documents)["documents"][0];
    assert_eq!(
        (document["provenance"]["builder"].as_str(), document["verified"].as_bool(), document["verification"].as_str()),
        (Some("https://forged.example/builder"), Some(false), Some("signatures[0].sig is not standard base64"))
    );
    let (_, page) = s.get("/ui/artifact", &[("purl", &artifact)]);
    assert!(
        page.contains(
            r#"built by <span class="mono">https://forged.example/builder</span>, build type <span class="mono">https://actions.github.io/buildtypes/workflow/v1</span> <span class="badge st-unverified">unverified</span> <span class="muted">signatures[0].sig is not standard base64</span>"#
        ),
        "{page}"
    );
}
