//! What is particular to the PostgreSQL store: verification names every kind of tampering done
//! to the rows through SQL behind Dossier's back (as `psql` would), exactly as on SQLite
//! (`crates/store-sqlite/tests/store.rs`); schemas and formats it does not know are refused;
//! several handles — several processes — on one schema keep one tree; connections are bounded
//! and replaced when the server drops them. Each test runs in a scratch schema of the database
//! `DOSSIER_TEST_POSTGRES` names, and is skipped when it is unset. What every store must do is
//! the contract suite, run in `tests/contract.rs`.

use std::sync::Arc;

use dossier_store::testkit::{event, generated, sign};
use dossier_store::{verify, verify_extending, AppendOutcome, EventQuery, Problem, Store, StoreError};
use dossier_store_postgres::testkit::{test_database, with_search_path, ScratchSchema};
use dossier_store_postgres::{Config, PostgresStore};
use dossier_tlog::{tree, Signer};
use serde_json::Value;

/// A scratch schema, or `None` (the test is skipped) without a test database.
fn scratch(test: &str) -> Option<ScratchSchema> {
    test_database(test).map(|db| ScratchSchema::create(&db))
}

fn open(schema: &ScratchSchema) -> PostgresStore {
    PostgresStore::open(schema.url()).unwrap()
}

/// A store of `n` generated events with a signed checkpoint over all of them.
fn filled(schema: &ScratchSchema, n: u64, signer: &Signer) -> PostgresStore {
    let store = open(schema);
    store.append(&generated(n), 0).unwrap();
    sign(&store, signer);
    store
}

fn problems(report: &dossier_store::VerifyReport) -> Vec<String> {
    report.problems.iter().map(Problem::to_string).collect()
}

/// What verification finds (as `Problem`s) after `sql` ran on the rows of a store of 40
/// signed entries; `None` when the test is skipped.
fn problems_after(test: &str, sql: &str) -> Option<Vec<Problem>> {
    let schema = scratch(test)?;
    let signer = Signer::generate("test/log").unwrap();
    drop(filled(&schema, 40, &signer));
    schema.execute(sql);
    let store = open(&schema);
    Some(verify(&store, &signer.verifier(), |_| {}).unwrap().problems)
}

fn modified(seq: u64) -> Vec<Problem> {
    vec![Problem::Modified { seq }]
}

/// Bytes of `raw` edited as text, in SQL.
fn edit_raw(replace_with: &str, seq: u64) -> String {
    format!("UPDATE events SET raw = convert_to({replace_with}, 'UTF8') WHERE seq = {seq}")
}

#[test]
fn an_untouched_store_verifies() {
    // The control for the tampering below: closing and reopening alone finds nothing.
    let Some(found) = problems_after("an_untouched_store_verifies", "") else { return };
    assert_eq!(found, vec![]);
}

#[test]
fn verify_names_a_modified_row() {
    let sql = edit_raw("replace(convert_from(raw, 'UTF8'), 'ci-bot', 'mallory')", 7);
    let Some(found) = problems_after("verify_names_a_modified_row", &sql) else { return };
    assert_eq!(found, modified(7));
    assert_eq!(
        problems(&dossier_store::VerifyReport { problems: found, ..Default::default() }),
        vec!["entry 7 was modified: its content, raw bytes, receipt time or sender do not match its leaf hash"]
    );
}

