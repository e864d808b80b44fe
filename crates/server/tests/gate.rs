//! The deployment gate (issue 16), end to end over real connections: a deployment to production
//! of an artifact with an unwaived critical vulnerability is refused *before it happens* by
//! both the CI gate (`POST /api/v1/gate`) and the Kubernetes admission webhook, and allowed
//! once an approved exception waives the vulnerability there; every decision is a log entry
//! with a signed verification summary that verifies with the verifier's public key alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use dossier_core::own::OwnType;
use dossier_server::Server;
use dossier_store::{EventQuery, TypePattern};
use serde_json::{json, Value};

const ADMIN: &str = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";
const HEX: &str = "4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899";
const CVE: &str = "CVE-2026-4242";

struct Running {
    url: String,
    log: Arc<dossier_log::EvidenceLog>,
    _dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let starter = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/no_critical_in_production.rego");
    std::fs::copy(starter, policies.join("no_critical_in_production.rego")).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (url, log) = runtime.block_on(async {
        let server = Server::builder(dir.path().join("data"))
            .admin_token(Some(ADMIN.into()))
            .policies(&policies)
            .exceptions(dossier_exceptions::Rules { approval_required: true, distinct_approver: false, max_days: 90 })
            .admission(dossier_admission::Environments {
                label: Some("dossier.dev/environment".into()),
                namespaces: [("shop-prod".to_owned(), "production".to_owned())].into(),
            })
            .start()
            .unwrap();
        let log = server.log().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(server.serve(listener, std::future::pending()));
        (url, log)
    });
    Running { url, log, _dir: dir, _runtime: runtime }
}

fn answer(resp: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let (status, text) = match resp {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    };
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

impl Running {
    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        answer(
            ureq::post(&format!("{}{path}", self.url))
                .set("Authorization", &format!("Bearer {ADMIN}"))
                .set("Content-Type", "application/json")
                .send_string(&body.to_string()),
        )
    }

    fn get(&self, path: &str) -> (u16, Value) {
        answer(ureq::get(&format!("{}{path}", self.url)).set("Authorization", &format!("Bearer {ADMIN}")).call())
    }

    /// Sends `events`; their seqs.
    fn events(&self, events: Vec<Value>) -> Vec<u64> {
        let (status, body) = self.post("/api/v1/events", &json!(events));
        assert!(status == 200 || status == 201, "{status} {body}");
        body["results"].as_array().unwrap().iter().map(|r| r["seq"].as_u64().unwrap()).collect()
    }

    fn gate(&self, artifact: &str, environment: &str, request_id: Option<&str>) -> (u16, Value) {
        let mut ask = json!({"artifact": artifact, "environment": environment, "context": {"pipeline": "release #7"}});
        if let Some(id) = request_id {
            ask["request_id"] = json!(id);
        }
        self.post("/api/v1/gate", &ask)
    }

    /// The entries of `ty`, waiting until there are `n`.
    fn entries(&self, ty: OwnType, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let q = EventQuery { types: vec![TypePattern(format!("{}*", ty.unversioned()))], limit: 100, ..Default::default() };
            let found: Vec<Value> =
                self.log.store().query(&q).unwrap().events.iter().map(|e| serde_json::from_slice(&e.raw).unwrap()).collect();
            if found.len() >= n {
                return found;
            }
            assert!(Instant::now() < deadline, "{} {ty} entries of {n} after 20 s", found.len());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn event(id: &str, ty: &str, subject: &str, content: Value) -> Value {
    json!({"context": {"specversion": "0.5.1", "id": id, "source": "/ci", "type": ty, "timestamp": "2026-12-01T10:00:00Z"},
           "subject": {"id": subject, "content": content}})
}

/// An admission review of a Deployment of `image` into `namespace`.
fn deployment_review(uid: &str, namespace: &str, image: &str, dry_run: bool) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "name": "shop", "namespace": namespace, "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:argocd:argocd-application-controller"},
            "dryRun": dry_run,
            "object": {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "shop", "namespace": namespace},
                "spec": {
                    "selector": {"matchLabels": {"app": "shop"}},
                    "template": {
                        "metadata": {"labels": {"app": "shop"}},
                        "spec": {"containers": [{"name": "shop", "image": image}], "initContainers": [{"name": "migrate", "image": image}]}
                    }
                }
            }
        }
    })
}

