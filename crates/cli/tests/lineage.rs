//! The lineage graph through the real server: conventions, impact with paths, live impact
//! changes, the state as of a past moment, and a rebuild from the log that equals the live graph.

mod common;

use std::io::{BufRead, BufReader};

use common::{dossier, Server};
use serde_json::{json, Value};

const REPO: &str = "https://git.example.com/shop";

fn event(id: &str, ty: &str, subject: &str, content: Value, extra: Value) -> Value {
    let mut e = json!({
        "context": {"specversion": "0.5.1", "id": id, "source": "/test", "type": ty, "timestamp": "2026-11-25T10:00:00Z"},
        "subject": {"id": subject, "content": content}
    });
    if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            if k == "chainId" {
                e["context"]["chainId"] = v.clone();
            } else {
                e.insert(k.clone(), v.clone());
            }
        }
    }
    e
}

/// commit c1 → run-1 → binary → image → image on it → deployed as "shop" in cluster prod.
fn history() -> Vec<Value> {
    vec![
        event(
            "1",
            "dev.cdevents.pipelinerun.started.0.3.0",
            "run-1",
            json!({"pipelineName": "build", "uri": "https://ci/1"}),
            json!({"chainId": "run-1", "customData": {"dossier": {"sources": [{"repository": REPO, "commit": "c1"}]}}}),
        ),
        event(
            "2",
            "dev.cdevents.artifact.packaged.0.3.0",
            "pkg:generic/shop@1.0",
            json!({"change": {"id": "pr-7"}}),
            json!({"chainId": "run-1"}),
        ),
        event(
            "3",
            "dev.cdevents.artifact.packaged.0.3.0",
            "pkg:oci/shop-base@sha256%3Aa1",
            json!({"change": {"id": "img-1"}}),
            json!({"customData": {"dossier": {"parents": ["pkg:generic/shop@1.0"]}}}),
        ),
        event(
            "4",
            "dev.cdevents.artifact.packaged.0.3.0",
            "pkg:oci/shop@sha256%3Ab2",
            json!({"change": {"id": "img-2"}}),
            json!({"customData": {"dossier": {"parents": ["pkg:oci/shop-base@sha256%3Aa1"]}}}),
        ),
        event(
            "5",
            "dev.cdevents.service.deployed.0.3.0",
            "shop",
            json!({"environment": {"id": "prod"}, "artifactId": "pkg:oci/shop@sha256%3Ab2"}),
            json!({}),
        ),
    ]
}

fn vulnerability(id: &str, predicate: &str) -> Value {
    let content = if predicate == "discovered" {
        json!({"severity": "critical", "commits": [{"repository": REPO, "commit": "c1"}]})
    } else {
        json!({})
    };
    event(&format!("{predicate}-{id}"), &format!("dev.cdeventsx.dossier-vulnerability.{predicate}.0.1.0"), id, content, json!({}))
}

fn post_all(server: &Server, events: &[Value]) {
    let (status, answer) = server.post("application/json", &serde_json::to_vec(events).unwrap());
    assert_eq!((status, answer["rejected"].as_u64()), (200, Some(0)), "{answer}");
}

