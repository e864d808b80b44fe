//! Following the log, at least once: a follower (the policy engine, the document fetcher)
//! handles every entry from its persisted cursor on — the entries committed while it was not
//! running are read back from the store, then each new commit arrives through a lossless tap.
//! The cursor (`DATA/<name>.cursor`, the next entry to handle) is saved at most once a second,
//! so a crash repeats at most a second of work; followers make repeats harmless (ids derived
//! from what they record).

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dossier_core::Event;
use serde_json::Value;

use crate::log::{Appended, EvidenceLog};

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

/// What waiting for the next entry gave.
pub(crate) enum Next {
    Entry(Arc<Appended>),
    /// Nothing new within the timeout: time for the follower's periodic work.
    Idle,
    /// The log is closed.
    Closed,
}

pub(crate) struct Follower {
    log: Arc<EvidenceLog>,
    feed: Receiver<Arc<Appended>>,
    cursor: Cursor,
}

impl Follower {
    /// Taps the log first (what commits from now on is queued), then reads the cursor.
    pub(crate) fn new(log: Arc<EvidenceLog>, cursor_file: PathBuf) -> Follower {
        let feed = log.tap();
        let now = log.store().size().unwrap_or(0);
        Follower { cursor: Cursor::load(cursor_file, now), log, feed }
    }

    /// Handles the entries committed before the tap was opened, from the cursor on.
    pub(crate) fn catch_up(&mut self, mut handle: impl FnMut(&Appended)) {
        let end = match self.log.store().size() {
            Ok(n) => n,
            Err(e) => return tracing::error!("reading the log size: {e}"),
        };
        while self.cursor.next < end {
            let rows = match self.log.store().scan(self.cursor.next, 1000) {
                Ok(r) if !r.is_empty() => r,
                Ok(_) => break,
                Err(e) => return tracing::error!("reading the log: {e}"),
            };
            for row in rows.into_iter().take_while(|r| r.seq < end) {
                let parsed = serde_json::from_slice::<Value>(&row.raw).ok().and_then(|v| Event::from_json(row.raw.clone(), &v).ok());
                if let Some(event) = parsed {
                    handle(&Appended { seq: row.seq, received_unix_nanos: row.received_unix_nanos, event });
                }
                self.done(row.seq);
            }
        }
        self.cursor.save(true);
    }

    /// The next entry not handled yet, waiting at most `timeout`.
    pub(crate) fn next(&mut self, timeout: Duration) -> Next {
        loop {
            match self.feed.recv_timeout(timeout) {
                // Entries before the cursor were handled by the catch-up.
                Ok(a) if a.seq < self.cursor.next => continue,
                Ok(a) => return Next::Entry(a),
                Err(RecvTimeoutError::Timeout) => {
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
    pub(crate) fn follow(mut self, mut handle: impl FnMut(&Appended)) {
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
    pub(crate) fn done(&mut self, seq: u64) {
        self.cursor.next = self.cursor.next.max(seq + 1);
        self.cursor.save(false);
    }
}
