//! The policy engine as a service: policies from a directory, reloaded when it changes,
//! evaluated on every committed event they are triggered by, with every policy version, every
//! significant decision and every emitted event appended to the evidence log.
//!
//! Evidence it writes (source `/dossier/policies`, ids derived from what they record, so that a
//! repetition is a duplicate, never a second entry):
//! * `dev.cdeventsx.dossier-policy.loaded.0.1.0` — subject: the policy; content: version
//!   (SHA-256 of the source), package, mode, triggers, allowed actions, source.
//! * `dev.cdeventsx.dossier-policy.decided.0.1.0` — subject: the policy; content: version, mode,
//!   the triggering entry, the artifact (`artifactId`, so decisions join its timeline), the input
//!   digest (SHA-256 of its RFC 8785 form), deny, warn, actions with their outcome, errors.
//! * what an `emit`, `quarantine` or `release` action asks for, as its own event.
//! * the `queued` entry of each webhook and tool run, committed with its decision; the action
//!   workers (`actions`) run them.
//!
//! How it keeps up with ingest: one thread follows the log and asks the trigger index
//! ([`triggers`]) about each entry's type before anything else is read, so an entry no policy
//! is triggered by costs a lookup (read back from the store, it is not even parsed). The others
//! go to `Options::workers` evaluating threads, each with its own copy of the loaded set, shared
//! out by the artifact they name so that one artifact's entries are decided in log order. What
//! the workers make of them is committed in groups — what actions append, then the decisions —
//! and the cursor passes an entry only once it and every entry before it are decided and
//! committed. Behind the log, the engine reads it from the store a page at a time: what it holds
//! is bounded by the follower's tap and page and `Options::in_flight`, however far behind it
//! is, and how far that is shows in [`PolicyService::lag`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use dossier_core::own::{Family, OwnType, POLICIES_SOURCE as SOURCE};
use dossier_core::{Event, EventKey};
use dossier_log::follow::{Follower, Next};
use dossier_log::own::{now_nanos, own_event};
use dossier_log::{Appended, EvidenceLog};
use dossier_policy::{Decision, LoadError, PolicySet};
use dossier_store::{AppendOutcome, EventQuery, TypePattern};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest;

use crate::action::{parse_after, Action, ActionId, BodyFormat, EntryRef, Outcome, RunRef};
use crate::actions::{Queued, Request, Trigger};
use crate::decide::{decide, Context, Evaluation, Moment, Recheck, Why};

pub mod triggers;
use triggers::Triggers;

/// A policy's request to look at a trigger again later, kept in the log until it fires.
#[derive(Debug, Clone)]
struct Timer {
    id: String,
    /// The log entry of the timer itself: decisions it leads to are keyed by it.
    seq: u64,
    policy: String,
    trigger_seq: u64,
    due_unix_nanos: i64,
}

/// A `timer.set` entry's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimerSet {
    policy: String,
    trigger: TimerTrigger,
    due: String,
    due_unix_nanos: i64,
    #[serde(default)]
    artifact_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TimerTrigger {
    seq: u64,
    id: String,
}

/// A `policy.decided` entry's content: written by the engine, read by the dashboard and audits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decided {
    pub version: String,
    pub mode: dossier_policy::Mode,
    pub trigger: DecidedTrigger,
    /// The timer, for a recheck.
    pub recheck: Option<String>,
    /// The artifact the decision is about (so it joins the artifact's timeline).
    pub artifact_id: Option<String>,
    /// SHA-256 of the input's RFC 8785 form.
    pub input_digest: String,
    pub deny: Vec<String>,
    pub warn: Vec<String>,
    /// Each action as the policy asked for it, with its outcome.
    pub actions: Vec<Value>,
    pub errors: Vec<String>,
    /// Exceptions the policy let through.
    pub exceptions: Vec<String>,
    /// What an evaluation error meant for the policy (when `errors` holds one and this is
    /// `deny`, `deny` says so).
    #[serde(default)]
    pub on_error: dossier_policy::OnError,
}

/// The entry a decision is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecidedTrigger {
    pub seq: u64,
    pub source: String,
    pub id: String,
    #[serde(rename = "type")]
    pub ty: String,
}

impl Decided {
    /// Reads a `decided` entry's raw bytes; `None` (and a log line) for one that does not read.
    pub fn read(raw: &[u8]) -> Option<Decided> {
        let content = serde_json::from_slice::<Value>(raw).ok().and_then(|mut v| v.pointer_mut("/subject/content").map(Value::take))?;
        serde_json::from_value(content).map_err(|e| tracing::error!("a decision entry that does not read: {e}")).ok()
    }
}

/// A `timer.fired` entry's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TimerFired {
    timer: String,
}

/// What the service has loaded, for the API.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyStatus {
    pub dir: String,
    pub policies: Vec<dossier_policy::Policy>,
    /// Files refused at the last load (the previous version of each stays active).
    pub errors: Vec<LoadError>,
    /// How far the engine is behind the log.
    pub lag: Lag,
}

/// How far the policy engine is behind the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Lag {
    /// Entries committed to the log that the engine has not decided (with its decisions
    /// committed) yet: from the oldest of them to the head.
    pub entries: u64,
    /// How long ago Dossier received the oldest of them, in seconds (0 when there is none).
    pub seconds: f64,
}

/// How far the engine has got, as its thread last said.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// Every entry before this one is decided and its records committed.
    decided: u64,
    /// When Dossier received entry `decided`, if the engine holds it.
    received: Option<i64>,
}

/// The most copies of the loaded set kept for callers outside the engine's thread.
pub const CALLERS: usize = 4;

/// The loaded policies: status for the API, upload and removal, and [`PolicyService::decide`],
/// which anyone may call (the policy thread for live evaluation, a replay, the gate).
pub struct PolicyService {
    dir: PathBuf,
    status: Mutex<PolicyStatus>,
    /// Copies of the loaded set, one per core (at most [`CALLERS`]): callers outside the
    /// engine's thread (the gate, an admission review's containers) decide side by side.
    sets: Vec<Mutex<PolicySet>>,
    cx: Context,
    /// A replay scans the log: one at a time.
    replays: Mutex<()>,
    /// What an evaluation error means for policies that do not say (`serve --policy-on-error`).
    on_error: dossier_policy::OnError,
    /// How far the engine's thread has got.
    progress: Mutex<Progress>,
}

