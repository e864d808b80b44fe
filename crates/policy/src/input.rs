//! The input document a policy sees: the triggering event, and what is known about its subject
//! from earlier events.
//!
//! ```json
//! {
//!   "event": { ...the CDEvent... },
//!   "subject": {
//!     "artifact": "pkg:oci/shop@sha256%3A4a5b",      // the artifact the event is about, if any
//!     "timeline": [ {"seq": 12, "type": "...", "timestamp": "...", "event": {...}} ],
//!     "sbom": {"uri": "..."},                         // the latest SBOM reference, if any
//!     // Signatures known about it — the ones artifact.signed events carry, DSSE envelope
//!     // signatures, Sigstore bundles sent as documents — each as checked against the trust
//!     // configured when it arrived (crates/evidence/src/signatures.rs). `verified` is true only
//!     // for a signature that verified; then `trust` names the trust sets it verified under, and
//!     // `identity`/`issuer` (a certificate's SAN and OIDC issuer, or the configured key's name),
//!     // `log_url`/`log_index` and `time` say who signed, where it is logged and when.
//!     // Otherwise `reason` says which check failed.
//!     "signatures": [ {"seq": 14, "kind": "artifact.signed", "source": "/ci/cosign", "verified": true,
//!                      "reason": "verified under public-good", "trust": ["public-good"],
//!                      "identity": "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main",
//!                      "issuer": "https://token.actions.githubusercontent.com",
//!                      "log_url": "https://rekor.sigstore.dev", "log_index": 1234, "time": "2026-11-30T10:00:00Z"},
//!                     {"seq": 15, "kind": "dsse", "keyid": "SHA256:kXd1", "document": "sha256:…", "verified": false,
//!                      "reason": "no configured key verifies the signature (tried release-key (release))", "trust": [],
//!                      "identity": null, "issuer": null, "log_url": null, "log_index": null, "time": null} ],
//!     "signed_verified": true,                        // some signature verified
//!     // Every in-toto attestation (bare, in a DSSE envelope, in a Sigstore bundle), as checked:
//!     "attestations": [ {"seq": 16, "document": "sha256:…", "predicate_type": "https://slsa.dev/provenance/v1",
//!                        "builder": "https://github.com/actions/runner", "verified": true, "reason": "verified under public-good",
//!                        "identity": "…", "issuer": "…", "trust": ["public-good"], "log_url": "…", "log_index": 99, "time": "…"} ],
//!     "published": true,
//!     "tests": [ {"outcome": "success", "testSuite": "..."} ],  // test suites run on it
//!     "deployments": [ {"environment": "prod", "service": "shop"} ],
//!     // As GET /api/v1/lineage answers; `vex` lists the vulnerabilities reaching it that a VEX
//!     // statement about it waives, wherever it runs: [{"vulnerability": "CVE-…", "by": {"kind": "vex", …}}].
//!     "lineage": { ...as GET /api/v1/lineage answers... },
//!     // From the documents received about it (SBOMs, scan reports, VEX, attestations):
//!     "components": [ {"name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20", "licenses": ["MIT"]} ],
//!     "licenses": {"MIT": 12, "unknown": 1},
//!     // `vex`: the newest VEX statement whose products name this artifact (and, when it is
//!     // limited to subcomponents, the finding's package), or null.
//!     "findings": [ {"id": "CVE-2021-23337", "severity": "high", "package": "...", "tools": [...],
//!                    "vex": {"status": "not_affected", "justification": "vulnerable_code_not_in_execute_path",
//!                            "statement": 0, "document": "sha256:…",
//!                            "matched": "product pkg:oci/shop@sha256%3A4a5b names this artifact"}} ],
//!     "scans": [ {"tools": [{"name": "grype"}], "format": "cyclonedx", "time": "...", "findings": 3} ],
//!     // Build provenance attestations state, with whether their signature verified.
//!     "provenance": [ {"seq": 15, "document": "sha256:…", "builder": "https://github.com/actions/runner",
//!                      "buildType": "...", "sources": [{"repository": "...", "commit": "..."}], "parents": [...],
//!                      "subjects": [...], "signatures": ["SHA256:kXd1"], "verified": false,
//!                      "verification": "verified under public-good"} ]
//!   },
//!   // Exceptions in force now (at the entry's time in a replay) that cover the artifact:
//!   "exceptions": [ {"id": "exc-1", "vulnerabilities": ["CVE-2021-23337"], "artifacts": ["pkg:oci/shop@*"],
//!                    "environments": ["prod"], "policies": [], "expires": "...", "reason": "...", ...} ],
//!   "impact": { ...as GET /api/v1/impact answers... }  // for a discovered vulnerability only
//! }
//! ```
//!
//! A policy that lets an exception through names it in `exceptions_applied`, so the decision
//! records which exception applied. `subject.signed` is gone: it said only that an
//! `artifact.signed` event named the artifact, which proves nothing; read `signatures` and
//! `signed_verified`.

