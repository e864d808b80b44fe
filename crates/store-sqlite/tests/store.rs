//! What is particular to the SQLite store: verification catches every kind of tampering done
//! to a copy of the database behind Dossier's back, older databases are brought up to date on
//! opening, and several handles on one file keep one log. What every store must do is the
//! contract suite, run in `tests/contract.rs`.

use dossier_store::testkit::{event, generated, sign};
use dossier_store::{verify, verify_extending, AppendOutcome, EventQuery, Problem, Store, TypePattern};
use dossier_store_sqlite::SqliteStore;
use dossier_tlog::{tree, Signer};
use rusqlite::Connection;
use serde_json::Value;
use std::path::Path;

/// A store of `n` generated events with a signed checkpoint over all of them.
fn filled(dir: &Path, n: u64, signer: &Signer) -> SqliteStore {
    let store = SqliteStore::open(&dir.join("dossier.db")).unwrap();
    store.append(&generated(n), 0).unwrap();
    sign(&store, signer);
    store
}

/// What verification finds after `sql` ran on the database of 40 signed entries.
fn problems_after(sql: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    drop(filled(dir.path(), 40, &signer));
    Connection::open(dir.path().join("dossier.db")).unwrap().execute_batch(sql).unwrap();
    let store = SqliteStore::open(&dir.path().join("dossier.db")).unwrap();
    let report = verify(&store, &signer.verifier(), |_| {}).unwrap();
    report.problems.iter().map(Problem::to_string).collect()
}

#[test]
fn an_untouched_copy_verifies() {
    // The control for the tampering below: copying and reopening alone finds nothing.
    assert_eq!(problems_after(""), Vec::<String>::new());
}

#[test]
fn verify_names_a_modified_row() {
    assert_eq!(
        problems_after("UPDATE events SET raw = replace(raw, 'ci-bot', 'mallory') WHERE seq = 7"),
        vec!["entry 7 was modified: its content, raw bytes, receipt time or sender do not match its leaf hash"]
    );
}

/// The leaf covers the bytes `/raw` returns, not only the canonical form: an edit that leaves
/// the parsed event unchanged — whitespace, or a shadowing duplicate key placed before the real
/// one — is caught.
#[test]
fn verify_names_raw_bytes_edited_without_changing_the_event() {
    let modified =
        |seq: u64| vec![format!("entry {seq} was modified: its content, raw bytes, receipt time or sender do not match its leaf hash")];
    assert_eq!(problems_after("UPDATE events SET raw = CAST(' ' || CAST(raw AS TEXT) AS BLOB) WHERE seq = 4"), modified(4));
    assert_eq!(
        problems_after(
            r#"UPDATE events SET raw = CAST('{"subject":{"id":"innocent"},' || substr(CAST(raw AS TEXT), 2) AS BLOB) WHERE seq = 6"#
        ),
        modified(6)
    );
}

/// The receipt time is covered by the leaf too.
#[test]
fn verify_names_a_changed_receipt_time() {
    assert_eq!(
        problems_after("UPDATE events SET received = received + 1 WHERE seq = 9"),
        vec!["entry 9 was modified: its content, raw bytes, receipt time or sender do not match its leaf hash"]
    );
}

/// A store written in another log format is refused on opening, naming both formats, rather
/// than verified as if every entry had been modified.
#[test]
fn a_store_in_another_log_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(dir.path(), 3, &Signer::generate("test/log").unwrap()));
    let path = dir.path().join("dossier.db");
    Connection::open(&path).unwrap().execute_batch("UPDATE meta SET value = '1' WHERE key = 'log_format'").unwrap();
    let err = SqliteStore::open(&path).err().expect("refused").to_string();
    assert!(err.contains("holds a log in format 1; this Dossier reads and writes format 3 (docs/log-format.md)"), "{err}");
    // A store from before the format was recorded is format 1 as well.
    Connection::open(&path).unwrap().execute_batch("DELETE FROM meta").unwrap();
    assert!(SqliteStore::open(&path).err().expect("refused").to_string().contains("in format 1"));
}

