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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

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
use crate::decide::{decide, Context, Evaluation, Moment, Recheck};

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
}

/// The loaded policies: status for the API, upload and removal, and [`PolicyService::decide`],
/// which anyone may call (the policy thread for live evaluation, a replay, the gate).
pub struct PolicyService {
    dir: PathBuf,
    status: Mutex<PolicyStatus>,
    set: Mutex<PolicySet>,
    cx: Context,
    /// A replay scans the log: one at a time.
    replays: Mutex<()>,
    /// What an evaluation error means for policies that do not say (`serve --policy-on-error`).
    on_error: dossier_policy::OnError,
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
    pub fn status(&self) -> PolicyStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What the loaded policies decide on entry `a` at `moment` (see [`crate::decide`]).
    pub fn decide(&self, a: &Appended, moment: Moment, recheck: Option<&Recheck>) -> Option<Evaluation> {
        let mut set = self.set.lock().unwrap_or_else(|p| p.into_inner());
        decide(&mut set, &self.cx, a, moment, recheck)
    }

    /// What loaded policy `name` would have decided over the entries of a period (their
    /// timestamps), acting on nothing; one replay at a time (blocking: run it off async threads).
    pub fn replay(&self, name: &str, since: Option<i64>, until: Option<i64>) -> Result<crate::replay::Replay, crate::replay::ReplayError> {
        let set = self
            .set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .only(name)
            .ok_or_else(|| crate::replay::ReplayError::NotLoaded(name.to_owned()))?;
        let _turn = self.replays.lock().unwrap_or_else(|p| p.into_inner());
        crate::replay::replay(&self.cx, set, since, until)
    }

