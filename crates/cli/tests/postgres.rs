//! `dossier serve --store postgresql://…` keeps its log in PostgreSQL, and `dossier verify
//! --store postgresql://…` names the rows changed behind its back with `psql`, as it does on
//! SQLite (`crash.rs`). Runs in a scratch schema of the database `DOSSIER_TEST_POSTGRES` names;
//! skipped when it is unset, failing when it is set and cannot be reached.

mod common;

use std::process::Command;

use common::{dossier, Server};
use serde_json::Value;

/// `psql` on `url`, stopping at the first error; panics when it fails.
fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .expect("running psql (the PostgreSQL client)");
    assert!(out.status.success(), "psql -c {sql:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A schema of its own in the test database, dropped at the end.
struct Schema {
    database: String,
    name: String,
}

impl Schema {
    fn create(database: &str) -> Schema {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let name = format!("dossier_cli_{}_{}", std::process::id(), nanos % 1_000_000_000_000);
        psql(database, &format!("CREATE SCHEMA {name}"));
        Schema { database: database.to_owned(), name }
    }

    /// The store location: the database with this schema as its search path.
    fn url(&self) -> String {
        let separator = if self.database.contains('?') { '&' } else { '?' };
        format!("{}{separator}options=-c%20search_path%3D{}", self.database, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = Command::new("psql").args(["-X", "-q", "-d", &self.database, "-c", &format!("DROP SCHEMA {} CASCADE", self.name)]).output();
    }
}

#[test]
fn verify_names_the_rows_tampered_with_through_psql_in_a_postgresql_store() {
    let Ok(database) = std::env::var("DOSSIER_TEST_POSTGRES") else {
        eprintln!("skipped: DOSSIER_TEST_POSTGRES is not set (set it to a PostgreSQL URL to run it)");
        return;
    };
    let schema = Schema::create(&database);
    let store = schema.url();
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_with(dir.path(), &["--store", &store]);
    let gen = dossier_gen::Generator::new(3);
    let events: Vec<Value> = (0..30).map(|i| gen.event(i)).collect();
    assert_eq!(server.post("application/json", &serde_json::to_vec(&events).unwrap()).1["accepted"], 30);
    server.stop();
    assert!(!dir.path().join("dossier.db").exists(), "the log is in PostgreSQL, not in the data directory");
    let data = dir.path().to_str().unwrap();
    // The 30 events and the server's own entries (the admin token first, and what it records
    // of its own after them).
    let out = Command::new("psql").args(["-X", "-At", "-d", &store, "-c", "SELECT count(*) FROM events"]).output().unwrap();
    let entries: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(entries >= 31, "{entries} entries");

    let (code, out, err) = dossier(&["verify", "--data", data, "--store", &store]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("OK  {entries} entries verified")), "{out}");
    let (code, out, err) = dossier(&["reindex", "--data", data, "--store", &store]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("rebuilt the lineage graph from {entries} log entries")), "{out}");

    // Event 17 (an artifact published by ci-bot) is entry 18: entry 0 records the admin token.
    psql(&store, "UPDATE events SET raw = convert_to(replace(convert_from(raw, 'UTF8'), 'ci-bot', 'mallory'), 'UTF8') WHERE seq = 18");
    psql(&store, "DELETE FROM events WHERE seq = 25");
    let (code, out, _) = dossier(&["verify", "--data", data, "--store", &store]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL  entry 18 was modified: its content, raw bytes, receipt time or sender do not match its leaf hash"),
        "{out}"
    );
    assert!(out.contains("FAIL  entry 25 is missing (deleted)"), "{out}");
    assert!(out.contains(&format!("2 problem(s) found in {entries} entries")), "{out}");

    // DOSSIER_STORE names the store as --store does.
    let out = Command::new(common::BIN).args(["verify", "--data", data]).env("DOSSIER_STORE", &store).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL  entry 25 is missing (deleted)"));
}

/// A PostgreSQL store that cannot be reached is said so, naming it without its password; an
/// empty schema holds no store.
#[test]
fn verify_says_when_a_postgresql_store_cannot_be_reached_or_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let signer = dossier_tlog::Signer::generate("test/log").unwrap();
    let key = signer.verifier().to_string();
    // Nothing listens on port 1.
    let (code, out, err) =
        dossier(&["verify", "--data", data, "--key", &key, "--store", "postgresql://dossier:s3cret@127.0.0.1:1/dossier"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("cannot open the PostgreSQL database dossier on 127.0.0.1:1 as dossier: storage failed: connecting to"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    // A URL this build cannot use is refused before connecting, without its password either.
    let (code, out, err) =
        dossier(&["verify", "--data", data, "--key", &key, "--store", "postgresql://dossier:s3cret@db/dossier?sslmode=require"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("--store \"postgresql://dossier:***@db/dossier?sslmode=require\""), "{err}");
    assert!(err.contains("sslmode=require, but this build connects without TLS for now"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");

    let Ok(database) = std::env::var("DOSSIER_TEST_POSTGRES") else {
        eprintln!("skipped the rest: DOSSIER_TEST_POSTGRES is not set");
        return;
    };
    let schema = Schema::create(&database);
    let (code, _, err) = dossier(&["verify", "--data", data, "--key", &key, "--store", &schema.url()]);
    assert_ne!(code, 0);
    assert!(err.contains("there is no Dossier store in the PostgreSQL database"), "{err}");
}
