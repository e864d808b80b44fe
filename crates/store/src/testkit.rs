//! The store contract: what every [`Store`] backend must do, written as a test suite.
//!
//! A backend runs the whole suite from its own tests with one line, given an expression that
//! makes new, empty storage for one case (a [`Backend`]):
//!
//! ```text
//! dossier_store::store_contract_tests!(TempSqlite::new());
//! ```
//!
//! where `TempSqlite` holds a temporary directory and its `Backend::open` opens
//! `dir/dossier.db` (see `crates/store-sqlite/tests/contract.rs`). That expands to one
//! `#[test]` per case, named after the case (the functions of [`cases`]), in the module where
//! it is written; the backend's crate takes `dossier-store` as a dev-dependency with the
//! `testkit` feature. [`run_all`] runs the same cases outside a test harness.
//!
//! Each case states one rule of the contract and asserts exact outcomes. The events are the
//! deterministic story of `dossier-gen` ([`story`]): with seed 1, pipeline run `r` is entries
//! `10r .. 10r + 10`, in this order of types (all `dev.cdevents.*`): `pipelinerun.queued`,
//! `pipelinerun.started`, `taskrun.finished`, `build.finished` (naming the run's artifact),
//! `artifact.packaged`, `artifact.signed`, `testsuiterun.finished`, `artifact.published`,
//! `service.deployed` (naming the artifact) and `ticket.created`, all in chain `chain-1-r`;
//! event `i` is timestamped within second `i` after 2026-01-01T00:00:00Z.
//!
//! Tree hashes are checked against an independent computation ([`reference_root`], the
//! recursive definition of RFC 6962) and proofs with `dossier_tlog`'s verifiers, so a backend
//! cannot pass by being consistent with itself only.

use std::sync::Arc;

use dossier_core::Event;
use dossier_tlog::{tree, Checkpoint, Hash, Signer};
use serde_json::Value;

use crate::{Store, StoredCheckpoint, StoredEvent};

/// Storage for one store, empty when made: a database file in a temporary directory, a
/// scratch schema. The suite makes a new one for every case; dropping it may delete the data.
pub trait Backend {
    /// Opens the store. The first call finds it empty; every later call opens the same data
    /// again, as a restart would (the suite drops the previous handle first).
    fn open(&self) -> Arc<dyn Store>;
}

/// Expands to one `#[test]` per contract case, each calling a case of
/// [`testkit::cases`](crate::testkit::cases) with a new backend made by the expression given.
///
/// ```text
/// dossier_store::store_contract_tests!(TempSqlite::new());
/// ```
#[macro_export]
macro_rules! store_contract_tests {
    (@tests [$make:expr] [$($case:ident),* $(,)?]) => {
        $(
            #[test]
            fn $case() {
                let backend = $make;
                $crate::testkit::cases::$case(&backend);
            }
        )*
    };
    (@list [] [$($case:ident),* $(,)?]) => {
        &[$((stringify!($case), $crate::testkit::cases::$case as $crate::testkit::Case)),*]
    };
    ($make:expr $(,)?) => {
        $crate::__store_contract_cases!(@tests [$make]);
    };
}

/// The one list of contract cases, handed to [`store_contract_tests`] in the mode given.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_contract_cases {
    (@$mode:ident [$($arg:tt)*]) => {
        $crate::store_contract_tests! { @$mode [$($arg)*] [
            an_empty_store_holds_nothing,
            appends_get_dense_sequence_numbers_in_order,
            an_identical_retransmission_is_a_duplicate,
            a_changed_event_under_the_same_key_is_a_conflict_kept_out_of_the_log,
            the_same_id_from_another_source_is_another_event,
            a_batch_with_repeats_inside_it_is_deduplicated_in_order,
            conflicts_are_listed_newest_first,
            get_returns_each_entry_as_stored,
            get_by_key_finds_an_entry_by_source_and_id,
            scan_reads_ranges_of_the_log_in_order,
            a_query_without_filters_lists_the_log_in_either_order,
            query_pages_continue_from_next_until_it_is_none,
            type_filters_take_exact_types_and_star_globs,
            a_type_pattern_spanning_several_types_pages_in_log_order,
            subject_chain_and_source_filters_select_exact_matches,
            the_artifact_filter_finds_every_event_naming_the_artifact,
            records_are_left_out_when_asked_by_type_and_source,
            since_is_inclusive_and_until_exclusive_on_event_time,
            after_and_before_bound_a_range_of_the_log,
            every_filter_combination_agrees_with_event_query_matches,
            leaves_are_the_leaf_hashes_of_the_events,
            the_sender_is_kept_and_covered_by_the_leaf,
            nodes_are_the_hashes_of_complete_subtrees,
            the_root_of_every_size_is_the_rfc6962_root_of_the_leaves,
            inclusion_proofs_verify_for_every_entry_and_tree_size,
            consistency_proofs_verify_for_every_pair_of_tree_sizes,
            proof_arguments_outside_the_log_are_out_of_range,
            checkpoints_are_kept_and_the_largest_is_the_latest,
            an_untampered_store_with_a_signed_checkpoint_verifies,
            the_log_survives_reopening,
        ] }
    };
}

/// Every contract case by name, in the order [`store_contract_tests`] declares them.
pub const CASES: &[(&str, Case)] = __store_contract_cases!(@list []);

/// A contract case: asserts one rule of the contract of the store a new backend opens.
pub type Case = fn(&dyn Backend);

/// Runs every contract case, each on a new backend from `make`; panics on the first
/// failure, after naming the case on stderr.
pub fn run_all<B: Backend>(make: impl Fn() -> B) {
    for (name, case) in CASES {
        eprintln!("store contract: {name}");
        case(&make());
    }
}

/// An event from a CDEvent document, which must be valid.
pub fn event(value: &Value) -> Event {
    if let Err(rejection) = dossier_cdevents::validate(value) {
        panic!("not a valid CDEvent: {rejection:?}\n{value}");
    }
    Event::from_json(serde_json::to_vec(value).expect("serializing JSON"), value).expect("a valid CDEvent reads as an event")
}

/// The first `n` events of `dossier-gen`'s story for `seed` (source `/dossier-gen/{seed}`,
/// ids `{seed}-{i}`).
pub fn story(seed: u64, n: u64) -> Vec<Event> {
    let g = dossier_gen::Generator::new(seed);
    (0..n).map(|i| event(&g.event(i))).collect()
}

/// The first `n` events of the story with seed 1, the suite's usual log.
pub fn generated(n: u64) -> Vec<Event> {
    story(1, n)
}

/// Signs a checkpoint of the whole log with `signer` and saves it in `store`.
pub fn sign(store: &dyn Store, signer: &Signer) -> StoredCheckpoint {
    let size = store.size().expect("size");
    let checkpoint = StoredCheckpoint { size, note: signed_note(signer, size, store.root(size).expect("root")) };
    store.save_checkpoint(&checkpoint).expect("saving a checkpoint");
    checkpoint
}

fn signed_note(signer: &Signer, size: u64, root: Hash) -> String {
    signer.sign(&Checkpoint { origin: signer.name().into(), size, root }.body())
}

