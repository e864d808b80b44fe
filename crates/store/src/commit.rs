//! Group commit: one writer thread turns many concurrent appends into few durable
//! transactions, so that each caller is acknowledged only after an fsync without paying for
//! one fsync per event.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use dossier_core::Event;

use crate::{AppendOutcome, Result, Store, StoreError};

/// Called with each caller's outcomes once they are durable.
pub type Reply = Box<dyn FnOnce(Result<Vec<AppendOutcome>>) + Send>;

/// Called after each durable transaction, before any reply, with its events in log order and
/// the time they were recorded as received.
pub type OnCommit = Box<dyn Fn(&[Event], &[AppendOutcome], i64) + Send>;

struct Job {
    events: Vec<Event>,
    reply: Reply,
}

/// The single writer of a [`Store`].
pub struct GroupCommit {
    sender: Mutex<Option<Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// The most events one transaction takes; more waiting callers go into the next one.
const MAX_GROUP_EVENTS: usize = 20_000;

impl GroupCommit {
    pub fn start(store: Arc<dyn Store>, on_commit: OnCommit) -> GroupCommit {
        let (sender, receiver) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("dossier-writer".into())
            .spawn(move || write_loop(store.as_ref(), receiver, on_commit))
            .expect("spawning the writer thread");
        GroupCommit { sender: Mutex::new(Some(sender)), writer: Mutex::new(Some(writer)) }
    }

    /// Queues `events` for the next transaction; `reply` is called once they are durable
    /// (or failed). After [`GroupCommit::shutdown`] it is called at once with `Closed`.
    pub fn submit(&self, events: Vec<Event>, reply: Reply) {
        let job = Job { events, reply };
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        match sender.as_ref() {
            Some(s) => {
                if let Err(mpsc::SendError(job)) = s.send(job) {
                    (job.reply)(Err(StoreError::Closed));
                }
            }
            None => (job.reply)(Err(StoreError::Closed)),
        }
    }

    /// Commits what is queued, then stops the writer.
    pub fn shutdown(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = w.join();
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn write_loop(store: &dyn Store, receiver: Receiver<Job>, on_commit: OnCommit) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        let mut count = jobs[0].events.len();
        while count < MAX_GROUP_EVENTS {
            match receiver.try_recv() {
                Ok(job) => {
                    count += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let mut events = Vec::with_capacity(count);
        let mut parts = Vec::with_capacity(jobs.len());
        for job in jobs {
            parts.push((job.events.len(), job.reply));
            events.extend(job.events);
        }
        let received = crate::now_unix_nanos();
        match store.append(&events, received) {
            Ok(outcomes) => {
                on_commit(&events, &outcomes, received);
                let mut rest = outcomes.into_iter();
                for (n, reply) in parts {
                    reply(Ok(rest.by_ref().take(n).collect()));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for (_, reply) in parts {
                    reply(Err(StoreError::Backend(msg.clone())));
                }
            }
        }
    }
}