/// The leaf covers the bytes `/raw` returns, not only the canonical form: an edit that leaves
/// the parsed event unchanged — whitespace, or a shadowing duplicate key placed before the real
/// one — is caught.
#[test]
fn verify_names_raw_bytes_edited_without_changing_the_event() {
    let test = "verify_names_raw_bytes_edited_without_changing_the_event";
    let Some(found) = problems_after(test, "UPDATE events SET raw = decode('20', 'hex') || raw WHERE seq = 4") else { return };
    assert_eq!(found, modified(4));
    let shadowed = edit_raw(r#"'{"subject":{"id":"innocent"},' || substr(convert_from(raw, 'UTF8'), 2)"#, 6);
    assert_eq!(problems_after(test, &shadowed).unwrap(), modified(6));
}

/// The receipt time and the sender are covered by the leaf too.
#[test]
fn verify_names_a_changed_receipt_time_or_sender() {
    let test = "verify_names_a_changed_receipt_time_or_sender";
    let Some(found) = problems_after(test, "UPDATE events SET received = received + 1 WHERE seq = 9") else { return };
    assert_eq!(found, modified(9));
    assert_eq!(problems_after(test, "UPDATE events SET sender = 'mallory' WHERE seq = 5").unwrap(), modified(5));
}

#[test]
fn verify_names_a_deleted_row() {
    let test = "verify_names_a_deleted_row";
    let Some(found) = problems_after(test, "DELETE FROM events WHERE seq = 12") else { return };
    assert_eq!(found, vec![Problem::Missing { from: 12, to: 13 }]);
    assert_eq!(problems(&dossier_store::VerifyReport { problems: found, ..Default::default() }), vec!["entry 12 is missing (deleted)"]);
    let found = problems_after(test, "DELETE FROM events WHERE seq >= 38").unwrap();
    assert_eq!(found, vec![Problem::Missing { from: 38, to: 40 }]);
    assert_eq!(
        problems(&dossier_store::VerifyReport { problems: found, ..Default::default() }),
        vec!["entries 38 to 39 are missing (deleted)"]
    );
}

#[test]
fn verify_names_reordered_rows() {
    let swap =
        "UPDATE events SET seq = -1 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = 5; UPDATE events SET seq = 5 WHERE seq = -1;";
    let Some(found) = problems_after("verify_names_reordered_rows", swap) else { return };
    assert_eq!(found, vec![Problem::Reordered { seq: 3, holds_content_of: 5 }, Problem::Reordered { seq: 5, holds_content_of: 3 }]);
    assert_eq!(
        problems(&dossier_store::VerifyReport { problems: found, ..Default::default() }),
        ["entry 3 holds the content logged as entry 5 (reordered)", "entry 5 holds the content logged as entry 3 (reordered)"]
    );
}

#[test]
fn verify_names_an_inserted_row() {
    let insert = r#"INSERT INTO events (seq, source, id, type, subject, chain, ts, received, raw)
         SELECT 40, source, id || '-forged', type, subject, chain, ts, received,
                convert_to(replace(convert_from(raw, 'UTF8'), '"id":"1-0"', '"id":"1-0-forged"'), 'UTF8')
         FROM events WHERE seq = 0"#;
    let Some(found) = problems_after("verify_names_an_inserted_row", insert) else { return };
    assert_eq!(found, vec![Problem::Inserted { seq: 40 }]);
    assert_eq!(
        problems(&dossier_store::VerifyReport { problems: found, ..Default::default() }),
        vec!["entry 40 is not in the log (inserted behind Dossier's back)"]
    );
}

#[test]
fn verify_names_a_truncated_tree() {
    let sql = "DELETE FROM events WHERE seq = 39; DELETE FROM nodes WHERE level = 0 AND idx = 39";
    let Some(found) = problems_after("verify_names_a_truncated_tree", sql) else { return };
    assert_eq!(found, vec![Problem::CheckpointBeyondLog { size: 40, entries: 39 }]);
}

#[test]
fn verify_names_a_changed_index_column() {
    let Some(found) = problems_after("verify_names_a_changed_index_column", "UPDATE events SET subject = 'forged' WHERE seq = 2") else {
        return;
    };
    assert_eq!(found, vec![Problem::IndexMismatch { seq: 2, field: "subject" }]);
}

#[test]
fn verify_names_index_rows_that_hide_evidence() {
    let test = "verify_names_index_rows_that_hide_evidence";
    let Some(found) = problems_after(test, "DELETE FROM event_types WHERE type = 'dev.cdevents.pipelinerun.queued.0.3.0'") else { return };
    assert_eq!(
        found,
        vec![Problem::IndexHides { index: "type", key: "dev.cdevents.pipelinerun.queued.0.3.0".into(), indexed: 0, entries: 4 }]
    );
    // The artifact of entry 3 (run 0's build) loses one of its index rows.
    let schema = scratch(test).unwrap();
    let signer = Signer::generate("test/log").unwrap();
    let store = filled(&schema, 40, &signer);
    let (purl, seq): (String, i64) = {
        let row = schema.client().query_one("SELECT purl, seq FROM artifact_refs ORDER BY seq, purl LIMIT 1", &[]).unwrap();
        (row.get(0), row.get(1))
    };
    let entries = store.query(&EventQuery { artifact: Some(purl.clone()), limit: 1000, ..Default::default() }).unwrap().events.len() as u64;
    drop(store);
    schema.execute(&format!("DELETE FROM artifact_refs WHERE purl = '{purl}' AND seq = {seq}"));
    let store = open(&schema);
    assert_eq!(
        verify(&store, &signer.verifier(), |_| {}).unwrap().problems,
        vec![Problem::IndexHides { index: "artifact", key: purl, indexed: entries - 1, entries }]
    );
}

#[test]
fn verify_catches_a_rewritten_log_by_its_signed_checkpoint() {
    // Rewriting an entry and every tree node above it is caught by the signature alone.
    let test = "verify_catches_a_rewritten_log_by_its_signed_checkpoint";
    let Some(schema) = scratch(test) else { return };
    let forged = scratch(test).unwrap();
    let signer = Signer::generate("test/log").unwrap();
    drop(filled(&schema, 8, &signer));
    {
        let other = open(&forged);
        let mut events = generated(8);
        let mut v: Value = serde_json::from_slice(&events[7].raw).unwrap();
        v["subject"]["content"]["user"] = "mallory".into();
        events[7] = event(&v);
        other.append(&events, 0).unwrap();
    }
    let f = forged.name();
    schema.execute(&format!(
        "DELETE FROM events; INSERT INTO events SELECT * FROM {f}.events; DELETE FROM nodes; INSERT INTO nodes SELECT * FROM {f}.nodes;"
    ));
    let store = open(&schema);
    let report = verify(&store, &signer.verifier(), |_| {}).unwrap();
    assert_eq!(report.problems, vec![Problem::CheckpointMismatch { size: 8 }]);
}

/// Every tamper issue 11 reported as passing verification on SQLite, here on PostgreSQL: each,
/// on a fresh store of 40 signed entries, fails verification against the checkpoint the
/// auditor saved before it, whatever the store's own checkpoints say.
#[test]
fn every_reported_tamper_fails_against_the_auditors_saved_checkpoint() {
    let test = "every_reported_tamper_fails_against_the_auditors_saved_checkpoint";
    let Some(database) = test_database(test) else { return };
    let cases: [(&str, String, &str); 7] = [
        (
            "checkpoints deleted, entry edited",
            format!("DELETE FROM checkpoints; {}", edit_raw("replace(convert_from(raw, 'UTF8'), 'ci-bot', 'mallory')", 7)),
            "entry 7 was modified",
        ),
        (
            "the newest entries removed with their nodes and checkpoints",
            "DELETE FROM events WHERE seq >= 30; DELETE FROM nodes WHERE (idx + 1) * (1 << level) > 30; DELETE FROM checkpoints".into(),
            "the trusted checkpoint covers 40 entries but the store has 30",
        ),
        (
            "a type's index row deleted",
            "DELETE FROM event_types WHERE type = 'dev.cdevents.pipelinerun.queued.0.3.0'".into(),
            "the type index finds 0 of the 4 entries",
        ),
        ("an artifact's index rows deleted", "DELETE FROM artifact_refs WHERE seq = 5".into(), "the artifact index finds"),
        ("a receipt time changed", "UPDATE events SET received = received + 1 WHERE seq = 9".into(), "entry 9 was modified"),
        (
            "whitespace added to the raw bytes",
            "UPDATE events SET raw = decode('20', 'hex') || raw WHERE seq = 4".into(),
            "entry 4 was modified",
        ),
        (
            "the tree's nodes and checkpoints deleted",
            "DELETE FROM nodes; DELETE FROM checkpoints".into(),
            "the trusted checkpoint covers 40 entries but the store has 0",
        ),
    ];
    for (what, sql, expected) in cases {
        let schema = ScratchSchema::create(&database);
        let signer = Signer::generate("test/log").unwrap();
        let saved = sign(&filled(&schema, 40, &signer), &signer).note;
        schema.execute(&sql);
        let report = match PostgresStore::open(schema.url()) {
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

fn incompatible(result: Result<PostgresStore, StoreError>) -> String {
    match result {
        Err(StoreError::Incompatible(message)) => message,
        Err(other) => panic!("expected StoreError::Incompatible, got {other:?}"),
        Ok(_) => panic!("expected StoreError::Incompatible, the store opened"),
    }
}

/// A database migrated by a newer Dossier is refused on opening, naming both schema
/// versions, and left as it is.
#[test]
fn a_database_with_a_newer_schema_is_refused_naming_both_versions() {
    let Some(schema) = scratch("a_database_with_a_newer_schema_is_refused_naming_both_versions") else { return };
    drop(filled(&schema, 3, &Signer::generate("test/log").unwrap()));
    let versions = |schema: &ScratchSchema| -> Vec<i32> {
        schema.client().query("SELECT version FROM dossier_schema ORDER BY version", &[]).unwrap().iter().map(|r| r.get(0)).collect()
    };
    assert_eq!(versions(&schema), vec![1]);
    assert_eq!(dossier_store_postgres::SCHEMA_VERSION, 1);
    schema.execute("INSERT INTO dossier_schema (version, applied_unix_nanos, description) VALUES (2, 0, 'from a newer Dossier')");
    let message = incompatible(PostgresStore::open(schema.url()));
    assert!(
        message.contains(&format!(
            "(schema {}) holds a Dossier store at schema version 2; this Dossier knows versions up to 1: run a Dossier as new as the one that migrated it",
            schema.name()
        )),
        "{message}"
    );
    assert!(message.starts_with("the PostgreSQL database "), "{message}");
    assert_eq!(versions(&schema), vec![1, 2]);
}

/// A store written in another log format is refused on opening, naming both formats, rather
/// than verified as if every entry had been modified.
#[test]
fn a_store_in_another_log_format_is_refused() {
    let Some(schema) = scratch("a_store_in_another_log_format_is_refused") else { return };
    drop(filled(&schema, 3, &Signer::generate("test/log").unwrap()));
    schema.execute("UPDATE meta SET value = '1' WHERE key = 'log_format'");
    let message = incompatible(PostgresStore::open(schema.url()));
    assert!(message.contains("holds a log in format 1; this Dossier reads and writes format 3 (docs/log-format.md)"), "{message}");
    // A store that does not record its format is format 1 as well.
    schema.execute("DELETE FROM meta");
    assert!(incompatible(PostgresStore::open(schema.url())).contains("in format 1"));
}

/// Opening twice migrates once, and a new store records format 3 and schema version 1.
#[test]
fn opening_migrates_once_and_records_the_format() {
    let Some(schema) = scratch("opening_migrates_once_and_records_the_format") else { return };
    drop(open(&schema));
    drop(open(&schema));
    let mut client = schema.client();
    let rows = client.query("SELECT version, description FROM dossier_schema", &[]).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i32>(0), 1);
    let format: String = client.query_one("SELECT value FROM meta WHERE key = 'log_format'", &[]).unwrap().get(0);
    assert_eq!(format, "3");
}

/// The tables go into the first schema of the search path; one holding a foreign `events`
/// table is refused rather than written into, and a search path naming no existing schema is
/// refused with a message saying what to do.
#[test]
fn a_schema_holding_other_tables_or_none_at_all_is_refused() {
    let test = "a_schema_holding_other_tables_or_none_at_all_is_refused";
    let Some(schema) = scratch(test) else { return };
    schema.execute("CREATE TABLE events (x INTEGER)");
    let err = PostgresStore::open(schema.url()).err().expect("refused").to_string();
    assert!(err.contains("applying a schema migration: db error: ERROR: relation \"events\" already exists"), "{err}");
    assert_eq!(schema.client().query("SELECT * FROM events", &[]).unwrap().len(), 0);

    let database = test_database(test).unwrap();
    let nowhere = with_search_path(&database, "no_such_schema_for_dossier");
    let err = PostgresStore::open(&nowhere).err().expect("refused").to_string();
    assert!(err.contains("no schema of the connection's search_path (no_such_schema_for_dossier) exists; create it first"), "{err}");
}

#[test]
fn two_handles_on_one_schema_append_in_turn_to_one_tree() {
    // Another process may append between two appends of this one: the tree in the database is
    // the truth.
    let Some(schema) = scratch("two_handles_on_one_schema_append_in_turn_to_one_tree") else { return };
    let (a, b) = (open(&schema), open(&schema));
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

/// Four handles — four sessions, as four processes would have — append at once, each its own
/// events and a share of everyone's: the advisory lock makes them take turns, so every event is
/// one entry, the entries are dense, and the tree is the one tree of the entries in order.
#[test]
fn concurrent_appenders_in_several_sessions_never_fork_the_tree() {
    let Some(schema) = scratch("concurrent_appenders_in_several_sessions_never_fork_the_tree") else { return };
    let stores: Vec<Arc<PostgresStore>> = (0..4).map(|_| Arc::new(open(&schema))).collect();
    let events = Arc::new(dossier_store::testkit::story(7, 200));
    let threads: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(i, store)| {
            let (store, events) = (store.clone(), events.clone());
            std::thread::spawn(move || {
                let mut outcomes = Vec::new();
                // Overlapping batches: every event is offered by two sessions.
                for chunk in 0..20 {
                    let from = (i * 50 + chunk * 5) % 200;
                    let batch: Vec<_> = (from..from + 10).map(|k| events[k % 200].clone()).collect();
                    outcomes.extend(store.append(&batch, 1).unwrap());
                }
                outcomes
            })
        })
        .collect();
    let mut accepted = Vec::new();
    for t in threads {
        for o in t.join().unwrap() {
            match o {
                AppendOutcome::Accepted { seq } => accepted.push(seq),
                AppendOutcome::Duplicate { .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    accepted.sort_unstable();
    assert_eq!(accepted, (0..200).collect::<Vec<_>>(), "every event is one entry, numbered densely");
    let store = &stores[0];
    assert_eq!(store.size().unwrap(), 200);
    let entries = store.scan(0, 1000).unwrap();
    let mut memory = dossier_tlog::MemoryTree::default();
    for e in &entries {
        let event = events.iter().find(|x| x.key == e.key).unwrap();
        memory.push(dossier_store::leaf_hash(event, 1));
    }
    for s in &stores {
        assert_eq!(s.root(200).unwrap(), memory.root());
    }
    let signer = Signer::generate("test/log").unwrap();
    sign(store.as_ref(), &signer);
    assert_eq!(verify(store.as_ref(), &signer.verifier(), |_| {}).unwrap().problems, vec![]);
}

/// The pool never opens more connections than its bound, however many callers there are.
#[test]
fn connections_are_bounded() {
    let test = "connections_are_bounded";
    let Some(schema) = scratch(test) else { return };
    let app = schema.name().to_owned();
    let url = format!("{}&application_name={app}", schema.url());
    let store = Arc::new(PostgresStore::open_config(url.parse::<Config>().unwrap(), 2).unwrap());
    store.append(&generated(50), 0).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..30 {
                    assert_eq!(store.query(&EventQuery { limit: 1000, ..Default::default() }).unwrap().events.len(), 50);
                }
            })
        })
        .collect();
    let watcher = {
        let (stop, mut client) = (stop.clone(), schema.client());
        std::thread::spawn(move || {
            let mut most = 0i64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let n: i64 = client.query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", &[&app]).unwrap().get(0);
                most = most.max(n);
            }
            most
        })
    };
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let most = watcher.join().unwrap();
    assert!((1..=2).contains(&most), "{most} connections were open at once; the bound is 2");
}

/// Connections the server drops (a restart, an administrator) are replaced: the call that
/// finds its connection dead fails, the next ones succeed on new connections.
#[test]
fn connections_the_server_dropped_are_replaced() {
    let Some(schema) = scratch("connections_the_server_dropped_are_replaced") else { return };
    let app = schema.name().to_owned();
    let url = format!("{}&application_name={app}", schema.url());
    let store = PostgresStore::open_config(url.parse::<Config>().unwrap(), 2).unwrap();
    store.append(&generated(5), 0).unwrap();
    let killed: i64 = schema
        .client()
        .query_one("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", &[&app])
        .unwrap()
        .get(0);
    assert_eq!(killed, 1);
    // Terminating is asynchronous: wait until the server has closed the connection.
    let mut admin = schema.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while admin.query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", &[&app]).unwrap().get::<_, i64>(0) > 0 {
        assert!(std::time::Instant::now() < deadline, "the terminated connection is still there after 10 s");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // The first call may find the dead connection; it fails without a false answer.
    if let Ok(size) = store.size() {
        assert_eq!(size, 5);
    }
    assert_eq!(store.size().unwrap(), 5);
    assert_eq!(store.append(&generated(6)[5..], 0).unwrap(), vec![AppendOutcome::Accepted { seq: 5 }]);
}

/// The store is usable from the threads of a Tokio runtime, as a careless async caller would
/// use it (the blocking client would otherwise panic there): on a current-thread runtime, on a
/// multi-threaded runtime's workers and on its blocking threads; and it can be dropped there.
#[test]
fn the_store_works_from_inside_an_async_runtime() {
    let Some(schema) = scratch("the_store_works_from_inside_an_async_runtime") else { return };
    let events = generated(9);
    let accepted = |seqs: std::ops::Range<u64>| seqs.map(|seq| AppendOutcome::Accepted { seq }).collect::<Vec<_>>();
    let current = tokio::runtime::Builder::new_current_thread().build().unwrap();
    current.block_on(async {
        let store = open(&schema);
        assert_eq!(store.append(&events[..3], 0).unwrap(), accepted(0..3));
        assert_eq!(store.size().unwrap(), 3);
        assert!(dossier_store_postgres::exists(&schema.url().parse().unwrap()).unwrap());
        drop(store);
    });
    let multi = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let store = Arc::new(open(&schema));
    let on_worker = store.clone();
    let worker_events = events[3..6].to_vec();
    let outcomes = multi.block_on(async move { tokio::spawn(async move { on_worker.append(&worker_events, 0).unwrap() }).await.unwrap() });
    assert_eq!(outcomes, accepted(3..6));
    let on_blocking = store.clone();
    let blocking_events = events[6..].to_vec();
    let outcomes =
        multi.block_on(async move { tokio::task::spawn_blocking(move || on_blocking.append(&blocking_events, 0).unwrap()).await.unwrap() });
    assert_eq!(outcomes, accepted(6..9));
    // In the runtime's own `block_on`, and dropped there.
    multi.block_on(async move {
        assert_eq!(store.size().unwrap(), 9);
        drop(store);
    });
}

/// An event holding U+0000 in an indexed field cannot be stored in PostgreSQL text: the append
/// fails before writing anything, naming the event and the field, and the log goes on. (Reading
/// an event refuses such a field first, for every store; this is the store's own defence, for an
/// event built otherwise.)
#[test]
fn an_event_holding_u0000_is_refused_by_name_and_nothing_is_written() {
    let Some(schema) = scratch("an_event_holding_u0000_is_refused_by_name_and_nothing_is_written") else { return };
    let store = open(&schema);
    let events = generated(3);
    let mut v: Value = serde_json::from_slice(&events[1].raw).unwrap();
    v["subject"]["id"] = "run\u{0}1".into();
    assert!(dossier_core::Event::from_json(serde_json::to_vec(&v).unwrap(), &v).is_err(), "reading the event refuses it");
    let mut nul = events[1].clone();
    nul.subject_id = "run\u{0}1".into();
    match store.append(&[events[0].clone(), nul], 0) {
        Err(StoreError::Backend(message)) => assert_eq!(
            message,
            format!(
                "event {:?} from {:?}: its subject holds the character U+0000, which PostgreSQL text cannot store",
                events[1].key.id, events[1].key.source
            )
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(store.size().unwrap(), 0);
    assert_eq!(store.append(&events, 0).unwrap(), (0..3).map(|seq| AppendOutcome::Accepted { seq }).collect::<Vec<_>>());
}
