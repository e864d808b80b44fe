//! What policies emit reaches NATS JetStream once, across restarts. Needs a NATS server with
//! JetStream named by `DOSSIER_TEST_NATS` (`.ci/run` sets it and fails without one); without it
//! the test says so and passes, as the embedded setup needs no NATS.

mod common;

use std::time::Duration;

use common::{caught_up, eventually, policy_dir, Server};
use dossier_nats::JetStream;
use serde_json::{json, Value};

#[test]
fn emitted_events_are_published_to_jetstream_once_across_restarts() {
    let Ok(url) = std::env::var("DOSSIER_TEST_NATS") else {
        eprintln!("DOSSIER_TEST_NATS is not set: skipping the NATS test");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let policies = policy_dir(
        dir.path(),
        "scan",
        "package dossier.scan\n\ntriggers := [\"dev.cdevents.artifact.published.*\"]\nallowed_actions := [\"emit\"]\n\n\
         actions contains {\"kind\": \"emit\", \"type\": \"dev.cdevents.testsuiterun.queued.0.3.0\", \"subject\": \"scan-1\",\n\
           \"content\": {\"testSuite\": {\"id\": \"security-scan\"}, \"environment\": {\"id\": \"security\"}}} if { true }\n",
    );
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let stream = format!("DOSSIER_TEST_{}_{nanos}", std::process::id());
    let prefix = format!("test{nanos}.events");
    let flags = [
        "--policies",
        policies.to_str().unwrap(),
        "--nats",
        url.as_str(),
        "--nats-stream",
        stream.as_str(),
        "--nats-subject",
        prefix.as_str(),
    ];
    let mut server = Server::start_with(&data, &flags);
    let published = json!({
        "context": {"specversion": "0.5.1", "id": "n1", "source": "/ci", "type": "dev.cdevents.artifact.published.0.3.0", "timestamp": "2026-11-30T10:00:00Z"},
        "subject": {"id": "pkg:oci/n@1", "content": {}}
    });
    assert_eq!(server.post("application/json", published.to_string().as_bytes()).0, 201);

    let subject = format!("{prefix}.dev.cdevents.testsuiterun.queued.0.3.0");
    let mut js = JetStream::connect(&url, Duration::from_secs(5)).unwrap();
    let (headers, data_bytes) = eventually("the message on the bus", || js.last_message(&stream, &subject).ok().flatten());
    let message: Value = serde_json::from_slice(&data_bytes).unwrap();
    let (_, emitted) = server.get("/api/v1/events?type=dev.cdevents.testsuiterun.queued.*");
    assert_eq!(message, emitted["events"][0]["event"], "the payload is the emitted CDEvent");
    assert!(
        headers.contains("ce-type: dev.cdevents.testsuiterun.queued.0.3.0") && headers.contains("ce-source: /dossier/policies/scan"),
        "{headers}"
    );
    server.kill9();

    // From a cursor that was not saved, the same event is published again, and stored once.
    std::fs::write(data.join("nats.cursor"), "0\n").unwrap();
    let _server = Server::start_with(&data, &flags);
    caught_up(&data.join("nats.cursor"));
    assert_eq!(js.messages(&stream).unwrap(), 1);
    js.delete_stream(&stream).unwrap();
}