/// The sender is covered by the leaf: naming another principal is a modification, and so is
/// removing the sender.
#[test]
fn verify_names_a_changed_sender() {
    let modified =
        |seq: u64| vec![format!("entry {seq} was modified: its content, raw bytes, receipt time or sender do not match its leaf hash")];
    assert_eq!(problems_after("UPDATE events SET sender = 'mallory' WHERE seq = 5"), modified(5));
}

/// A format 2 store (no senders) is upgraded in place when opened: the column is added, the
/// format recorded, and its entries still verify as the format 2 leaves they are.
#[test]
fn a_format_2_store_is_upgraded_and_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    drop(filled(dir.path(), 10, &signer));
    let path = dir.path().join("dossier.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("ALTER TABLE events DROP COLUMN sender; UPDATE meta SET value = '2' WHERE key = 'log_format'")
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(verify(&store, &signer.verifier(), |_| {}).unwrap().problems, Vec::new());
    let format: String =
        Connection::open(&path).unwrap().query_row("SELECT value FROM meta WHERE key = 'log_format'", [], |r| r.get(0)).unwrap();
    assert_eq!(format, "3");
}

#[test]
fn verify_names_a_deleted_row() {
    assert_eq!(problems_after("DELETE FROM events WHERE seq = 12"), vec!["entry 12 is missing (deleted)"]);
    assert_eq!(problems_after("DELETE FROM events WHERE seq >= 38"), vec!["entries 38 to 39 are missing (deleted)"]);
}

#[test]
fn verify_names_reordered_rows() {
    let problems = problems_after(
        "UPDATE events SET seq = -1 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = 5; UPDATE events SET seq = 5 WHERE seq = -1;",
    );
    assert_eq!(
        problems,
        ["entry 3 holds the content logged as entry 5 (reordered)", "entry 5 holds the content logged as entry 3 (reordered)"]
    );
}

#[test]
fn verify_names_an_inserted_row() {
    let problems = problems_after(
        "INSERT INTO events (seq, source, id, type, subject, chain, ts, received, raw)
         SELECT 40, source, id || '-forged', type, subject, chain, ts, received,
                CAST(replace(CAST(raw AS TEXT), '\"id\":\"1-0\"', '\"id\":\"1-0-forged\"') AS BLOB)
         FROM events WHERE seq = 0",
    );
    assert_eq!(problems, vec!["entry 40 is not in the log (inserted behind Dossier's back)"]);
}

#[test]
fn verify_names_a_truncated_tree() {
    assert_eq!(
        problems_after("DELETE FROM events WHERE seq = 39; DELETE FROM nodes WHERE level = 0 AND idx = 39"),
        vec!["the signed checkpoint covers 40 entries but the store has 39 (entries were removed)".to_string(),]
    );
}

#[test]
fn verify_names_a_changed_index_column() {
    assert_eq!(
        problems_after("UPDATE events SET subject = 'forged' WHERE seq = 2"),
        vec!["entry 2: indexed subject differs from the event's content"]
    );
}

#[test]
fn verify_catches_a_rewritten_log_by_its_signed_checkpoint() {
    // Rewriting an entry and every tree node above it is caught by the signature alone.
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    drop(filled(dir.path(), 8, &signer));
    let db = dir.path().join("dossier.db");
    let forged = dir.path().join("forged.db");
    {
        let other = SqliteStore::open(&forged).unwrap();
        let mut events = generated(8);
        let mut v: Value = serde_json::from_slice(&events[7].raw).unwrap();
        v["subject"]["content"]["user"] = "mallory".into();
        events[7] = event(&v);
        other.append(&events, 0).unwrap();
    }
    let conn = Connection::open(&db).unwrap();
    conn.execute("ATTACH DATABASE ?1 AS forged", [forged.to_str().unwrap()]).unwrap();
    conn.execute_batch("DELETE FROM events; INSERT INTO events SELECT * FROM forged.events; DELETE FROM nodes; INSERT INTO nodes SELECT * FROM forged.nodes;").unwrap();
    drop(conn);
    let store = SqliteStore::open(&db).unwrap();
    let report = verify(&store, &signer.verifier(), |_| {}).unwrap();
    assert_eq!(
        report.problems.iter().map(Problem::to_string).collect::<Vec<_>>(),
        vec!["the signed checkpoint at size 8 does not match the entries: the log was rewritten"]
    );
}