#[test]
fn a_vulnerable_commit_reaches_the_cluster_through_the_images_live_and_as_of() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    post_all(&server, &history());

    let (_, lineage) = server.get("/api/v1/lineage?purl=pkg:oci/shop@sha256%253Ab2");
    assert_eq!(lineage["origins"], json!([format!("{REPO}@c1")]));
    assert_eq!(lineage["ancestors"].as_array().unwrap().len(), 2);
    assert_eq!(lineage["deployments"][0]["environment"], "prod");

    let stream = crate::common::http().get(&format!("{}/api/v1/impact/stream", server.url)).call().unwrap();
    let mut lines = BufReader::new(stream.into_reader()).lines();
    let mut next_change = move || loop {
        let line = lines.next().expect("stream ended").unwrap();
        if let Some(d) = line.strip_prefix("data: ") {
            break serde_json::from_str::<Value>(d).unwrap();
        }
    };

    post_all(&server, &[vulnerability("CVE-2026-1234", "discovered")]);
    let change = next_change();
    assert_eq!(
        (change["cluster"].as_str(), change["vulnerability"].as_str(), change["affected"].as_bool()),
        (Some("prod"), Some("CVE-2026-1234"), Some(true))
    );

    let (_, impact) = server.get("/api/v1/impact?vulnerability=CVE-2026-1234");
    assert_eq!(impact["clusters"], json!(["prod"]));
    // Artifacts are named in canonical form, whatever spelling the events used.
    let top = impact["artifacts"].as_array().unwrap().iter().find(|a| a["artifact"] == "pkg:oci/shop@sha256:b2").unwrap();
    assert_eq!(top["path"], json!([format!("{REPO}@c1"), "pkg:generic/shop@1.0", "pkg:oci/shop-base@sha256:a1", "pkg:oci/shop@sha256:b2"]));
    assert_eq!(top["image"], true);
    let (_, risk) = server.get("/api/v1/risk");
    assert_eq!(risk["clusters"][0]["cluster"], "prod");
    assert_eq!(risk["clusters"][0]["worst"], "critical");

    std::thread::sleep(std::time::Duration::from_millis(20));
    let before_fix = now_rfc3339();
    std::thread::sleep(std::time::Duration::from_millis(20));
    post_all(&server, &[vulnerability("CVE-2026-1234", "fixed")]);
    let change = next_change();
    assert_eq!(change["affected"], false);
    let (_, risk) = server.get("/api/v1/risk");
    assert_eq!(risk["clusters"], json!([]));

    // What was known before the fix.
    let (status, then) = server.get(&format!("/api/v1/risk?as_of={before_fix}"));
    assert_eq!(status, 200);
    assert_eq!(then["clusters"][0]["cluster"], "prod");
    let (code, out, err) = dossier(&["impact", "CVE-2026-1234", "--as-of", &before_fix, "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("CVE-2026-1234 (critical): 3 artifacts, 1 deployments, clusters: prod"), "{out}");
}

fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    dossier_core::event::format_timestamp(now.as_nanos() as i64)
}

#[test]
fn a_broken_convention_is_refused_with_its_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let bad = event(
        "1",
        "dev.cdevents.artifact.packaged.0.3.0",
        "pkg:oci/x",
        json!({"change": {"id": "c"}}),
        json!({"customData": {"dossier": {"parents": "pkg:oci/base"}}}),
    );
    let (status, answer) = server.post("application/json", bad.to_string().as_bytes());
    assert_eq!(status, 422);
    assert_eq!(answer["violations"][0]["pointer"], "/customData/dossier/parents");
    assert_eq!(answer["violations"][0]["rule"], "convention");
}

#[test]
fn the_graph_rebuilt_from_the_log_equals_the_live_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let (code, out, err) = dossier(&["demo", "--artifacts", "400", "--depth", "6", "--vulnerabilities", "15", "--server", &server.url]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, live) = server.get("/api/v1/lineage/stats");
    assert!(live["reach_pairs"].as_u64().unwrap() > 300, "{live}");
    let (_, risk) = server.get("/api/v1/risk");
    assert!(!risk["clusters"].as_array().unwrap().is_empty(), "the demo makes some cluster affected");
    server.stop();

    let server = Server::start(dir.path());
    let (_, restarted) = server.get("/api/v1/lineage/stats");
    assert_eq!(restarted, live, "a restart rebuilds the same graph");
    drop(server);

    let (code, out, err) = dossier(&["reindex", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(live["digest"].as_str().unwrap()), "{out}");
}

/// A query value as it travels in a URL: `%` itself escaped.
fn query_value(text: &str) -> String {
    text.replace('%', "%25")
}

fn packaged(id: &str, purl: &str, run: &str, commit: &str) -> Value {
    event(id, "dev.cdevents.artifact.packaged.0.3.0", purl, json!({"change": {"source": REPO, "id": commit}}), json!({"chainId": run}))
}

fn deployed(id: &str, environment: &str, service: &str, purl: &str) -> Value {
    event(id, "dev.cdevents.service.deployed.0.3.0", service, json!({"environment": {"id": environment}, "artifactId": purl}), json!({}))
}

