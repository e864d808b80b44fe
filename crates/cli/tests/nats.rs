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

/// A CDEvent from `/nats-test` with id `id`.
fn nats_event(id: &str) -> Value {
    json!({
        "context": {"specversion": "0.5.1", "id": id, "source": "/nats-test", "type": "dev.cdevents.artifact.published.0.3.0", "timestamp": "2026-12-03T10:00:00Z"},
        "subject": {"id": format!("pkg:oci/{id}@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), "content": {}}
    })
}

#[test]
fn cdevents_consumed_from_jetstream_are_stored_once_and_acknowledged_after_the_commit() {
    let Ok(url) = std::env::var("DOSSIER_TEST_NATS") else {
        eprintln!("DOSSIER_TEST_NATS is not set: skipping the NATS test");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let stream = format!("DOSSIER_IN_{}_{nanos}", std::process::id());
    let prefix = format!("in{nanos}");
    let subject = format!("{prefix}.>");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let js = rt.block_on(async { async_nats::jetstream::new(async_nats::connect(url.as_str()).await.unwrap()) });
    // The producers' stream, as a platform team has it (Dossier creates it when it is missing).
    rt.block_on(async {
        js.create_stream(async_nats::jetstream::stream::Config {
            name: stream.clone(),
            subjects: vec![subject.clone()],
            ..Default::default()
        })
        .await
        .unwrap()
    });
    let publish = |body: Vec<u8>, headers: &[(&str, &str)]| {
        rt.block_on(async {
            let mut h = async_nats::HeaderMap::new();
            for (k, v) in headers {
                h.insert(*k, *v);
            }
            js.publish_with_headers(format!("{prefix}.artifact"), h, body.into()).await.unwrap().await.unwrap()
        })
    };
    // A plain CDEvent; the same in CloudEvents binary mode; a repeat of the first (a producer's
    // retry); a message that is not JSON; one too large; a message published twice under one Nats-Msg-Id; and
    // one more after the poison message.
    publish(nats_event("n1").to_string().into_bytes(), &[]);
    let n2 = nats_event("n2");
    publish(
        n2.to_string().into_bytes(),
        &[
            ("content-type", "application/json"),
            ("ce-specversion", "1.0"),
            ("ce-id", "n2"),
            ("ce-source", "/nats-test"),
            ("ce-type", "dev.cdevents.artifact.published.0.3.0"),
        ],
    );
    publish(nats_event("n1").to_string().into_bytes(), &[]);
    publish(b"{not json".to_vec(), &[]);
    // A valid event larger than --max-body: refused, as an HTTP body that large would be.
    let mut big = nats_event("big");
    big["customData"] = json!({"pad": "x".repeat(70_000)});
    publish(big.to_string().into_bytes(), &[]);
    let n3 = nats_event("n3").to_string().into_bytes();
    let first = publish(n3.clone(), &[("Nats-Msg-Id", "n3-once")]);
    let again = publish(n3, &[("Nats-Msg-Id", "n3-once")]);
    assert!(!first.duplicate && again.duplicate, "the stream de-duplicates by Nats-Msg-Id");
    publish(nats_event("n4").to_string().into_bytes(), &[]);

    let flags =
        ["--ingest-nats", url.as_str(), "--ingest-stream", stream.as_str(), "--ingest-subject", subject.as_str(), "--max-body", "65536"];
    let mut server = Server::start_with(&data, &flags);
    let listed = |server: &Server| {
        let (_, page) = server.get("/api/v1/events?source=/nats-test");
        page["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let consumer_settled = || {
        rt.block_on(async {
            let s = js.get_stream(stream.as_str()).await.unwrap();
            let mut c: async_nats::jetstream::consumer::PullConsumer = s.get_consumer("dossier").await.ok()?;
            let info = c.info().await.ok()?;
            (info.num_pending == 0 && info.num_ack_pending == 0).then_some(info.ack_floor.stream_sequence)
        })
    };
    eventually("the four events stored", || (listed(&server) == ["n1", "n2", "n3", "n4"]).then_some(()));
    // Every message settled: acknowledged, or (the poison message) terminated — none pending.
    assert_eq!(eventually("every message settled", consumer_settled), 7, "seven messages in the stream, all settled");
    let (_, n2_stored) = server
        .get("/api/v1/events?source=/nats-test&subject=pkg:oci/n2@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    assert_eq!(n2_stored["events"][0]["sender"], "nats:".to_owned() + &stream, "the sender is the stream's principal");

    // After a restart the durable consumer goes on where it was: nothing is stored twice.
    server.kill9();
    publish(nats_event("n5").to_string().into_bytes(), &[]);
    let server = Server::start_with(&data, &flags);
    eventually("the event published while Dossier was down", || (listed(&server) == ["n1", "n2", "n3", "n4", "n5"]).then_some(()));
    assert_eq!(eventually("every message settled", consumer_settled), 8);
    rt.block_on(async { js.delete_stream(stream.as_str()).await.unwrap() });
}
