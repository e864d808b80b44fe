//! Against a real NATS server with JetStream, named by `DOSSIER_TEST_NATS`
//! (`nats://127.0.0.1:4222`; `.ci/run` sets it). Without it the test says so and passes: the
//! embedded setup needs no NATS.

use std::time::Duration;

use dossier_nats::{JetStream, NatsError};

fn server() -> Option<String> {
    let url = std::env::var("DOSSIER_TEST_NATS").ok();
    if url.is_none() {
        eprintln!("DOSSIER_TEST_NATS is not set: skipping the JetStream test");
    }
    url
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}{}{nanos}", std::process::id())
}

#[test]
fn a_message_published_twice_with_one_id_is_stored_once() {
    let Some(url) = server() else { return };
    let mut js = JetStream::connect(&url, Duration::from_secs(5)).unwrap();
    let stream = unique("DOSSIER_TEST_");
    let subject = format!("{}.events", stream.to_ascii_lowercase());
    js.ensure_stream(&stream, &[format!("{subject}.>")]).unwrap();
    // Ensuring it again is harmless.
    js.ensure_stream(&stream, &[format!("{subject}.>")]).unwrap();

    let first = js.publish(&format!("{subject}.a"), "/ci/e-1", &[("ce-type", "dev.cdevents.x")], br#"{"n":1}"#).unwrap();
    assert_eq!((first.stream.as_str(), first.seq, first.duplicate), (stream.as_str(), 1, false));
    let again = js.publish(&format!("{subject}.a"), "/ci/e-1", &[], br#"{"n":1}"#).unwrap();
    assert_eq!((again.seq, again.duplicate), (1, true));
    assert_eq!(js.messages(&stream).unwrap(), 1);
    let (headers, data) = js.last_message(&stream, &format!("{subject}.a")).unwrap().unwrap();
    assert_eq!(data, br#"{"n":1}"#);
    assert!(headers.contains("ce-type: dev.cdevents.x"), "{headers}");
    assert_eq!(js.last_message(&stream, &format!("{subject}.b")).unwrap(), None);

    // A subject no stream captures is refused, not silently dropped.
    let err = js.publish(&unique("nobody.listens."), "x", &[], b"{}").unwrap_err();
    assert!(matches!(err, NatsError::NoResponders { .. }), "{err}");
    js.delete_stream(&stream).unwrap();
}

#[test]
fn an_address_without_a_server_is_an_error_naming_it() {
    let err = JetStream::connect("nats://127.0.0.1:1", Duration::from_millis(500)).err().unwrap().to_string();
    assert!(err.starts_with("NATS at 127.0.0.1:1: "), "{err}");
}
