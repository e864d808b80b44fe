//! Signatures verified, not believed (issue 15), over real connections: Sigstore bundles sent
//! as documents are verified against the artifact's digest, the signature an `artifact.signed`
//! event carries is checked and the check recorded, DSSE envelopes are verified with the
//! configured keys — each result kept in the log with who signed, or why not — and a policy
//! requiring verified provenance denies a deployment whose provenance did not verify.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use dossier_core::own::OwnType;
use dossier_evidence::signatures::{Trust, TrustSet, TrustedKey};
use dossier_server::Server;
use dossier_store::{EventQuery, TypePattern};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use serde_json::{json, Value};

const ADMIN: &str = "dst_0123456789ab_testtokentesttokentesttokentesttokentesttok";

/// SHA-256 of `a.txt`, the artifact the conformance suite's bundles sign.
const A_TXT: &str = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
const BEACON: &str =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";

/// Deploying into prod needs a verified SLSA provenance.
const PROVENANCE_REQUIRED: &str = r#"package provenance_required

triggers := ["dev.cdevents.service.deployed.*"]

mode := "enforce"

deny contains msg if {
	count([a | some a in input.subject.attestations; a.verified; startswith(a.predicate_type, "https://slsa.dev/provenance/")]) == 0
	msg := sprintf("no verified provenance: %s", [concat("; ", [a.reason | some a in input.subject.attestations])])
}
"#;

fn bundle(case: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/sigstore-conformance/bundle-verify").join(case);
    std::fs::read_to_string(dir.join("bundle.sigstore.json")).unwrap()
}

/// A P-256 key pair made by ring, and its public key as `dossier-sigstore` reads it.
struct Key {
    pair: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl Key {
    fn new() -> Key {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        Key { pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap(), rng }
    }

    fn public(&self) -> dossier_sigstore::PublicKey {
        // SubjectPublicKeyInfo of an EC P-256 key: the fixed algorithm prefix, then the point.
        let mut spki = hex_decode("3059301306072a8648ce3d020106082a8648ce3d030107034200");
        spki.extend_from_slice(self.pair.public_key().as_ref());
        dossier_sigstore::PublicKey::from_spki_der(&spki).unwrap()
    }

    fn sign(&self, message: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.pair.sign(&self.rng, message).unwrap().as_ref())
    }
}

fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// A DSSE envelope with an SLSA v1 statement about `subject_hex` built by `builder`, signed by `key`.
fn envelope(key: &Key, subject_hex: &str, builder: &str, tamper: bool) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let statement = json!({"_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "ghcr.io/acme/shop", "digest": {"sha256": subject_hex}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"},
                      "runDetails": {"builder": {"id": builder}}}})
    .to_string();
    let ty = "application/vnd.in-toto+json";
    let pae = format!("DSSEv1 {} {ty} {} {statement}", ty.len(), statement.len());
    let mut sig = key.sign(pae.as_bytes());
    if tamper {
        sig = key.sign(b"something else");
    }
    json!({"payloadType": ty, "payload": b64.encode(&statement), "signatures": [{"keyid": "ci-key", "sig": sig}]})
}

