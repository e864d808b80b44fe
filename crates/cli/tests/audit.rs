//! An auditor who saved a signed checkpoint can hold the operator to it: `dossier log
//! consistency --from SAVED` and `dossier verify --trusted-checkpoint SAVED` pass while the log
//! only grew, and fail once history before the checkpoint was rewritten — even when the operator
//! re-signed the rewrite with the log's own key.

mod common;

use common::{dossier, Server};
use serde_json::{json, Value};

fn events(from: u64, to: u64, user: &str) -> Value {
    Value::Array(
        (from..to)
            .map(|i| {
                json!({
                    "context": {"specversion": "0.5.1", "id": format!("e{i}"), "source": "/ci", "type": "dev.cdevents.artifact.published.0.3.0", "timestamp": "2026-11-25T10:00:00Z"},
                    "subject": {"id": format!("pkg:oci/app@{i}"), "content": {"user": if i == 3 { user } else { "ci" }}}
                })
            })
            .collect(),
    )
}

#[test]
fn a_saved_checkpoint_holds_the_operator_to_the_history_it_signed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let saved = dir.path().join("saved.note");
    let key = data.join("log.pub");

    let mut server = Server::start(&data);
    assert_eq!(server.post("application/json", events(0, 10, "ci").to_string().as_bytes()).1["accepted"], 10);
    // The auditor saves today's signed checkpoint.
    let (code, note, err) = dossier(&["log", "checkpoint", "--server", &server.url, "--key", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(&saved, &note).unwrap();
    // 11 entries: entry 0 records the admin token, then the 10 events.
    assert!(note.contains("\n11\n"), "{note}");
    assert_eq!(server.post("application/json", events(10, 15, "ci").to_string().as_bytes()).1["accepted"], 5);

    let consistency = |server: &Server| {
        dossier(&["log", "consistency", "--from", saved.to_str().unwrap(), "--server", &server.url, "--key", key.to_str().unwrap()])
    };
    let (code, out, err) = consistency(&server);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("verified: today's signed tree of size 16 extends your saved checkpoint of size 11"), "{out}");
    server.stop();
    let (code, out, err) = dossier(&["verify", "--data", data.to_str().unwrap(), "--trusted-checkpoint", saved.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("trusted: the store extends your checkpoint of size 11"), "{out}");

    // The operator rewrites history: every event again, event 3 (entry 4, after the admin token's
    // entry 0) changed, into a fresh store that holds the same key, so its own checkpoints verify
    // with it.
    let forged = dir.path().join("forged");
    std::fs::create_dir_all(&forged).unwrap();
    std::fs::copy(data.join("log.key"), forged.join("log.key")).unwrap();
    std::fs::copy(data.join("log.pub"), forged.join("log.pub")).unwrap();
    let mut server = Server::start(&forged);
    assert_eq!(server.post("application/json", events(0, 15, "mallory").to_string().as_bytes()).1["accepted"], 15);
    let (code, out, err) = consistency(&server);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("today's log does NOT extend your saved checkpoint at size 11"), "{err}");
    server.stop();
    let (code, out, _) = dossier(&["verify", "--data", forged.to_str().unwrap()]);
    assert_eq!(code, 0, "on its own evidence the forgery verifies: {out}");
    let (code, out, _) = dossier(&["verify", "--data", forged.to_str().unwrap(), "--trusted-checkpoint", saved.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  the store does not extend the trusted checkpoint at size 11"), "{out}");
}

#[test]
fn the_key_can_live_outside_the_data_directory_and_checkpoints_are_published_for_others() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = dir.path().join("keys");
    let published = dir.path().join("checkpoints");
    std::fs::create_dir_all(&keys).unwrap();
    let key = keys.join("log.key");
    let mut server = Server::start_with(
        &data,
        &["--log-key", key.to_str().unwrap(), "--checkpoint-dir", published.to_str().unwrap(), "--log-name", "audit.example/log"],
    );
    assert_eq!(server.post("application/json", events(0, 6, "ci").to_string().as_bytes()).1["accepted"], 6);
    server.stop();
    assert!(key.is_file() && !data.join("log.key").exists(), "the private key is where it was asked to be, not in the data directory");
    assert!(std::fs::read_to_string(data.join("log.pub")).unwrap().starts_with("audit.example/log+"), "the public key is beside the data");
    let newest = std::fs::read_dir(&published)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".note")?.parse::<u64>().ok())
        .max()
        .expect("checkpoints were published");
    // Entry 0 records the admin token, then the 6 events: 7 entries.
    assert_eq!(newest, 7, "the final checkpoint covers every entry");
    let note = published.join("7.note");
    let (code, out, err) = dossier(&["verify", "--data", data.to_str().unwrap(), "--trusted-checkpoint", note.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("trusted: the store extends your checkpoint of size 7"), "{out}");
}

