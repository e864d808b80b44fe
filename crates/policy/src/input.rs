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
//!     // Signatures known about it: artifact.signed events and DSSE envelope signatures.
//!     // None is verified — Dossier does not verify signatures yet — so `verified` is false
//!     // and `reason` says why; an unverified signature is not a signature.
//!     "signatures": [ {"seq": 14, "kind": "artifact.signed", "source": "/ci/cosign", "verified": false,
//!                      "reason": "an artifact.signed event says so: Dossier does not verify signatures yet"},
//!                     {"seq": 15, "kind": "dsse", "keyid": "SHA256:kXd1", "document": "sha256:…", "verified": false,
//!                      "reason": "signature not checked: Dossier does not verify DSSE signatures yet"} ],
//!     "signed_verified": false,                       // some signature verified (none can be yet)
//!     "published": true,
//!     "tests": [ {"outcome": "success", "testSuite": "..."} ],  // test suites run on it
//!     "deployments": [ {"environment": "prod", "service": "shop"} ],
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
//!     // Build provenance attestations state, as stated: never verified yet.
//!     "provenance": [ {"seq": 15, "document": "sha256:…", "builder": "https://github.com/actions/runner",
//!                      "buildType": "...", "sources": [{"repository": "...", "commit": "..."}], "parents": [...],
//!                      "subjects": [...], "signatures": ["SHA256:kXd1"], "verified": false,
//!                      "verification": "signature not checked: Dossier does not verify DSSE signatures yet"} ]
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
            signatures.push(Signature::event(entry["seq"].as_u64().unwrap_or(u64::MAX), source));
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
    signatures.extend(about::envelope_signatures(&documents));
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

    /// Issue 13: an `artifact.signed` event alone made `signed: true`, read as "verified".
    #[test]
    fn a_signature_is_listed_unverified_and_does_not_make_the_artifact_verified_signed() {
        let a = "pkg:oci/shop@sha256%3A4a5b";
        let timeline = vec![
            json!({"seq": 2, "event": ev("dev.cdevents.artifact.signed.0.3.0", a, json!({"signature": "MEUC"}))}),
            attestation(3, a, &["SHA256:kXd1"]),
        ];
        let input = build(&ev("dev.cdevents.artifact.published.0.3.0", a, json!({})), &timeline, None, vec![]);
        assert_eq!(
            input["subject"]["signatures"],
            json!([
                {"seq": 2, "kind": "artifact.signed", "source": "/ci", "verified": false,
                 "reason": "an artifact.signed event says so: Dossier does not verify signatures yet"},
                {"seq": 3, "kind": "dsse", "keyid": "SHA256:kXd1", "document": "sha256:doc3", "verified": false,
                 "reason": "signature not checked: Dossier does not verify DSSE signatures yet"},
            ])
        );
        assert_eq!(input["subject"]["signed_verified"], false);
        assert_eq!(input["subject"].get("signed"), None, "the old field, which meant only that an event said so, is gone");
        let unsigned = build(&ev("dev.cdevents.artifact.published.0.3.0", a, json!({})), &[], None, vec![]);
        assert_eq!((unsigned["subject"]["signatures"].clone(), unsigned["subject"]["signed_verified"].clone()), (json!([]), json!(false)));
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
                (3, "https://forged.example/builder", false, "signature not checked: Dossier does not verify DSSE signatures yet"),
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
