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

use dossier_core::{Event, EventKey};
use dossier_policy::{Decision, LoadError, PolicySet};
use dossier_store::{AppendOutcome, EventQuery};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::actions::{Queued, Request, Trigger};
use crate::follow::{Follower, Next};
use crate::log::{Appended, EvidenceLog};
use crate::own::{hex, now_nanos, own_event};

const SOURCE: &str = "/dossier/policies";
/// Dossier's own event types never trigger policies.
const OWN_TYPES: [&str; 2] = ["dev.cdeventsx.dossier-policy.", "dev.cdeventsx.dossier-timer."];
const TIMER_SET: &str = "dev.cdeventsx.dossier-timer.set.0.1.0";
const TIMER_FIRED: &str = "dev.cdeventsx.dossier-timer.fired.0.1.0";

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

/// `dossier.events(filter)` answered from the store: the filter's fields are the events API's
/// parameters; the answer lists events as the API does.
pub(crate) fn events_from_store(log: &Arc<EvidenceLog>) -> dossier_policy::EventsFn {
    let log = log.clone();
    Arc::new(move |filter: &Value| {
        let pairs = dossier_policy::filter_params(filter)?;
        let q = EventQuery::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        let page = log.store().query(&q).map_err(|e| e.to_string())?;
        Ok(Value::Array(page.events.iter().map(|e| serde_json::to_value(crate::render::EventView::of(e)).unwrap_or(Value::Null)).collect()))
    })
}

/// `30s`, `15m`, `2h`, `1d` in nanoseconds.
fn parse_after(s: &str) -> Option<i64> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    secs.checked_mul(1_000_000_000)
}

/// What the service has loaded, for the API.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyStatus {
    pub dir: String,
    pub policies: Vec<dossier_policy::Policy>,
    /// Files refused at the last load (the previous version of each stays active).
    pub errors: Vec<LoadError>,
}

pub struct PolicyService {
    dir: PathBuf,
    status: Mutex<PolicyStatus>,
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
}