#[test]
fn the_types_stored_are_listed_once_and_an_older_database_gets_its_list_on_opening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dossier.db");
    let store = SqliteStore::open(&path).unwrap();
    store.append(&generated(100), 0).unwrap();
    let conn = Connection::open(&path).unwrap();
    let types: i64 = conn.query_row("SELECT count(*) FROM event_types", [], |r| r.get(0)).unwrap();
    assert_eq!(types, 10);
    // A database from before `event_types` existed has events and no list of their types.
    conn.execute_batch("DELETE FROM event_types").unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    let types: i64 = conn.query_row("SELECT count(*) FROM event_types", [], |r| r.get(0)).unwrap();
    assert_eq!(types, 10);
    let q = EventQuery { types: vec![TypePattern("dev.cdevents.artifact.*".into())], limit: 1000, ..Default::default() };
    assert_eq!(store.query(&q).unwrap().events.len(), 30);
}

/// Issue 14: artifacts are indexed in canonical form (`sha256:…`). A database written before
/// indexed each as its event spelled it (`sha256%3A…` from the generator); opening it renames
/// them once, so that a query in any spelling finds them, and the store still verifies: the
/// events' raw bytes are not touched.
#[test]
fn an_index_of_artifacts_as_spelled_is_renamed_to_canonical_form_on_opening() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    drop(filled(dir.path(), 40, &signer));
    let path = dir.path().join("dossier.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "UPDATE artifact_refs SET purl = replace(purl, 'sha256:', 'sha256%3A'); DELETE FROM meta WHERE key = 'artifact_names';",
    )
    .unwrap();
    let count = |conn: &Connection, filter: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM artifact_refs WHERE {filter}"), [], |r| r.get(0)).unwrap()
    };
    let (spelled, canonical) = ("instr(purl, 'sha256%3A') > 0", "instr(purl, 'sha256:') > 0");
    assert_eq!((count(&conn, spelled), count(&conn, canonical)), (20, 0), "an older index, as the events spelled the artifacts");

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!((count(&conn, spelled), count(&conn, canonical)), (0, 20));
    // Run 3's image, as the generator spells it in its events.
    let purl = generated(40)[34].subject_id.clone();
    assert!(purl.contains("sha256%3A"), "{purl}");
    for spelling in [purl.clone(), purl.replace("%3A", ":")] {
        let found = store.query(&EventQuery { artifact: Some(spelling), limit: 1000, ..Default::default() }).unwrap();
        assert_eq!(found.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![33, 34, 35, 37, 38]);
        assert!(String::from_utf8_lossy(&found.events[1].raw).contains(&purl), "the raw bytes keep the spelling received");
    }
    assert_eq!(problems(&verify(&store, &signer.verifier(), |_| {}).unwrap()), Vec::<String>::new());
}

#[test]
fn two_handles_on_one_file_append_in_turn_to_one_tree() {
    // Another process may append between two appends of this one: the tree on disk is the truth.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dossier.db");
    let (a, b) = (SqliteStore::open(&path).unwrap(), SqliteStore::open(&path).unwrap());
    let events = generated(30);
    let accepted = |seqs: std::ops::Range<u64>| seqs.map(|seq| AppendOutcome::Accepted { seq }).collect::<Vec<_>>();
    assert_eq!(a.append(&events[..10], 0).unwrap(), accepted(0..10));
    let mut outcomes: Vec<_> = (5..10).map(|seq| AppendOutcome::Duplicate { seq }).collect();
    outcomes.extend(accepted(10..20));
    assert_eq!(b.append(&events[5..20], 0).unwrap(), outcomes);
    assert_eq!(a.append(&events[20..], 0).unwrap(), accepted(20..30));
    let mut memory = dossier_tlog::MemoryTree::default();
    for e in &events {
        memory.push(dossier_store::leaf_hash(e, 0));
    }
    for store in [&a, &b] {
        assert_eq!(store.size().unwrap(), 30);
        assert_eq!(store.root(30).unwrap(), memory.root());
        let proof = store.inclusion_proof(15, 30).unwrap();
        assert_eq!(tree::verify_inclusion(&dossier_store::leaf_hash(&events[15], 0), 15, 30, &proof, &memory.root()), Ok(()));
    }
}