/// Why an uploaded policy was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("a policy name is 1 to 64 lowercase letters, digits and underscores, not {0:?}")]
    BadName(String),
    #[error("{0}")]
    DoesNotCompile(String),
    #[error("writing the policy: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Bundle(#[from] dossier_policy::bundle::BundleError),
}

impl PolicyService {
    /// What is loaded, and how far the engine is behind (reads one entry of the store when it
    /// is: blocking, like [`PolicyService::lag`]).
    pub fn status(&self) -> PolicyStatus {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        status.lag = self.lag();
        status
    }

    /// How far the engine is behind the log: the entries from the oldest one not decided yet to
    /// the head, and how long ago that one was received (read from the store when the engine has
    /// not read it yet).
    pub fn lag(&self) -> Lag {
        let Progress { decided, received } = *self.progress.lock().unwrap_or_else(|p| p.into_inner());
        let entries = self.cx.log.applied().saturating_sub(decided);
        if entries == 0 {
            return Lag::default();
        }
        let received = received.or_else(|| match self.cx.log.store().get(decided) {
            Ok(row) => row.map(|r| r.received_unix_nanos),
            Err(e) => {
                tracing::error!("reading entry {decided} for the policy lag: {e}");
                None
            }
        });
        let seconds = received.map_or(0.0, |r| now_nanos().saturating_sub(r).max(0) as f64 / 1e9);
        Lag { entries, seconds }
    }

    /// What the loaded policies decide on entry `a` at `moment` (see [`crate::decide`]).
    pub fn decide(&self, a: &Appended, moment: Moment, why: Why<'_>) -> Option<Evaluation> {
        let mut set = self.any_set();
        decide(&mut set, &self.cx, a, moment, why)
    }

    /// A copy of the loaded set no other caller holds, or, when all are held, the first one
    /// once it is free.
    fn any_set(&self) -> std::sync::MutexGuard<'_, PolicySet> {
        for set in &self.sets {
            match set.try_lock() {
                Ok(guard) => return guard,
                Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        self.sets[0].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many callers can decide at once.
    pub fn parallelism(&self) -> usize {
        self.sets.len()
    }

    /// What loaded policy `name` would have decided over the entries of a period (their
    /// timestamps), acting on nothing; one replay at a time (blocking: run it off async threads).
    pub fn replay(&self, name: &str, since: Option<i64>, until: Option<i64>) -> Result<crate::replay::Replay, crate::replay::ReplayError> {
        let set = self.any_set().only(name).ok_or_else(|| crate::replay::ReplayError::NotLoaded(name.to_owned()))?;
        let _turn = self.replays.lock().unwrap_or_else(|p| p.into_inner());
        crate::replay::replay(&self.cx, set, since, until)
    }

    /// What the input is read from.
    pub fn context(&self) -> &Context {
        &self.cx
    }

    fn path_of(&self, name: &str) -> Result<PathBuf, UploadError> {
        let ok = !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(UploadError::BadName(name.to_owned()));
        }
        Ok(self.dir.join(format!("{name}.rego")))
    }

    /// Writes policy `name` into the directory if it compiles with the others, recording the
    /// version as loaded with the uploader `by` as its sender; the engine picks it up within a
    /// second. Returns the policy as loaded.
    pub fn upload(&self, name: &str, source: &str, by: &str) -> Result<dossier_policy::Policy, UploadError> {
        let path = self.path_of(name)?;
        let file = format!("{name}.rego");
        let (mut sources, _) = read_dir(&self.dir)?;
        sources.retain(|(f, _)| *f != file);
        sources.push((file.clone(), source.to_owned()));
        let (set, errors) = PolicySet::from_sources(sources);
        if let Some(e) = errors.iter().find(|e| e.file == file) {
            self.record_refusal(name, source, &e.message, by);
            return Err(UploadError::DoesNotCompile(e.message.clone()));
        }
        let policy = set
            .policies()
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| UploadError::DoesNotCompile("a test module (*_test) cannot be uploaded as a policy".into()))?;
        // The version entry under the uploader's name first, then the file: the engine, loading
        // the file, finds the version recorded already (and cannot record it first, unsent).
        if let Some(mut event) = version_entry(&policy) {
            event.sender = Some(by.to_owned());
            if let Err(e) = self.cx.log.append_blocking(vec![event]) {
                tracing::error!("recording the upload of policy {name}: {e}");
            }
        }
        let tmp = self.dir.join(format!(".{name}.rego.tmp"));
        std::fs::write(&tmp, source)?;
        std::fs::rename(&tmp, &path)?;
        Ok(policy)
    }

