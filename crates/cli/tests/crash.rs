//! Durability: a server killed with SIGKILL during sustained ingest keeps every event it
//! acknowledged, exactly once, and its store verifies. And `dossier verify` names tampering.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{dossier, post_to, Server};
use serde_json::{json, Value};

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for client in 0..4u64 {
        let (url, acked, stop) = (server.url.clone(), acked.clone(), stop.clone());
        clients.push(std::thread::spawn(move || {
            let gen = dossier_gen::Generator::new(100 + client);
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                // Alternate single events and batches of 50.
                let n = if i.is_multiple_of(2) { 1 } else { 50 };
                let events: Vec<Value> = (i..i + n).map(|k| gen.event(k)).collect();
                let body = serde_json::to_vec(&json!(events)).unwrap();
                let sent = std::panic::catch_unwind(|| post_to(&url, "application/json", &body));
                match sent {
                    Ok((200, answer)) => {
                        let mut a = acked.lock().unwrap();
                        for r in answer["results"].as_array().unwrap() {
                            assert_eq!(r["status"], "accepted", "{r}");
                            a.insert(r["id"].as_str().unwrap().to_owned());
                        }
                    }
                    // The server died mid-request: nothing was acknowledged.
                    _ => break,
                }
                i += n;
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(1500));
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 100, "the test must have ingested under load ({} acknowledged)", acked.len());

    let mut server = Server::start(dir.path());
    let mut stored: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/v1/events?limit=1000&after={a}"),
            None => "/api/v1/events?limit=1000".to_owned(),
        };
        let (_, page) = server.get(&path);
        stored.extend(page["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "every event is stored once");
    let missing: Vec<&String> = acked.iter().filter(|id| !unique.contains(id)).collect();
    assert!(missing.is_empty(), "{} acknowledged events were lost, e.g. {:?}", missing.len(), missing.first());

    server.stop();
    let (code, out, err) = dossier(&["verify", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn verify_names_the_row_modified_behind_dossiers_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let gen = dossier_gen::Generator::new(3);
    let events: Vec<Value> = (0..30).map(|i| gen.event(i)).collect();
    assert_eq!(server.post("application/json", &serde_json::to_vec(&events).unwrap()).1["accepted"], 30);
    server.stop();
    let data = dir.path().to_str().unwrap();
    assert_eq!(dossier(&["verify", "--data", data]).0, 0);

    // Event 17 (an artifact published by ci-bot) is entry 18: entry 0 records the admin token.
    let conn = rusqlite::Connection::open(dir.path().join("dossier.db")).unwrap();
    conn.execute("UPDATE events SET raw = CAST(replace(CAST(raw AS TEXT), 'ci-bot', 'mallory') AS BLOB) WHERE seq = 18", []).unwrap();
    drop(conn);
    let (code, out, _) = dossier(&["verify", "--data", data]);
    assert_eq!(code, 1);
    assert!(
        out.contains("FAIL  entry 18 was modified: its content, raw bytes, receipt time or sender do not match its leaf hash"),
        "{out}"
    );
}