/// An operator who holds the database *and* the key rewrites history: entry 7 of 12 changed,
/// events and tree replaced, the store's own checkpoints removed and a new one signed with the
/// same key. The store's own checkpoint now vouches for the forgery; only a checkpoint the
/// auditor saved before tells.
fn rewritten_by_the_key_holder(dir: &Path, signer: &Signer) -> (SqliteStore, String) {
    let store = filled(dir, 12, signer);
    let saved = store.latest_checkpoint().unwrap().unwrap().note;
    drop(store);
    let db = dir.join("dossier.db");
    let forged = dir.join("forged.db");
    {
        let other = SqliteStore::open(&forged).unwrap();
        let mut events = generated(12);
        let mut v: Value = serde_json::from_slice(&events[7].raw).unwrap();
        v["subject"]["content"]["user"] = "mallory".into();
        events[7] = event(&v);
        other.append(&events, 0).unwrap();
    }
    let conn = Connection::open(&db).unwrap();
    conn.execute("ATTACH DATABASE ?1 AS forged", [forged.to_str().unwrap()]).unwrap();
    conn.execute_batch(
        "DELETE FROM events; INSERT INTO events SELECT * FROM forged.events; DELETE FROM nodes; INSERT INTO nodes SELECT * FROM forged.nodes; DELETE FROM checkpoints;",
    )
    .unwrap();
    drop(conn);
    (SqliteStore::open(&db).unwrap(), saved)
}

fn problems(report: &dossier_store::VerifyReport) -> Vec<String> {
    report.problems.iter().map(Problem::to_string).collect()
}

#[test]
fn a_store_without_any_signed_checkpoint_is_not_vouched_for() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    let (store, _) = rewritten_by_the_key_holder(dir.path(), &signer);
    let report = verify(&store, &signer.verifier(), |_| {}).unwrap();
    assert_eq!(problems(&report), vec!["nothing signed to verify against: 12 entries and no signed checkpoint in the store"]);
}

#[test]
fn history_rewritten_and_re_signed_with_the_same_key_fails_against_the_auditors_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    let (store, saved) = rewritten_by_the_key_holder(dir.path(), &signer);
    sign(&store, &signer);
    // The store's own evidence is consistent: plain verification passes.
    assert_eq!(problems(&verify(&store, &signer.verifier(), |_| {}).unwrap()), Vec::<String>::new());
    let report = verify_extending(&store, &signer.verifier(), Some(&saved), |_| {}).unwrap();
    assert_eq!(
        problems(&report),
        vec!["the store does not extend the trusted checkpoint at size 12: its first 12 entries give another root (history was rewritten)"]
    );
    assert_eq!(report.trusted_size, None);
}

#[test]
fn entries_removed_after_the_auditors_checkpoint_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    let store = filled(dir.path(), 30, &signer);
    let saved = store.latest_checkpoint().unwrap().unwrap().note;
    drop(store);
    // The last 10 entries go, with their tree nodes and the checkpoint that covered them; the
    // rest is re-signed.
    let db = dir.path().join("dossier.db");
    let shorter = dir.path().join("shorter.db");
    SqliteStore::open(&shorter).unwrap().append(&generated(20), 0).unwrap();
    let conn = Connection::open(&db).unwrap();
    conn.execute("ATTACH DATABASE ?1 AS shorter", [shorter.to_str().unwrap()]).unwrap();
    conn.execute_batch(
        "DELETE FROM events WHERE seq >= 20; DELETE FROM nodes; INSERT INTO nodes SELECT * FROM shorter.nodes; DELETE FROM checkpoints;",
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&db).unwrap();
    sign(&store, &signer);
    assert_eq!(problems(&verify(&store, &signer.verifier(), |_| {}).unwrap()), Vec::<String>::new(), "consistent on its own");
    let report = verify_extending(&store, &signer.verifier(), Some(&saved), |_| {}).unwrap();
    assert_eq!(
        problems(&report),
        vec!["the trusted checkpoint covers 30 entries but the store has 20: entries were removed after it was signed"]
    );
}

