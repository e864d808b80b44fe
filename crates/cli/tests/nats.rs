//! What policies emit reaches NATS JetStream once, across restarts. Needs a NATS server with
//! JetStream named by `DOSSIER_TEST_NATS` (`.ci/run` sets it and fails without one); without it
//! the test says so and passes, as the embedded setup needs no NATS.

mod common;

use common::{caught_up, eventually, policy_dir, Server};
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
    // Read back with the official client (async-nats), as a tool listening on the bus would.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let js = rt.block_on(async { async_nats::jetstream::new(async_nats::connect(url.as_str()).await.unwrap()) });
    let last = || {
        rt.block_on(async {
            let s = js.get_stream(stream.as_str()).await.ok()?;
            s.get_last_raw_message_by_subject(subject.as_str()).await.ok()
        })
    };
    let on_bus = eventually("the message on the bus", last);
    let message: Value = serde_json::from_slice(&on_bus.payload).unwrap();
    let (_, emitted) = server.get("/api/v1/events?type=dev.cdevents.testsuiterun.queued.*");
    assert_eq!(message, emitted["events"][0]["event"], "the payload is the emitted CDEvent");
    let header = |name: &str| on_bus.headers.get(name).map(|v| v.as_str().to_owned());
    assert_eq!(header("ce-type").as_deref(), Some("dev.cdevents.testsuiterun.queued.0.3.0"));
    assert_eq!(header("ce-source").as_deref(), Some("/dossier/policies/scan"));
    let msg_id = on_bus.headers.get(async_nats::header::NATS_MESSAGE_ID).map(|v| v.as_str().to_owned());
    assert_eq!(msg_id, Some(format!("/dossier/policies/scan#{}", emitted["events"][0]["id"].as_str().unwrap())));
    server.kill9();

    // From a cursor that was not saved, the same event is published again, and stored once.
    std::fs::write(data.join("nats.cursor"), "0\n").unwrap();
    let _server = Server::start_with(&data, &flags);
    caught_up(&data.join("nats.cursor"));
    let messages = rt.block_on(async { js.get_stream(stream.as_str()).await.unwrap().info().await.unwrap().state.messages });
    assert_eq!(messages, 1, "the repeat was de-duplicated by its Nats-Msg-Id");
    rt.block_on(async { js.delete_stream(stream.as_str()).await.unwrap() });
}