    /// What the input is read from.
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// Whether any loaded policy is triggered by events of this type.
    fn triggered_by(&self, event_type: &str) -> bool {
        self.set.lock().unwrap_or_else(|p| p.into_inner()).policies().iter().any(|p| p.triggered_by(event_type))
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

struct Engine {
    log: Arc<EvidenceLog>,
    dir: PathBuf,
    /// The last version of each file that compiled.
    good: BTreeMap<String, String>,
    fingerprint: Fingerprint,
    service: Arc<PolicyService>,
    /// The tools `run` actions may name.
    tools: Arc<crate::tools::Tools>,
    /// Timers not fired yet, by due time.
    pending: BTreeMap<(i64, String), Timer>,
}

impl Engine {
    /// Loads the directory; a file that no longer compiles keeps its previous version.
    fn reload(&mut self) {
        let (files, print) = match read_dir(&self.dir) {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("reading policies from {}: {e}", self.dir.display());
                return;
            }
        };
        if print == self.fingerprint {
            return;
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
        *self.service.set.lock().unwrap_or_else(|p| p.into_inner()) = set;
        self.record_versions(&policies);
        let mut status = self.service.status.lock().unwrap_or_else(|p| p.into_inner());
        status.policies = policies;
        status.errors = errors;
        tracing::info!("{} policies active from {}", status.policies.len(), self.dir.display());
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

    fn handle(&mut self, a: &Appended) {
        let ty = a.event.event_type.as_str();
        // Dossier's record of its own acts never triggers policies.
        let record = Family::of(ty).is_some_and(Family::is_record);
        if !record && self.service.triggered_by(ty) {
            self.evaluate(a, Moment::of(a), None);
        }
    }

    /// Evaluates the policies `a` triggers (or, for a timer, only its policy) at `moment`;
    /// records significant decisions, keyed by the trigger's (or the timer's) entry.
    fn evaluate(&mut self, a: &Appended, moment: Moment, timer: Option<&Timer>) {
        let recheck = timer.map(|t| Recheck { timer: t.id.clone(), policy: t.policy.clone(), due_unix_nanos: t.due_unix_nanos });
        let Some(evaluation) = self.service.decide(a, moment, recheck.as_ref()) else {
            return;
        };
        let key = timer.map_or(a.seq, |t| t.seq);
        let mut records = Vec::new();
        for d in evaluation.decisions.into_iter().filter(Decision::is_significant) {
            let outcomes = self.act(a, key, &d, &mut records);
            let decided = Decided {
                version: d.version.clone(),
                mode: d.mode,
                trigger: DecidedTrigger {
                    seq: a.seq,
                    source: a.event.key.source.clone(),
                    id: a.event.key.id.clone(),
                    ty: a.event.event_type.as_str().to_owned(),
                },
                recheck: timer.map(|t| t.id.clone()),
                artifact_id: evaluation.input.pointer("/subject/artifact").and_then(Value::as_str).map(str::to_owned),
                input_digest: evaluation.input_digest.clone(),
                deny: d.deny.clone(),
                warn: d.warn.clone(),
                actions: outcomes,
                errors: d.errors.clone(),
                exceptions: d.exceptions.clone(),
                on_error: d.on_error,
            };
            let content = serde_json::to_value(&decided).unwrap_or(Value::Null);
            let id = decision_key(key, &d.policy, &d.version).id;
            match own_event(id, SOURCE, OwnType::PolicyDecided, &d.policy, content, a.event.chain_id.as_deref()) {
                Ok(e) => records.push(e),
                Err(e) => tracing::error!("recording a decision of {}: {e}", d.policy),
            }
        }
        if !records.is_empty() {
            if let Err(e) = self.log.append_blocking(records) {
                tracing::error!("recording decisions: {e}");
            }
        }
    }

    /// Reads the timers of earlier runs that have not fired.
    fn load_timers(&mut self) {
        let mut set: BTreeMap<String, Timer> = BTreeMap::new();
        let mut fired: Vec<String> = Vec::new();
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
                            let timer = Timer {
                                id: e.key.id.clone(),
                                seq: e.seq,
                                policy: t.policy,
                                trigger_seq: t.trigger.seq,
                                due_unix_nanos: t.due_unix_nanos,
                            };
                            set.insert(timer.id.clone(), timer);
                        }
                        Err(err) => tracing::error!("entry {}: a timer that does not read: {err}; skipped", e.seq),
                    }
                } else {
                    match serde_json::from_value::<TimerFired>(content) {
                        Ok(f) => fired.push(f.timer),
                        Err(err) => tracing::error!("entry {}: a fired timer that does not read: {err}; skipped", e.seq),
                    }
                }
            }
            match page.next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
        for id in fired {
            set.remove(&id);
        }
        self.pending = set.into_values().map(|t| ((t.due_unix_nanos, t.id.clone()), t)).collect();
    }

    /// Fires the timers that are due: evaluates their policy again (with the history as it is
    /// now, and the exceptions in force when it was due), then records that they fired.
    fn fire_due(&mut self) {
        let now = now_nanos();
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let t = entry.remove();
            let trigger = match self.log.store().get(t.trigger_seq) {
                Ok(Some(row)) => Appended::from_row(&row, "a recheck reading its trigger").ok(),
                Ok(None) => {
                    tracing::error!("timer {}: its trigger {} is not in the log", t.id, t.trigger_seq);
                    None
                }
                Err(e) => {
                    tracing::error!("timer {}: reading its trigger {}: {e}", t.id, t.trigger_seq);
                    None
                }
            };
            if let Some(a) = trigger {
                let before = self.log.store().size().unwrap_or(t.seq + 1);
                self.evaluate(&a, Moment { before, at: t.due_unix_nanos }, Some(&t));
            }
            let content = serde_json::to_value(TimerFired { timer: t.id.clone() }).unwrap_or(Value::Null);
            match own_event(format!("fired-{}", t.id), SOURCE, OwnType::TimerFired, &t.policy, content, None) {
                Ok(e) => {
                    if let Err(e) = self.log.append_blocking(vec![e]) {
                        tracing::error!("recording timer {}: {e}", t.id);
                    }
                }
                Err(e) => tracing::error!("recording timer {}: {e}", t.id),
            }
        }
    }

    /// Runs a decision's actions when its policy enforces; returns each action with its outcome.
    /// Webhooks and tools are not run here: their `queued` entries are added to `queued`, to be
    /// committed with the decision and run by the action workers.
    fn act(&mut self, a: &Appended, key: u64, d: &Decision, queued: &mut Vec<Event>) -> Vec<Value> {
        d.actions
            .iter()
            .enumerate()
            .map(|(n, asked)| {
                let outcome = if d.mode != dossier_policy::Mode::Enforce {
                    Outcome::Skipped { reason: "the policy is in audit mode".into() }
                } else {
                    match Action::read(asked) {
                        Ok(action) => self.run_action(a, key, d, n, action, queued),
                        Err(unreadable @ crate::action::Unreadable::UnknownKind(Some(_))) => {
                            Outcome::Unsupported { reason: unreadable.to_string() }
                        }
                        Err(unreadable) => Outcome::failed(unreadable.to_string()),
                    }
                };
                json!({"action": asked, "outcome": outcome})
            })
            .collect()
    }

    fn run_action(&mut self, a: &Appended, key: u64, d: &Decision, n: usize, action: Action, queued: &mut Vec<Event>) -> Outcome {
        let id = ActionId::new(key, &d.policy, n);
        match action {
            Action::Emit { ty, subject, content } => self.record(a, &id, d, Emitted::Custom(&ty), &subject, content),
            Action::Quarantine { artifact, reason } => self.mark(a, &id, d, OwnType::ArtifactQuarantined, artifact, reason),
            Action::Release { artifact, reason } => self.mark(a, &id, d, OwnType::ArtifactReleased, artifact, reason),
            Action::Run { tool, args } => {
                if self.tools.contains_key(&tool) {
                    self.queue(a, &id, d, Request::Run { tool, args }, queued)
                } else {
                    Outcome::failed(format!("tool {tool:?} is not configured (serve --tools FILE)"))
                }
            }
            Action::Webhook { url, method, body, format, headers, hmac } => {
                match webhook_request(&id, WebhookAsked { url, method, body, format, headers, hmac }, a, d) {
                    Ok(request) => self.queue(a, &id, d, request, queued),
                    Err(refused) => Outcome::failed(refused.to_string()),
                }
            }
            Action::Recheck { after } => self.recheck(a, &id, d, &after),
        }
    }

    /// `quarantine` / `release`: the artifact named, or the triggering event's first.
    fn mark(&self, a: &Appended, id: &ActionId, d: &Decision, ty: OwnType, artifact: Option<String>, reason: Value) -> Outcome {
        match artifact.as_deref().or(a.event.artifacts.first().map(String::as_str)) {
            Some(purl) => self.record(a, id, d, Emitted::Own(ty), purl, json!({"reason": reason, "policy": d.policy})),
            None => {
                let kind = if ty == OwnType::ArtifactQuarantined { "quarantine" } else { "release" };
                Outcome::failed(format!("a {kind} action needs an \"artifact\" (the event names none)"))
            }
        }
    }

    /// Prepares the `queued` entry of an action the workers run.
    fn queue(&self, a: &Appended, id: &ActionId, d: &Decision, request: Request, queued: &mut Vec<Event>) -> Outcome {
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
    fn recheck(&mut self, a: &Appended, id: &ActionId, d: &Decision, after: &str) -> Outcome {
        let Some(after) = parse_after(after) else {
            return Outcome::failed("a recheck action needs \"after\" such as \"30s\", \"15m\", \"2h\" or \"1d\"");
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
        match self.record(a, id, d, Emitted::Own(OwnType::TimerSet), &d.policy, content) {
            Outcome::Done { event } => {
                let timer = Timer { id: id.to_string(), seq: event.seq, policy: d.policy.clone(), trigger_seq: a.seq, due_unix_nanos: due };
                self.pending.insert((due, id.to_string()), timer);
                Outcome::Scheduled { due: set.due, timer: event }
            }
            other => other,
        }
    }

    /// Appends the event an action produces (`emit`, `quarantine`, `release`, a timer), once
    /// per trigger, policy and action: its id is the action's.
    fn record(&self, a: &Appended, id: &ActionId, d: &Decision, ty: Emitted<'_>, subject: &str, content: Value) -> Outcome {
        let source = format!("{SOURCE}/{}", d.policy);
        let built = match ty {
            Emitted::Own(t) => own_event(id.to_string(), &source, t, subject, content, a.event.chain_id.as_deref()),
            Emitted::Custom(t) if dossier_core::own::Family::of(t).is_some_and(dossier_core::own::Family::is_dossiers_own) => {
                return Outcome::failed(format!("a policy may not emit {t}: Dossier writes its own records itself"));
            }
            Emitted::Custom(t) => dossier_log::own::custom_event(id.to_string(), &source, t, subject, content, a.event.chain_id.as_deref()),
        };
        let event = match built {
            Ok(e) => e,
            Err(e) => return Outcome::failed(e.to_string()),
        };
        match self.log.append_blocking(vec![event]) {
            Ok(out) => match out.first() {
                Some(AppendOutcome::Accepted { seq }) | Some(AppendOutcome::Duplicate { seq }) => {
                    Outcome::Done { event: EntryRef { source, id: id.to_string(), seq: *seq } }
                }
                other => Outcome::failed(format!("{other:?}")),
            },
            Err(e) => Outcome::failed(e.to_string()),
        }
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
/// committed event on its own thread, checking the directory for changes every second.
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
    let log = cx.log.clone();
    let service = Arc::new(PolicyService {
        dir: dir.clone(),
        status: Mutex::new(PolicyStatus { dir: dir.display().to_string(), ..Default::default() }),
        set: Mutex::new(PolicySet::empty()),
        cx,
        replays: Mutex::new(()),
        on_error,
    });
    // The tap first: what commits from now on is queued, what committed before is caught up.
    let mut follower = Follower::new(log.clone(), cursor_file);
    let mut engine =
        Engine { log, dir, good: BTreeMap::new(), fingerprint: Vec::new(), service: service.clone(), tools, pending: BTreeMap::new() };
    engine.reload();
    let spawned = std::thread::Builder::new().name("dossier-policy".into()).spawn(move || {
        engine.load_timers();
        follower.catch_up(|a| engine.handle(a));
        let mut checked = std::time::Instant::now();
        loop {
            engine.fire_due();
            match follower.next(Duration::from_millis(250)) {
                Next::Entry(a) => {
                    engine.handle(&a);
                    follower.done(a.seq);
                }
                Next::Idle => {}
                Next::Closed => break,
            }
            // Changes are picked up within a second, under load too.
            if checked.elapsed() >= Duration::from_secs(1) {
                engine.reload();
                checked = std::time::Instant::now();
            }
        }
    });
    if let Err(e) = spawned {
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
