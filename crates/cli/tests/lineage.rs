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
    let top = impact["artifacts"].as_array().unwrap().iter().find(|a| a["artifact"] == "pkg:oci/shop@sha256%3Ab2").unwrap();
    assert_eq!(
        top["path"],
        json!([format!("{REPO}@c1"), "pkg:generic/shop@1.0", "pkg:oci/shop-base@sha256%3Aa1", "pkg:oci/shop@sha256%3Ab2"])
    );
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
