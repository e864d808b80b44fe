//! Witnessing between processes: `dossier serve` sends its checkpoints to a `dossier witness`
//! (C2SP tlog-witness over HTTP), keeps the cosignatures, and `dossier verify --witness-key`
//! holds the store to the newest witnessed checkpoint. A rewritten log — even re-signed with
//! the log's own key — gets no cosignature from the witness and fails verification.

mod common;

use std::path::Path;
use std::process::{Child, Command};

use common::{dossier, eventually, listening, Server, BIN};
use serde_json::{json, Value};

fn events(from: u64, to: u64, user: &str) -> Value {
    Value::Array(
        (from..to)
            .map(|i| {
                json!({
                    "context": {"specversion": "0.5.1", "id": format!("e{i}"), "source": "/ci", "type": "dev.cdevents.artifact.published.0.3.0", "timestamp": "2026-12-02T10:00:00Z"},
                    "subject": {"id": format!("pkg:oci/app@{i}"), "content": {"user": if i == 3 { user } else { "ci" }}}
                })
            })
            .collect(),
    )
}

struct Witness {
    child: Child,
    url: String,
}

impl Witness {
    fn start(dir: &Path, log_key: &Path) -> Witness {
        let (child, url) = listening(
            Command::new(BIN)
                .args(["witness", "--listen", "127.0.0.1:0", "--name", "witness.test/w1", "--data"])
                .arg(dir)
                .arg("--log-key")
                .arg(log_key),
        );
        Witness { child, url }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn checkpoint(server: &Server) -> String {
    crate::common::http().get(&format!("{}/api/v1/log/checkpoint", server.url)).call().unwrap().into_string().unwrap()
}

#[test]
fn a_witness_cosigns_the_log_and_refuses_its_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The log's key exists before the witness is told to trust it.
    let mut first = Server::start_with(&data, &["--log-name", "witnessed.example/log"]);
    first.stop();
    let witness = Witness::start(&dir.path().join("witness"), &data.join("log.pub"));
    let witness_pub = dir.path().join("witness/witness.pub");
    let witness_key = std::fs::read_to_string(&witness_pub).unwrap().trim().to_owned();
    assert!(witness_key.starts_with("witness.test/w1+"), "{witness_key}");
    let witness_arg = format!("{} {witness_key}", witness.url);

    let mut server = Server::start_with(&data, &["--witness", &witness_arg]);
    // Entry 0 (recorded at the first start) holds the admin token: 10 events make 11 entries.
    assert_eq!(server.post("application/json", events(0, 10, "ci").to_string().as_bytes()).1["accepted"], 10);
    let note = eventually("a cosigned checkpoint of 11 entries", || {
        let note = checkpoint(&server);
        (note.contains("\n11\n") && note.contains("\u{2014} witness.test/w1 ")).then_some(note)
    });
    assert!(note.starts_with("witnessed.example/log\n11\n"), "{note}");
    // Growth is witnessed too: the witness checks a consistency proof from 11.
    assert_eq!(server.post("application/json", events(10, 15, "ci").to_string().as_bytes()).1["accepted"], 5);
    eventually("a cosigned checkpoint of 16 entries", || {
        let note = checkpoint(&server);
        (note.contains("\n16\n") && note.contains("\u{2014} witness.test/w1 ")).then_some(())
    });
    let metrics = eventually("witnessing in the metrics", || {
        let m = crate::common::http().get(&format!("{}/metrics", server.url)).call().unwrap().into_string().unwrap();
        m.contains("\ndossier_witnessed_size 16\n").then_some(m)
    });
    assert!(metrics.contains("\ndossier_witness_quorum 1\n"), "{metrics}");
    server.stop();
    let published = dossier(&["verify", "--data", data.to_str().unwrap(), "--witness-key", witness_pub.to_str().unwrap()]);
    assert_eq!(published.0, 0, "{}{}", published.1, published.2);
    assert!(published.1.contains("witnessed: the store matches the checkpoint of size 16 cosigned by witness.test/w1+"), "{}", published.1);

    // The auditor takes the witness's own checkpoint (not the store's) and holds a copy of the
    // store to it: the operator truncated the log back to its witnessed checkpoint of size 11.
    let from_witness = crate::common::http()
        .get(&format!("{}/latest", witness.url))
        .query("origin", "witnessed.example/log")
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        from_witness.starts_with("witnessed.example/log\n16\n") && from_witness.contains("\u{2014} witness.test/w1 "),
        "{from_witness}"
    );
    let saved = dir.path().join("from-witness.note");
    std::fs::write(&saved, &from_witness).unwrap();
    let copy = dir.path().join("truncated");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["dossier.db", "dossier.db-wal", "log.pub"] {
        if data.join(f).exists() {
            std::fs::copy(data.join(f), copy.join(f)).unwrap();
        }
    }
    rusqlite::Connection::open(copy.join("dossier.db"))
        .unwrap()
        .execute_batch(
            "DELETE FROM events WHERE seq >= 11; DELETE FROM artifact_refs WHERE seq >= 11; \
             DELETE FROM nodes WHERE (idx + 1) * (1 << level) > 11; DELETE FROM checkpoints WHERE size > 11",
        )
        .unwrap();
    let (code, out, _) = dossier(&["verify", "--data", copy.to_str().unwrap(), "--witness-key", witness_pub.to_str().unwrap()]);
    assert_eq!(code, 0, "the store's own witnessed checkpoint of size 11 matches what is left: {out}");
    let (code, out, _) = dossier(&["verify", "--data", copy.to_str().unwrap(), "--trusted-checkpoint", saved.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  the trusted checkpoint covers 16 entries but the store has 11"), "{out}");

    // The operator rewrites history into a fresh store holding the log's own key, and asks the
    // same witness to cosign it.
    let forged = dir.path().join("forged");
    std::fs::create_dir_all(&forged).unwrap();
    std::fs::copy(data.join("log.key"), forged.join("log.key")).unwrap();
    let mut server = Server::start_with(&forged, &["--witness", &witness_arg]);
    assert_eq!(server.post("application/json", events(0, 20, "mallory").to_string().as_bytes()).1["accepted"], 20);
    // Its entry 0 holds the admin token too: 21 entries.
    eventually("the forged log's own checkpoint", || checkpoint(&server).contains("\n21\n").then_some(()));
    std::thread::sleep(std::time::Duration::from_secs(3)); // a few witnessing rounds
    assert!(!checkpoint(&server).contains("witness.test/w1"), "the witness cosigned a rewritten log");
    server.stop();
    let (code, out, _) = dossier(&["verify", "--data", forged.to_str().unwrap()]);
    assert_eq!(code, 0, "on its own evidence the forgery verifies: {out}");
    let (code, out, _) = dossier(&["verify", "--data", forged.to_str().unwrap(), "--witness-key", &witness_key]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "FAIL  no checkpoint in the store is cosigned by 1 of the 1 witnesses given: nothing independent vouches for this log"
        ),
        "{out}"
    );
    // The witness still vouches for the honest log only.
    let state: Vec<_> = std::fs::read_dir(dir.path().join("witness/state")).unwrap().flatten().collect();
    assert_eq!(state.len(), 1);
    let held = std::fs::read_to_string(state[0].path()).unwrap();
    assert!(held.starts_with("witnessed.example/log\n16\n"), "{held}");
}

#[test]
fn a_witness_answers_the_protocol_statuses_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let log = dossier_tlog::Signer::generate("proto.example/log").unwrap();
    std::fs::write(dir.path().join("log.pub"), format!("{}\n", log.verifier())).unwrap();
    let witness = Witness::start(&dir.path().join("witness"), &dir.path().join("log.pub"));
    let post = |body: &str| match crate::common::http().post(&format!("{}/add-checkpoint", witness.url)).send_string(body) {
        Ok(r) => (r.status(), r.content_type().to_owned(), r.into_string().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.content_type().to_owned(), r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    };
    let root = |tag: &str| dossier_tlog::tree::leaf_hash(tag.as_bytes());
    let signed = |size: u64, tag: &str| log.sign(&dossier_tlog::Checkpoint { origin: log.name().into(), size, root: root(tag) }.body());
    let (status, _, line) = post(&format!("old 0\n\n{}", signed(1, "a")));
    assert_eq!(status, 200, "{line}");
    assert!(line.starts_with("\u{2014} "), "{line}");
    assert_eq!(post(&format!("old 0\n\n{}", signed(1, "a"))), (409, "text/x.tlog.size".into(), "1\n".into()));
    let (status, _, why) = post(&format!("old 1\n\n{}", signed(1, "b")));
    assert_eq!(
        (status, why.as_str()),
        (409, "the checkpoint has the size this witness last cosigned (1) but another root: the log forked\n")
    );
    let stranger = dossier_tlog::Signer::generate("stranger.example/log").unwrap();
    let (status, _, _) =
        post(&format!("old 0\n\n{}", stranger.sign("stranger.example/log\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n")));
    assert_eq!(status, 404);
    let (status, _, why) = post("old x\n\n");
    assert_eq!((status, why.as_str()), (400, "malformed request: the first line must be `old <size>` in decimal without leading zeros\n"));
}
