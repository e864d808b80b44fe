//! A follower that falls behind costs disk reads, not memory: its tap holds at most
//! `TAP_CAPACITY` entries, and what did not fit is read back from the store, in order, once.
//! (One test per process: the memory figure is the process's own.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dossier_core::Event;
use dossier_log::follow::{Follower, Next};
use dossier_log::EvidenceLog;
use dossier_store::Store;

const COMMITS: u64 = 100_000;

/// Bytes the Rust heap holds now: what taps keep is there (SQLite's own page cache, allocated
/// by the C library, is not, and is bounded by its `cache_size` anyway).
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn held() -> usize {
    HELD.load(Ordering::Relaxed)
}

#[test]
fn a_paused_follower_holds_a_bounded_tap_and_reads_every_entry_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(dossier_store_sqlite::SqliteStore::open(&dir.path().join("dossier.db")).unwrap());
    let signer = dossier_tlog::Signer::generate("test/log").unwrap();
    let log = EvidenceLog::new(store, signer, Vec::new());
    // Paused: tapped, then nothing read while 100 000 entries commit.
    let mut follower = Follower::new(log.clone(), dir.path().join("test.cursor"));
    let generator = dossier_gen::Generator::new(7);
    let before = held();
    for chunk in 0..COMMITS / 1000 {
        let events: Vec<Event> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| {
                let v = generator.event(i);
                Event::from_json(serde_json::to_vec(&v).unwrap(), &v).unwrap()
            })
            .collect();
        // Submitted one by one, as 100 000 clients would; the writer groups them into commits.
        for e in events {
            log.append_detached(vec![e]);
        }
    }
    // The writer keeps submission order: once this one is durable, all are.
    log.append_blocking(Vec::new()).unwrap();
    assert_eq!(log.store().size().unwrap(), COMMITS);
    let grown = held().saturating_sub(before);
    // Unbounded, the tap held every entry (raw bytes, canonical form, facts): 121 MiB here.
    // Bounded, it holds TAP_CAPACITY of them: a few MiB.
    assert!(grown < 16 << 20, "the heap grew by {} KiB while the follower was paused", grown >> 10);

    let mut next = 0;
    loop {
        match follower.next(Duration::from_millis(100)) {
            Next::Entry(a) => {
                assert_eq!(a.seq, next, "entries come in log order, each once");
                next += 1;
                follower.done(a.seq);
            }
            Next::Idle => break,
            Next::Closed => panic!("the log is open"),
        }
    }
    assert_eq!(next, COMMITS, "every entry was read, those that did not fit in the tap from the store");
    log.close();
}