/// The verifier's public key as ring reads it: the P-256 point of the SubjectPublicKeyInfo PEM.
fn point_of(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    assert_eq!(der.len(), 91, "a P-256 SubjectPublicKeyInfo");
    der[26..].to_vec()
}

/// Verifies a DSSE envelope with ring (not Dossier's code) and returns its statement.
fn verified_statement(envelope: &Value, pem: &str) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let ty = envelope["payloadType"].as_str().unwrap();
    let payload = b64.decode(envelope["payload"].as_str().unwrap()).unwrap();
    let mut pae = format!("DSSEv1 {} {ty} {} ", ty.len(), payload.len()).into_bytes();
    pae.extend_from_slice(&payload);
    let sig = b64.decode(envelope["signatures"][0]["sig"].as_str().unwrap()).unwrap();
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_ASN1, point_of(pem));
    key.verify(&pae, &sig).expect("the summary verifies with the verifier's public key");
    serde_json::from_slice(&payload).unwrap()
}

#[test]
fn a_deployment_with_an_unwaived_critical_is_refused_before_it_happens_and_allowed_after_an_approved_exception() {
    let s = start();
    let shop = format!("pkg:oci/shop@sha256:{HEX}");
    let image = format!("ghcr.io/acme/shop@sha256:{HEX}");
    let seqs = s.events(vec![
        event("shop", "dev.cdevents.artifact.packaged.0.3.0", &shop, json!({"change": {"id": "c1"}})),
        event("cve", "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0", CVE, json!({"severity": "critical", "artifacts": [shop]})),
    ]);

    // The CI gate says no, before anything is deployed, and says why.
    let (status, denied) = s.gate(&shop, "production", Some("release-7-attempt-1"));
    assert_eq!(status, 200, "{denied}");
    assert_eq!(denied["allowed"], false);
    assert_eq!(denied["artifactId"], shop);
    assert_eq!(denied["known"], true);
    assert_eq!(denied["denies"][0]["policy"], "no_critical_in_production");
    assert_eq!(denied["denies"][0]["mode"], "enforce");
    assert_eq!(denied["denies"][0]["messages"], json!([format!("{shop} runs in production but is affected by critical {CVE}")]));
    assert_eq!(denied["policies"][0]["policy"], "no_critical_in_production");
    assert_eq!(denied["asked"]["context"], json!({"pipeline": "release #7"}));
    assert_eq!(denied["evidence"], json!({"entries": [seqs[0]], "documents": []}), "the artifact's history: its packaged entry");
    let first = denied["decision_id"].as_str().unwrap().to_owned();
    assert!(first.starts_with("gd-"), "{first}");

    // Nothing was deployed: the log holds the decision, and no service.deployed.
    let q = EventQuery { types: vec![TypePattern("dev.cdevents.service.deployed.*".into())], limit: 10, ..Default::default() };
    assert!(s.log.store().query(&q).unwrap().events.is_empty(), "the gate decides; it deploys nothing");
    let (status, shown) = s.get(&format!("/api/v1/gate/{first}"));
    assert_eq!((status, &shown["allowed"], &shown["seq"]), (200, &json!(false), &denied["seq"]));

    // The same request again is the same decision, not a second one; another question under
    // the same request id is a conflict.
    let (status, again) = s.gate(&shop, "production", Some("release-7-attempt-1"));
    assert_eq!((status, &again["decision_id"], &again["repeated"], &again["seq"]), (200, &json!(first), &json!(true), &denied["seq"]));
    let (status, conflict) = s.gate(&shop, "staging", Some("release-7-attempt-1"));
    assert_eq!(status, 409, "{conflict}");
    assert!(conflict["error"].as_str().unwrap().contains("the environment differs"), "{conflict}");

    // The admission webhook refuses the Deployment with a 403 listing each container's reason.
    let (status, review) = s.post("/k8s/admission", &deployment_review("0df28fbd-5f5f-11e8-bc74-36e6bb280816", "shop-prod", &image, false));
    assert_eq!(status, 200, "{review}");
    let response = &review["response"];
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(response["uid"], "0df28fbd-5f5f-11e8-bc74-36e6bb280816");
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    let message = response["status"]["message"].as_str().unwrap();
    for container in ["containers[shop]", "initContainers[migrate]"] {
        assert!(
            message.contains(&format!(
                "{container} {image}: no_critical_in_production: {shop} runs in production but is affected by critical {CVE}"
            )),
            "{message}"
        );
    }
    let decisions = response["auditAnnotations"]["decisions"].as_str().unwrap();
    assert_eq!(decisions.split(',').count(), 2, "{decisions}");

    // An approved exception waives the critical in production: both gates now say yes.
    let (status, requested) = s.post(
        "/api/v1/exceptions",
        &json!({"id": "shop-cve", "vulnerabilities": [CVE], "artifacts": [shop], "environments": ["production"],
                "policies": ["no_critical_in_production"], "reason": "not reachable: the parser is not used", "expires": "2027-01-15T00:00:00Z"}),
    );
    assert_eq!(status, 201, "{requested}");
    let (status, _) = s.gate(&shop, "production", None);
    assert_eq!(status, 200);
    let (status, approved) = s.post("/api/v1/exceptions/shop-cve/approve", &json!({"comment": "checked"}));
    assert_eq!(status, 200, "{approved}");
    let (status, allowed) = s.gate(&shop, "production", Some("release-7-attempt-2"));
    assert_eq!(status, 200);
    assert_eq!(allowed["allowed"], true, "{allowed}");
    assert_eq!(allowed["exceptions_applied"], json!(["shop-cve"]));
    let (_, review) = s.post("/k8s/admission", &deployment_review("1b6a4c52-0000-4000-8000-000000000001", "shop-prod", &image, false));
    assert_eq!(review["response"]["allowed"], true, "{review}");

    // Every decision is an entry, the repeated one once: 3 by the CI gate (denied, before the
    // approval, allowed), 2 + 2 by admission (a container and an init container, twice).
    let decided = s.entries(OwnType::GateDecided, 7);
    assert_eq!(decided.len(), 7);

    // Each summary verifies with the verifier's public key alone, FAILED then PASSED.
    let (status, pem) = answer(ureq::get(&format!("{}/api/v1/gate/key", s.url)).call());
    assert_eq!(status, 200);
    let pem = pem.as_str().unwrap().to_owned();
    let (status, envelope) = s.get(&format!("/api/v1/gate/{first}/vsa"));
    assert_eq!(status, 200, "{envelope}");
    let statement = verified_statement(&envelope, &pem);
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], "https://slsa.dev/verification_summary/v1");
    assert_eq!(statement["subject"][0]["digest"]["sha256"], HEX);
    assert_eq!(statement["predicate"]["resourceUri"], shop);
    assert_eq!(statement["predicate"]["verificationResult"], "FAILED");
    assert_eq!(statement["predicate"]["slsaVersion"], "1.0");
    assert_eq!(statement["predicate"]["policy"]["digest"]["sha256"], denied["policy_set"]);
    assert!(!statement["predicate"]["inputAttestations"].as_array().unwrap().is_empty());
    let passed = allowed["decision_id"].as_str().unwrap();
    let (_, envelope) = s.get(&format!("/api/v1/gate/{passed}/vsa"));
    assert_eq!(verified_statement(&envelope, &pem)["predicate"]["verificationResult"], "PASSED");

    // The summaries are kept as documents about the artifact, verified under the verifier's key.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, docs) = s.get(&format!("/api/v1/documents?artifact={}", shop.replace(':', "%3A")));
        let summaries: Vec<&Value> = docs["documents"]
            .as_array()
            .map(|d| d.iter().filter(|d| d["predicateType"] == "https://slsa.dev/verification_summary/v1").collect())
            .unwrap_or_default();
        if summaries.len() >= 4 {
            assert!(summaries.iter().all(|d| d["verified"] == true), "{docs}");
            break;
        }
        assert!(Instant::now() < deadline, "the summaries were not kept: {docs}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn what_the_gate_cannot_decide_about_is_said_precisely() {
    let s = start();
    // An artifact Dossier has never heard of is denied, with why.
    let unknown = format!("pkg:oci/ghost@sha256:{}", "e".repeat(64));
    let (status, d) = s.gate(&unknown, "production", None);
    assert_eq!(status, 200);
    assert_eq!((&d["allowed"], &d["known"]), (&json!(false), &json!(false)));
    assert_eq!(d["denies"][0], json!({"policy": "unknown_artifact", "messages": [format!("Dossier has no evidence about {unknown}")]}));
    // Its decision and the summary kept of it name the artifact; neither is evidence about it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.get(&format!("/api/v1/documents?artifact={}", unknown.replace(':', "%3A"))).1["documents"].as_array().map_or(0, Vec::len) == 0 {
        assert!(Instant::now() < deadline, "the summary of the decision was not kept");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, again) = s.gate(&unknown, "production", None);
    assert_eq!(
        (&again["allowed"], &again["known"], &again["evidence"]),
        (&json!(false), &json!(false), &json!({"entries": [], "documents": []})),
        "{again}"
    );

    // A tag can move: the gate decides about digests, and says how to pin.
    let (status, e) = s.gate("ghcr.io/acme/shop:1.4", "production", None);
    assert_eq!(status, 422, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("is not pinned by digest") && e["error"].as_str().unwrap().contains("crane digest"),
        "{e}"
    );

    // Fields that do not fit are named.
    let (status, e) = s.post("/api/v1/gate", &json!({"artifact": unknown, "environment": ""}));
    assert_eq!((status, e["error"].as_str().unwrap().starts_with("environment:")), (422, true), "{e}");
    let (status, e) = s.post("/api/v1/gate", &json!({"artifact": unknown, "environment": "prod", "request": "x"}));
    assert_eq!(status, 422, "{e}");
    assert!(e["error"].as_str().unwrap().contains("unknown field `request`"), "{e}");
    let (status, e) = s.post("/api/v1/gate", &json!({"artifact": unknown, "environment": "prod", "request_id": "a b"}));
    assert_eq!((status, e["error"].as_str().unwrap().starts_with("request_id:")), (422, true), "{e}");
    let (status, _) = s.get("/api/v1/gate/gd-000000000000000000000000");
    assert_eq!(status, 404);
}

