//! Following the log, at least once: a follower (the policy engine, the document fetcher)
//! handles every entry from its persisted cursor on — the entries committed while it was not
//! running are read back from the store, then each new commit arrives through a bounded tap;
//! what did not fit in the tap while the follower was behind is read back from the store, in
//! order, so a slow follower (a NATS outage, a busy policy thread) costs disk reads, not memory.
//! The cursor (`DATA/<name>.cursor`, the next entry to handle) is saved at most once a second,
//! so a crash repeats at most a second of work; followers make repeats harmless (ids derived
//! from what they record).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{Appended, EvidenceLog, TapReceiver};

struct Cursor {
    path: PathBuf,
    next: u64,
    saved: u64,
    saved_at: Instant,
}

impl Cursor {
    /// Reads the cursor; without one, following starts at `now` (the end of the log), and that
    /// starting point is written at once: what commits after it must be handled even if the
    /// process dies before the cursor first moves.
    fn load(path: PathBuf, now: u64) -> Cursor {
        match std::fs::read_to_string(&path).ok().and_then(|t| t.trim().parse().ok()) {
            Some(next) => Cursor { path, next, saved: next, saved_at: Instant::now() },
            None => {
                let mut cursor = Cursor { path, next: now, saved: u64::MAX, saved_at: Instant::now() };
                cursor.save(true);
                cursor
            }
        }
    }

    /// Writes the cursor when it moved and a second has passed (or when `force`d).
    fn save(&mut self, force: bool) {
        if self.next == self.saved || (!force && self.saved_at.elapsed() < Duration::from_secs(1)) {
            return;
        }
        let tmp = self.path.with_extension("tmp");
        let written = std::fs::write(&tmp, format!("{}\n", self.next)).and_then(|()| std::fs::rename(&tmp, &self.path));
        match written {
            Ok(()) => {
                self.saved = self.next;
                self.saved_at = Instant::now();
            }
            Err(e) => tracing::error!("saving the cursor {}: {e}", self.path.display()),
        }
    }
}

impl Drop for Cursor {
    /// A follower stopped in good order leaves its exact position (a crash repeats at most a
    /// second of work).
    fn drop(&mut self) {
        self.save(true);
    }
}

/// What waiting for the next entry gave.
pub enum Next {
    Entry(Arc<Appended>),
    /// Nothing new within the timeout: time for the follower's periodic work.
    Idle,
    /// The log is closed.
    Closed,
}

/// Rows read from the store at a time when a follower catches up.
const CHUNK: usize = 1000;

pub struct Follower {
    log: Arc<EvidenceLog>,
    feed: TapReceiver,
    cursor: Cursor,
    /// The next entry this follower will be given (it may not be done with earlier ones yet).
    read: u64,
    /// Entries read back from the store, to give out before the tap's.
    backlog: VecDeque<Arc<Appended>>,
    /// Read from the store up to here (exclusive) before taking from the tap again.
    behind_until: u64,
}

impl Follower {
    /// Taps the log first (what commits from now on is queued), then reads the cursor.
    pub fn new(log: Arc<EvidenceLog>, cursor_file: PathBuf) -> Follower {
        Follower::with_tap(log, cursor_file, crate::TAP_CAPACITY)
    }

    /// A follower whose tap holds at most `capacity` entries.
    pub fn with_tap(log: Arc<EvidenceLog>, cursor_file: PathBuf, capacity: usize) -> Follower {
        let feed = log.tap_sized(capacity);
        // Everything below it reached the views before the tap was open; the rest comes through it.
        let now = log.applied();
        let cursor = Cursor::load(cursor_file, now);
        Follower { read: cursor.next, behind_until: cursor.next, backlog: VecDeque::new(), cursor, log, feed }
    }

    /// Handles the entries committed before the tap was opened, from the cursor on.
    pub fn catch_up(&mut self, mut handle: impl FnMut(&Appended)) {
        // Up to what the views have: later entries arrive through the tap.
        let end = self.log.applied();
        while self.cursor.next < end {
            let rows = match self.log.store().scan(self.cursor.next, CHUNK) {
                Ok(r) if !r.is_empty() => r,
                Ok(_) => break,
                Err(e) => return tracing::error!("reading the log: {e}"),
            };
            for row in rows.into_iter().take_while(|r| r.seq < end) {
                if let Ok(a) = Appended::from_row(&row, "a follower catching up") {
                    handle(&a);
                }
                self.done(row.seq);
            }
        }
        self.read = self.read.max(self.cursor.next);
        self.behind_until = self.behind_until.max(self.read);
        self.cursor.save(true);
    }

    /// Reads the next chunk of what this follower missed from the store into the backlog.
    fn refill(&mut self) -> Result<(), dossier_store::StoreError> {
        let rows = self.log.store().scan(self.read, CHUNK.min((self.behind_until - self.read) as usize))?;
        if rows.is_empty() {
            // The store does not have them (yet): nothing more to read back.
            self.behind_until = self.read;
            return Ok(());
        }
        for row in rows {
            self.read = row.seq + 1;
            if let Ok(a) = Appended::from_row(&row, "a follower reading what its tap dropped") {
                self.backlog.push_back(Arc::new(a));
            }
        }
        Ok(())
    }

    /// The next entry not handled yet, waiting at most `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Next {
        loop {
            if let Some(a) = self.backlog.pop_front() {
                return Next::Entry(a);
            }
            if self.read < self.behind_until {
                if let Err(e) = self.refill() {
                    // Retried on the next call: the follower's periodic work goes on meanwhile.
                    tracing::error!("a follower reading the log from {}: {e}; retrying", self.read);
                    std::thread::sleep(timeout);
                    return Next::Idle;
                }
                continue;
            }
            match self.feed.receiver.recv_timeout(timeout) {
                // Entries before `read` were given out already (caught up or read back).
                Ok(a) if a.seq < self.read => continue,
                Ok(a) if a.seq == self.read => {
                    self.read += 1;
                    return Next::Entry(a);
                }
                // A gap: the tap was full when those entries committed. Read them, and this
                // one, from the store, in order.
                Ok(a) => self.behind_until = a.seq + 1,
                Err(RecvTimeoutError::Timeout) => {
                    if self.feed.overflowed.swap(false, std::sync::atomic::Ordering::AcqRel) {
                        // What the views have, not what the store has: never ahead of the views.
                        self.behind_until = self.behind_until.max(self.log.applied());
                        continue;
                    }
                    self.cursor.save(false);
                    return Next::Idle;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.cursor.save(true);
                    return Next::Closed;
                }
            }
        }
    }

    /// Handles every entry, from the cursor on, until the log closes: for followers with no
    /// periodic work of their own and nothing in flight (each entry is done when `handle` returns).
    pub fn follow(mut self, mut handle: impl FnMut(&Appended)) {
        self.catch_up(&mut handle);
        loop {
            match self.next(Duration::from_millis(500)) {
                Next::Entry(a) => {
                    handle(&a);
                    self.done(a.seq);
                }
                Next::Idle => {}
                Next::Closed => return,
            }
        }
    }

    /// Marks entry `seq` handled.
    pub fn done(&mut self, seq: u64) {
        self.cursor.next = self.cursor.next.max(seq + 1);
        self.cursor.save(false);
    }
}