    /// Removes policy `name` from the directory, and records the removal in the log (with the
    /// version removed and `by` as its sender); false if there was none.
    pub fn remove(&self, name: &str, by: &str) -> Result<bool, UploadError> {
        let path = self.path_of(name)?;
        let removed = std::fs::read_to_string(&path).ok();
        match std::fs::remove_file(&path) {
            Ok(()) => {
                let version = removed.map(|text| dossier_log::own::hex(&sha2::Sha256::digest(text.as_bytes())));
                let content = json!({"policy": name, "version": version});
                self.record(format!("removed-{name}-{}", now_nanos()), OwnType::PolicyRemoved, name, content, by);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Records an upload that did not compile: what was sent, and why it was refused.
    fn record_refusal(&self, name: &str, source: &str, reason: &str, by: &str) {
        let version = dossier_log::own::hex(&sha2::Sha256::digest(source.as_bytes()));
        let content = json!({"policy": name, "version": version, "reason": reason, "source": source});
        self.record(format!("refused-{name}-{}", &version[..16]), OwnType::PolicyRefused, name, content, by);
    }

    /// Appends one entry of the policy service's own; a failure is logged (the answer to the
    /// caller does not depend on it).
    fn record(&self, id: String, ty: OwnType, subject: &str, content: Value, by: &str) {
        let appended = own_event(id, SOURCE, ty, subject, content, None)
            .map(|e| Event { sender: Some(by.to_owned()), ..e })
            .map_err(|e| e.to_string())
            .and_then(|e| self.cx.log.append_blocking(vec![e]).map_err(|e| e.to_string()));
        if let Err(e) = appended {
            tracing::error!("recording {ty} of policy {subject}: {e}");
        }
    }
}

/// Name, size and modification time of each policy file: changes when any file does.
type Fingerprint = Vec<(String, u64, SystemTime)>;

/// `(path, text)` of every module and data document of the bundle (a directory with its
/// subdirectories, or an OPA bundle tarball), and its fingerprint.
fn read_dir(dir: &std::path::Path) -> Result<(Vec<(String, String)>, Fingerprint), dossier_policy::bundle::BundleError> {
    let (files, print) = dossier_policy::bundle::read(dir)?;
    Ok((files.files, print))
}

/// Results committed together at most (their records in two appends).
const GROUP: usize = 256;

/// How the policy engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Threads evaluating policies, each with its own copy of the loaded set. Entries are
    /// shared out by the artifact they name, so one artifact's entries are decided in log order.
    pub workers: usize,
    /// Entries (and rechecks) given to the workers and not committed yet, at most: with the
    /// follower's tap and page, all the engine holds of the log, however far behind it is.
    pub in_flight: usize,
}

impl Default for Options {
    /// A worker per core (8 at most), 512 entries in flight.
    fn default() -> Options {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Options { workers: cores.clamp(1, 8), in_flight: 512 }
    }
}

/// The thread that follows the log for the policies: it reads entries, gives those a policy is
/// triggered by to the workers, commits what the workers made of them in groups, and moves the
/// cursor past an entry only once it and every entry before it are decided and committed.
struct Engine {
    log: Arc<EvidenceLog>,
    dir: PathBuf,
    /// The last version of each file that compiled.
    good: BTreeMap<String, String>,
    fingerprint: Fingerprint,
    service: Arc<PolicyService>,
    /// Which policies each event type triggers, for the loaded set.
    triggers: Triggers,
    /// Each worker's jobs.
    workers: Vec<mpsc::Sender<Job>>,
    /// What the workers made of their jobs (each worker's in the order it took them).
    results: mpsc::Receiver<Evaluated>,
    /// Entries given to the workers and not committed yet: seq → when Dossier received it.
    in_flight: BTreeMap<u64, i64>,
    /// Rechecks given to the workers and not committed yet.
    rechecks: usize,
    /// Jobs in flight at most.
    limit: usize,
    /// Timers not fired yet: (due, seq of the `timer.set` entry). The rest of a timer is read
    /// from its entry when it fires.
    pending: BTreeSet<(i64, u64)>,
}

impl Engine {
    /// Loads the directory; a file that no longer compiles keeps its previous version. The
    /// workers evaluate what they are given next with the new set. True if anything changed.
    fn reload(&mut self) -> bool {
        let (files, print) = match read_dir(&self.dir) {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("reading policies from {}: {e}", self.dir.display());
                return false;
            }
        };
        if print == self.fingerprint {
            return false;
        }
        self.fingerprint = print;
        let events = Some(self.service.cx.events_fn());
        let (_, errors) = PolicySet::from_sources_with(files.clone(), events.clone());
        let refused: Vec<&str> = errors.iter().map(|e| e.file.as_str()).collect();
        let sources: Vec<(String, String)> = files
            .into_iter()
            .filter_map(|(f, s)| if refused.contains(&f.as_str()) { self.good.get(&f).map(|g| (f, g.clone())) } else { Some((f, s)) })
            .collect();
        let (mut set, _) = PolicySet::from_sources_with(sources.clone(), events);
        set.set_default_on_error(self.service.on_error);
        for e in &errors {
            tracing::error!("policy {} refused: {}", e.file, e.message);
        }
        self.good = sources.into_iter().collect();
        let policies = set.policies().to_vec();
        self.triggers = Triggers::new(&policies);
        for (n, worker) in self.workers.iter().enumerate() {
            if worker.send(Job::Policies(Box::new(set.clone()))).is_err() {
                tracing::error!("policy worker {n} has stopped");
            }
        }
        for copy in &self.service.sets {
            *copy.lock().unwrap_or_else(|p| p.into_inner()) = set.clone();
        }
        self.record_versions(&policies);
        let mut status = self.service.status.lock().unwrap_or_else(|p| p.into_inner());
        status.policies = policies;
        status.errors = errors;
        tracing::info!("{} policies active from {}", status.policies.len(), self.dir.display());
        true
    }

    fn record_versions(&self, policies: &[dossier_policy::Policy]) {
        // A version uploaded over the API is recorded already, under its uploader.
        let events: Vec<Event> =
            policies.iter().filter_map(version_entry).filter(|e| !matches!(self.log.store().get_by_key(&e.key), Ok(Some(_)))).collect();
        if !events.is_empty() {
            if let Err(e) = self.log.append_blocking(events) {
                tracing::error!("recording policy versions: {e}");
            }
        }
    }

    /// Takes entries from the log while the workers have room, giving each one a policy is
    /// triggered by to the worker of its artifact, and passing over the rest (the trigger index
    /// answers before anything of the entry is read). True when the log has closed.
    fn admit(&mut self, follower: &mut Follower) -> bool {
        for taken in 0..self.limit {
            if self.busy() >= self.limit {
                return false;
            }
            // Waits for news only when there is nothing else to do.
            let wait = if self.busy() == 0 && taken == 0 { self.idle_wait() } else { Duration::ZERO };
            let triggers = &mut self.triggers;
            match follower.next_where(wait, &mut |ty| triggers.wanted(ty)) {
                Next::Entry(a) => self.dispatch(a),
                Next::Idle => return false,
                Next::Closed => return true,
            }
        }
        false
    }

    /// Entries and rechecks given to the workers and not committed yet.
    fn busy(&self) -> usize {
        self.in_flight.len() + self.rechecks
    }

    /// How long to wait for an entry when idle: until the next timer is due, 250 ms at most.
    fn idle_wait(&self) -> Duration {
        let most = Duration::from_millis(250);
        match self.pending.first() {
            Some(&(due, _)) => Duration::from_nanos(due.saturating_sub(now_nanos()).max(0) as u64).min(most),
            None => most,
        }
    }

    fn dispatch(&mut self, a: Arc<Appended>) {
        let (seq, received) = (a.seq, a.received_unix_nanos);
        let worker = shard(&a, self.workers.len());
        self.in_flight.insert(seq, received);
        if self.workers[worker].send(Job::Entry(a)).is_err() {
            tracing::error!("entry {seq}: policy worker {worker} has stopped; the entry is not evaluated");
            self.in_flight.remove(&seq);
        }
    }

    /// Gives the timers that are due to the workers: each evaluates its policy again (with the
    /// history as it is now, and the exceptions in force when it was due), and its `fired` entry
    /// is committed with the decision.
    fn fire_due(&mut self) {
        let now = now_nanos();
        while self.busy() < self.limit {
            let Some(&(due, seq)) = self.pending.first() else { return };
            if due > now {
                return;
            }
            self.pending.pop_first();
            let Some(timer) = self.read_timer(seq) else { continue };
            let trigger = match self.log.store().get(timer.trigger_seq) {
                Ok(Some(row)) => Appended::from_row(&row, "a recheck reading its trigger").ok().map(Arc::new),
                Ok(None) => {
                    tracing::error!("timer {}: its trigger {} is not in the log", timer.id, timer.trigger_seq);
                    None
                }
                Err(e) => {
                    tracing::error!("timer {}: reading its trigger {}: {e}", timer.id, timer.trigger_seq);
                    None
                }
            };
            let before = self.log.store().size().unwrap_or(timer.seq + 1);
            let worker = trigger.as_ref().map_or(0, |a| shard(a, self.workers.len()));
            self.rechecks += 1;
            if self.workers[worker].send(Job::Recheck { trigger, timer, before }).is_err() {
                tracing::error!("timer at entry {seq}: policy worker {worker} has stopped; the recheck is not made");
                self.rechecks -= 1;
            }
        }
    }

    /// A pending timer, read from its `timer.set` entry.
    fn read_timer(&self, seq: u64) -> Option<Timer> {
        let row = match self.log.store().get(seq) {
            Ok(Some(row)) => row,
            Ok(None) => {
                tracing::error!("the timer at entry {seq} is not in the log");
                return None;
            }
            Err(e) => {
                tracing::error!("reading the timer at entry {seq}: {e}");
                return None;
            }
        };
        let content = serde_json::from_slice::<Value>(&row.raw).ok().and_then(|mut v| v.pointer_mut("/subject/content").map(Value::take));
        match content.map(serde_json::from_value::<TimerSet>) {
            Some(Ok(t)) => {
                Some(Timer { id: row.key.id, seq, policy: t.policy, trigger_seq: t.trigger.seq, due_unix_nanos: t.due_unix_nanos })
            }
            Some(Err(e)) => {
                tracing::error!("entry {seq}: a timer that does not read: {e}; skipped");
                None
            }
            None => {
                tracing::error!("entry {seq}: a timer entry without content; skipped (run `dossier verify`)");
                None
            }
        }
    }

    /// What the workers have finished: waits a little for the first when some are busy, then
    /// takes what is there, [`GROUP`] at most.
    fn collect(&mut self) -> Vec<Evaluated> {
        let mut group = Vec::new();
        if self.busy() == 0 {
            return group;
        }
        match self.results.recv_timeout(Duration::from_millis(10)) {
            Ok(r) => group.push(r),
            Err(_) => return group,
        }
        while group.len() < GROUP {
            match self.results.try_recv() {
                Ok(r) => group.push(r),
                Err(_) => break,
            }
        }
        group
    }

    /// Commits a group of evaluations in two appends: first what their actions append
    /// (emitted events, quarantines, releases, timers), whose seqs the decisions record; then
    /// the decisions, each after the `queued` entries of its runs, and the `fired` entries of
    /// the rechecks after their decisions. Each worker's results arrive in the order it made
    /// them, so one artifact's records keep the order of its entries.
    fn commit(&mut self, mut group: Vec<Evaluated>) {
        if group.is_empty() {
            return;
        }
        let mut first = Vec::new();
        let mut starts = Vec::with_capacity(group.len());
        for r in &mut group {
            starts.push(first.len());
            first.append(&mut r.first);
        }
        let appended = self.append_all(first);
        let mut records = Vec::new();
        for (r, start) in group.iter_mut().zip(starts) {
            for d in std::mem::take(&mut r.decisions) {
                match d {
                    Records::Ready(events) => records.extend(events),
                    Records::Waiting(unfinished) => {
                        records.extend(unfinished.finish(appended.get(start..).unwrap_or(&[]), &mut self.pending))
                    }
                }
            }
            records.extend(r.fired.take());
        }
        if !records.is_empty() {
            if let Err(e) = self.log.append_blocking(records) {
                tracing::error!("recording decisions: {e}");
            }
        }
        for r in group {
            match r.entry {
                Some(seq) => {
                    self.in_flight.remove(&seq);
                }
                None => self.rechecks = self.rechecks.saturating_sub(1),
            }
        }
    }

    /// Appends `events` in one commit; the seq of each (or why it has none).
    fn append_all(&self, events: Vec<Event>) -> Vec<Result<u64, String>> {
        if events.is_empty() {
            return Vec::new();
        }
        let n = events.len();
        match self.log.append_blocking(events) {
            Ok(outcomes) => (0..n)
                .map(|i| match outcomes.get(i) {
                    Some(AppendOutcome::Accepted { seq }) | Some(AppendOutcome::Duplicate { seq }) => Ok(*seq),
                    Some(other) => Err(format!("{other:?}")),
                    None => Err("the log answered for fewer entries than it was given".to_owned()),
                })
                .collect(),
            Err(e) => vec![Err(e.to_string()); n],
        }
    }

    /// Moves the cursor up to the oldest entry not decided and committed yet, and tells the
    /// service how far that is.
    fn advance(&mut self, follower: &mut Follower) {
        let (decided, received) = match self.in_flight.first_key_value() {
            Some((&seq, &received)) => (seq, Some(received)),
            None => (follower.position(), None),
        };
        if decided > 0 {
            follower.done(decided - 1);
        }
        *self.service.progress.lock().unwrap_or_else(|p| p.into_inner()) = Progress { decided, received };
    }

    /// Reads the timers of earlier runs that have not fired, in log order (a timer's `fired`
    /// entry follows its `set` entry), holding only those still pending.
    fn load_timers(&mut self) {
        let mut unfired: HashMap<String, (i64, u64)> = HashMap::new();
        let mut q = EventQuery { types: vec![TypePattern(Family::Timer.glob())], limit: 1000, ..Default::default() };
        loop {
            let page = match self.log.store().query(&q) {
                Ok(p) => p,
                Err(e) => return tracing::error!("reading timers: {e}"),
            };
            for e in &page.events {
                let content =
                    serde_json::from_slice::<Value>(&e.raw).ok().and_then(|mut v| v.pointer_mut("/subject/content").map(Value::take));
                let Some(content) = content else {
                    tracing::error!("entry {}: a timer entry without content; skipped (run `dossier verify`)", e.seq);
                    continue;
                };
                if OwnType::TimerSet.matches(&e.event_type) {
                    match serde_json::from_value::<TimerSet>(content) {
                        Ok(t) => {
                            unfired.insert(e.key.id.clone(), (t.due_unix_nanos, e.seq));
                        }
                        Err(err) => tracing::error!("entry {}: a timer that does not read: {err}; skipped", e.seq),
                    }
                } else {
                    match serde_json::from_value::<TimerFired>(content) {
                        Ok(f) => {
                            unfired.remove(&f.timer);
                        }
                        Err(err) => tracing::error!("entry {}: a fired timer that does not read: {err}; skipped", e.seq),
                    }
                }
            }
            match page.next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
        self.pending = unfired.into_values().collect();
    }

    /// Follows the log until it closes: entries in, decisions out, in groups.
    fn run(mut self, mut follower: Follower) {
        self.load_timers();
        let mut checked = Instant::now();
        loop {
            if self.admit(&mut follower) {
                return;
            }
            self.fire_due();
            let group = self.collect();
            self.commit(group);
            self.advance(&mut follower);
            // Changes are picked up within a second, under load too.
            if checked.elapsed() >= Duration::from_secs(1) {
                if self.reload() {
                    // What was read ahead was chosen by the previous set's triggers.
                    follower.reread();
                }
                checked = Instant::now();
            }
        }
    }
}

/// The worker of an entry: the one for the artifact it names (or, naming none, its subject), so
/// that one artifact's entries are decided, and their records committed, in log order.
fn shard(a: &Appended, workers: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let key = a.event.artifacts.first().map_or(a.event.subject_id.as_str(), String::as_str);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % workers.max(1) as u64) as usize
}

/// What a worker is given.
enum Job {
    /// The loaded set changed: the jobs after this one are evaluated with it.
    Policies(Box<PolicySet>),
    /// An entry some policy is triggered by.
    Entry(Arc<Appended>),
    /// A timer that is due, with its trigger (none if it could not be read: then the timer is
    /// only recorded as fired) and the history's end.
    Recheck { trigger: Option<Arc<Appended>>, timer: Timer, before: u64 },
}

/// What a worker made of a job: what to append, in the two steps of [`Engine::commit`].
#[derive(Default)]
struct Evaluated {
    /// The entry decided (none for a recheck).
    entry: Option<u64>,
    /// What the actions append: committed first, their seqs recorded in the decisions.
    first: Vec<Event>,
    /// The records of each significant decision.
    decisions: Vec<Records>,
    /// A recheck's `fired` entry, committed after its decisions.
    fired: Option<Event>,
}

/// A decision's records: the `queued` entries of its runs, then the decision itself.
enum Records {
    Ready(Vec<Event>),
    /// Waiting for the seqs of what its actions append.
    Waiting(Box<Unfinished>),
}

/// A decision whose actions' outcomes name entries not appended yet.
struct Unfinished {
    decided: Decided,
    /// Each action as asked for, and what came (or will come) of it.
    steps: Vec<(Value, Step)>,
    queued: Vec<Event>,
    id: String,
    policy: String,
    chain: Option<String>,
}

/// What came of an action, or what will once the entry it appends has a seq.
enum Step {
    Known(Outcome),
    /// Done once entry `n` of the evaluation's `first` is appended.
    Appends {
        n: usize,
        source: String,
        id: String,
    },
    /// Scheduled once entry `n` (the timer's `set` entry) is appended.
    Sets {
        n: usize,
        source: String,
        id: String,
        due: i64,
    },
}

impl Unfinished {
    fn waits(&self) -> bool {
        self.steps.iter().any(|(_, s)| !matches!(s, Step::Known(_)))
    }