#[test]
fn admission_reviews_deny_tags_and_unknown_images_record_dry_runs_and_refuse_what_does_not_read() {
    let s = start();
    // A tag-only image is denied with how to pin it; Dossier does not ask registries.
    let (status, review) = s.post("/k8s/admission", &deployment_review("u-tag", "shop-prod", "ghcr.io/acme/shop:1.4", false));
    assert_eq!(status, 200);
    assert_eq!(review["response"]["allowed"], false);
    let message = review["response"]["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("containers[shop] ghcr.io/acme/shop:1.4: artifact: ghcr.io/acme/shop:1.4 is not pinned by digest"),
        "{message}"
    );

    // An unknown image pinned by digest: no evidence, denied; a dry run is decided and recorded as one.
    let image = format!("ghcr.io/acme/ghost@sha256:{}", "f".repeat(64));
    let (_, review) = s.post("/k8s/admission", &deployment_review("u-dry", "shop-prod", &image, true));
    assert_eq!(review["response"]["allowed"], false);
    assert!(
        review["response"]["status"]["message"].as_str().unwrap().contains("Dossier has no evidence about pkg:oci/ghost@sha256:"),
        "{review}"
    );
    let decided = s.entries(OwnType::GateDecided, 2);
    assert!(decided.iter().all(|d| d["subject"]["content"]["asked"]["dry_run"] == true), "{decided:?}");
    assert!(decided.iter().all(|d| d["subject"]["content"]["environment"] == "production"), "the namespace's environment: {decided:?}");

    // What does not read is a 400 with the reason, never a 500.
    for (body, says) in [
        (json!([]), "not an AdmissionReview"),
        (json!({"apiVersion": "v1", "kind": "Pod"}), "not an AdmissionReview"),
        (json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "x"}}), "admission.k8s.io/v1"),
        (json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}), "has no request"),
    ] {
        let (status, e) = s.post("/k8s/admission", &body);
        assert_eq!(status, 400, "{body}: {e}");
        assert!(e["error"].as_str().unwrap().contains(says), "{body}: {e}");
    }
}
