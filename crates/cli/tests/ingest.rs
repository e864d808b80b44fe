//! Ingest through the real HTTP server: every official conformance file, every binding mode,
//! and a corpus of malformed input that must be refused without storing anything.

mod common;

use common::{dossier, shared, Server};
use serde_json::{json, Value};

/// Every conformance file of both spec versions, with a unique id each (their ids collide).
fn conformance_events() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for version in ["v0.4.1", "v0.5.1"] {
        let dir = shared().join("cdevents-spec").join(version);
        let mut files: Vec<_> = std::fs::read_dir(dir.join("conformance")).unwrap().map(|e| e.unwrap().path()).collect();
        files.push(dir.join("custom/conformance.json"));
        files.sort();
        for path in files {
            let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let name = format!("{version}/{}", path.file_name().unwrap().to_string_lossy());
            v["context"]["id"] = json!(name.clone());
            out.push((name, v));
        }
    }
    out
}

#[test]
fn every_conformance_file_ingests_in_every_mode_and_the_store_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let events = conformance_events();
    assert_eq!(events.len(), 92, "45 event types and a custom event in each of two versions");
    for (i, (name, event)) in events.iter().enumerate() {
        let ctx = &event["context"];
        let (status, answer) = match i % 3 {
            // Binary mode: the CloudEvent attributes in headers.
            0 => {
                let r = crate::common::http()
                    .post(&format!("{}/api/v1/events", server.url))
                    .set("Content-Type", "application/json")
                    .set("ce-specversion", "1.0")
                    .set("ce-id", ctx["id"].as_str().unwrap())
                    .set("ce-source", ctx["source"].as_str().unwrap())
                    .set("ce-type", ctx["type"].as_str().unwrap())
                    .send_string(&event.to_string())
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                (r.status(), r.into_json::<Value>().unwrap())
            }
            // Structured mode.
            1 => {
                let ce = json!({"specversion": "1.0", "id": ctx["id"], "source": ctx["source"], "type": ctx["type"], "data": event});
                server.post("application/cloudevents+json", ce.to_string().as_bytes())
            }
            // A plain CDEvent.
            _ => server.post("application/json", event.to_string().as_bytes()),
        };
        assert_eq!((status, answer["status"].as_str()), (201, Some("accepted")), "{name}: {answer}");
    }
    // Batch mode: the same events again are all duplicates.
    let batch: Vec<Value> = events
        .iter()
        .map(|(_, e)| json!({"specversion": "1.0", "id": e["context"]["id"], "source": e["context"]["source"], "type": e["context"]["type"], "data": e}))
        .collect();
    let (status, answer) = server.post("application/cloudevents-batch+json", serde_json::to_vec(&batch).unwrap().as_slice());
    assert_eq!(status, 200);
    assert_eq!((answer["accepted"].as_u64(), answer["duplicates"].as_u64()), (Some(0), Some(92)), "{answer}");
    // Entry 0 records the admin token, then the 92 events and the checks of the signatures the
    // two artifact.signed events carry (one each, recorded before each was answered).
    assert_eq!(server.size(), 95);
    server.stop();
    let (code, out, err) = dossier(&["verify", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("OK  95 entries verified"), "{out}");
}

#[test]
fn malformed_input_gets_a_precise_4xx_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let before = server.size();
    let valid = conformance_events().remove(0).1.to_string();
    let truncated = &valid[..valid.len() / 2];
    let huge = format!("{{\"context\": {{\"id\": \"{}\"}}}}", "x".repeat(17 * 1024 * 1024));
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut wrong_type: Value = serde_json::from_str(&valid).unwrap();
    wrong_type["context"]["timestamp"] = json!(12);
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("truncated JSON", "application/json", truncated.as_bytes().to_vec(), 400, "not valid JSON"),
        (
            "wrong field type",
            "application/json",
            wrong_type.to_string().into_bytes(),
            422,
            "/context/timestamp: must be a string, not a number",
        ),
        ("huge body", "application/json", huge.into_bytes(), 413, "larger than the limit"),
        ("deep nesting", "application/json", deep.into_bytes(), 400, "deeper than 64 levels"),
        ("invalid UTF-8", "application/json", b"{\"context\": \"\xff\xfe\"}".to_vec(), 400, "not valid JSON"),
        ("form content type", "application/x-www-form-urlencoded", valid.clone().into_bytes(), 415, "is not accepted"),
        ("text content type", "text/plain", valid.clone().into_bytes(), 415, "is not accepted"),
        ("empty body", "application/json", Vec::new(), 400, "the body is empty"),
        ("not an object", "application/json", b"42".to_vec(), 422, "must be a JSON object"),
        ("structured without data", "application/cloudevents+json", br#"{"specversion": "1.0", "id": "1"}"#.to_vec(), 400, "has no data"),
        ("batch not an array", "application/cloudevents-batch+json", valid.clone().into_bytes(), 400, "a batch is a JSON array"),
        (
            "a duplicate name",
            "application/json",
            valid.replacen("\"subject\":{", "\"subject\":{\"id\":\"innocent\",", 1).into_bytes(),
            400,
            "the name \"id\" appears twice in one object at /subject/id",
        ),
    ];
    for (name, content_type, body, want_status, want_message) in cases {
        let (status, answer) = server.post(content_type, &body);
        assert_eq!(status, want_status, "{name}: {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains(want_message), "{name}: {message:?} lacks {want_message:?}");
    }
    // A body in an encoding other than gzip is named as such, not reported as broken JSON.
    let brotli = crate::common::http()
        .post(&format!("{}/api/v1/events", server.url))
        .set("Content-Type", "application/json")
        .set("Content-Encoding", "br")
        .send_bytes(&[0x0b, 0x02, 0x80]);
    let Err(ureq::Error::Status(415, r)) = brotli else { panic!("expected 415 for a brotli body") };
    let answer: Value = r.into_json().unwrap();
    assert_eq!(
        answer["error"],
        "Content-Encoding \"br\" is not accepted; send the body uncompressed (Content-Encoding: identity, or none) or gzip-compressed (Content-Encoding: gzip)"
    );
    let health = crate::common::http().get(&format!("{}/healthz", server.url)).call().unwrap().into_string().unwrap();
    assert_eq!(health, "ok\n", "the server is still up");
    assert_eq!(server.size(), before, "nothing was stored");
}

