//! The SQLite store: de-duplication, queries, proofs, and verification that catches every
//! kind of tampering done to a copy of the database behind Dossier's back.

use dossier_core::{Event, EventKey};
use dossier_store::{verify, AppendOutcome, EventQuery, Order, Problem, Store, StoredCheckpoint, TypePattern};
use dossier_store_sqlite::SqliteStore;
use dossier_tlog::{tree, Checkpoint, Signer};
use rusqlite::Connection;
use serde_json::Value;
use std::path::Path;

fn event(v: &Value) -> Event {
    dossier_cdevents::validate(v).unwrap();
    Event::from_json(serde_json::to_vec(v).unwrap(), v).unwrap()
}

fn generated(n: u64) -> Vec<Event> {
    let g = dossier_gen::Generator::new(1);
    (0..n).map(|i| event(&g.event(i))).collect()
}

/// A store of `n` generated events with a signed checkpoint over all of them.
fn filled(dir: &Path, n: u64, signer: &Signer) -> SqliteStore {
    let store = SqliteStore::open(&dir.join("dossier.db")).unwrap();
    store.append(&generated(n), 0).unwrap();
    sign(&store, signer);
    store
}

fn sign(store: &SqliteStore, signer: &Signer) {
    let size = store.size().unwrap();
    let cp = Checkpoint { origin: signer.name().into(), size, root: store.root(size).unwrap() };
    store.save_checkpoint(&StoredCheckpoint { size, note: signer.sign(&cp.body()) }).unwrap();
}

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
fn identical_retransmission_is_a_duplicate_and_a_changed_one_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dossier.db")).unwrap();
    let g = dossier_gen::Generator::new(9);
    let original = g.event(0);
    let mut changed = original.clone();
    changed["subject"]["content"]["pipelineName"] = "other".into();
    // Same event, other whitespace and key order: same canonical form.
    let reformatted = serde_json::to_vec_pretty(&original).unwrap();
    let out = store.append(&[event(&original), Event::from_json(reformatted, &original).unwrap(), event(&changed)], 0).unwrap();
    assert_eq!(
        out,
        vec![AppendOutcome::Accepted { seq: 0 }, AppendOutcome::Duplicate { seq: 0 }, AppendOutcome::Conflict { seq: 0, conflict: 1 }]
    );
    assert_eq!(store.size().unwrap(), 1);
    let conflicts = store.conflicts(10).unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].existing_seq, 0);
    assert_eq!(conflicts[0].raw, serde_json::to_vec(&changed).unwrap());
}

#[test]
fn queries_filter_by_type_glob_subject_artifact_and_time_and_page_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dossier.db")).unwrap();
    store.append(&generated(100), 0).unwrap();
    let artifacts = EventQuery { types: vec![TypePattern("dev.cdevents.artifact.*".into())], limit: 1000, ..Default::default() };
    assert_eq!(store.query(&artifacts).unwrap().events.len(), 30);

    let purl = dossier_gen::Generator::new(1).artifact(3);
    let timeline = EventQuery { artifact: Some(purl.clone()), limit: 100, ..Default::default() };
    let seqs: Vec<u64> = store.query(&timeline).unwrap().events.iter().map(|e| e.seq).collect();
    // build.finished, packaged, signed, published, deployed of run 3.
    assert_eq!(seqs, vec![33, 34, 35, 37, 38]);

    let mut q = EventQuery { subject: Some(purl), order: Order::NewestFirst, limit: 2, ..Default::default() };
    let first = store.query(&q).unwrap();
    assert_eq!(first.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![37, 35]);
    q.after = first.next;
    let second = store.query(&q).unwrap();
    assert_eq!(second.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![34]);
    assert_eq!(second.next, None);

    let t0 = 1_767_225_600_000_000_000i64;
    let window = EventQuery { since: Some(t0 + 10_000_000_000), until: Some(t0 + 12_000_000_000), limit: 10, ..Default::default() };
    assert_eq!(store.query(&window).unwrap().events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![10, 11]);
}

