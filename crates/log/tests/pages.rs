//! A follower behind the log reads what it missed from the store a page at a time: what it
//! holds never exceeds its page, however far behind it is; and a follower that wants only some
//! types is given exactly those, in order, while its position passes over the rest.

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

/// The generator's events `from..to`: a story of ten types, one of them `artifact.published`.
fn events(from: u64, to: u64) -> Vec<Event> {
    let g = dossier_gen::Generator::new(3);
    (from..to)
        .map(|i| {
            let v = g.event(i);
            Event::from_json(serde_json::to_vec(&v).unwrap(), &v).unwrap()
        })
        .collect()
}

const PAGE: usize = 100;

#[test]
fn a_follower_far_behind_reads_the_store_a_page_at_a_time_and_never_holds_more() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    // 5 000 entries committed while the follower was away (its cursor at 0), then it starts
    // with a tap of 4 entries and a page of 100.
    let cursor = dir.path().join("f.cursor");
    std::fs::write(&cursor, "0\n").unwrap();
    for chunk in 0..50 {
        log.append_blocking(events(chunk * 100, (chunk + 1) * 100)).unwrap();
    }
    let mut follower = Follower::with_limits(log.clone(), cursor, 4, PAGE);
    let mut seen = Vec::new();
    let mut most = 0;
    while seen.len() < 5000 {
        match follower.next(Duration::from_millis(300)) {
            Next::Entry(a) => {
                most = most.max(follower.buffered());
                if seen.is_empty() {
                    assert_eq!(follower.buffered(), PAGE - 1, "the first read is one page, less the entry given");
                }
                seen.push(a.seq);
                follower.done(a.seq);
            }
            other => panic!("an entry was due after {}, got {}", seen.len(), matches!(other, Next::Idle)),
        }
    }
    assert_eq!(seen, (0..5000).collect::<Vec<u64>>(), "every entry once, in order");
    assert_eq!(most, PAGE - 1, "never more than a page held");
    assert_eq!(follower.buffered(), 0);
    assert!(matches!(follower.next(Duration::from_millis(100)), Next::Idle), "nothing twice");
    log.close();
}

#[test]
fn a_follower_that_wants_some_types_gets_exactly_those_in_order_and_passes_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let mut follower = Follower::with_limits(log.clone(), dir.path().join("f.cursor"), 4, PAGE);
    // 2 000 entries read back from the store, then 30 through the tap.
    log.append_blocking(events(0, 2000)).unwrap();
    let published = |ty: &str| ty.starts_with("dev.cdevents.artifact.published.");
    let mut given = Vec::new();
    loop {
        match follower.next_where(Duration::from_millis(300), &mut |ty| published(ty)) {
            Next::Entry(a) => {
                assert!(follower.buffered() <= PAGE / 10, "only wanted entries are held: {}", follower.buffered());
                given.push(a.seq);
            }
            Next::Idle if follower.position() == 2000 => break,
            Next::Idle => {}
            Next::Closed => panic!("the log is open"),
        }
    }
    // Step 7 of every run of ten is the publication.
    assert_eq!(given, (0..200).map(|run| run * 10 + 7).collect::<Vec<u64>>());
    for e in events(2000, 2030) {
        log.append_blocking(vec![e]).unwrap();
    }
    let mut tapped = Vec::new();
    while let Next::Entry(a) = follower.next_where(Duration::from_millis(300), &mut |ty| published(ty)) {
        tapped.push(a.seq);
    }
    assert_eq!(tapped, vec![2007, 2017, 2027], "from the tap too");
    assert_eq!(follower.position(), 2030, "the others passed over");
    log.close();
}

#[test]
fn a_follower_asked_to_read_again_gives_what_it_had_read_ahead_under_its_new_choice() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let mut follower = Follower::with_limits(log.clone(), dir.path().join("f.cursor"), 4, PAGE);
    log.append_blocking(events(0, 50)).unwrap();
    let first = match follower.next_where(Duration::from_millis(300), &mut |ty| ty.starts_with("dev.cdevents.artifact.published.")) {
        Next::Entry(a) => a.seq,
        _ => panic!("entry 7 was due"),
    };
    assert_eq!((first, follower.buffered(), follower.position()), (7, 4, 17), "17, 27, 37 and 47 read ahead");
    // The choice changes: everything after what was given comes again, chosen anew.
    follower.reread();
    let mut given = Vec::new();
    while let Next::Entry(a) = follower.next_where(Duration::from_millis(300), &mut |ty| ty.starts_with("dev.cdevents.service.deployed.")) {
        given.push(a.seq);
    }
    assert_eq!(given, vec![18, 28, 38, 48], "8 was passed over before the change, under the old choice");
    log.close();
}