fn run_started(id: &str, run: &str, commits: &[&str]) -> Value {
    let sources: Vec<Value> = commits.iter().map(|c| json!({"repository": REPO, "commit": c})).collect();
    event(
        id,
        "dev.cdevents.pipelinerun.started.0.3.0",
        run,
        json!({"pipelineName": "build", "uri": "https://ci/7"}),
        json!({"chainId": run, "customData": {"dossier": {"sources": sources}}}),
    )
}

fn found_in(id: &str, commit: &str) -> Value {
    event(
        &format!("discovered-{id}"),
        "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0",
        id,
        json!({"severity": "high", "commits": [{"repository": REPO, "commit": commit}]}),
        json!({}),
    )
}

/// Issue 14, the ground truth's two findings in one history: an image packaged as
/// `…@sha256:abcd` and deployed as `…@sha256%3Aabcd` is one artifact whose cluster a
/// vulnerability of its commit affects; and that commit, the image's own change, does not mark
/// the worker built beside it in the same run.
#[test]
fn an_artifact_packaged_and_deployed_in_two_spellings_is_one_artifact_and_its_change_marks_only_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    post_all(
        &server,
        &[
            run_started("1", "run-7", &["c1"]),
            packaged("2", "pkg:oci/app@sha256:abcd", "run-7", "c2"),
            packaged("3", "pkg:oci/worker@sha256:ef01", "run-7", "c3"),
            deployed("4", "prod", "app", "pkg:oci/app@sha256%3Aabcd"),
            deployed("5", "staging", "worker", "pkg:oci/worker@sha256%3Aef01"),
            found_in("CVE-2026-0002", "c2"),
        ],
    );
    let (_, impact) = server.get("/api/v1/impact?vulnerability=CVE-2026-0002");
    assert_eq!(impact["clusters"], json!(["prod"]));
    assert_eq!(
        impact["artifacts"],
        json!([{"artifact": "pkg:oci/app@sha256:abcd", "image": true, "path": [format!("{REPO}@c2"), "pkg:oci/app@sha256:abcd"]}])
    );
    let deployment = &impact["deployments"][0];
    assert_eq!(
        (impact["deployments"].as_array().unwrap().len(), &deployment["service"], &deployment["artifact"]),
        (1, &json!("app"), &json!("pkg:oci/app@sha256:abcd"))
    );
    // The entries of the history, the server's own first.
    let deployed_at = deployment["seq"].as_u64().unwrap();
    let packaged_at = deployed_at - 2;

    // Every spelling finds the one artifact: its lineage, and the events naming it.
    for spelling in ["pkg:oci/app@sha256:abcd", "pkg:oci/app@sha256%3Aabcd", "pkg:OCI/App@sha256%3AABCD"] {
        let (status, lineage) = server.get(&format!("/api/v1/lineage?purl={}", query_value(spelling)));
        assert_eq!((status, lineage["artifact"].as_str()), (200, Some("pkg:oci/app@sha256:abcd")), "{spelling}");
        let (_, timeline) = server.get(&format!("/api/v1/artifact?purl={}", query_value(spelling)));
        let seqs: Vec<u64> = timeline["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, vec![packaged_at, deployed_at], "{spelling}");
        let (_, listed) = server.get(&format!("/api/v1/events?artifact={}", query_value(spelling)));
        assert_eq!(listed["events"].as_array().unwrap().len(), 2, "{spelling}");
    }
    // The log keeps each event as it was sent.
    let (_, deployment) = server.get(&format!("/api/v1/events/{deployed_at}"));
    assert_eq!(deployment["event"]["subject"]["content"]["artifactId"], "pkg:oci/app@sha256%3Aabcd", "{deployment}");
}