#[test]
fn an_honest_store_extends_the_auditors_checkpoint_and_a_foreign_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    let store = filled(dir.path(), 12, &signer);
    let saved = store.latest_checkpoint().unwrap().unwrap().note;
    store.append(&generated(20)[12..], 0).unwrap();
    sign(&store, &signer);
    let report = verify_extending(&store, &signer.verifier(), Some(&saved), |_| {}).unwrap();
    assert_eq!((problems(&report), report.trusted_size, report.unsigned()), (Vec::<String>::new(), Some(12), 0));

    let other = Signer::generate("other/log").unwrap();
    let report = verify_extending(&store, &other.verifier(), Some(&saved), |_| {}).unwrap();
    assert!(
        problems(&report).iter().any(|p| p.starts_with("the trusted checkpoint: ")),
        "a checkpoint that does not verify with the key is refused: {:?}",
        problems(&report)
    );
}

#[test]
fn verify_names_index_rows_that_hide_evidence() {
    let problems = problems_after("DELETE FROM event_types WHERE type = 'dev.cdevents.pipelinerun.queued.0.3.0'");
    assert_eq!(
        problems,
        vec!["the type index finds 0 of the 4 entries for \"dev.cdevents.pipelinerun.queued.0.3.0\": queries would not see the others"]
    );
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    let store = filled(dir.path(), 40, &signer);
    let (purl, seq): (String, i64) = {
        let conn = Connection::open(dir.path().join("dossier.db")).unwrap();
        conn.query_row("SELECT purl, seq FROM artifact_refs ORDER BY seq LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
    };
    let entries = store.query(&EventQuery { artifact: Some(purl.clone()), limit: 1000, ..Default::default() }).unwrap().events.len();
    drop(store);
    let problems = problems_after_in(dir.path(), &signer, &format!("DELETE FROM artifact_refs WHERE purl = '{purl}' AND seq = {seq}"));
    assert_eq!(
        problems,
        vec![format!("the artifact index finds {} of the {entries} entries for {purl:?}: queries would not see the others", entries - 1)]
    );
}

/// What verification finds after `sql` ran on the database in `dir`.
fn problems_after_in(dir: &Path, signer: &Signer, sql: &str) -> Vec<String> {
    Connection::open(dir.join("dossier.db")).unwrap().execute_batch(sql).unwrap();
    let store = SqliteStore::open(&dir.join("dossier.db")).unwrap();
    verify(&store, &signer.verifier(), |_| {}).unwrap().problems.iter().map(Problem::to_string).collect()
}

#[test]
fn a_key_that_changed_is_named_with_both_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    let store = filled(dir.path(), 5, &signer);
    // Someone replaced the log's key (same name) and gives the auditor the new one.
    let replaced = Signer::generate("test/log").unwrap();
    let report = verify(&store, &replaced.verifier(), |_| {}).unwrap();
    assert_eq!(
        problems(&report),
        vec![format!(
            "checkpoint at size 5: it is signed by {} and not by the key you gave ({}): the log's key changed, or this is another log",
            signer.verifier().fingerprint(),
            replaced.verifier().fingerprint()
        )]
    );
}

