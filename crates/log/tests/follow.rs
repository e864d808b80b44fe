//! Followers read every entry once, in log order, however their speed compares with the
//! writer's: entries that did not fit in the tap come back from the store, and a follower that
//! restarts goes on from its cursor.

use std::sync::Arc;
use std::time::Duration;

use dossier_core::Event;
use dossier_log::follow::{Follower, Next};
use dossier_log::EvidenceLog;
use dossier_store::Store;

fn open(dir: &std::path::Path) -> Arc<EvidenceLog> {
    let store: Arc<dyn Store> = Arc::new(dossier_store_sqlite::SqliteStore::open(&dir.join("dossier.db")).unwrap());
    EvidenceLog::new(store, dossier_tlog::Signer::generate("test/log").unwrap(), Vec::new())
}

fn events(from: u64, to: u64) -> Vec<Event> {
    let g = dossier_gen::Generator::new(3);
    (from..to)
        .map(|i| {
            let v = g.event(i);
            Event::from_json(serde_json::to_vec(&v).unwrap(), &v).unwrap()
        })
        .collect()
}

/// Reads until the follower has been idle once; the seqs it was given.
fn drain(follower: &mut Follower, slow_every: u64) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        match follower.next(Duration::from_millis(300)) {
            Next::Entry(a) => {
                if slow_every > 0 && a.seq % slow_every == 0 {
                    std::thread::sleep(Duration::from_millis(2));
                }
                seen.push(a.seq);
                follower.done(a.seq);
            }
            Next::Idle => return seen,
            Next::Closed => panic!("the log is open"),
        }
    }
}

#[test]
fn a_slow_follower_with_a_busy_writer_gets_every_entry_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let mut follower = Follower::new(log.clone(), dir.path().join("f.cursor"));
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for e in events(0, 20_000) {
                log.append_detached(vec![e]);
            }
            log.append_blocking(Vec::new()).unwrap();
        })
    };
    let seen = drain(&mut follower, 100);
    writer.join().unwrap();
    let mut seen = seen;
    seen.extend(drain(&mut follower, 0));
    assert_eq!(seen, (0..20_000).collect::<Vec<u64>>());
    log.close();
}

#[test]
fn a_follower_goes_on_from_its_cursor_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let cursor = dir.path().join("f.cursor");
    let mut follower = Follower::new(log.clone(), cursor.clone());
    log.append_blocking(events(0, 10)).unwrap();
    assert_eq!(drain(&mut follower, 0), (0..10).collect::<Vec<u64>>());
    drop(follower);
    // Entries commit while no follower runs.
    log.append_blocking(events(10, 25)).unwrap();
    let mut follower = Follower::new(log.clone(), cursor);
    let mut caught_up = Vec::new();
    follower.catch_up(|a| caught_up.push(a.seq));
    assert_eq!(caught_up, (10..25).collect::<Vec<u64>>(), "what committed while it was stopped, and nothing handled before");
    log.append_blocking(events(25, 30)).unwrap();
    assert_eq!(drain(&mut follower, 0), (25..30).collect::<Vec<u64>>());
    log.close();
}

#[test]
fn entries_dropped_from_a_full_tap_are_read_back_before_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let mut follower = Follower::with_tap(log.clone(), dir.path().join("f.cursor"), 4);
    // Ten commits: the tap keeps 0..=3, drops 4..=9.
    for e in events(0, 10) {
        log.append_blocking(vec![e]).unwrap();
    }
    let mut take = |n: usize| -> Vec<u64> {
        (0..n)
            .map(|_| match follower.next(Duration::from_millis(300)) {
                Next::Entry(a) => a.seq,
                _ => panic!("an entry was due"),
            })
            .collect()
    };
    assert_eq!(take(2), vec![0, 1]);
    // Entry 10 reaches the tap behind 2 and 3: a gap from 4 to 9.
    log.append_blocking(events(10, 11)).unwrap();
    assert_eq!(take(9), vec![2, 3, 4, 5, 6, 7, 8, 9, 10], "the gap is read from the store, then 10, in order");
    assert!(matches!(follower.next(Duration::from_millis(100)), Next::Idle), "nothing twice");
    log.close();
}