/// Issue 14: lineage answers listed `sources` and `descendants` in another order after a
/// restart. Each answer is now identical, list for list, after a restart (which rebuilds the
/// graph from the log, as `dossier reindex` does).
#[test]
fn every_answer_is_identical_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let mut events = vec![run_started("1", "run-1", &["c5", "c1", "c7", "c3", "c2", "c6", "c4", "c0"])];
    events.push(packaged("2", "pkg:generic/bin@1", "run-1", "c9"));
    for i in [4, 1, 5, 0, 3, 2] {
        let image = format!("pkg:oci/img{i}@sha256%3A{i}{i}");
        events.push(event(
            &format!("img-{i}"),
            "dev.cdevents.artifact.packaged.0.3.0",
            &image,
            json!({"change": {"id": format!("image-{i}")}}),
            json!({"customData": {"dossier": {"parents": ["pkg:generic/bin@1"]}}}),
        ));
        events.push(deployed(&format!("deploy-{i}"), &format!("cluster{}", i % 3), &format!("svc{i}"), &image));
    }
    events.push(found_in("CVE-1", "c3"));
    events.push(found_in("CVE-2", "c9"));
    post_all(&server, &events);

    let answers = |server: &Server| -> Vec<Value> {
        [
            "/api/v1/lineage?purl=pkg:generic/bin@1",
            "/api/v1/lineage?purl=pkg:oci/img3@sha256:33",
            "/api/v1/impact?vulnerability=CVE-1",
            "/api/v1/impact?vulnerability=CVE-2",
            "/api/v1/risk",
            "/api/v1/environments",
            "/api/v1/lineage/stats",
        ]
        .iter()
        .map(|path| {
            let (status, body) = server.get(path);
            assert_eq!(status, 200, "{path}: {body}");
            body
        })
        .collect()
    };
    let live = answers(&server);
    let commits: Vec<&str> = live[0]["sources"].as_array().unwrap().iter().map(|s| s["commit"].as_str().unwrap()).collect();
    assert_eq!(commits, ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c9"], "by repository, then commit");
    let children: Vec<&str> = live[0]["descendants"].as_array().unwrap().iter().map(|e| e["artifact"].as_str().unwrap()).collect();
    assert_eq!(children, (0..6).map(|i| format!("pkg:oci/img{i}@sha256:{i}{i}")).collect::<Vec<_>>(), "nearest first, then by artifact");
    for _ in 0..3 {
        server.stop();
        server = Server::start(dir.path());
        assert_eq!(answers(&server), live, "a restart rebuilds the same answers");
    }
    server.stop();
    let (code, out, err) = dossier(&["reindex", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(live[6]["digest"].as_str().unwrap()), "{out}");
}

/// Issue 14: `dossier impact` for a vulnerability that arrived only in a scanner's document
/// shows the clusters it reaches, and a VEX `not_affected` statement for the image running
/// there takes it out of the cluster's risk.
#[test]
fn dossier_impact_and_risk_answer_for_a_vulnerability_only_a_scanner_found() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    post_all(&server, &history());
    let documents = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../evidence/tests/documents");
    let scan = documents.join("osv-scanner.json");
    let (code, _, err) =
        dossier(&["document", "send", "--artifact", "pkg:oci/shop-base@sha256:a1", scan.to_str().unwrap(), "--server", &server.url]);
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = dossier(&["impact", "GHSA-35jh-r3h4-6jhm", "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().take(3).collect();
    assert_eq!(
        lines,
        [
            "CVE-2021-23337 (high): 2 artifacts, 1 deployments, clusters: prod",
            "  also known as GHSA-35jh-r3h4-6jhm",
            &*format!("  reported as GHSA-35jh-r3h4-6jhm by document {} about pkg:oci/shop-base@sha256:a1", digest_of(&scan)),
        ]
    );

    let vex = dir.path().join("vex.json");
    std::fs::write(
        &vex,
        json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "shop", "timestamp": "2026-11-25T12:00:00Z",
               "version": 1, "statements": [{"vulnerability": {"name": "GHSA-35jh-r3h4-6jhm"}, "products": [{"@id": "pkg:oci/shop@sha256:b2"}],
               "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]})
        .to_string(),
    )
    .unwrap();
    let (code, _, err) =
        dossier(&["document", "send", "--artifact", "pkg:oci/shop@sha256:b2", vex.to_str().unwrap(), "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = dossier(&["risk", "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    let prod: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        prod,
        [
            "prod                          1         0      0       0      0        1  unknown",
            "                         waived: CVE-2021-23337"
        ],
        "PYSEC-2021-98 (CVE-2021-33203) is still at risk there"
    );
}

fn digest_of(path: &std::path::Path) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(std::fs::read(path).unwrap());
    format!("sha256:{}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
}