/// Every tamper issue 11 reported as passing verification, each on a fresh copy of a store of
/// 40 signed entries, fails `verify --trusted-checkpoint` with the checkpoint the auditor saved
/// before it — with the store's own checkpoints deleted, whatever they say.
#[test]
fn every_reported_tamper_fails_against_the_auditors_saved_checkpoint() {
    let cases: [(&str, &str, &str); 8] = [
        (
            "checkpoints deleted, entry edited",
            "DELETE FROM checkpoints; UPDATE events SET raw = replace(raw, 'ci-bot', 'mallory') WHERE seq = 7",
            "entry 7 was modified",
        ),
        (
            "the newest entries removed with their nodes and checkpoints",
            "DELETE FROM events WHERE seq >= 30; DELETE FROM nodes WHERE (idx + 1) * (1 << level) > 30; DELETE FROM checkpoints",
            "the trusted checkpoint covers 40 entries but the store has 30",
        ),
        (
            "a type's index row deleted",
            "DELETE FROM event_types WHERE type = 'dev.cdevents.pipelinerun.queued.0.3.0'",
            "the type index finds 0 of the 4 entries",
        ),
        ("an artifact's index rows deleted", "DELETE FROM artifact_refs WHERE seq = 5", "the artifact index finds"),
        ("a receipt time changed", "UPDATE events SET received = received + 1 WHERE seq = 9", "entry 9 was modified"),
        (
            "whitespace added to the raw bytes",
            "UPDATE events SET raw = CAST(' ' || CAST(raw AS TEXT) AS BLOB) WHERE seq = 4",
            "entry 4 was modified",
        ),
        (
            "a shadowing duplicate key injected into the raw bytes",
            r#"UPDATE events SET raw = CAST('{"subject":{"id":"innocent"},' || substr(CAST(raw AS TEXT), 2) AS BLOB) WHERE seq = 6"#,
            "entry 6 was modified",
        ),
        (
            "the tree's nodes and checkpoints deleted",
            "DELETE FROM nodes; DELETE FROM checkpoints",
            "the trusted checkpoint covers 40 entries but the store has 0",
        ),
    ];
    for (what, sql, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let signer = Signer::generate("test/log").unwrap();
        let saved = sign(&filled(dir.path(), 40, &signer), &signer).note;
        let db = dir.path().join("dossier.db");
        Connection::open(&db).unwrap().execute_batch(sql).unwrap();
        let report = match SqliteStore::open(&db) {
            Ok(store) => verify_extending(&store, &signer.verifier(), Some(&saved), |_| {}),
            Err(e) => Err(e),
        };
        let found = match report {
            Ok(r) => problems(&r),
            Err(e) => vec![e.to_string()],
        };
        assert!(found.iter().any(|p| p.contains(expected)), "{what}: expected {expected:?} among {found:?}");
    }
}

/// With witness keys, verification holds the store to the newest checkpoint a quorum cosigned,
/// and entries after it fail: an operator who rolls the store back to an old witnessed
/// checkpoint and rewrites what follows, re-signing it with the log's key, is caught.
#[test]
fn entries_after_the_newest_witnessed_checkpoint_are_not_vouched_for() {
    use dossier_store::{verify_trusting, StoredCheckpoint, Trust};
    use dossier_tlog::cosignature::with_cosignatures;
    use dossier_tlog::{Checkpoint, Cosigner};
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::generate("test/log").unwrap();
    let (a, b) = (Cosigner::generate("w/a").unwrap(), Cosigner::generate("w/b").unwrap());
    let store = SqliteStore::open(&dir.path().join("dossier.db")).unwrap();
    let events = generated(20);
    store.append(&events[..10], 0).unwrap();
    let body = Checkpoint { origin: "test/log".into(), size: 10, root: store.root(10).unwrap() }.body();
    let cosigned = with_cosignatures(&signer.sign(&body), &format!("{}{}", a.cosign(&body, 1_764_668_800), b.cosign(&body, 1_764_668_801)));
    store.save_checkpoint(&StoredCheckpoint { size: 10, note: cosigned }).unwrap();
    store.append(&events[10..], 0).unwrap();
    sign(&store, &signer); // size 20, by the log's key alone
    let keys = [a.verifier(), b.verifier(), a.verifier()];
    let verify_with = |quorum: usize| {
        let report = verify_trusting(&store, &Trust { key: &signer.verifier(), trusted: None, witnesses: &keys, quorum }, |_| {}).unwrap();
        (problems(&report), report.witnessed.map(|(size, by)| (size, by.len())))
    };
    assert_eq!(
        verify_with(0),
        (
            vec!["the newest 10 entries come after the newest checkpoint the witnesses cosigned (size 10): only the log's own key vouches for them, and whoever holds it could have rewritten them; verify again once they are witnessed, or against the witness's own checkpoint (--trusted-checkpoint)".to_owned()],
            Some((10, 2))
        ),
        "a key given twice counts once: the quorum of all is 2"
    );
    // Once the newest checkpoint is cosigned too, the store verifies whole.
    let body = Checkpoint { origin: "test/log".into(), size: 20, root: store.root(20).unwrap() }.body();
    let note = with_cosignatures(&signer.sign(&body), &a.cosign(&body, 1_764_668_900));
    store.save_checkpoint(&StoredCheckpoint { size: 20, note }).unwrap();
    assert_eq!(verify_with(1), (Vec::<String>::new(), Some((20, 1))));
    assert_eq!(verify_with(2).1, Some((10, 2)), "with a quorum of 2 the newest witnessed is still 10");
}