    /// The records, now that the entries of `first` were appended (`appended[n]`: the seq of
    /// entry `n`, or why it has none). Timers that were set join `pending`.
    fn finish(self, appended: &[Result<u64, String>], pending: &mut BTreeSet<(i64, u64)>) -> Vec<Event> {
        let seq_of = |n: usize| appended.get(n).cloned().unwrap_or_else(|| Err("not appended".to_owned()));
        let mut decided = self.decided;
        decided.actions = self
            .steps
            .into_iter()
            .map(|(asked, step)| {
                let outcome = match step {
                    Step::Known(o) => o,
                    Step::Appends { n, source, id } => match seq_of(n) {
                        Ok(seq) => Outcome::Done { event: EntryRef { source, id, seq } },
                        Err(reason) => Outcome::failed(reason),
                    },
                    Step::Sets { n, source, id, due } => match seq_of(n) {
                        Ok(seq) => {
                            pending.insert((due, seq));
                            Outcome::Scheduled { due: dossier_core::event::format_timestamp(due), timer: EntryRef { source, id, seq } }
                        }
                        Err(reason) => Outcome::failed(reason),
                    },
                };
                json!({"action": asked, "outcome": outcome})
            })
            .collect();
        let content = serde_json::to_value(&decided).unwrap_or(Value::Null);
        let mut records = self.queued;
        match own_event(self.id, SOURCE, OwnType::PolicyDecided, &self.policy, content, self.chain.as_deref()) {
            Ok(e) => records.push(e),
            Err(e) => tracing::error!("recording a decision of {}: {e}", self.policy),
        }
        records
    }
}

/// The record of decision `d` about `a` (through `timer`, for a recheck), without its actions'
/// outcomes yet.
fn decided_record(a: &Appended, timer: Option<&Timer>, artifact_id: Option<String>, input_digest: &str, d: &Decision) -> Decided {
    Decided {
        version: d.version.clone(),
        mode: d.mode,
        trigger: DecidedTrigger {
            seq: a.seq,
            source: a.event.key.source.clone(),
            id: a.event.key.id.clone(),
            ty: a.event.event_type.as_str().to_owned(),
        },
        recheck: timer.map(|t| t.id.clone()),
        artifact_id,
        input_digest: input_digest.to_owned(),
        deny: d.deny.clone(),
        warn: d.warn.clone(),
        actions: Vec::new(),
        errors: d.errors.clone(),
        exceptions: d.exceptions.clone(),
        on_error: d.on_error,
    }
}

/// One evaluating thread, with its own copy of the loaded set.
struct Worker {
    set: PolicySet,
    cx: Context,
    /// The tools `run` actions may name.
    tools: Arc<crate::tools::Tools>,
}

impl Worker {
    fn work(mut self, jobs: mpsc::Receiver<Job>, results: mpsc::Sender<Evaluated>) {
        while let Ok(job) = jobs.recv() {
            let out = match job {
                Job::Policies(set) => {
                    self.set = *set;
                    continue;
                }
                Job::Entry(a) => {
                    let out = self.guarded(&a, Moment::of(&a), None);
                    Evaluated { entry: Some(a.seq), ..out }
                }
                Job::Recheck { trigger, timer, before } => {
                    let out = match &trigger {
                        Some(a) => self.guarded(a, Moment { before, at: timer.due_unix_nanos }, Some(&timer)),
                        None => Evaluated::default(),
                    };
                    Evaluated { entry: None, fired: fired_entry(&timer), ..out }
                }
            };
            if results.send(out).is_err() {
                return;
            }
        }
    }