/// The log's key can stay in a KMS or an HSM: `serve --log-signer PROGRAM` asks a program for
/// each checkpoint's signature (here OpenSSL with an Ed25519 key Dossier never reads), checks it
/// against `--log-public-key`, and the store verifies with that key. No `log.key` is written.
#[test]
fn checkpoints_can_be_signed_by_an_external_signer_holding_the_key() {
    if std::process::Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl is not installed: skipping the external signer test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = (dir.path().join("hsm.pem"), dir.path().join("hsm.pub.pem"));
    let openssl = |args: &[&str]| assert!(std::process::Command::new("openssl").args(args).status().unwrap().success(), "openssl {args:?}");
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", private.to_str().unwrap()]);
    openssl(&["pkey", "-in", private.to_str().unwrap(), "-pubout", "-out", public.to_str().unwrap()]);
    let program = dir.path().join("sign-with-hsm");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\nt=$(mktemp)\ncat > \"$t\"\nopenssl pkeyutl -sign -rawin -inkey {} -in \"$t\"\nrc=$?\nrm -f \"$t\"\nexit $rc\n",
            private.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&program, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (code, vkey, err) = dossier(&["log", "vkey", "--name", "kms.example/log", "--pem", public.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(vkey.starts_with("kms.example/log+"), "{vkey}");
    let vkey_file = dir.path().join("log.vkey");
    std::fs::write(&vkey_file, &vkey).unwrap();

    let data = dir.path().join("data");
    let mut server =
        Server::start_with(&data, &["--log-signer", program.to_str().unwrap(), "--log-public-key", vkey_file.to_str().unwrap()]);
    assert_eq!(server.post("application/json", events(0, 5, "ci").to_string().as_bytes()).1["accepted"], 5);
    // With a remote signer, readers get the newest kept checkpoint: at most a second behind.
    // 6 entries: entry 0 records the admin token, then the 5 events.
    let note = common::eventually("the checkpoint of 6 entries", || {
        let (code, note, err) = dossier(&["log", "checkpoint", "--server", &server.url, "--key", vkey.trim()]);
        assert_eq!(code, 0, "{err}");
        note.starts_with("kms.example/log\n6\n").then_some(note)
    });
    assert!(note.contains("\u{2014} kms.example/log "), "{note}");
    server.stop();
    assert!(!data.join("log.key").exists(), "no private key is written");
    let (code, out, err) = dossier(&["verify", "--data", data.to_str().unwrap(), "--key", vkey.trim()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("checkpoint: size 6, signed by kms.example/log"), "{out}");
}

/// A live stream open (the dashboard's SSE) does not keep a stopping server from closing its
/// log: the stream ends at once with a `closing` event, the server stops within a second or so
/// (not after its grace period for answers in progress), and its final checkpoint covers every
/// entry.
#[test]
fn a_server_with_a_live_stream_open_stops_and_keeps_its_final_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data);
    let live = crate::common::http().get(&format!("{}/api/v1/stream", server.url)).call().unwrap();
    assert_eq!(server.post("application/json", events(0, 7, "ci").to_string().as_bytes()).1["accepted"], 7);
    let _ = std::process::Command::new("kill").arg("-TERM").arg(server.child.id().to_string()).status();
    // The grace for answers in progress is 5 s; a live stream must not wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while server.child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the server did not stop promptly with a live stream open");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let said = std::io::read_to_string(live.into_reader()).unwrap_or_default();
    assert!(said.contains("event: closing\ndata: the server is stopping\n"), "the stream says why it ends: {said:?}");
    let (code, out, err) = dossier(&["verify", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    // Entry 0 records the admin token, then the 7 events.
    assert!(out.contains("checkpoint: size 8"), "{out}");
}