/// The RFC 6962 Merkle tree hash of `leaves`, computed by its recursive definition.
pub fn reference_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => tree::empty_root(),
        1 => leaves[0],
        n => {
            // The largest power of two smaller than n.
            let k = 1usize << (n - 1).ilog2();
            tree::node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

/// The sequence numbers of `events`.
pub fn seqs(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

/// The contract cases. Each takes a backend whose store is empty.
pub mod cases {
    use std::ops::Range;
    use std::sync::Arc;

    use dossier_core::{Event, EventKey};
    use dossier_tlog::{tree, Hash, Signer};
    use serde_json::Value;

    use super::{event, generated, reference_root, seqs, sign, signed_note, story, Backend};
    use crate::{leaf_hash, verify, AppendOutcome, EventQuery, Order, Store, StoreError, StoredCheckpoint, StoredEvent, TypePattern};

    use AppendOutcome::{Accepted, Conflict, Duplicate};

    /// 2026-01-01T00:00:00Z, where the story's clock starts, in nanoseconds.
    const T0: i64 = 1_767_225_600_000_000_000;
    const SECOND: i64 = 1_000_000_000;
    /// When the suite says its events were received.
    const RECEIVED: i64 = 1_800_000_000_000_000_000;
    /// No entries.
    const NONE: Vec<u64> = Vec::new();

    /// A store holding the first `n` events of the story, appended in one batch.
    fn filled(backend: &dyn Backend, n: u64) -> (Arc<dyn Store>, Vec<Event>) {
        let store = backend.open();
        let events = generated(n);
        store.append(&events, RECEIVED).unwrap();
        (store, events)
    }

    /// The sequence numbers a query returns, and its `next`.
    fn run(store: &dyn Store, q: &EventQuery) -> (Vec<u64>, Option<u64>) {
        let page = store.query(q).unwrap_or_else(|e| panic!("query {q:?}: {e}"));
        (seqs(&page.events), page.next)
    }

    /// The sequence numbers a query returns (asserting they are all there is).
    fn listed(store: &dyn Store, q: &EventQuery) -> Vec<u64> {
        let (seqs, next) = run(store, q);
        assert_eq!(next, None, "query {q:?} has more than one page");
        seqs
    }

    fn types(patterns: &[&str]) -> Vec<TypePattern> {
        patterns.iter().map(|p| TypePattern((*p).to_owned())).collect()
    }

    fn all() -> EventQuery {
        EventQuery { limit: 1000, ..Default::default() }
    }

    fn range(r: Range<u64>) -> Vec<u64> {
        r.collect()
    }

    fn changed(e: &Event, field: &str, to: &str) -> Event {
        let mut v: Value = serde_json::from_slice(&e.raw).unwrap();
        v["subject"]["content"][field] = to.into();
        event(&v)
    }

    /// `e` as sent again with other whitespace and key order: the same canonical form.
    fn reformatted(e: &Event) -> Event {
        let v: Value = serde_json::from_slice(&e.raw).unwrap();
        let mut pretty = serde_json::to_vec_pretty(&v).unwrap();
        pretty.push(b'\n');
        let again = Event::from_json(pretty, &v).unwrap();
        assert_ne!(again.raw, e.raw);
        assert_eq!(again.canonical, e.canonical);
        again
    }

    /// Appends `events` in batches of the sizes given.
    fn append_in_batches(store: &dyn Store, events: &[Event], batches: &[usize]) {
        assert_eq!(batches.iter().sum::<usize>(), events.len());
        let mut at = 0;
        for &n in batches {
            let outcomes = store.append(&events[at..at + n], RECEIVED).unwrap();
            assert_eq!(outcomes, (at..at + n).map(|s| Accepted { seq: s as u64 }).collect::<Vec<_>>());
            at += n;
        }
    }

    fn leaves_of(events: &[Event]) -> Vec<Hash> {
        leaves_at(events, RECEIVED)
    }

    fn leaves_at(events: &[Event], received: i64) -> Vec<Hash> {
        events.iter().map(|e| leaf_hash(e, received)).collect()
    }

    fn assert_stored(stored: &StoredEvent, seq: u64, e: &Event, received: i64) {
        assert_eq!(stored.seq, seq);
        assert_eq!(stored.key, e.key, "entry {seq}");
        assert_eq!(stored.event_type, e.event_type.as_str(), "entry {seq}");
        assert_eq!(stored.subject_id, e.subject_id, "entry {seq}");
        assert_eq!(stored.chain_id, e.chain_id, "entry {seq}");
        assert_eq!(stored.time_unix_nanos, e.time_unix_nanos, "entry {seq}");
        assert_eq!(stored.received_unix_nanos, received, "entry {seq}");
        assert_eq!(stored.raw, e.raw, "entry {seq}: the bytes as received");
    }

    fn out_of_range<T: std::fmt::Debug>(result: crate::Result<T>) -> String {
        match result {
            Err(StoreError::OutOfRange(message)) => message,
            other => panic!("expected StoreError::OutOfRange, got {other:?}"),
        }
    }

    /// A new store has no entries, the empty tree's root, no checkpoint and no conflicts, and
    /// verifies.
    pub fn an_empty_store_holds_nothing(backend: &dyn Backend) {
        let store = backend.open();
        assert_eq!(store.size().unwrap(), 0);
        assert_eq!(store.root(0).unwrap(), tree::empty_root());
        assert!(store.get(0).unwrap().is_none());
        assert!(store.scan(0, 10).unwrap().is_empty());
        assert!(store.leaves(0, 10).unwrap().is_empty());
        assert_eq!(store.node(0, 0).unwrap(), None);
        assert_eq!(run(&*store, &all()), (NONE, None));
        assert_eq!(store.latest_checkpoint().unwrap(), None);
        assert!(store.conflicts(10).unwrap().is_empty());
        assert_eq!(store.append(&[], RECEIVED).unwrap(), vec![]);
        assert_eq!(store.size().unwrap(), 0);
        let signer = Signer::generate("test/log").unwrap();
        let report = verify(&*store, &signer.verifier(), |_| {}).unwrap();
        assert_eq!(report.problems, vec![]);
        assert_eq!((report.entries, report.root, report.checkpoint_size), (0, tree::empty_root(), None));
    }

    /// Entry numbers start at 0 and continue without gaps across batches; each append says
    /// which entry every event became.
    pub fn appends_get_dense_sequence_numbers_in_order(backend: &dyn Backend) {
        let store = backend.open();
        let events = generated(25);
        assert_eq!(store.append(&events[..1], 1).unwrap(), vec![Accepted { seq: 0 }]);
        assert_eq!(store.append(&events[1..10], 2).unwrap(), (1..10).map(|seq| Accepted { seq }).collect::<Vec<_>>());
        assert_eq!(store.size().unwrap(), 10);
        assert_eq!(store.append(&events[10..], 3).unwrap(), (10..25).map(|seq| Accepted { seq }).collect::<Vec<_>>());
        assert_eq!(store.size().unwrap(), 25);
        assert_eq!(seqs(&store.scan(0, 100).unwrap()), range(0..25));
        for (seq, e) in events.iter().enumerate() {
            let received = match seq {
                0 => 1,
                1..10 => 2,
                _ => 3,
            };
            assert_stored(&store.get(seq as u64).unwrap().unwrap(), seq as u64, e, received);
        }
    }

    /// The same event sent again, even with other whitespace and key order (the same
    /// canonical form), is a duplicate of its entry: nothing is stored, and the entry keeps the
    /// bytes and time of its first receipt.
    pub fn an_identical_retransmission_is_a_duplicate(backend: &dyn Backend) {
        let store = backend.open();
        let events = generated(3);
        store.append(&events, 1).unwrap();
        assert_eq!(store.append(&events[1..2], 2).unwrap(), vec![Duplicate { seq: 1 }]);
        assert_eq!(
            store.append(&[reformatted(&events[2]), events[0].clone()], 3).unwrap(),
            vec![Duplicate { seq: 2 }, Duplicate { seq: 0 }]
        );
        assert_eq!(store.size().unwrap(), 3);
        for (seq, e) in events.iter().enumerate() {
            assert_stored(&store.get(seq as u64).unwrap().unwrap(), seq as u64, e, 1);
        }
        assert!(store.conflicts(10).unwrap().is_empty());
        assert_eq!(store.leaves(0, 10).unwrap(), leaves_at(&events, 1));
    }

    /// A different event under an existing `(source, id)` is a conflict: it does not enter the
    /// log, the entry is unchanged, and the refused event is kept, as received, in
    /// `conflicts()`, numbered from 1.
    pub fn a_changed_event_under_the_same_key_is_a_conflict_kept_out_of_the_log(backend: &dyn Backend) {
        let store = backend.open();
        let events = generated(2);
        store.append(&events, 1).unwrap();
        let root = store.root(2).unwrap();
        let forged = changed(&events[0], "pipelineName", "other");
        assert_eq!(forged.key, events[0].key);
        assert_eq!(store.append(std::slice::from_ref(&forged), 2).unwrap(), vec![Conflict { seq: 0, conflict: 1 }]);
        assert_eq!(store.size().unwrap(), 2);
        assert_eq!(store.root(2).unwrap(), root);
        assert_stored(&store.get(0).unwrap().unwrap(), 0, &events[0], 1);
        assert_stored(&store.get_by_key(&events[0].key).unwrap().unwrap(), 0, &events[0], 1);
        let conflicts = store.conflicts(10).unwrap();
        assert_eq!(conflicts.len(), 1);
        let c = &conflicts[0];
        assert_eq!((c.conflict, c.existing_seq, &c.key, c.received_unix_nanos), (1, 0, &events[0].key, 2));
        assert_eq!(c.raw, forged.raw);
        // The log goes on after a conflict.
        assert_eq!(store.append(&generated(3)[2..], 3).unwrap(), vec![Accepted { seq: 2 }]);
    }

    /// The key is `(context.source, context.id)`: the same id from another source is a new
    /// event.
    pub fn the_same_id_from_another_source_is_another_event(backend: &dyn Backend) {
        let store = backend.open();
        let original = generated(1).remove(0);
        let mut v: Value = serde_json::from_slice(&original.raw).unwrap();
        v["context"]["source"] = "/elsewhere".into();
        let elsewhere = event(&v);
        assert_eq!(elsewhere.key.id, original.key.id);
        assert_eq!(store.append(&[original.clone(), elsewhere.clone()], 1).unwrap(), vec![Accepted { seq: 0 }, Accepted { seq: 1 }]);
        assert_eq!(store.get_by_key(&original.key).unwrap().unwrap().seq, 0);
        assert_eq!(store.get_by_key(&elsewhere.key).unwrap().unwrap().seq, 1);
        assert!(store.conflicts(10).unwrap().is_empty());
    }

    /// Within one batch, an event repeated after its first appearance is a duplicate of the
    /// entry the batch just made, and a changed one a conflict with it.
    pub fn a_batch_with_repeats_inside_it_is_deduplicated_in_order(backend: &dyn Backend) {
        let store = backend.open();
        let e = generated(3);
        let forged = changed(&e[0], "pipelineName", "other");
        let batch = [e[0].clone(), e[1].clone(), e[0].clone(), forged.clone(), reformatted(&e[1]), e[2].clone(), e[2].clone()];
        assert_eq!(
            store.append(&batch, 1).unwrap(),
            vec![
                Accepted { seq: 0 },
                Accepted { seq: 1 },
                Duplicate { seq: 0 },
                Conflict { seq: 0, conflict: 1 },
                Duplicate { seq: 1 },
                Accepted { seq: 2 },
                Duplicate { seq: 2 },
            ]
        );
        assert_eq!(store.size().unwrap(), 3);
        for (seq, e) in e.iter().enumerate() {
            assert_stored(&store.get(seq as u64).unwrap().unwrap(), seq as u64, e, 1);
        }
        assert_eq!(store.leaves(0, 10).unwrap(), leaves_at(&e, 1));
        let conflicts = store.conflicts(10).unwrap();
        assert_eq!(conflicts.iter().map(|c| (c.conflict, c.existing_seq)).collect::<Vec<_>>(), vec![(1, 0)]);
        assert_eq!(conflicts[0].raw, forged.raw);
    }

    /// Every refused retransmission is recorded, even a repeated one; `conflicts(limit)` lists
    /// the newest `limit` first.
    pub fn conflicts_are_listed_newest_first(backend: &dyn Backend) {
        let (store, e) = filled(backend, 10);
        let a = changed(&e[1], "pipelineName", "a");
        let b = changed(&e[7], "user", "b");
        assert_eq!(store.append(std::slice::from_ref(&a), 1).unwrap(), vec![Conflict { seq: 1, conflict: 1 }]);
        assert_eq!(
            store.append(&[b.clone(), a.clone()], 2).unwrap(),
            vec![Conflict { seq: 7, conflict: 2 }, Conflict { seq: 1, conflict: 3 }]
        );
        let listed = store.conflicts(10).unwrap();
        assert_eq!(
            listed.iter().map(|c| (c.conflict, c.existing_seq, c.key.clone(), c.received_unix_nanos)).collect::<Vec<_>>(),
            vec![(3, 1, e[1].key.clone(), 2), (2, 7, e[7].key.clone(), 2), (1, 1, e[1].key.clone(), 1)]
        );
        assert_eq!(listed.iter().map(|c| c.raw.clone()).collect::<Vec<_>>(), vec![a.raw.clone(), b.raw, a.raw]);
        assert_eq!(store.conflicts(2).unwrap().iter().map(|c| c.conflict).collect::<Vec<_>>(), vec![3, 2]);
        assert_eq!(store.size().unwrap(), 10);
    }

    /// `get(seq)` returns the entry with its indexed fields and the exact bytes received, or
    /// nothing past the end of the log.
    pub fn get_returns_each_entry_as_stored(backend: &dyn Backend) {
        let store = backend.open();
        let mut events = generated(25);
        // One event arrives pretty-printed: its bytes are kept as they came.
        events[24] = reformatted(&events[24]);
        store.append(&events[..20], 7).unwrap();
        store.append(&events[20..], 8).unwrap();
        for (seq, e) in events.iter().enumerate() {
            assert_stored(&store.get(seq as u64).unwrap().unwrap(), seq as u64, e, if seq < 20 { 7 } else { 8 });
        }
        assert_eq!(store.get(4).unwrap().unwrap().event_type, "dev.cdevents.artifact.packaged.0.3.0");
        assert_eq!(store.get(4).unwrap().unwrap().subject_id, dossier_gen::Generator::new(1).artifact(0));
        assert_eq!(store.get(4).unwrap().unwrap().chain_id.as_deref(), Some("chain-1-0"));
        assert!(store.get(25).unwrap().is_none());
        assert!(store.get(u64::from(u32::MAX)).unwrap().is_none());
    }

    /// `get_by_key` finds an entry by its `(source, id)`; both must match.
    pub fn get_by_key_finds_an_entry_by_source_and_id(backend: &dyn Backend) {
        let (store, events) = filled(backend, 3);
        let key = |source: &str, id: &str| EventKey { source: source.into(), id: id.into() };
        let found = store.get_by_key(&key("/dossier-gen/1", "1-2")).unwrap().unwrap();
        assert_stored(&found, 2, &events[2], RECEIVED);
        assert_eq!(store.get(2).unwrap().unwrap().raw, found.raw);
        assert!(store.get_by_key(&key("/dossier-gen/1", "1-3")).unwrap().is_none());
        assert!(store.get_by_key(&key("/dossier-gen/2", "1-2")).unwrap().is_none());
        assert!(store.get_by_key(&key("/dossier-gen/1", "1-")).unwrap().is_none());
    }

    /// `scan(from, limit)` returns entries `[from, from + limit)` in order, as far as the log
    /// goes.
    pub fn scan_reads_ranges_of_the_log_in_order(backend: &dyn Backend) {
        let (store, events) = filled(backend, 25);
        let everything = store.scan(0, 1000).unwrap();
        assert_eq!(seqs(&everything), range(0..25));
        for (seq, e) in events.iter().enumerate() {
            assert_stored(&everything[seq], seq as u64, e, RECEIVED);
        }
        assert_eq!(seqs(&store.scan(5, 3).unwrap()), vec![5, 6, 7]);
        assert_eq!(seqs(&store.scan(23, 10).unwrap()), vec![23, 24]);
        assert_eq!(seqs(&store.scan(0, 1).unwrap()), vec![0]);
        assert!(store.scan(25, 10).unwrap().is_empty());
        assert!(store.scan(100, 10).unwrap().is_empty());
        assert!(store.scan(0, 0).unwrap().is_empty());
    }

    /// With no filter a query lists the whole log, oldest or newest first.
    pub fn a_query_without_filters_lists_the_log_in_either_order(backend: &dyn Backend) {
        let (store, events) = filled(backend, 100);
        let page = store.query(&all()).unwrap();
        assert_eq!(seqs(&page.events), range(0..100));
        assert_eq!(page.next, None);
        for (seq, e) in events.iter().enumerate() {
            assert_stored(&page.events[seq], seq as u64, e, RECEIVED);
        }
        let newest = EventQuery { order: Order::NewestFirst, ..all() };
        assert_eq!(listed(&*store, &newest), range(0..100).into_iter().rev().collect::<Vec<_>>());
    }

    /// A page holds at most `limit` entries; `next` is the last one's number when more follow
    /// and `None` exactly when none do, and `after: next` gives the following page.
    pub fn query_pages_continue_from_next_until_it_is_none(backend: &dyn Backend) {
        let (store, _) = filled(backend, 100);
        let walk = |mut q: EventQuery| {
            let mut pages = Vec::new();
            loop {
                let (seqs, next) = run(&*store, &q);
                pages.push((seqs, next));
                match next {
                    Some(n) => q.after = Some(n),
                    None => return pages,
                }
            }
        };
        let pages = walk(EventQuery { limit: 10, ..Default::default() });
        assert_eq!(pages.len(), 10);
        for (k, (seqs, next)) in pages.iter().enumerate() {
            let k = k as u64;
            assert_eq!(*seqs, range(10 * k..10 * k + 10));
            assert_eq!(*next, if k < 9 { Some(10 * k + 9) } else { None });
        }
        let pages = walk(EventQuery { limit: 30, order: Order::NewestFirst, ..Default::default() });
        let expect = |r: Range<u64>| r.rev().collect::<Vec<_>>();
        assert_eq!(pages, vec![(expect(70..100), Some(70)), (expect(40..70), Some(40)), (expect(10..40), Some(10)), (expect(0..10), None)]);
        assert_eq!(run(&*store, &EventQuery { limit: 100, ..Default::default() }), (range(0..100), None));
        assert_eq!(run(&*store, &EventQuery { limit: 99, ..Default::default() }), (range(0..99), Some(98)));
        assert_eq!(run(&*store, &EventQuery { limit: 99, after: Some(98), ..Default::default() }), (vec![99], None));
        assert_eq!(run(&*store, &EventQuery { limit: 1, order: Order::NewestFirst, ..Default::default() }), (vec![99], Some(99)));
    }

    /// A type pattern is an exact type or a glob in which `*` matches any run of characters
    /// (and nothing else is a wildcard); an entry matching any of several patterns is listed
    /// once.
    pub fn type_filters_take_exact_types_and_star_globs(backend: &dyn Backend) {
        let (store, _) = filled(backend, 100);
        let q = |patterns: &[&str]| EventQuery { types: types(patterns), ..all() };
        let per_run = |steps: &[u64]| (0..10).flat_map(|r| steps.iter().map(move |s| 10 * r + s)).collect::<Vec<_>>();
        assert_eq!(listed(&*store, &q(&["dev.cdevents.artifact.signed.0.3.0"])), per_run(&[5]));
        assert_eq!(listed(&*store, &q(&["dev.cdevents.artifact.*"])), per_run(&[4, 5, 7]));
        assert_eq!(listed(&*store, &q(&["*.finished.*"])), per_run(&[2, 3, 6]));
        assert_eq!(listed(&*store, &q(&["dev.cdevents.ticket.*"])), per_run(&[9]));
        assert_eq!(listed(&*store, &q(&["*"])), range(0..100));
        assert_eq!(listed(&*store, &q(&["dev.cdevents.*.0.3.0"])), per_run(&[0, 1, 2, 3, 4, 5, 6, 7, 8]));
        // A type without its version is not an exact type of any entry.
        assert_eq!(listed(&*store, &q(&["dev.cdevents.build.finished"])), NONE);
        assert_eq!(listed(&*store, &q(&["dev.cdevents.build.finished.*"])), per_run(&[3]));
        // `?` and `[` are literal characters.
        assert_eq!(listed(&*store, &q(&["dev.cdevents.artifact.signed.0.3.?"])), NONE);
        assert_eq!(listed(&*store, &q(&["dev.cdevents.artifact.signed.0.3.[0]"])), NONE);
        assert_eq!(listed(&*store, &q(&["dev.nothing.*"])), NONE);
        // Several patterns: an entry matching any, listed once, in log order.
        assert_eq!(
            listed(&*store, &q(&["dev.cdevents.artifact.signed.0.3.0", "dev.cdevents.artifact.*", "*.signed.*"])),
            per_run(&[4, 5, 7])
        );
        let several = EventQuery {
            types: types(&["dev.cdevents.artifact.signed.0.3.0", "dev.cdevents.service.*", "dev.nothing.*"]),
            limit: 4,
            ..Default::default()
        };
        assert_eq!(run(&*store, &several), (vec![5, 8, 15, 18], Some(18)));
    }

    /// Entries of several types matching one pattern come in log order, newest first too,
    /// across pages, and within a range of the log.
    pub fn a_type_pattern_spanning_several_types_pages_in_log_order(backend: &dyn Backend) {
        let (store, _) = filled(backend, 100);
        // packaged (step 4), signed (5), published (7) of each run of 10 events.
        let mut q = EventQuery { types: types(&["dev.cdevents.artifact.*"]), order: Order::NewestFirst, limit: 4, ..Default::default() };
        assert_eq!(run(&*store, &q), (vec![97, 95, 94, 87], Some(87)));
        q.after = Some(87);
        assert_eq!(run(&*store, &q), (vec![85, 84, 77, 75], Some(75)));
        q.after = Some(5);
        assert_eq!(run(&*store, &q), (vec![4], None));
        let q = EventQuery { types: types(&["dev.cdevents.artifact.*"]), after: Some(20), before: Some(40), ..all() };
        assert_eq!(listed(&*store, &q), vec![24, 25, 27, 34, 35, 37]);
        let q = EventQuery {
            types: types(&["dev.cdevents.artifact.*"]),
            order: Order::NewestFirst,
            after: Some(37),
            before: Some(40),
            ..all()
        };
        assert_eq!(listed(&*store, &q), vec![35, 34, 27, 25, 24, 17, 15, 14, 7, 5, 4]);
    }

    /// `subject`, `chain` and `source` select the entries whose field equals the value given.
    pub fn subject_chain_and_source_filters_select_exact_matches(backend: &dyn Backend) {
        let (store, _) = filled(backend, 100);
        store.append(&story(2, 5), RECEIVED).unwrap();
        let purl = dossier_gen::Generator::new(1).artifact(3);
        let subject = |s: &str| EventQuery { subject: Some(s.into()), ..all() };
        assert_eq!(listed(&*store, &subject(&purl)), vec![34, 35, 37]);
        assert_eq!(listed(&*store, &subject("run-1-3")), vec![30, 31]);
        assert_eq!(listed(&*store, &subject("run-1-3-build")), vec![33]);
        assert_eq!(listed(&*store, &subject("run-1-3-buil")), NONE);
        assert_eq!(listed(&*store, &subject("run-2-0")), vec![100, 101]);
        let chain = |c: &str| EventQuery { chain: Some(c.into()), ..all() };
        assert_eq!(listed(&*store, &chain("chain-1-3")), range(30..40));
        assert_eq!(listed(&*store, &chain("chain-2-0")), range(100..105));
        assert_eq!(listed(&*store, &chain("chain-1-")), NONE);
        let source = |s: &str| EventQuery { source: Some(s.into()), ..all() };
        assert_eq!(listed(&*store, &source("/dossier-gen/1")), range(0..100));
        assert_eq!(listed(&*store, &source("/dossier-gen/2")), range(100..105));
        assert_eq!(listed(&*store, &source("/dossier-gen")), NONE);
        // Filters combine: every one set must match.
        let q = EventQuery { chain: Some("chain-1-3".into()), types: types(&["dev.cdevents.ticket.*"]), ..all() };
        assert_eq!(listed(&*store, &q), vec![39]);
        let q = EventQuery { chain: Some("chain-1-3".into()), source: Some("/dossier-gen/2".into()), ..all() };
        assert_eq!(listed(&*store, &q), NONE);
        let mut q = EventQuery { subject: Some(purl), order: Order::NewestFirst, limit: 2, ..Default::default() };
        assert_eq!(run(&*store, &q), (vec![37, 35], Some(35)));
        q.after = Some(35);
        assert_eq!(run(&*store, &q), (vec![34], None));
    }

    /// `artifact` selects the entries naming the artifact: as the subject of an artifact event
    /// or as an `artifactId`, in any spelling of its purl.
    pub fn the_artifact_filter_finds_every_event_naming_the_artifact(backend: &dyn Backend) {
        let (store, _) = filled(backend, 100);
        let purl = dossier_gen::Generator::new(1).artifact(3);
        let q = EventQuery { artifact: Some(purl.clone()), ..all() };
        // build.finished, packaged, signed, published, deployed of run 3.
        assert_eq!(listed(&*store, &q), vec![33, 34, 35, 37, 38]);
        // The events spell the digest `sha256%3A…`; its canonical form and other spellings
        // name the same artifact.
        for spelling in [purl.replace("%3A", ":"), purl.replace("pkg:oci/", "pkg:OCI/").replace("%3A", "%3a")] {
            assert_eq!(listed(&*store, &EventQuery { artifact: Some(spelling.clone()), ..all() }), vec![33, 34, 35, 37, 38], "{spelling}");
        }
        let q = EventQuery { artifact: Some(purl.clone()), types: types(&["dev.cdevents.artifact.*"]), ..all() };
        assert_eq!(listed(&*store, &q), vec![34, 35, 37]);
        let mut q = EventQuery { artifact: Some(purl.clone()), order: Order::NewestFirst, limit: 2, ..Default::default() };
        assert_eq!(run(&*store, &q), (vec![38, 37], Some(37)));
        q.after = Some(37);
        assert_eq!(run(&*store, &q), (vec![35, 34], Some(34)));
        q.after = Some(34);
        assert_eq!(run(&*store, &q), (vec![33], None));
        assert_eq!(listed(&*store, &EventQuery { artifact: Some("pkg:oci/nothing".into()), ..all() }), NONE);
        assert_eq!(listed(&*store, &EventQuery { artifact: Some(purl[..purl.len() - 1].into()), ..all() }), NONE);
    }

    /// `without_records` leaves out Dossier's records about an artifact (`own::is_record`: the
    /// policy, timer and gate families, and whatever is kept under the gate's source) and keeps
    /// its history, documents sent about it and what policies' actions emitted.
    pub fn records_are_left_out_when_asked_by_type_and_source(backend: &dyn Backend) {
        use dossier_core::own::{OwnType, DOCUMENTS_SOURCE, GATE_SOURCE, POLICIES_SOURCE};
        let store = backend.open();
        let purl = "pkg:oci/svc@sha256:4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899";
        let entry = |i: u64, source: &str, ty: &str| {
            let v = serde_json::json!({
                "context": {"specversion": "0.5.1", "id": format!("r{i}"), "source": source, "type": ty,
                            "timestamp": "2026-01-01T00:00:00Z"},
                "subject": {"id": format!("s{i}"), "content": {"artifactId": purl}},
            });
            Event::from_json(serde_json::to_vec(&v).unwrap(), &v).unwrap()
        };
        let entries = [
            entry(0, "/ci", "dev.cdevents.artifact.published.0.3.0"),
            entry(1, POLICIES_SOURCE, OwnType::PolicyDecided.as_str()),
            entry(2, POLICIES_SOURCE, OwnType::TimerSet.as_str()),
            entry(3, GATE_SOURCE, OwnType::GateDecided.as_str()),
            entry(4, GATE_SOURCE, OwnType::DocumentReceived.as_str()),
            entry(5, DOCUMENTS_SOURCE, OwnType::DocumentReceived.as_str()),
            entry(6, "/dossier/policies/sbom_required", "dev.cdevents.testsuiterun.queued.0.3.0"),
            entry(7, "/ci", "dev.cdevents.service.deployed.0.3.0"),
        ];
        store.append(&entries, RECEIVED).unwrap();
        let everything = EventQuery { artifact: Some(purl.into()), ..all() };
        assert_eq!(listed(&*store, &everything), range(0..8));
        let history = EventQuery { without_records: true, ..everything.clone() };
        assert_eq!(listed(&*store, &history), vec![0, 5, 6, 7]);
        assert_eq!(listed(&*store, &EventQuery { without_records: true, ..all() }), vec![0, 5, 6, 7]);
        let newest = EventQuery { order: Order::NewestFirst, limit: 2, ..history.clone() };
        assert_eq!(run(&*store, &newest), (vec![7, 6], Some(6)));
        let kept: Vec<u64> = entries.iter().enumerate().filter(|(_, e)| history.matches(e)).map(|(i, _)| i as u64).collect();
        assert_eq!(kept, vec![0, 5, 6, 7], "EventQuery::matches says the same");
    }

    /// `since` keeps entries whose `context.timestamp` is at or after it, `until` those before
    /// it.
    pub fn since_is_inclusive_and_until_exclusive_on_event_time(backend: &dyn Backend) {
        let (store, events) = filled(backend, 100);
        let window = |since: Option<i64>, until: Option<i64>| EventQuery { since, until, ..all() };
        assert_eq!(listed(&*store, &window(Some(T0 + 10 * SECOND), Some(T0 + 12 * SECOND))), vec![10, 11]);
        let (t10, t12) = (events[10].time_unix_nanos, events[12].time_unix_nanos);
        assert_eq!(listed(&*store, &window(Some(t10), Some(t12))), vec![10, 11]);
        assert_eq!(listed(&*store, &window(Some(t10 + 1), Some(t12 + 1))), vec![11, 12]);
        assert_eq!(listed(&*store, &window(Some(T0 + 95 * SECOND), None)), range(95..100));
        assert_eq!(listed(&*store, &window(None, Some(T0 + 3 * SECOND))), vec![0, 1, 2]);
        assert_eq!(listed(&*store, &window(Some(t12), Some(t12))), NONE);
        assert_eq!(listed(&*store, &window(Some(T0 + 100 * SECOND), None)), NONE);
        let q = EventQuery {
            types: types(&["dev.cdevents.artifact.*"]),
            order: Order::NewestFirst,
            ..window(Some(T0), Some(T0 + 30 * SECOND))
        };
        assert_eq!(listed(&*store, &q), vec![27, 25, 24, 17, 15, 14, 7, 5, 4]);
    }

    /// `after` and `before` are exclusive bounds on entry numbers: `after` in the query's
    /// order (so newest first it keeps the smaller numbers), `before` always below.
    pub fn after_and_before_bound_a_range_of_the_log(backend: &dyn Backend) {
        let (store, _) = filled(backend, 100);
        let q = |after: Option<u64>, before: Option<u64>, order: Order| EventQuery { after, before, order, ..all() };
        let newest = |r: Range<u64>| r.rev().collect::<Vec<_>>();
        assert_eq!(listed(&*store, &q(Some(20), Some(25), Order::OldestFirst)), vec![21, 22, 23, 24]);
        assert_eq!(listed(&*store, &q(Some(95), None, Order::OldestFirst)), range(96..100));
        assert_eq!(listed(&*store, &q(None, Some(3), Order::OldestFirst)), vec![0, 1, 2]);
        assert_eq!(listed(&*store, &q(Some(3), None, Order::NewestFirst)), vec![2, 1, 0]);
        assert_eq!(listed(&*store, &q(None, Some(40), Order::NewestFirst)), newest(0..40));
        assert_eq!(listed(&*store, &q(Some(30), Some(40), Order::NewestFirst)), newest(0..30));
        assert_eq!(listed(&*store, &q(Some(99), None, Order::OldestFirst)), NONE);
        assert_eq!(listed(&*store, &q(None, Some(0), Order::OldestFirst)), NONE);
        assert_eq!(listed(&*store, &q(Some(20), Some(21), Order::OldestFirst)), NONE);
        assert_eq!(listed(&*store, &q(Some(0), None, Order::NewestFirst)), NONE);
        let mut page = EventQuery { before: Some(40), order: Order::NewestFirst, limit: 3, ..Default::default() };
        assert_eq!(run(&*store, &page), (vec![39, 38, 37], Some(37)));
        page.after = Some(37);
        assert_eq!(run(&*store, &page), (vec![36, 35, 34], Some(34)));
    }

    /// What `EventQuery::matches` says of each entry, with `after`, `before`, `order` and
    /// `limit` applied: the listing every query must give.
    fn model(events: &[Event], q: &EventQuery) -> (Vec<u64>, Option<u64>) {
        let mut seqs: Vec<u64> = (0..events.len() as u64)
            .filter(|&s| q.matches(&events[s as usize]))
            .filter(|&s| q.before.is_none_or(|b| s < b))
            .filter(|&s| match (q.order, q.after) {
                (_, None) => true,
                (Order::OldestFirst, Some(a)) => s > a,
                (Order::NewestFirst, Some(a)) => s < a,
            })
            .collect();
        if q.order == Order::NewestFirst {
            seqs.reverse();
        }
        let limit = q.limit.max(1);
        if seqs.len() > limit {
            seqs.truncate(limit);
            let next = seqs.last().copied();
            (seqs, next)
        } else {
            (seqs, None)
        }
    }

    /// Every combination of filters, orders, ranges and page sizes lists exactly what
    /// `EventQuery::matches` selects, and paging through it visits each entry once.
    pub fn every_filter_combination_agrees_with_event_query_matches(backend: &dyn Backend) {
        let store = backend.open();
        // Two senders whose clocks overlap: time order is not log order.
        let mut events = story(1, 50);
        events.extend(story(2, 30));
        store.append(&events, RECEIVED).unwrap();
        let type_sets: [&[&str]; 4] = [
            &[],
            &["dev.cdevents.artifact.*"],
            &["*.finished.*", "dev.cdevents.ticket.created.0.2.0"],
            &["dev.cdevents.service.deployed.0.3.0", "dev.none"],
        ];
        let narrowing: [fn(&mut EventQuery); 6] = [
            |_| {},
            |q| q.subject = Some(dossier_gen::Generator::new(1).artifact(3)),
            |q| q.chain = Some("chain-2-1".into()),
            |q| q.artifact = Some(dossier_gen::Generator::new(2).artifact(0)),
            |q| q.source = Some("/dossier-gen/2".into()),
            |q| {
                q.source = Some("/dossier-gen/1".into());
                q.chain = Some("chain-1-2".into());
            },
        ];
        let times =
            [(None, None), (Some(T0 + 25 * SECOND), None), (None, Some(T0 + 12 * SECOND)), (Some(T0 + 5 * SECOND), Some(T0 + 40 * SECOND))];
        let ranges = [(None, None), (Some(30), None), (None, Some(60)), (Some(20), Some(70))];
        let mut checked = 0;
        for type_set in type_sets {
            for narrow in narrowing {
                for (since, until) in times {
                    for (after, before) in ranges {
                        for order in [Order::OldestFirst, Order::NewestFirst] {
                            let mut q = EventQuery {
                                types: types(type_set),
                                since,
                                until,
                                after,
                                before,
                                order,
                                limit: 1000,
                                ..Default::default()
                            };
                            narrow(&mut q);
                            let (everything, _) = model(&events, &q);
                            assert_eq!(run(&*store, &q), (everything.clone(), None), "query {q:?}");
                            q.limit = 1;
                            assert_eq!(run(&*store, &q), model(&events, &q), "query {q:?}");
                            // Page through 7 at a time.
                            q.limit = 7;
                            let mut visited = Vec::new();
                            loop {
                                let page = run(&*store, &q);
                                assert_eq!(page, model(&events, &q), "query {q:?}");
                                visited.extend(page.0);
                                match page.1 {
                                    Some(next) => q.after = Some(next),
                                    None => break,
                                }
                            }
                            assert_eq!(visited, everything, "paging through {q:?}");
                            checked += usize::from(!everything.is_empty());
                        }
                    }
                }
            }
        }
        // The combinations are not all empty.
        assert!(checked > 300, "only {checked} combinations list anything");
    }

    /// Leaf `seq` of the tree is `leaf_hash` of entry `seq`'s event; `leaves(from, limit)`
    /// returns them as far as the tree goes.
    pub fn leaves_are_the_leaf_hashes_of_the_events(backend: &dyn Backend) {
        let store = backend.open();
        let events = generated(25);
        append_in_batches(&*store, &events, &[3, 10, 12]);
        let leaves = leaves_of(&events);
        assert_eq!(store.leaves(0, 100).unwrap(), leaves);
        assert_eq!(store.leaves(0, 25).unwrap(), leaves);
        assert_eq!(store.leaves(3, 4).unwrap(), leaves[3..7]);
        assert_eq!(store.leaves(20, 10).unwrap(), leaves[20..]);
        assert_eq!(store.leaves(24, 1).unwrap(), leaves[24..]);
        assert!(store.leaves(25, 10).unwrap().is_empty());
        assert!(store.leaves(40, 10).unwrap().is_empty());
        assert!(store.leaves(0, 0).unwrap().is_empty());
        // The leaf hash is RFC 6962's of the canonical form, whatever bytes were received.
        assert_eq!(leaves[0], crate::leaf::entry_leaf_hash(RECEIVED, None, &events[0].raw, &events[0].canonical));
    }

    /// An entry's sender (the principal whose credential sent it) is stored, read back with
    /// the entry, and part of its leaf; an entry without one reads back without one.
    pub fn the_sender_is_kept_and_covered_by_the_leaf(backend: &dyn Backend) {
        let store = backend.open();
        let mut events = generated(3);
        events[0].sender = Some("jenkins".into());
        events[2].sender = Some("github:acme/api".into());
        store.append(&events, RECEIVED).unwrap();
        let read: Vec<Option<String>> = (0..3).map(|seq| store.get(seq).unwrap().unwrap().sender).collect();
        assert_eq!(read, [Some("jenkins".to_owned()), None, Some("github:acme/api".to_owned())]);
        let leaves = store.leaves(0, 3).unwrap();
        assert_eq!(leaves[0], crate::leaf::entry_leaf_hash(RECEIVED, Some("jenkins"), &events[0].raw, &events[0].canonical));
        assert_ne!(leaves[0], crate::leaf::entry_leaf_hash(RECEIVED, None, &events[0].raw, &events[0].canonical));
        assert_eq!(leaves[1], crate::leaf::entry_leaf_hash(RECEIVED, None, &events[1].raw, &events[1].canonical));
    }

    /// `node(level, index)` is the hash of the complete subtree over leaves
    /// `[index << level, (index + 1) << level)`, and `None` for a subtree not yet complete.
    pub fn nodes_are_the_hashes_of_complete_subtrees(backend: &dyn Backend) {
        let store = backend.open();
        let events = generated(25);
        append_in_batches(&*store, &events, &[1, 6, 18]);
        let leaves = leaves_of(&events);
        let size = leaves.len() as u64;
        let mut complete = 0;
        for level in 0..=6u8 {
            for index in 0..=(size >> level) + 1 {
                let (lo, hi) = (index << level, (index + 1) << level);
                let want = (hi <= size).then(|| reference_root(&leaves[lo as usize..hi as usize]));
                assert_eq!(store.node(level, index).unwrap(), want, "node ({level}, {index})");
                complete += usize::from(want.is_some());
            }
        }
        // 25 leaves make 25 + 12 + 6 + 3 + 1 complete subtrees.
        assert_eq!(complete, 47);
    }

    /// `root(n)` is the RFC 6962 root of the first `n` leaves, for every `n` up to the size of
    /// the log, however the entries were batched.
    pub fn the_root_of_every_size_is_the_rfc6962_root_of_the_leaves(backend: &dyn Backend) {
        let store = backend.open();
        let events = generated(37);
        append_in_batches(&*store, &events, &[1, 2, 5, 13, 16]);
        let leaves = leaves_of(&events);
        for n in 0..=37 {
            assert_eq!(store.root(n as u64).unwrap(), reference_root(&leaves[..n]), "root of size {n}");
        }
        assert_eq!(out_of_range(store.root(38)), "tree size 38 is larger than the log (37 entries)");
    }

    /// The inclusion proof of every entry in every tree size containing it verifies against
    /// the independently computed root.
    pub fn inclusion_proofs_verify_for_every_entry_and_tree_size(backend: &dyn Backend) {
        let store = backend.open();
        let events = generated(37);
        append_in_batches(&*store, &events, &[16, 5, 16]);
        let leaves = leaves_of(&events);
        for size in 1..=37u64 {
            let root = reference_root(&leaves[..size as usize]);
            for seq in 0..size {
                let proof = store.inclusion_proof(seq, size).unwrap();
                assert_eq!(tree::verify_inclusion(&leaves[seq as usize], seq, size, &proof, &root), Ok(()), "entry {seq} in size {size}");
            }
        }
        // A proof is for its own entry only.
        let proof = store.inclusion_proof(3, 37).unwrap();
        assert!(tree::verify_inclusion(&leaves[4], 3, 37, &proof, &reference_root(&leaves)).is_err());
    }

    /// The consistency proof between every pair of tree sizes verifies against the
    /// independently computed roots.
    pub fn consistency_proofs_verify_for_every_pair_of_tree_sizes(backend: &dyn Backend) {
        let store = backend.open();
        let events = generated(37);
        append_in_batches(&*store, &events, &[7, 30]);
        let leaves = leaves_of(&events);
        let roots: Vec<Hash> = (0..=37).map(|n| reference_root(&leaves[..n])).collect();
        for new in 1..=37u64 {
            for old in 1..=new {
                let proof = store.consistency_proof(old, new).unwrap();
                let verified = tree::verify_consistency(old, new, &roots[old as usize], &roots[new as usize], &proof);
                assert_eq!(verified, Ok(()), "sizes {old} to {new}");
            }
        }
        assert_eq!(store.consistency_proof(37, 37).unwrap(), Vec::<Hash>::new());
    }

    /// Proof and root arguments beyond the log, or not naming a tree, are
    /// `StoreError::OutOfRange` with a message saying why.
    pub fn proof_arguments_outside_the_log_are_out_of_range(backend: &dyn Backend) {
        let store = backend.open();
        assert_eq!(out_of_range(store.root(1)), "tree size 1 is larger than the log (0 entries)");
        assert_eq!(out_of_range(store.inclusion_proof(0, 0)), "entry 0 is not in the tree of size 0");
        assert_eq!(out_of_range(store.consistency_proof(0, 0)), "need 0 < old <= new, got old=0 new=0");
        store.append(&generated(25), RECEIVED).unwrap();
        assert_eq!(out_of_range(store.root(26)), "tree size 26 is larger than the log (25 entries)");
        assert_eq!(out_of_range(store.inclusion_proof(25, 25)), "entry 25 is not in the tree of size 25");
        assert_eq!(out_of_range(store.inclusion_proof(10, 10)), "entry 10 is not in the tree of size 10");
        assert_eq!(out_of_range(store.inclusion_proof(0, 26)), "tree size 26 is larger than the log (25 entries)");
        assert_eq!(
            out_of_range(store.inclusion_proof(u64::MAX, u64::MAX)),
            format!("tree size {} is larger than the log (25 entries)", u64::MAX)
        );
        assert_eq!(out_of_range(store.consistency_proof(0, 25)), "need 0 < old <= new, got old=0 new=25");
        assert_eq!(out_of_range(store.consistency_proof(10, 9)), "need 0 < old <= new, got old=10 new=9");
        assert_eq!(out_of_range(store.consistency_proof(20, 26)), "tree size 26 is larger than the log (25 entries)");
        assert_eq!(out_of_range(store.consistency_proof(26, 26)), "tree size 26 is larger than the log (25 entries)");
        // The edges that are in range.
        assert!(store.root(25).is_ok());
        assert!(store.inclusion_proof(24, 25).is_ok());
        assert!(store.inclusion_proof(0, 1).is_ok());
        assert!(store.consistency_proof(1, 25).is_ok());
        assert!(store.consistency_proof(25, 25).is_ok());
    }

    /// Saved checkpoints are kept as given, and `latest_checkpoint` is the one covering the
    /// most entries; `checkpoints` lists them largest first.
    pub fn checkpoints_are_kept_and_the_largest_is_the_latest(backend: &dyn Backend) {
        let (store, _) = filled(backend, 20);
        let signer = Signer::generate("test/log").unwrap();
        let at = |size: u64| StoredCheckpoint { size, note: signed_note(&signer, size, store.root(size).unwrap()) };
        assert_eq!(store.latest_checkpoint().unwrap(), None);
        store.save_checkpoint(&at(10)).unwrap();
        assert_eq!(store.latest_checkpoint().unwrap(), Some(at(10)));
        store.save_checkpoint(&at(20)).unwrap();
        assert_eq!(store.latest_checkpoint().unwrap(), Some(at(20)));
        // One saved later over fewer entries does not displace it.
        store.save_checkpoint(&at(15)).unwrap();
        assert_eq!(store.latest_checkpoint().unwrap(), Some(at(20)));
        let note = store.latest_checkpoint().unwrap().unwrap().note;
        assert!(signer.verifier().open(&note).is_ok());
        assert!(note.starts_with("test/log\n20\n"), "{note}");
        // Listed largest first, below a size; saving at a size again replaces the note (a
        // checkpoint that witnesses have since cosigned).
        let sizes = |below, limit| store.checkpoints(below, limit).unwrap().iter().map(|c| c.size).collect::<Vec<_>>();
        assert_eq!(sizes(u64::MAX, 10), vec![20, 15, 10]);
        assert_eq!(sizes(20, 10), vec![15, 10]);
        assert_eq!(sizes(20, 1), vec![15]);
        assert_eq!(sizes(10, 10), Vec::<u64>::new());
        let cosigned = StoredCheckpoint { size: 15, note: format!("{}\u{2014} witness AAAA\n", at(15).note) };
        store.save_checkpoint(&cosigned).unwrap();
        assert_eq!(store.checkpoints(20, 1).unwrap(), vec![cosigned]);
    }

    /// A store nobody tampered with verifies against its newest signed checkpoint, also with
    /// entries appended after it.
    pub fn an_untampered_store_with_a_signed_checkpoint_verifies(backend: &dyn Backend) {
        let store = backend.open();
        let events = generated(50);
        store.append(&events[..40], RECEIVED).unwrap();
        let signer = Signer::generate("test/log").unwrap();
        sign(&*store, &signer);
        let mut progress = Vec::new();
        let report = verify(&*store, &signer.verifier(), |n| progress.push(n)).unwrap();
        assert_eq!(report.problems, vec![]);
        assert!(report.ok());
        assert_eq!((report.entries, report.checkpoint_size), (40, Some(40)));
        assert_eq!(report.root, reference_root(&leaves_of(&events[..40])));
        assert_eq!(progress.last(), Some(&40));
        store.append(&events[40..], RECEIVED).unwrap();
        let report = verify(&*store, &signer.verifier(), |_| {}).unwrap();
        assert_eq!(report.problems, vec![]);
        assert_eq!((report.entries, report.checkpoint_size), (50, Some(40)));
        assert_eq!(report.root, reference_root(&leaves_of(&events)));
    }

    /// Reopened, a store holds what it held (entries, tree, checkpoint, conflicts), goes on
    /// numbering where it stopped, and still knows the events it has.
    pub fn the_log_survives_reopening(backend: &dyn Backend) {
        let events = generated(50);
        let signer = Signer::generate("test/log").unwrap();
        let (root20, checkpoint) = {
            let store = backend.open();
            append_in_batches(&*store, &events[..20], &[13, 7]);
            let forged = changed(&events[11], "pipelineName", "other");
            assert_eq!(store.append(&[forged], 5).unwrap(), vec![Conflict { seq: 11, conflict: 1 }]);
            (store.root(20).unwrap(), sign(&*store, &signer))
        };
        let store = backend.open();
        assert_eq!(store.size().unwrap(), 20);
        assert_eq!(store.root(20).unwrap(), root20);
        assert_eq!(store.leaves(0, 100).unwrap(), leaves_of(&events[..20]));
        for (seq, e) in events[..20].iter().enumerate() {
            assert_stored(&store.get(seq as u64).unwrap().unwrap(), seq as u64, e, RECEIVED);
        }
        assert_eq!(store.latest_checkpoint().unwrap(), Some(checkpoint));
        assert_eq!(store.conflicts(10).unwrap().iter().map(|c| (c.conflict, c.existing_seq)).collect::<Vec<_>>(), vec![(1, 11)]);
        assert_eq!(listed(&*store, &EventQuery { chain: Some("chain-1-1".into()), ..all() }), range(10..20));

        let outcomes = store.append(&events[15..], RECEIVED).unwrap();
        assert_eq!(outcomes, (15..50).map(|seq| if seq < 20 { Duplicate { seq } } else { Accepted { seq } }).collect::<Vec<_>>());
        let forged = changed(&events[7], "user", "mallory");
        assert_eq!(store.append(&[forged], 6).unwrap(), vec![Conflict { seq: 7, conflict: 2 }]);
        assert_eq!(store.size().unwrap(), 50);
        let leaves = leaves_of(&events);
        for n in 0..=50 {
            assert_eq!(store.root(n as u64).unwrap(), reference_root(&leaves[..n]), "root of size {n}");
        }
        let proof = store.consistency_proof(20, 50).unwrap();
        assert_eq!(tree::verify_consistency(20, 50, &root20, &reference_root(&leaves), &proof), Ok(()));
        let report = verify(&*store, &signer.verifier(), |_| {}).unwrap();
        assert_eq!(report.problems, vec![]);
        assert_eq!((report.entries, report.checkpoint_size), (50, Some(20)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_core::EventKey;

    #[test]
    fn the_reference_root_is_the_root_tlog_computes_at_every_size() {
        let mut memory = dossier_tlog::MemoryTree::default();
        let mut leaves = Vec::new();
        for i in 0..70u64 {
            assert_eq!(reference_root(&leaves), memory.root(), "size {i}");
            let leaf = tree::leaf_hash(&i.to_be_bytes());
            leaves.push(leaf);
            memory.push(leaf);
        }
    }

    #[test]
    fn every_case_is_listed_once() {
        let mut names: Vec<&str> = CASES.iter().map(|(name, _)| *name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(count >= 28);
    }

    #[test]
    fn story_events_are_keyed_by_seed_and_index() {
        let events = story(2, 3);
        assert_eq!(events[1].key, EventKey { source: "/dossier-gen/2".into(), id: "2-1".into() });
        assert_eq!(generated(1)[0].key.id, "1-0");
    }
}