use dossier_evidence::about::{self, Received, Signature};
use dossier_evidence::signatures::{Check, Checked};
use serde_json::{json, Value};

/// The artifact an event is about: the subject of an artifact event, else its `artifactId`.
pub fn subject_artifact(event: &Value) -> Option<String> {
    let ty = event.pointer("/context/type").and_then(Value::as_str).unwrap_or_default();
    if ty.starts_with("dev.cdevents.artifact.") {
        return event.pointer("/subject/id").and_then(Value::as_str).map(str::to_owned);
    }
    event.pointer("/subject/content/artifactId").and_then(Value::as_str).map(str::to_owned)
}

/// Builds the input document from the event, the timeline of its artifact (entries as the
/// events API returns them, oldest first), its lineage when known, and the exceptions in
/// force that cover it.
pub fn build(event: &Value, timeline: &[Value], lineage: Option<Value>, exceptions: Vec<Value>) -> Value {
    let mut sbom = Value::Null;
    let mut published = false;
    let mut signatures: Vec<Signature> = Vec::new();
    let mut tests = Vec::new();
    let mut deployments = Vec::new();
    let mut documents: Vec<Received> = Vec::new();
    // artifact.signed entries (seq, source), and the checks recorded of them (by the entry checked).
    let mut signed: Vec<(u64, String)> = Vec::new();
    let mut checks: std::collections::HashMap<u64, Check> = std::collections::HashMap::new();
    let current = json!({"event": event});
    for entry in timeline.iter().chain(std::iter::once(&current)) {
        let e = &entry["event"];
        let ty = e.pointer("/context/type").and_then(Value::as_str).unwrap_or_default();
        if dossier_core::own::OwnType::DocumentReceived.matches(ty) {
            let seq = entry["seq"].as_u64().unwrap_or(u64::MAX);
            let time = e.pointer("/context/timestamp").and_then(Value::as_str).unwrap_or_default();
            documents.extend(e.pointer("/subject/content").and_then(|c| Received::from_content(seq, time, c)));
        }
        if let Some(uri) = e.pointer("/subject/content/sbom/uri") {
            sbom = json!({"uri": uri});
        }
        if ty.starts_with("dev.cdevents.artifact.signed.") {
            let source = e.pointer("/context/source").and_then(Value::as_str).unwrap_or_default();
            signed.push((entry["seq"].as_u64().unwrap_or(u64::MAX), source.to_owned()));
        }
        if dossier_core::own::OwnType::SignatureChecked.matches(ty) {
            if let Some(c) = e.pointer("/subject/content").and_then(Checked::from_content) {
                checks.insert(c.entry, c.check);
            }
        }
        if ty.starts_with("dev.cdevents.artifact.published.") {
            published = true;
        }
        if ty.starts_with("dev.cdevents.testsuiterun.finished.") {
            tests.push(json!({
                "outcome": e.pointer("/subject/content/outcome"),
                "testSuite": e.pointer("/subject/content/testSuite/name").or(e.pointer("/subject/content/testSuite/id")),
                "severity": e.pointer("/subject/content/severity"),
            }));
        }
        if ty.starts_with("dev.cdevents.service.deployed.") || ty.starts_with("dev.cdevents.service.upgraded.") {
            deployments.push(json!({"environment": e.pointer("/subject/content/environment/id"), "service": e.pointer("/subject/id")}));
        }
    }
    let artifact = subject_artifact(event);
    let components = about::components(&documents);
    let findings = about::findings(artifact.as_deref().unwrap_or_default(), &documents, &[]);
    signatures.extend(signed.iter().map(|(seq, source)| Signature::event(*seq, source, checks.get(seq))));
    signatures.extend(about::document_signatures(&documents));
    signatures.sort_by_key(|s| s.seq);
    let signed_verified = signatures.iter().any(|s| s.verified);
    json!({
        "event": event,
        "exceptions": exceptions,
        "subject": {
            "components": components.components,
            "licenses": components.licenses,
            "findings": findings,
            "scans": about::scans(&documents),
            "provenance": about::provenance(&documents),
            "attestations": about::attestations(&documents),
            "artifact": artifact,
            "timeline": timeline,
            "sbom": sbom,
            "signatures": signatures,
            "signed_verified": signed_verified,
            "published": published,
            "tests": tests,
            "deployments": deployments,
            "lineage": lineage.unwrap_or(Value::Null),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ty: &str, subject: &str, content: Value) -> Value {
        json!({"context": {"type": ty, "source": "/ci"}, "subject": {"id": subject, "content": content}})
    }

    /// A `document.received` entry about `artifact` holding an SLSA attestation, signed by
    /// `keyids` (none: a bare statement).
    fn attestation(seq: u64, artifact: &str, keyids: &[&str]) -> Value {
        let content = json!({
            "artifactId": artifact, "digest": format!("sha256:doc{seq}"), "size": 1, "sender": "ci", "origin": "upload",
            "format": "intoto", "predicateType": "https://slsa.dev/provenance/v1",
            "subjects": [{"name": "shop", "digest": {"sha256": "4a5b"}}],
            "provenance": {"builder": "https://forged.example/builder"},
            "signatures": keyids,
        });
        json!({"seq": seq, "event": ev(dossier_core::own::OwnType::DocumentReceived.as_str(), &format!("sha256:doc{seq}"), content)})
    }

    #[test]
    fn summarises_what_the_timeline_says_about_the_artifact() {
        let a = "pkg:oci/a";
        let timeline = vec![
            json!({"seq": 1, "event": ev("dev.cdevents.artifact.packaged.0.3.0", a, json!({"change": {"id": "c"}, "sbom": {"uri": "https://s/1"}}))}),
            json!({"seq": 2, "event": ev("dev.cdevents.artifact.signed.0.3.0", a, json!({"signature": "x"}))}),
        ];
        let input = build(&ev("dev.cdevents.artifact.published.0.3.0", a, json!({})), &timeline, None, vec![]);
        assert_eq!(input["subject"]["artifact"], a);
        assert_eq!(input["subject"]["sbom"], json!({"uri": "https://s/1"}));
        assert_eq!(input["subject"]["published"], true);
        assert_eq!(input["subject"]["timeline"].as_array().unwrap().len(), 2);
    }

    const UNSIGNED: Value = Value::Null;

    /// What a signature that did not verify (or was not checked) carries besides its reason.
    fn no_signer(mut v: Value) -> Value {
        for (k, empty) in [
            ("identity", UNSIGNED),
            ("issuer", UNSIGNED),
            ("trust", json!([])),
            ("log_url", UNSIGNED),
            ("log_index", UNSIGNED),
            ("time", UNSIGNED),
        ] {
            v[k] = empty;
        }
        v
    }

    /// A `dossier-signature.checked` entry about entry `checked`.
    fn checked(seq: u64, artifact: &str, checked: u64, check: Value) -> Value {
        let content = json!({"artifactId": artifact, "entry": checked, "check": check});
        json!({"seq": seq, "event": ev(dossier_core::own::OwnType::SignatureChecked.as_str(), artifact, content)})
    }

    /// Issue 13: an `artifact.signed` event alone made `signed: true`, read as "verified".
    #[test]
    fn a_signature_not_checked_is_listed_unverified_and_does_not_make_the_artifact_verified_signed() {
        let a = "pkg:oci/shop@sha256%3A4a5b";
        let timeline = vec![
            json!({"seq": 2, "event": ev("dev.cdevents.artifact.signed.0.3.0", a, json!({"signature": "MEUC"}))}),
            attestation(3, a, &["SHA256:kXd1"]),
        ];
        let input = build(&ev("dev.cdevents.artifact.published.0.3.0", a, json!({})), &timeline, None, vec![]);
        assert_eq!(
            input["subject"]["signatures"],
            json!([
                no_signer(json!({"seq": 2, "kind": "artifact.signed", "source": "/ci", "verified": false,
                 "reason": "not checked yet: the signature an artifact.signed event carries is checked just after it is recorded"})),
                no_signer(json!({"seq": 3, "kind": "dsse", "keyid": "SHA256:kXd1", "document": "sha256:doc3", "verified": false,
                 "reason": "signature not checked: recorded before Dossier verified signatures; send it again to check it"})),
            ])
        );
        assert_eq!(input["subject"]["signed_verified"], false);
        assert_eq!(input["subject"].get("signed"), None, "the old field, which meant only that an event said so, is gone");
        let unsigned = build(&ev("dev.cdevents.artifact.published.0.3.0", a, json!({})), &[], None, vec![]);
        assert_eq!((unsigned["subject"]["signatures"].clone(), unsigned["subject"]["signed_verified"].clone()), (json!([]), json!(false)));
    }

    /// Issue 15: the check recorded of an event's signature decides, with who signed, where and when.
    #[test]
    fn an_event_signature_takes_the_check_recorded_of_it() {
        let a = "pkg:oci/shop@sha256%3A4a5b";
        let verified = json!({"kind": "sigstore-bundle", "verified": true, "trust": ["public-good"],
            "identity": "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main",
            "issuer": "https://token.actions.githubusercontent.com", "logUrl": "https://rekor.sigstore.dev", "logIndex": 42,
            "time": "2026-11-30T10:00:00Z"});
        let forged =
            json!({"kind": "cosign-key", "verified": false, "reason": "no configured key verifies the signature (tried ci (release))"});
        let timeline = vec![
            json!({"seq": 2, "event": ev("dev.cdevents.artifact.signed.0.3.0", a, json!({"signature": "{…}"}))}),
            json!({"seq": 3, "event": ev("dev.cdevents.artifact.signed.0.3.0", a, json!({"signature": "MEUCIQDnotarealsig"}))}),
            checked(4, a, 3, forged),
            checked(5, a, 2, verified),
        ];
        let input = build(&ev("dev.cdevents.artifact.published.0.3.0", a, json!({})), &timeline, None, vec![]);
        assert_eq!(
            input["subject"]["signatures"],
            json!([
                {"seq": 2, "kind": "artifact.signed", "source": "/ci", "verified": true, "reason": "verified under public-good",
                 "identity": "https://github.com/acme/shop/.github/workflows/release.yml@refs/heads/main",
                 "issuer": "https://token.actions.githubusercontent.com", "trust": ["public-good"],
                 "log_url": "https://rekor.sigstore.dev", "log_index": 42, "time": "2026-11-30T10:00:00Z"},
                no_signer(json!({"seq": 3, "kind": "artifact.signed", "source": "/ci", "verified": false,
                 "reason": "no configured key verifies the signature (tried ci (release))"})),
            ])
        );
        assert_eq!(input["subject"]["signed_verified"], true);
    }

    /// Issue 15: an attestation counts as verified only through the check its entry recorded.
    #[test]
    fn attestations_say_whether_they_verified_and_by_whom() {
        let a = "pkg:oci/shop@sha256%3A4a5b";
        let mut good = attestation(3, a, &["release"]);
        good["event"]["subject"]["content"]["checks"] =
            json!([{"kind": "dsse", "verified": true, "trust": ["release"], "identity": "ci-key", "key": "sha256:ab", "keyid": "release"}]);
        let mut bad = attestation(4, a, &["release"]);
        bad["event"]["subject"]["content"]["checks"] = json!([{"kind": "dsse", "verified": false, "keyid": "release", "reason": "no configured key verifies the signature (tried ci-key (release))"}]);
        let input = build(&ev("dev.cdevents.artifact.published.0.3.0", a, json!({})), &[good, bad], None, vec![]);
        let said: Vec<(u64, bool, Value, Value, String)> = input["subject"]["attestations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["seq"].as_u64().unwrap(),
                    t["verified"].as_bool().unwrap(),
                    t["identity"].clone(),
                    t["predicate_type"].clone(),
                    t["reason"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let slsa = json!("https://slsa.dev/provenance/v1");
        assert_eq!(
            said,
            vec![
                (3, true, json!("ci-key"), slsa.clone(), "verified under release".to_owned()),
                (4, false, Value::Null, slsa, "no configured key verifies the signature (tried ci-key (release))".to_owned()),
            ]
        );
        let provenance: Vec<bool> =
            input["subject"]["provenance"].as_array().unwrap().iter().map(|p| p["verified"].as_bool().unwrap()).collect();
        assert_eq!(provenance, [true, false]);
        assert_eq!(input["subject"]["signed_verified"], true, "a verified DSSE signature signs the artifact it is about");
    }

    /// Issue 13: a DSSE envelope whose signature does not verify was taken as its builder's word.
    #[test]
    fn provenance_is_given_as_attested_and_marked_unverified() {
        let a = "pkg:oci/shop@sha256%3A4a5b";
        let timeline = vec![attestation(3, a, &["SHA256:kXd1"]), attestation(4, a, &[])];
        let input = build(&ev("dev.cdevents.artifact.published.0.3.0", a, json!({})), &timeline, None, vec![]);
        let provenance = input["subject"]["provenance"].as_array().unwrap();
        let said: Vec<(u64, &str, bool, &str)> = provenance
            .iter()
            .map(|p| {
                (
                    p["seq"].as_u64().unwrap(),
                    p["builder"].as_str().unwrap(),
                    p["verified"].as_bool().unwrap(),
                    p["verification"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            said,
            [
                (
                    3,
                    "https://forged.example/builder",
                    false,
                    "signature not checked: recorded before Dossier verified signatures; send it again to check it"
                ),
                (4, "https://forged.example/builder", false, "not signed: no DSSE signature came with the statement"),
            ]
        );
        assert_eq!(provenance[0]["document"], "sha256:doc3");
        assert_eq!(provenance[0]["subjects"], json!([{"name": "shop", "digest": {"sha256": "4a5b"}}]));
    }

    #[test]
    fn a_deployment_is_about_its_artifact() {
        let e = ev("dev.cdevents.service.deployed.0.3.0", "shop", json!({"environment": {"id": "prod"}, "artifactId": "pkg:oci/a"}));
        assert_eq!(subject_artifact(&e).as_deref(), Some("pkg:oci/a"));
        assert_eq!(build(&e, &[], None, vec![])["subject"]["deployments"], json!([{"environment": "prod", "service": "shop"}]));
    }
}
