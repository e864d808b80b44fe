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
//!     "signed": true,                                  // an artifact.signed event names it
//!     "published": true,
//!     "tests": [ {"outcome": "success", "testSuite": "..."} ],  // test suites run on it
//!     "deployments": [ {"environment": "prod", "service": "shop"} ],
//!     "lineage": { ...as GET /api/v1/lineage answers... },
//!     // From the documents received about it (SBOMs, scan reports, VEX, attestations):
//!     "components": [ {"name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20", "licenses": ["MIT"]} ],
//!     "licenses": {"MIT": 12, "unknown": 1},
//!     "findings": [ {"id": "CVE-2021-23337", "severity": "high", "package": "...", "tools": [...], "vex": null} ],
//!     "scans": [ {"tools": [{"name": "grype"}], "format": "cyclonedx", "time": "...", "findings": 3} ]
//!   },
//!   // Exceptions in force now (at the entry's time in a replay) that cover the artifact:
//!   "exceptions": [ {"id": "exc-1", "vulnerabilities": ["CVE-2021-23337"], "artifacts": ["pkg:oci/shop@*"],
//!                    "environments": ["prod"], "policies": [], "expires": "...", "reason": "...", ...} ],
//!   "impact": { ...as GET /api/v1/impact answers... }  // for a discovered vulnerability only
//! }
//! ```
//!
//! A policy that lets an exception through names it in `exceptions_applied`, so the decision
//! records which exception applied.

use dossier_evidence::about::{self, Received};
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
    let (mut signed, mut published) = (false, false);
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
            signed = true;
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
    json!({
        "event": event,
        "exceptions": exceptions,
        "subject": {
            "components": components.components,
            "licenses": components.licenses,
            "findings": findings,
            "scans": about::scans(&documents),
            "artifact": artifact,
            "timeline": timeline,
            "sbom": sbom,
            "signed": signed,
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
        json!({"context": {"type": ty}, "subject": {"id": subject, "content": content}})
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
        assert_eq!((input["subject"]["signed"].as_bool(), input["subject"]["published"].as_bool()), (Some(true), Some(true)));
        assert_eq!(input["subject"]["timeline"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn a_deployment_is_about_its_artifact() {
        let e = ev("dev.cdevents.service.deployed.0.3.0", "shop", json!({"environment": {"id": "prod"}, "artifactId": "pkg:oci/a"}));
        assert_eq!(subject_artifact(&e).as_deref(), Some("pkg:oci/a"));
        assert_eq!(build(&e, &[], None, vec![])["subject"]["deployments"], json!([{"environment": "prod", "service": "shop"}]));
    }
}
