//! Following the log, at least once: a follower (the policy engine, the document fetcher)
//! handles every entry from its persisted cursor on — the entries committed while it was not
//! running are read back from the store, then each new commit arrives through a bounded tap;
//! what did not fit in the tap while the follower was behind is read back from the store, in
//! order, so a slow follower (a NATS outage, a busy policy thread) costs disk reads, not memory.
//! The cursor (`DATA/<name>.cursor`, the next entry to handle) is saved at most once a second,
//! so a crash repeats at most a second of work; followers make repeats harmless (ids derived
//! from what they record).
//!
//! What a follower holds is bounded whatever its lag: its tap (`TAP_CAPACITY` entries) and one
//! page read from the store (`PAGE` entries, or the page size it was made with). A follower
//! that wants only some types ([`Follower::next_where`]) passes over the others as stored rows,
//! without reading them as events.

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

/// Rows read from the store at a time when a follower catches up (its default page).
pub const PAGE: usize = 1000;

pub struct Follower {
    log: Arc<EvidenceLog>,
    feed: TapReceiver,
    cursor: Cursor,
    /// The next entry this follower will be given (it may not be done with earlier ones yet).
    read: u64,
    /// Entries read back from the store, to give out before the tap's: one page at most.
    backlog: VecDeque<Arc<Appended>>,
    /// Rows read from the store at a time.
    page: usize,
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
        Follower::with_limits(log, cursor_file, capacity, PAGE)
    }

    /// A follower whose tap holds at most `tap` entries and that reads at most `page` rows from
    /// the store at a time: what it holds is bounded by these two, however far behind it is.
    pub fn with_limits(log: Arc<EvidenceLog>, cursor_file: PathBuf, tap: usize, page: usize) -> Follower {
        let feed = log.tap_sized(tap);
        // Everything below it reached the views before the tap was open; the rest comes through it.
        let now = log.applied();
        let cursor = Cursor::load(cursor_file, now);
        // What committed between the cursor and the tap's opening is read from the store, a page
        // at a time ([`Follower::catch_up`] handles it at once instead).
        let behind_until = cursor.next.max(now);
        Follower { read: cursor.next, behind_until, backlog: VecDeque::new(), page: page.max(1), cursor, log, feed }
    }

    /// The next entry this follower has neither given out nor passed over: every entry before
    /// it was given (or, not wanted, passed over).
    pub fn position(&self) -> u64 {
        self.backlog.front().map_or(self.read, |a| a.seq)
    }

    /// Entries read from the store and not given out yet (never more than the page size).
    pub fn buffered(&self) -> usize {
        self.backlog.len()
    }

    /// The next entry to handle, as the persisted cursor says (saved at most once a second).
    pub fn cursor(&self) -> u64 {
        self.cursor.next
    }

    /// Forgets what was read from the store and not given out yet, to read it again: for a
    /// follower whose idea of what it wants changed (the filter of [`Follower::next_where`]).
    pub fn reread(&mut self) {
        let from = self.position();
        self.behind_until = self.behind_until.max(self.read);
        self.read = from;
        self.backlog.clear();
    }

    /// Handles the entries committed before the tap was opened, from the cursor on.
    pub fn catch_up(&mut self, mut handle: impl FnMut(&Appended)) {
        // Up to what the views have: later entries arrive through the tap.
        let end = self.log.applied();
        while self.cursor.next < end {
            let rows = match self.log.store().scan(self.cursor.next, self.page) {
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

    /// Reads the next page of what this follower missed from the store into the backlog;
    /// rows of types it does not want are passed over without being read as events.
    fn refill(&mut self, wanted: &mut dyn FnMut(&str) -> bool) -> Result<(), dossier_store::StoreError> {
        let rows = self.log.store().scan(self.read, self.page.min((self.behind_until - self.read) as usize))?;
        if rows.is_empty() {
            // The store does not have them (yet): nothing more to read back.
            self.behind_until = self.read;
            return Ok(());
        }
        for row in rows {
            self.read = row.seq + 1;
            if !wanted(&row.event_type) {
                continue;
            }
            if let Ok(a) = Appended::from_row(&row, "a follower reading what its tap dropped") {
                self.backlog.push_back(Arc::new(a));
            }
        }
        Ok(())
    }

    /// The next entry not handled yet, waiting at most `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Next {
        self.next_where(timeout, &mut |_| true)
    }

    /// The next entry of a type `wanted` answers true for, waiting at most `timeout`; entries of
    /// other types are passed over (read from the store, they are not even read as events).
    /// [`Follower::position`] says how far it went. Having passed over entries, it waits for no
    /// more: when no wanted entry is at hand, the answer is [`Next::Idle`] at once, so that the
    /// follower can say how far it got (and do its periodic work) however many it passes over.
    pub fn next_where(&mut self, timeout: Duration, wanted: &mut dyn FnMut(&str) -> bool) -> Next {
        let deadline = Instant::now() + timeout;
        let mut passed = false;
        loop {
            if let Some(a) = self.backlog.pop_front() {
                return Next::Entry(a);
            }
            if self.read < self.behind_until {
                if let Err(e) = self.refill(wanted) {
                    // Retried on the next call: the follower's periodic work goes on meanwhile.
                    tracing::error!("a follower reading the log from {}: {e}; retrying", self.read);
                    std::thread::sleep(timeout);
                    return Next::Idle;
                }
                if self.backlog.is_empty() {
                    // A page of entries it does not want.
                    self.cursor.save(false);
                    return Next::Idle;
                }
                continue;
            }
            let wait = if passed { Duration::ZERO } else { deadline.saturating_duration_since(Instant::now()) };
            match self.feed.receiver.recv_timeout(wait) {
                // Entries before `read` were given out already (caught up or read back).
                Ok(a) if a.seq < self.read => continue,
                Ok(a) if a.seq == self.read => {
                    self.read += 1;
                    if wanted(a.event.event_type.as_str()) {
                        return Next::Entry(a);
                    }
                    passed = true;
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