#[test]
fn a_batch_answers_per_event_and_stores_only_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let gen = dossier_gen::Generator::new(5);
    let mut bad = gen.event(1);
    bad["subject"]["content"]["pipelineName"] = json!(["not", "a", "string"]);
    let body = serde_json::to_vec(&json!([gen.event(0), bad, gen.event(2)])).unwrap();
    let (status, answer) = server.post("application/json", &body);
    assert_eq!(status, 200);
    assert_eq!(answer["accepted"], 2);
    assert_eq!(answer["rejected"], 1);
    let rejected = &answer["results"][1];
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["id"], "5-1");
    assert_eq!(rejected["violations"][0]["pointer"], "/subject/content/pipelineName");
    assert_eq!(server.size(), 3, "entry 0 records the admin token, then the two valid events");
}

#[test]
fn queries_filter_by_type_glob_artifact_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let gen = dossier_gen::Generator::new(8);
    let events: Vec<Value> = (0..50).map(|i| gen.event(i)).collect();
    let ndjson: String = events.iter().map(|e| format!("{e}\n")).collect();
    let (status, answer) = server.post("application/x-ndjson", ndjson.as_bytes());
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(50)));

    let (_, page) = server.get("/api/v1/events?type=dev.cdevents.artifact.*&limit=1000");
    assert_eq!(page["events"].as_array().unwrap().len(), 15);
    let purl = gen.artifact(2);
    let (_, timeline) = server.get(&format!("/api/v1/artifact?purl={}", purl.replace('%', "%25")));
    let seqs: Vec<u64> = timeline["events"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    // Event i is entry i + 1: entry 0 records the admin token. The batch's artifact.signed
    // events get their signatures' checks once it is stored (entries 51 on); 53 is this one's.
    let signed = events.iter().filter(|e| e["context"]["type"].as_str().unwrap().starts_with("dev.cdevents.artifact.signed.")).count();
    assert_eq!(signed, 5);
    assert_eq!(seqs, vec![24, 25, 26, 28, 29, 53]);
    let (status, one) = server.get("/api/v1/event?source=/dossier-gen/8&id=8-7");
    assert_eq!((status, one["seq"].as_u64()), (200, Some(8)));
    assert_eq!(one["event"], events[7]);
    let (status, err) = server.get("/api/v1/events?colour=blue");
    assert_eq!(status, 400);
    assert!(err["error"].as_str().unwrap().contains("unknown parameter \"colour\""));

    let (code, out, err) = dossier(&["event", "8", "--proof", "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"8-7\""), "{out}");
    assert!(err.contains(&format!("verified: entry 8 is in the tree of size {}", 51 + signed)), "{err}");
    let (code, out, err) = dossier(&["log", "consistency", "10", "--server", &server.url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("verified: the tree of size 10"), "{out}");
}

#[test]
fn send_reports_accepted_duplicates_and_rejected_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let gen = dossier_gen::Generator::new(6);
    let mut bad = gen.event(2);
    bad["context"]["timestamp"] = json!("yesterday");
    let file = dir.path().join("events.ndjson");
    std::fs::write(&file, format!("{}\n{}\n{}\n{}\n", gen.event(0), gen.event(1), gen.event(0), bad)).unwrap();
    let (code, out, err) = dossier(&["send", file.to_str().unwrap(), "--batch", "2", "--server", &server.url]);
    assert_eq!(code, 1, "a rejection makes send fail");
    assert_eq!(out.trim(), "4 events: 2 accepted, 1 duplicates, 0 conflicts, 1 rejected");
    assert!(err.contains("event #3: event \"6-2\" is invalid: /context/timestamp: \"yesterday\" is not an RFC 3339 date-time"), "{err}");
}

#[test]
fn the_live_stream_delivers_matching_events() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let resp = crate::common::http().get(&format!("{}/api/v1/stream?type=dev.cdevents.artifact.*", server.url)).call().unwrap();
    let mut lines = BufReader::new(resp.into_reader()).lines();
    let gen = dossier_gen::Generator::new(4);
    // Events 3 (build.finished) and 4 (artifact.packaged): only the second matches.
    let body = serde_json::to_vec(&json!([gen.event(3), gen.event(4)])).unwrap();
    assert_eq!(server.post("application/json", &body).0, 200);
    let data = loop {
        let line = lines.next().expect("stream ended").unwrap();
        if let Some(d) = line.strip_prefix("data: ") {
            break d.to_owned();
        }
    };
    let event: Value = serde_json::from_str(&data).unwrap();
    // Entry 0 records the admin token, entry 1 event 3: event 4 is entry 2.
    assert_eq!((event["seq"].as_u64(), event["id"].as_str()), (Some(2), Some("4-4")));
}