impl PolicyService {
    pub fn status(&self) -> PolicyStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn path_of(&self, name: &str) -> Result<PathBuf, UploadError> {
        let ok = !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(UploadError::BadName(name.to_owned()));
        }
        Ok(self.dir.join(format!("{name}.rego")))
    }

    /// Writes policy `name` into the directory if it compiles with the others; the engine picks
    /// it up within a second. Returns the policy as loaded.
    pub fn upload(&self, name: &str, source: &str) -> Result<dossier_policy::Policy, UploadError> {
        let path = self.path_of(name)?;
        let file = format!("{name}.rego");
        let (mut sources, _) = read_dir(&self.dir)?;
        sources.retain(|(f, _)| *f != file);
        sources.push((file.clone(), source.to_owned()));
        let (set, errors) = PolicySet::from_sources(sources);
        if let Some(e) = errors.iter().find(|e| e.file == file) {
            return Err(UploadError::DoesNotCompile(e.message.clone()));
        }
        let policy = set
            .policies()
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| UploadError::DoesNotCompile("a test module (*_test) cannot be uploaded as a policy".into()))?;
        let tmp = self.dir.join(format!(".{name}.rego.tmp"));
        std::fs::write(&tmp, source)?;
        std::fs::rename(&tmp, &path)?;
        Ok(policy)
    }

    /// Removes policy `name` from the directory; false if there was none.
    pub fn remove(&self, name: &str) -> Result<bool, UploadError> {
        match std::fs::remove_file(self.path_of(name)?) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// Name, size and modification time of each policy file: changes when any file does.
type Fingerprint = Vec<(String, u64, SystemTime)>;

/// `(file, source)` of every `.rego` file, and the directory's fingerprint.
fn read_dir(dir: &PathBuf) -> std::io::Result<(Vec<(String, String)>, Fingerprint)> {
    let mut files = Vec::new();
    let mut print = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_none_or(|x| x != "rego") {
            continue;
        }
        let meta = std::fs::metadata(&path)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        print.push((name.clone(), meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
        files.push((name, std::fs::read_to_string(&path)?));
    }
    files.sort();
    print.sort();
    Ok((files, print))
}

struct Engine {
    log: Arc<EvidenceLog>,
    dir: PathBuf,
    set: PolicySet,
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
        let events = Some(events_from_store(&self.log));
        let (_, errors) = PolicySet::from_sources_with(files.clone(), events.clone());
        let refused: Vec<&str> = errors.iter().map(|e| e.file.as_str()).collect();
        let sources: Vec<(String, String)> = files
            .into_iter()
            .filter_map(|(f, s)| if refused.contains(&f.as_str()) { self.good.get(&f).map(|g| (f, g.clone())) } else { Some((f, s)) })
            .collect();
        let (set, _) = PolicySet::from_sources_with(sources.clone(), events);
        for e in &errors {
            tracing::error!("policy {} refused: {}", e.file, e.message);
        }
        self.good = sources.into_iter().collect();
        self.set = set;
        self.record_versions();
        let mut status = self.service.status.lock().unwrap_or_else(|p| p.into_inner());
        status.policies = self.set.policies().to_vec();
        status.errors = errors;
        tracing::info!("{} policies active from {}", status.policies.len(), self.dir.display());
    }

    fn record_versions(&self) {
        let events: Vec<Event> = self
            .set
            .policies()
            .iter()
            .filter_map(|p| {
                let content = json!({"version": p.version, "package": p.package, "mode": p.mode, "triggers": p.triggers,
                                     "allowedActions": p.allowed_actions, "source": p.source});
                own_event(
                    format!("policy-{}-{}", p.name, &p.version[..16]),
                    SOURCE,
                    "dev.cdeventsx.dossier-policy.loaded.0.1.0",
                    &p.name,
                    content,
                    None,
                )
                .map_err(|e| tracing::error!("recording policy {}: {e}", p.name))
                .ok()
            })
            .collect();
        if !events.is_empty() {
            if let Err(e) = self.log.append_blocking(events) {
                tracing::error!("recording policy versions: {e}");
            }
        }
    }

    fn handle(&mut self, a: &Appended) {
        let ty = a.event.event_type.as_str();
        if !OWN_TYPES.iter().any(|o| ty.starts_with(o)) && self.set.policies().iter().any(|p| p.triggered_by(ty)) {
            self.evaluate(a, None);
        }
    }

    /// Evaluates the policies `a` triggers, or for a timer only its policy, with `recheck` in
    /// the input; records significant decisions, keyed by the trigger's (or the timer's) entry.
    fn evaluate(&mut self, a: &Appended, timer: Option<&Timer>) {
        let ty = a.event.event_type.as_str().to_owned();
        let Ok(event) = serde_json::from_slice::<Value>(&a.event.raw) else { return };
        // Exceptions in force now: the moment the decision is made.
        let mut input = input_for(&self.log, a, &event, now_nanos(), None);
        let decisions = match timer {
            None => self.set.evaluate(&ty, &input),
            Some(t) => {
                input["recheck"] = json!({"timer": t.id, "due": dossier_core::event::format_timestamp(t.due_unix_nanos)});
                self.set.evaluate_policy(&t.policy, &input).into_iter().collect()
            }
        };
        let key = timer.map_or(a.seq, |t| t.seq);
        let digest = hex(&Sha256::digest(dossier_core::jcs::canonicalize(&input).as_bytes()));
        let mut records = Vec::new();
        for d in decisions.into_iter().filter(Decision::is_significant) {
            let outcomes = self.act(a, key, &d, &mut records);
            let content = json!({
                "version": d.version, "mode": d.mode,
                "trigger": {"seq": a.seq, "source": a.event.key.source, "id": a.event.key.id, "type": ty},
                "recheck": timer.map(|t| t.id.clone()),
                "artifactId": input["subject"]["artifact"],
                "inputDigest": digest,
                "deny": d.deny, "warn": d.warn, "actions": outcomes, "errors": d.errors, "exceptions": d.exceptions,
            });
            let id = decision_key(key, &d.policy, &d.version).id;
            match own_event(id, SOURCE, "dev.cdeventsx.dossier-policy.decided.0.1.0", &d.policy, content, a.event.chain_id.as_deref()) {
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
        let mut q = EventQuery {
            types: vec![dossier_store::TypePattern("dev.cdeventsx.dossier-timer.*".into())],
            limit: 1000,
            ..Default::default()
        };
        loop {
            let page = match self.log.store().query(&q) {
                Ok(p) => p,
                Err(e) => return tracing::error!("reading timers: {e}"),
            };
            for e in &page.events {
                let Ok(v) = serde_json::from_slice::<Value>(&e.raw) else { continue };
                let c = &v["subject"]["content"];
                if e.event_type == TIMER_SET {
                    if let (Some(policy), Some(trigger), Some(due)) =
                        (c["policy"].as_str(), c["trigger"]["seq"].as_u64(), c["dueUnixNanos"].as_i64())
                    {
                        let t = Timer {
                            id: e.key.id.clone(),
                            seq: e.seq,
                            policy: policy.to_owned(),
                            trigger_seq: trigger,
                            due_unix_nanos: due,
                        };
                        set.insert(t.id.clone(), t);
                    }
                } else if let Some(id) = c["timer"].as_str() {
                    fired.push(id.to_owned());
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

    /// Fires the timers that are due: evaluates their policy again, then records that they fired.
    fn fire_due(&mut self) {
        let now = now_nanos();
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let t = entry.remove();
            let trigger = self.log.store().get(t.trigger_seq).ok().flatten().and_then(|row| {
                let v = serde_json::from_slice::<Value>(&row.raw).ok()?;
                let event = Event::from_json(row.raw.clone(), &v).ok()?;
                Some(Appended { seq: row.seq, received_unix_nanos: row.received_unix_nanos, event })
            });
            if let Some(a) = trigger {
                self.evaluate(&a, Some(&t));
            }
            match own_event(format!("fired-{}", t.id), SOURCE, TIMER_FIRED, &t.policy, json!({"timer": t.id}), None) {
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
            .map(|(n, action)| {
                let outcome = if d.mode != dossier_policy::Mode::Enforce {
                    json!({"status": "skipped", "reason": "the policy is in audit mode"})
                } else {
                    match action["kind"].as_str() {
                        Some("emit") => match (action["type"].as_str(), action["subject"].as_str()) {
                            (Some(ty), Some(subject)) => self.record(a, key, d, n, ty, subject, action["content"].clone()),
                            _ => json!({"status": "failed", "reason": "an emit action needs \"type\" and \"subject\""}),
                        },
                        Some(kind @ ("quarantine" | "release")) => {
                            let artifact = action["artifact"].as_str().or(a.event.artifacts.first().map(String::as_str));
                            let ty = if kind == "quarantine" {
                                "dev.cdeventsx.dossier-artifact.quarantined.0.1.0"
                            } else {
                                "dev.cdeventsx.dossier-artifact.released.0.1.0"
                            };
                            match artifact {
                                Some(purl) => self.record(a, key, d, n, ty, purl, json!({"reason": action["reason"], "policy": d.policy})),
                                None => json!({"status": "failed", "reason": format!("a {kind} action needs an \"artifact\" (the event names none)")}),
                            }
                        }
                        Some("run") => {
                            let name = action["tool"].as_str().unwrap_or_default();
                            let args = action["args"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_owned)).collect();
                            if self.tools.contains_key(name) {
                                self.queue(a, key, d, n, Request::Run { tool: name.to_owned(), args }, queued)
                            } else {
                                json!({"status": "failed", "reason": format!("tool {name:?} is not configured (serve --tools FILE)")})
                            }
                        }
                        Some("webhook") => match webhook_request(&format!("action-{key}-{}-{n}", d.policy), action, a, d) {
                            Ok(request) => self.queue(a, key, d, n, request, queued),
                            Err(reason) => json!({"status": "failed", "reason": reason}),
                        },
                        Some("recheck") => self.recheck(a, key, d, n, action),
                        Some(other) => json!({"status": "unsupported", "reason": format!("action kind {other:?} is not available yet")}),
                        None => json!({"status": "failed", "reason": "no kind"}),
                    }
                };
                json!({"action": action, "outcome": outcome})
            })
            .collect()
    }

    /// Prepares the `queued` entry of an action the workers run.
    fn queue(&self, a: &Appended, key: u64, d: &Decision, n: usize, request: Request, queued: &mut Vec<Event>) -> Value {
        let q = Queued {
            action: format!("action-{key}-{}-{n}", d.policy),
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
                json!({"status": "queued", "run": {"source": crate::actions::SOURCE, "id": format!("queued-{}", q.action)}})
            }
            Err(reason) => json!({"status": "failed", "reason": reason}),
        }
    }

    /// `recheck`: evaluate this policy on this trigger again after a while, once, even across
    /// restarts: the timer is an entry of the log until a `fired` entry follows it.
    fn recheck(&mut self, a: &Appended, key: u64, d: &Decision, n: usize, action: &Value) -> Value {
        let Some(after) = action["after"].as_str().and_then(parse_after) else {
            return json!({"status": "failed", "reason": "a recheck action needs \"after\" such as \"30s\", \"15m\", \"2h\" or \"1d\""});
        };
        let due = now_nanos().saturating_add(after);
        let content = json!({"policy": d.policy, "trigger": {"seq": a.seq, "id": a.event.key.id}, "due": dossier_core::event::format_timestamp(due),
                             "dueUnixNanos": due, "artifactId": a.event.artifacts.first()});
        let outcome = self.record(a, key, d, n, TIMER_SET, &d.policy, content);
        if let Some(seq) = outcome["event"]["seq"].as_u64() {
            let id = format!("action-{key}-{}-{n}", d.policy);
            let timer = Timer { id: id.clone(), seq, policy: d.policy.clone(), trigger_seq: a.seq, due_unix_nanos: due };
            self.pending.insert((due, id), timer);
            return json!({"status": "scheduled", "due": dossier_core::event::format_timestamp(due), "timer": outcome["event"]});
        }
        outcome
    }

    /// Appends the event an action produces (`emit`, `quarantine`, `release`), once per
    /// trigger, policy and action: its id is derived from them.
    #[allow(clippy::too_many_arguments)]
    fn record(&self, a: &Appended, key: u64, d: &Decision, n: usize, ty: &str, subject: &str, content: Value) -> Value {
        let id = format!("action-{key}-{}-{n}", d.policy);
        let source = format!("{SOURCE}/{}", d.policy);
        let event = match own_event(id.clone(), &source, ty, subject, content, a.event.chain_id.as_deref()) {
            Ok(e) => e,
            Err(e) => return json!({"status": "failed", "reason": e}),
        };
        match self.log.append_blocking(vec![event]) {
            Ok(out) => match out.first() {
                Some(AppendOutcome::Accepted { seq }) | Some(AppendOutcome::Duplicate { seq }) => {
                    json!({"status": "done", "event": {"source": source, "id": id, "seq": seq}})
                }
                other => json!({"status": "failed", "reason": format!("{other:?}")}),
            },
            Err(e) => json!({"status": "failed", "reason": e.to_string()}),
        }
    }
}

/// A webhook action's request: URL, method, body (the action's `body`, or the decision and its
/// trigger; as JSON or as a CloudEvent). Secrets stay named, resolved when it runs.
fn webhook_request(key: &str, action: &Value, a: &Appended, d: &Decision) -> Result<Request, String> {
    let Some(url) = action["url"].as_str().filter(|u| u.starts_with("http://") || u.starts_with("https://")) else {
        return Err("a webhook action needs an http(s) \"url\"".into());
    };
    let method = action["method"].as_str().unwrap_or("POST");
    if method != "POST" && method != "PUT" {
        return Err(format!("method {method:?} is not POST or PUT"));
    }
    let payload = match action.get("body") {
        Some(b) => b.clone(),
        None => {
            let trigger = serde_json::from_slice::<Value>(&a.event.raw).unwrap_or(Value::Null);
            json!({"policy": d.policy, "version": d.version, "deny": d.deny, "warn": d.warn, "event": trigger})
        }
    };
    let (content_type, body) = if action["format"].as_str() == Some("cloudevents") {
        let ce = json!({"specversion": "1.0", "id": key, "source": SOURCE, "type": "dev.cdeventsx.dossier-policy.action.0.1.0",
                        "datacontenttype": "application/json", "data": payload});
        ("application/cloudevents+json", ce.to_string())
    } else {
        ("application/json", payload.to_string())
    };
    let headers =
        action["headers"].as_object().into_iter().flatten().map(|(n, v)| (n.clone(), v.as_str().unwrap_or_default().to_owned())).collect();
    Ok(Request::Webhook {
        url: url.to_owned(),
        method: method.to_owned(),
        content_type: content_type.to_owned(),
        body,
        headers,
        hmac: action["hmac"].as_str().map(str::to_owned),
    })
}

/// Starts the policy engine over `dir`: loads it, records the versions, then evaluates every
/// committed event on its own thread, checking the directory for changes every second.
///
/// `cursor_file` keeps the next entry to evaluate across restarts (see `follow`); `tools`
/// are what `run` actions may execute.
pub fn start(log: Arc<EvidenceLog>, dir: PathBuf, cursor_file: PathBuf, tools: Arc<crate::tools::Tools>) -> Arc<PolicyService> {
    let service = Arc::new(PolicyService {
        dir: dir.clone(),
        status: Mutex::new(PolicyStatus { dir: dir.display().to_string(), ..Default::default() }),
    });
    // The tap first: what commits from now on is queued, what committed before is caught up.
    let mut follower = Follower::new(log.clone(), cursor_file);
    let mut engine = Engine {
        log,
        dir,
        set: PolicySet::empty(),
        good: BTreeMap::new(),
        fingerprint: Vec::new(),
        service: service.clone(),
        tools,
        pending: BTreeMap::new(),
    };
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

/// The input document for `a` (parsed as `event`): the event and what is known of its subject —
/// the artifact's timeline (the entries before `history_end`, when given: a replay sees the
/// past as it was), its lineage, the exceptions in force at `at`.
pub(crate) fn input_for(log: &EvidenceLog, a: &Appended, event: &Value, at: i64, history_end: Option<u64>) -> Value {
    let purl = dossier_policy::input::subject_artifact(event);
    let mut timeline = Vec::new();
    let mut lineage = None;
    if let Some(purl) = &purl {
        let q = EventQuery { artifact: Some(purl.clone()), before: history_end, limit: 1000, ..Default::default() };
        if let Ok(page) = log.store().query(&q) {
            timeline = page
                .events
                .iter()
                .filter(|e| e.seq != a.seq)
                .map(|e| {
                    json!({"seq": e.seq, "type": e.event_type, "timestamp": dossier_core::event::format_timestamp(e.time_unix_nanos),
                           "event": serde_json::from_slice::<Value>(&e.raw).unwrap_or(Value::Null)})
                })
                .collect();
        }
        lineage = log.lineage().read().lineage(purl).and_then(|l| serde_json::to_value(l).ok());
    }
    let exceptions = log.exceptions().active_for(purl.as_deref(), at);
    let mut input = dossier_policy::input::build(event, &timeline, lineage, exceptions);
    // A vulnerability's own event: what it reaches, as the graph knows it now.
    if a.event.event_type.as_str().starts_with(dossier_core::conventions::VULNERABILITY_DISCOVERED) {
        let graph = log.lineage().read();
        input["impact"] = graph.impact(&a.event.subject_id).and_then(|i| serde_json::to_value(i).ok()).unwrap_or(Value::Null);
    }
    input
}

/// Whether an entry is an event a policy's action emitted (`emit`, `quarantine`, `release`):
/// what goes onto the bus.
pub fn emitted(event: &Event) -> bool {
    event.key.source.strip_prefix(SOURCE).is_some_and(|rest| rest.starts_with('/'))
        && !event.event_type.as_str().starts_with("dev.cdeventsx.dossier-timer.")
}

/// The key under which a decision about `trigger` by `policy` is recorded.
pub fn decision_key(trigger_seq: u64, policy: &str, version: &str) -> EventKey {
    EventKey { source: SOURCE.to_owned(), id: format!("decision-{trigger_seq}-{policy}-{}", &version[..16.min(version.len())]) }
}