struct Running {
    url: String,
    log: Arc<dossier_log::EvidenceLog>,
    _dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

fn start(key: &Key) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(policies.join("provenance_required.rego"), PROVENANCE_REQUIRED).unwrap();
    let mut set = TrustSet::public_good();
    set.keys.push(TrustedKey { name: "ci-key".into(), key: key.public() });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (url, log) = runtime.block_on(async {
        let server = Server::builder(dir.path())
            .log_name(Some("test/log".into()))
            .admin_token(Some(ADMIN.into()))
            .trust(Trust { sets: vec![set] })
            .policies(policies)
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
    fn event(&self, id: &str, ty: &str, subject: &str, content: Value, custom: Option<Value>) {
        let mut event = json!({
            "context": {"specversion": "0.5.1", "id": id, "source": "/ci", "type": ty, "timestamp": "2026-11-25T10:00:00Z"},
            "subject": {"id": subject, "content": content}
        });
        if let Some(c) = custom {
            event["customData"] = c;
        }
        let (status, text) = answer(
            ureq::post(&format!("{}/api/v1/events", self.url))
                .set("Authorization", &format!("Bearer {ADMIN}"))
                .set("Content-Type", "application/json")
                .send_string(&event.to_string()),
        );
        assert_eq!(status, 201, "{text}");
    }

    fn packaged(&self, artifact: &str) {
        self.event(
            &format!("packaged-{artifact}"),
            "dev.cdevents.artifact.packaged.0.3.0",
            artifact,
            json!({"change": {"id": "c1"}}),
            None,
        );
    }

    fn signed(&self, id: &str, artifact: &str, signature: &str, custom: Option<Value>) {
        self.event(id, "dev.cdevents.artifact.signed.0.3.0", artifact, json!({"signature": signature}), custom);
    }

    fn deployed(&self, id: &str, artifact: &str) {
        self.event(id, "dev.cdevents.service.deployed.0.3.0", "shop", json!({"environment": {"id": "prod"}, "artifactId": artifact}), None);
    }

    fn send(&self, artifact: &str, document: &str) -> (u16, Value) {
        answer(
            ureq::post(&format!("{}/api/v1/documents", self.url))
                .query("artifact", artifact)
                .set("Authorization", &format!("Bearer {ADMIN}"))
                .set("Content-Type", "application/json")
                .send_string(document),
        )
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

    /// The check recorded of the `artifact.signed` event with id `id`.
    fn check_of(&self, id: &str, n: usize) -> Value {
        let q = EventQuery { types: vec![TypePattern("dev.cdevents.artifact.signed.*".into())], limit: 100, ..Default::default() };
        let seq = self.log.store().query(&q).unwrap().events.iter().find(|e| e.key.id == id).expect("the event is stored").seq;
        let checks = self.entries(OwnType::SignatureChecked, n);
        checks.into_iter().find(|c| c["subject"]["content"]["entry"] == seq).expect("a check of the event")["subject"]["content"]["check"]
            .clone()
    }
}

#[test]
fn a_bundle_sent_as_a_document_is_verified_against_the_artifact_and_a_forged_one_says_why_not() {
    let s = start(&Key::new());
    let artifact = format!("pkg:oci/a.txt@sha256:{A_TXT}");
    s.packaged(&artifact);
    let (status, receipt) = s.send(&artifact, &bundle("happy-path-v0.3"));
    assert_eq!((status, receipt["format"].as_str()), (201, Some("sigstore")), "{receipt}");
    assert_eq!(
        receipt["signatures"],
        json!([{"verified": true, "identity": BEACON, "issuer": "https://token.actions.githubusercontent.com", "trust": ["default"]}])
    );
    let (status, forged) = s.send(&artifact, &bundle("signature-mismatch_fail"));
    assert_eq!(status, 201, "a forged bundle is evidence too: {forged}");
    assert_eq!(forged["signatures"][0]["verified"], false);
    assert!(forged["signatures"][0]["reason"].as_str().unwrap().starts_with("default: "), "{forged}");

    // The API lists each document with its verdict, and the artifact page says it plainly.
    let (_, documents) = answer(
        ureq::get(&format!("{}/api/v1/documents", s.url))
            .query("artifact", &artifact)
            .set("Authorization", &format!("Bearer {ADMIN}"))
            .call(),
    );
    let verdicts: Vec<(bool, String)> = documents["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["verified"].as_bool().unwrap(), d["verification"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(verdicts[0], (true, "verified under default".to_owned()));
    assert_eq!((verdicts[1].0, verdicts[1].1.as_str()), (false, forged["signatures"][0]["reason"].as_str().unwrap()));
    let page = ureq::get(&format!("{}/ui/artifact", s.url))
        .query("purl", &artifact)
        .set("Authorization", &format!("Bearer {ADMIN}"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(page.contains(r#"<span class="badge st-verified">verified</span>"#), "{page}");
    assert!(page.contains(&format!(r#"by <span class="mono">{BEACON}</span>"#)), "{page}");
    assert!(page.contains(r#"<span class="badge st-unverified">unverified</span> <span class="muted">default: "#), "{page}");
}

#[test]
fn the_signature_an_artifact_signed_event_carries_is_checked_and_the_check_recorded() {
    let key = Key::new();
    let s = start(&key);
    let digest = format!("ab12{}", "0".repeat(60));
    let image = format!("pkg:oci/shop@sha256:{digest}?repository_url=ghcr.io/acme/shop");
    s.packaged(&image);

    // A made-up signature is not a signature.
    s.signed("forged", &image, "MEUCIQDnotarealsig", None);
    let forged = s.check_of("forged", 1);
    assert_eq!(
        forged,
        json!({"kind": "cosign-key", "verified": false, "reason": "no configured key verifies the signature (tried ci-key (default))"})
    );

    // cosign sign --key: a signature over the simple-signing payload cosign writes for the image.
    let payload = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"ghcr.io/acme/shop"}},"image":{{"docker-manifest-digest":"sha256:{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
    );
    s.signed("cosign", &image, &key.sign(payload.as_bytes()), None);
    let cosign = s.check_of("cosign", 2);
    assert_eq!((cosign["verified"].as_bool(), cosign["identity"].as_str()), (Some(true), Some("ci-key")), "{cosign}");
    assert_eq!(cosign["key"], json!(key.public().fingerprint()));
    // The same signature over a payload given for another image does not verify.
    let other = payload.replace("ab12", "cd34");
    let b64 = base64::engine::general_purpose::STANDARD;
    s.signed("other-image", &image, &key.sign(other.as_bytes()), Some(json!({"payload": b64.encode(&other)})));
    assert_eq!(s.check_of("other-image", 3)["reason"], "the simple-signing payload names another image digest than the artifact's");

    // A Sigstore bundle in the event is verified as a document would be.
    let a_txt = format!("pkg:oci/a.txt@sha256:{A_TXT}");
    s.packaged(&a_txt);
    s.signed("bundle", &a_txt, &bundle("happy-path-intoto-in-dsse-v3"), None);
    let checked = s.check_of("bundle", 4);
    assert_eq!(
        (checked["kind"].as_str(), checked["verified"].as_bool(), checked["identity"].as_str()),
        (Some("sigstore-bundle"), Some(true), Some(BEACON))
    );
    assert!(checked["logIndex"].is_u64() && checked["time"].is_string(), "{checked}");
}

#[test]
fn provenance_whose_signature_does_not_verify_is_recorded_unverified_and_a_policy_requiring_it_denies() {
    let key = Key::new();
    let s = start(&key);
    let (good, bad) = (format!("aa{}", "0".repeat(62)), format!("bb{}", "0".repeat(62)));
    let (good_image, bad_image) = (format!("pkg:oci/shop@sha256:{good}"), format!("pkg:oci/shop@sha256:{bad}"));
    s.packaged(&good_image);
    s.packaged(&bad_image);
    let (status, receipt) = s.send(&good_image, &envelope(&key, &good, "https://github.com/actions/runner", false).to_string());
    assert_eq!((status, receipt["signatures"][0]["verified"].as_bool()), (201, Some(true)), "{receipt}");
    let (status, receipt) = s.send(&bad_image, &envelope(&key, &bad, "https://github.com/actions/runner", true).to_string());
    assert_eq!(
        (status, receipt["signatures"][0].clone()),
        (201, json!({"verified": false, "reason": "no configured key verifies the signature (tried ci-key (default))"}))
    );

    // Decisions are recorded when they deny, warn or act: deploy-good's, evaluated first, is not.
    s.deployed("deploy-good", &good_image);
    s.deployed("deploy-bad", &bad_image);
    let decisions = s.entries(OwnType::PolicyDecided, 1);
    let denied: Vec<(String, Vec<String>)> = decisions
        .iter()
        .map(|d| {
            let decided = dossier_engine::policy::Decided::read(&serde_json::to_vec(d).unwrap()).unwrap();
            (decided.trigger.id.clone(), decided.deny)
        })
        .collect();
    assert_eq!(
        denied,
        vec![(
            "deploy-bad".to_owned(),
            vec!["no verified provenance: no configured key verifies the signature (tried ci-key (default))".to_owned()]
        )]
    );
}

/// The check is recorded before the `artifact.signed` event is answered: what the client sends
/// next (the deployment a policy gates) comes after it in the log.
#[test]
fn the_check_of_a_signed_event_precedes_whatever_its_sender_sends_next() {
    let key = Key::new();
    let s = start(&key);
    let digest = format!("ef56{}", "0".repeat(60));
    let image = format!("pkg:oci/shop@sha256:{digest}?repository_url=ghcr.io/acme/shop");
    s.packaged(&image);
    let payload = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"ghcr.io/acme/shop"}},"image":{{"docker-manifest-digest":"sha256:{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
    );
    s.signed("signed-then-deployed", &image, &key.sign(payload.as_bytes()), None);
    s.deployed("deployed-after-signed", &image);
    let seq_of = |ty: &str, id: &str| {
        let q = EventQuery { types: vec![TypePattern(ty.into())], limit: 100, ..Default::default() };
        s.log.store().query(&q).unwrap().events.iter().find(|e| e.key.id == id).map(|e| e.seq)
    };
    let signed = seq_of("dev.cdevents.artifact.signed.*", "signed-then-deployed").unwrap();
    let check = seq_of(&format!("{}*", OwnType::SignatureChecked.unversioned()), &format!("checked-{signed}"))
        .expect("the check is in the log as soon as the event is answered");
    let deployed = seq_of("dev.cdevents.service.deployed.*", "deployed-after-signed").unwrap();
    assert!(signed < check && check < deployed, "signed {signed}, checked {check}, deployed {deployed}");
    // The follower, reading the same entry, records nothing more: one check, no conflict.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.entries(OwnType::SignatureChecked, 1).len(), 1);
    assert_eq!(s.log.store().conflicts(10).map(|c| c.len()).unwrap_or(0), 0);
}