#[test]
fn a_type_pattern_spanning_several_types_pages_newest_first_in_log_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dossier.db")).unwrap();
    store.append(&generated(100), 0).unwrap();
    // packaged (step 4), signed (5), published (7) of each run of 10 events.
    let mut q = EventQuery {
        types: vec![TypePattern("dev.cdevents.artifact.*".into())],
        order: Order::NewestFirst,
        limit: 4,
        ..Default::default()
    };
    let first = store.query(&q).unwrap();
    assert_eq!(first.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![97, 95, 94, 87]);
    q.after = first.next;
    assert_eq!(store.query(&q).unwrap().events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![85, 84, 77, 75]);
    // Two patterns, one of them exact; a pattern no stored type matches adds nothing.
    let q = EventQuery {
        types: vec![
            TypePattern("dev.cdevents.artifact.signed.0.3.0".into()),
            TypePattern("dev.cdevents.service.*".into()),
            TypePattern("dev.nothing.*".into()),
        ],
        limit: 4,
        ..Default::default()
    };
    assert_eq!(store.query(&q).unwrap().events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5, 8, 15, 18]);
    // A range of the log: after 20, before 40.
    let q = EventQuery {
        types: vec![TypePattern("dev.cdevents.artifact.*".into())],
        after: Some(20),
        before: Some(40),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(store.query(&q).unwrap().events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![24, 25, 27, 34, 35, 37]);
    // The types stored are listed once; reopening an older database lists them again.
    let conn = Connection::open(dir.path().join("dossier.db")).unwrap();
    let types: i64 = conn.query_row("SELECT count(*) FROM event_types", [], |r| r.get(0)).unwrap();
    assert_eq!(types, 10);
    conn.execute_batch("DELETE FROM event_types").unwrap();
    drop(store);
    let store = SqliteStore::open(&dir.path().join("dossier.db")).unwrap();
    let q = EventQuery { types: vec![TypePattern("dev.cdevents.artifact.*".into())], limit: 1000, ..Default::default() };
    assert_eq!(store.query(&q).unwrap().events.len(), 30);
}

#[test]
fn proofs_verify_against_roots_and_the_tree_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dossier.db");
    let store = SqliteStore::open(&path).unwrap();
    let events = generated(50);
    store.append(&events[..20], 0).unwrap();
    let root20 = store.root(20).unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    store.append(&events[20..], 0).unwrap();
    let root50 = store.root(50).unwrap();
    for seq in [0, 19, 20, 49] {
        let leaf = dossier_store::leaf_hash(&events[seq as usize]);
        let proof = store.inclusion_proof(seq, 50).unwrap();
        assert_eq!(tree::verify_inclusion(&leaf, seq, 50, &proof, &root50), Ok(()));
    }
    let proof = store.consistency_proof(20, 50).unwrap();
    assert_eq!(tree::verify_consistency(20, 50, &root20, &root50, &proof), Ok(()));
    assert!(store.inclusion_proof(50, 50).is_err());
    assert!(store.consistency_proof(0, 50).is_err());
    assert!(store.consistency_proof(20, 51).is_err());
}

#[test]
fn an_untouched_store_verifies() {
    assert_eq!(problems_after(""), Vec::<String>::new());
}

#[test]
fn verify_names_a_modified_row() {
    assert_eq!(
        problems_after("UPDATE events SET raw = replace(raw, 'ci-bot', 'mallory') WHERE seq = 7"),
        vec!["entry 7 was modified: its content does not match its leaf hash"]
    );
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
fn get_by_key_finds_the_stored_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dossier.db")).unwrap();
    store.append(&generated(3), 0).unwrap();
    let e = store.get_by_key(&EventKey { source: "/dossier-gen/1".into(), id: "1-2".into() }).unwrap().unwrap();
    assert_eq!(e.seq, 2);
    assert_eq!(store.get(2).unwrap().unwrap().raw, e.raw);
    assert!(store.get(3).unwrap().is_none());
}
