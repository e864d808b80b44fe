//! `dossier serve`'s bounds on hostile clients, set as flags, over a real process: an idle
//! connection is closed at --header-timeout, a stalled body gets 408 at --body-timeout, and a
//! gzip body is inflated and stored.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Server, ADMIN_TOKEN};
use serde_json::{json, Value};

#[test]
fn the_flags_bound_slow_clients_and_gzip_bodies_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--header-timeout", "1", "--body-timeout", "2", "--max-connections", "16"]);
    let addr = server.url.trim_start_matches("http://").to_owned();

    // Connected, silent: closed after a second, with no answer.
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    idle.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"");
    assert!(started.elapsed() >= Duration::from_millis(900) && started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    // Half a body, then nothing: 408 after two seconds.
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{{\"a\""
    );
    stalled.write_all(head.as_bytes()).unwrap();
    let mut answer = String::new();
    stalled.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body, json!({"error": "the body did not arrive within 2 s; send it faster, or in smaller requests"}));

    // A gzip body is stored as the event it inflates to.
    let event = json!({
        "context": {"specversion": "0.5.1", "id": "gz-1", "source": "/ci", "type": "dev.cdevents.artifact.published.0.3.0",
                    "timestamp": "2026-11-25T10:00:00Z"},
        "subject": {"id": "pkg:oci/app@sha256%3Aabc", "content": {}}
    })
    .to_string();
    let zipped = gzip_stored(event.as_bytes());
    let r = crate::common::http()
        .post(&format!("{}/api/v1/events", server.url))
        .set("Content-Type", "application/json")
        .set("Content-Encoding", "gzip")
        .send_bytes(&zipped)
        .unwrap();
    assert_eq!(r.status(), 201);
    let stored: Value = r.into_json().unwrap();
    assert_eq!((&stored["status"], &stored["id"]), (&json!("accepted"), &json!("gz-1")));
    assert_eq!(server.size(), 2, "entry 0 records the admin token, entry 1 the inflated event");
}

/// `data` as gzip with one stored (uncompressed) deflate block, as RFC 1951/1952 lay it out.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    assert!(data.len() < 65536);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let len = data.len() as u16;
    out.push(1); // the final block, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    out.extend_from_slice(&(!crc).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}
