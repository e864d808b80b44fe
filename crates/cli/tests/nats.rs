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
    let checkpoints = format!("test{nanos}.checkpoints");
    let flags = [
        "--policies",
        policies.to_str().unwrap(),
        "--nats",
        url.as_str(),
        "--nats-stream",
        stream.as_str(),
        "--nats-subject",
        prefix.as_str(),
        // Subjects are unique per stream: each test run's stream takes its own.
        "--nats-checkpoint-subject",
        &checkpoints,
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
    // The stream also holds the log's checkpoints (on their own subject): count this subject's.
    let on_subject = rt.block_on(async {
        let mut s = js.get_stream(stream.as_str()).await.unwrap();
        let last = s.info().await.unwrap().state.last_sequence;
        let mut n = 0;
        for seq in 1..=last {
            if s.get_raw_message(seq).await.is_ok_and(|m| m.subject.as_str() == subject) {
                n += 1;
            }
        }
        n
    });
    assert_eq!(on_subject, 1, "the repeat was de-duplicated by its Nats-Msg-Id");
    rt.block_on(async { js.delete_stream(stream.as_str()).await.unwrap() });
}

#[test]
fn signed_checkpoints_are_published_on_the_bus() {
    let Ok(url) = std::env::var("DOSSIER_TEST_NATS") else {
        eprintln!("DOSSIER_TEST_NATS is not set: skipping the NATS test");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let stream = format!("DOSSIER_CP_{}_{nanos}", std::process::id());
    let subject = format!("test{nanos}.checkpoints");
    let flags = [
        "--nats",
        url.as_str(),
        "--nats-stream",
        stream.as_str(),
        "--nats-subject",
        &format!("test{nanos}.events"),
        "--nats-checkpoint-subject",
        subject.as_str(),
    ];
    let server = Server::start_with(&data, &flags);
    let event = json!({
        "context": {"specversion": "0.5.1", "id": "c1", "source": "/ci", "type": "dev.cdevents.artifact.published.0.3.0", "timestamp": "2026-12-02T10:00:00Z"},
        "subject": {"id": "pkg:oci/c@1", "content": {}}
    });
    assert_eq!(server.post("application/json", event.to_string().as_bytes()).0, 201);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let js = rt.block_on(async { async_nats::jetstream::new(async_nats::connect(url.as_str()).await.unwrap()) });
    let key = dossier_tlog::Verifier::parse(std::fs::read_to_string(data.join("log.pub")).unwrap().trim()).unwrap();
    let on_bus = eventually("the checkpoint of the event on the bus", || {
        let m = rt.block_on(async {
            let s = js.get_stream(stream.as_str()).await.ok()?;
            s.get_last_raw_message_by_subject(subject.as_str()).await.ok()
        })?;
        let note = String::from_utf8(m.payload.to_vec()).unwrap();
        let body = key.open(&note).expect("every published note verifies with the log's key");
        (dossier_tlog::Checkpoint::parse(body).unwrap().size == 1).then_some(m)
    });
    assert_eq!(on_bus.headers.get("dossier-checkpoint-size").map(|v| v.as_str().to_owned()).as_deref(), Some("1"));
    rt.block_on(async { js.delete_stream(stream.as_str()).await.unwrap() });
}