    /// [`Worker::evaluate`], where a panic (a bug) costs this evaluation, logged, not the engine.
    fn guarded(&mut self, a: &Appended, moment: Moment, timer: Option<&Timer>) -> Evaluated {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.evaluate(a, moment, timer))).unwrap_or_else(|_| {
            tracing::error!("entry {}: evaluating its policies panicked; nothing recorded", a.seq);
            Evaluated::default()
        })
    }

    /// Evaluates the policies `a` triggers (or, for a timer, only its policy) at `moment`;
    /// prepares the records of significant decisions, keyed by the trigger's (or the timer's)
    /// entry, and of what their actions do.
    fn evaluate(&mut self, a: &Appended, moment: Moment, timer: Option<&Timer>) -> Evaluated {
        let mut out = Evaluated::default();
        let recheck = timer.map(|t| Recheck { timer: t.id.clone(), policy: t.policy.clone(), due_unix_nanos: t.due_unix_nanos });
        let why = recheck.as_ref().map_or(Why::Arrived, Why::Recheck);
        let Some(mut evaluation) = decide(&mut self.set, &self.cx, a, moment, why) else { return out };
        let key = timer.map_or(a.seq, |t| t.seq);
        let artifact_id = evaluation.input.pointer("/subject/artifact").and_then(Value::as_str).map(str::to_owned);
        let significant: Vec<Decision> = std::mem::take(&mut evaluation.decisions).into_iter().filter(Decision::is_significant).collect();
        let input_digest = if significant.is_empty() { String::new() } else { evaluation.input_digest() };
        for d in significant {
            let mut queued = Vec::new();
            let steps = self.act(a, key, &d, &mut out.first, &mut queued);
            let unfinished = Unfinished {
                decided: decided_record(a, timer, artifact_id.clone(), &input_digest, &d),
                steps,
                queued,
                id: decision_key(key, &d.policy, &d.version).id,
                policy: d.policy.clone(),
                chain: a.event.chain_id.clone(),
            };
            out.decisions.push(if unfinished.waits() {
                Records::Waiting(Box::new(unfinished))
            } else {
                Records::Ready(unfinished.finish(&[], &mut BTreeSet::new()))
            });
        }
        out
    }

    /// What each action of a decision comes to when its policy enforces. What actions append
    /// goes to `first`; the `queued` entries of webhooks and tools go to `queued`, to be committed
    /// with the decision and run by the action workers.
    fn act(&self, a: &Appended, key: u64, d: &Decision, first: &mut Vec<Event>, queued: &mut Vec<Event>) -> Vec<(Value, Step)> {
        d.actions
            .iter()
            .enumerate()
            .map(|(n, asked)| {
                let step = if d.mode != dossier_policy::Mode::Enforce {
                    Step::Known(Outcome::Skipped { reason: "the policy is in audit mode".into() })
                } else {
                    match Action::read(asked) {
                        Ok(action) => self.run_action(a, key, d, n, action, first, queued),
                        Err(unreadable @ crate::action::Unreadable::UnknownKind(Some(_))) => {
                            Step::Known(Outcome::Unsupported { reason: unreadable.to_string() })
                        }
                        Err(unreadable) => Step::Known(Outcome::failed(unreadable.to_string())),
                    }
                };
                (asked.clone(), step)
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn run_action(
        &self,
        a: &Appended,
        key: u64,
        d: &Decision,
        n: usize,
        action: Action,
        first: &mut Vec<Event>,
        queued: &mut Vec<Event>,
    ) -> Step {
        let id = ActionId::new(key, &d.policy, n);
        match action {
            Action::Emit { ty, subject, content } => record(a, &id, d, Emitted::Custom(&ty), &subject, content, first),
            Action::Quarantine { artifact, reason } => mark(a, &id, d, OwnType::ArtifactQuarantined, artifact, reason, first),
            Action::Release { artifact, reason } => mark(a, &id, d, OwnType::ArtifactReleased, artifact, reason, first),
            Action::Run { tool, args } => Step::Known(if self.tools.contains_key(&tool) {
                queue(a, &id, d, Request::Run { tool, args }, queued)
            } else {
                Outcome::failed(format!("tool {tool:?} is not configured (serve --tools FILE)"))
            }),
            Action::Webhook { url, method, body, format, headers, hmac } => {
                Step::Known(match webhook_request(&id, WebhookAsked { url, method, body, format, headers, hmac }, a, d) {
                    Ok(request) => queue(a, &id, d, request, queued),
                    Err(refused) => Outcome::failed(refused.to_string()),
                })
            }
            Action::Recheck { after } => recheck(a, &id, d, &after, first),
        }
    }
}

/// The `fired` entry of a timer.
fn fired_entry(t: &Timer) -> Option<Event> {
    let content = serde_json::to_value(TimerFired { timer: t.id.clone() }).unwrap_or(Value::Null);
    own_event(format!("fired-{}", t.id), SOURCE, OwnType::TimerFired, &t.policy, content, None)
        .map_err(|e| tracing::error!("recording timer {}: {e}", t.id))
        .ok()
}

/// `quarantine` / `release`: the artifact named, or the triggering event's first.
#[allow(clippy::too_many_arguments)]
fn mark(a: &Appended, id: &ActionId, d: &Decision, ty: OwnType, artifact: Option<String>, reason: Value, first: &mut Vec<Event>) -> Step {
    match artifact.as_deref().or(a.event.artifacts.first().map(String::as_str)) {
        Some(purl) => record(a, id, d, Emitted::Own(ty), purl, json!({"reason": reason, "policy": d.policy}), first),
        None => {
            let kind = if ty == OwnType::ArtifactQuarantined { "quarantine" } else { "release" };
            Step::Known(Outcome::failed(format!("a {kind} action needs an \"artifact\" (the event names none)")))
        }
    }
}

/// Prepares the `queued` entry of an action the workers run.
fn queue(a: &Appended, id: &ActionId, d: &Decision, request: Request, queued: &mut Vec<Event>) -> Outcome {
    let q = Queued {
        action: id.to_string(),
        policy: d.policy.clone(),
        version: d.version.clone(),
        trigger: Trigger {
            seq: a.seq,
            source: a.event.key.source.clone(),
            id: a.event.key.id.clone(),
            ty: a.event.event_type.as_str().to_owned(),
        },
        artifact_id: a.event.artifacts.first().cloned(),
        request,
    };
    match q.event(a.event.chain_id.as_deref()) {
        Ok(e) => {
            queued.push(e);
            Outcome::Queued { run: RunRef { source: dossier_core::own::ACTIONS_SOURCE.to_owned(), id: Queued::entry_id(&q.action) } }
        }
        Err(e) => Outcome::failed(e.to_string()),
    }
}

/// `recheck`: evaluate this policy on this trigger again after a while, once, even across
/// restarts: the timer is an entry of the log until a `fired` entry follows it.
fn recheck(a: &Appended, id: &ActionId, d: &Decision, after: &str, first: &mut Vec<Event>) -> Step {
    let Some(after) = parse_after(after) else {
        return Step::Known(Outcome::failed("a recheck action needs \"after\" such as \"30s\", \"15m\", \"2h\" or \"1d\""));
    };
    let due = now_nanos().saturating_add(after);
    let set = TimerSet {
        policy: d.policy.clone(),
        trigger: TimerTrigger { seq: a.seq, id: a.event.key.id.clone() },
        due: dossier_core::event::format_timestamp(due),
        due_unix_nanos: due,
        artifact_id: a.event.artifacts.first().cloned(),
    };
    let content = serde_json::to_value(&set).unwrap_or(Value::Null);
    match record(a, id, d, Emitted::Own(OwnType::TimerSet), &d.policy, content, first) {
        Step::Appends { n, source, id } => Step::Sets { n, source, id, due },
        other => other,
    }
}

/// Prepares the event an action produces (`emit`, `quarantine`, `release`, a timer), once per
/// trigger, policy and action: its id is the action's.
fn record(a: &Appended, id: &ActionId, d: &Decision, ty: Emitted<'_>, subject: &str, content: Value, first: &mut Vec<Event>) -> Step {
    let source = format!("{SOURCE}/{}", d.policy);
    let built = match ty {
        Emitted::Own(t) => own_event(id.to_string(), &source, t, subject, content, a.event.chain_id.as_deref()),
        Emitted::Custom(t) if dossier_core::own::Family::of(t).is_some_and(dossier_core::own::Family::is_dossiers_own) => {
            return Step::Known(Outcome::failed(format!("a policy may not emit {t}: Dossier writes its own records itself")));
        }
        Emitted::Custom(t) => dossier_log::own::custom_event(id.to_string(), &source, t, subject, content, a.event.chain_id.as_deref()),
    };
    match built {
        Ok(event) => {
            first.push(event);
            Step::Appends { n: first.len() - 1, source, id: id.to_string() }
        }
        Err(e) => Step::Known(Outcome::failed(e.to_string())),
    }
}

/// The type of what an action appends: one of Dossier's, or one the policy names (`emit`).
#[derive(Clone, Copy)]
enum Emitted<'a> {
    Own(OwnType),
    Custom(&'a str),
}

/// A webhook action's fields.
struct WebhookAsked {
    url: String,
    method: String,
    body: Option<Value>,
    format: BodyFormat,
    headers: BTreeMap<String, String>,
    hmac: Option<String>,
}

/// Why a webhook action cannot be queued.
#[derive(Debug, thiserror::Error)]
enum WebhookRefused {
    #[error("a webhook action needs an http(s) \"url\", not {0:?}")]
    NotHttp(String),
    #[error("method {0:?} is not POST or PUT")]
    Method(String),
}

/// A webhook action's request: URL, method, body (the action's `body`, or the decision and its
/// trigger; as JSON or as a CloudEvent). Secrets stay named, resolved when it runs.
fn webhook_request(id: &ActionId, w: WebhookAsked, a: &Appended, d: &Decision) -> Result<Request, WebhookRefused> {
    if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
        return Err(WebhookRefused::NotHttp(w.url));
    }
    if w.method != "POST" && w.method != "PUT" {
        return Err(WebhookRefused::Method(w.method));
    }
    let payload = match w.body {
        Some(b) => b,
        None => {
            let trigger = serde_json::from_slice::<Value>(&a.event.raw).unwrap_or(Value::Null);
            json!({"policy": d.policy, "version": d.version, "deny": d.deny, "warn": d.warn, "event": trigger})
        }
    };
    let (content_type, body) = match w.format {
        BodyFormat::Cloudevents => {
            let ce = json!({"specversion": "1.0", "id": id.as_str(), "source": SOURCE, "type": OwnType::PolicyAction.as_str(),
                            "datacontenttype": "application/json", "data": payload});
            ("application/cloudevents+json", ce.to_string())
        }
        BodyFormat::Json => ("application/json", payload.to_string()),
    };
    Ok(Request::Webhook { url: w.url, method: w.method, content_type: content_type.to_owned(), body, headers: w.headers, hmac: w.hmac })
}

/// Starts the policy engine over `dir`: loads it, records the versions, then evaluates every
/// committed event (see [`start_with`]) with the default [`Options`], checking the directory
/// for changes every second.
///
/// `cursor_file` keeps the next entry to evaluate across restarts (see `dossier_log::follow`);
/// `tools` are what `run` actions may execute.
/// `on_error` is what an evaluation error means for policies that do not declare `on_error`.
pub fn start(
    cx: Context,
    dir: PathBuf,
    cursor_file: PathBuf,
    tools: Arc<crate::tools::Tools>,
    on_error: dossier_policy::OnError,
) -> Arc<PolicyService> {
    start_with(cx, dir, cursor_file, tools, on_error, Options::default())
}

/// [`start`] with `options.workers` evaluating threads, `options.in_flight` entries in flight
/// at most.
pub fn start_with(
    cx: Context,
    dir: PathBuf,
    cursor_file: PathBuf,
    tools: Arc<crate::tools::Tools>,
    on_error: dossier_policy::OnError,
    options: Options,
) -> Arc<PolicyService> {
    let log = cx.log.clone();
    // The tap first: what commits from now on is queued, what committed before is read back.
    let follower = Follower::new(log.clone(), cursor_file);
    let service = Arc::new(PolicyService {
        dir: dir.clone(),
        status: Mutex::new(PolicyStatus { dir: dir.display().to_string(), ..Default::default() }),
        sets: (0..std::thread::available_parallelism().map_or(1, usize::from).clamp(1, CALLERS))
            .map(|_| Mutex::new(PolicySet::empty()))
            .collect(),
        cx,
        replays: Mutex::new(()),
        on_error,
        progress: Mutex::new(Progress { decided: follower.cursor(), received: None }),
    });
    let (done, results) = mpsc::channel();
    let mut workers = Vec::new();
    for n in 0..options.workers.max(1) {
        let (jobs, queue) = mpsc::channel();
        let worker = Worker { set: PolicySet::empty(), cx: service.cx.clone(), tools: tools.clone() };
        let done = done.clone();
        match std::thread::Builder::new().name(format!("dossier-policy-{n}")).spawn(move || worker.work(queue, done)) {
            Ok(_) => workers.push(jobs),
            Err(e) => tracing::error!("starting policy worker {n}: {e}"),
        }
    }
    if workers.is_empty() {
        tracing::error!("no policy worker could start: policies are not evaluated");
        return service;
    }
    let mut engine = Engine {
        log,
        dir,
        good: BTreeMap::new(),
        fingerprint: Vec::new(),
        service: service.clone(),
        triggers: Triggers::new(&[]),
        workers,
        results,
        in_flight: BTreeMap::new(),
        rechecks: 0,
        limit: options.in_flight.max(1),
        pending: BTreeSet::new(),
    };
    engine.reload();
    if let Err(e) = std::thread::Builder::new().name("dossier-policy".into()).spawn(move || engine.run(follower)) {
        tracing::error!("starting the policy engine: {e}");
    }
    service
}

/// The key under which a decision about `trigger` by `policy` is recorded.
pub fn decision_key(trigger_seq: u64, policy: &str, version: &str) -> EventKey {
    EventKey { source: SOURCE.to_owned(), id: format!("decision-{trigger_seq}-{policy}-{}", &version[..16.min(version.len())]) }
}

/// The entry recording that version of a policy is loaded (one id per name and version).
fn version_entry(p: &dossier_policy::Policy) -> Option<Event> {
    let content = json!({"version": p.version, "package": p.package, "mode": p.mode, "triggers": p.triggers,
                         "allowedActions": p.allowed_actions, "onError": p.on_error, "files": p.files, "source": p.source});
    own_event(format!("policy-{}-{}", p.name, &p.version[..16]), SOURCE, OwnType::PolicyLoaded, &p.name, content, None)
        .map_err(|e| tracing::error!("recording policy {}: {e}", p.name))
        .ok()
}
