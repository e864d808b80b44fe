//! Actions that reach outside Dossier — webhooks and tools — run by a pool of workers off the
//! policy thread, every run recorded as evidence.
//!
//! When a policy asks for one, the policy thread fixes *what* to do (the webhook's URL and body,
//! the tool and its arguments) in a `dev.cdeventsx.dossier-action.queued.0.1.0` entry, committed
//! with the decision. This service follows the log: each queued entry goes to a worker, which
//! appends `started` (one per execution), runs the action and appends `finished` with its
//! outcome, duration, attempts and the digest of what came back. A tool's output is kept in the
//! document store under that digest.
//!
//! At least once, never twice: the cursor (`DATA/actions.cursor`) only moves past a queued entry
//! once its run finished, so a crash in the middle runs it again on restart (a second
//! execution, with the same idempotency key for a webhook); a queued entry that already has its
//! `finished` entry is never run again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dossier_core::own::{OwnType, ACTIONS_SOURCE as SOURCE};
use dossier_core::EventKey;
use dossier_log::documents::Documents;
use dossier_log::follow::{Follower, Next};
use dossier_log::own::{hex, now_rfc3339, own_event, OwnEventError};
use dossier_log::{Appended, EvidenceLog};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::run::{RunOutcome, RunStatus};
use crate::tools::Tools;

const WEBHOOK_ATTEMPTS: u32 = 3;
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// What to do, fixed when the policy decided. Header values and the HMAC key name secrets
/// (`secret:NAME`), resolved only when the action runs, so no secret enters the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Request {
    Webhook {
        url: String,
        method: String,
        #[serde(rename = "contentType")]
        content_type: String,
        body: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hmac: Option<String>,
    },
    Run {
        tool: String,
        #[serde(default)]
        args: Vec<String>,
    },
}

impl Request {
    /// What it calls: the URL or the tool.
    pub fn target(&self) -> &str {
        match self {
            Request::Webhook { url, .. } => url,
            Request::Run { tool, .. } => tool,
        }
    }
}

/// The trigger of the decision that asked for an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    pub seq: u64,
    pub source: String,
    pub id: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// A queued entry's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    /// The action's id, also its idempotency key: derived from trigger, policy and position.
    pub action: String,
    pub policy: String,
    pub version: String,
    pub trigger: Trigger,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    pub request: Request,
}

impl Queued {
    /// The entry that queues it (appended by the policy thread with its decision).
    pub fn event(&self, chain: Option<&str>) -> Result<dossier_core::Event, OwnEventError> {
        let content = serde_json::to_value(self).unwrap_or(Value::Null);
        own_event(Queued::entry_id(&self.action), SOURCE, OwnType::ActionQueued, &self.action, content, chain)
    }

    /// The id of the `queued` entry of action `action`.
    pub fn entry_id(action: &str) -> String {
        format!("queued-{action}")
    }
}

fn key(id: String) -> EventKey {
    EventKey { source: SOURCE.to_owned(), id }
}

/// Starts the dispatcher and `workers` workers.
pub fn start(log: Arc<EvidenceLog>, tools: Arc<Tools>, documents: Option<Arc<Documents>>, cursor_file: PathBuf, workers: usize) {
    let runner = Arc::new(Runner { log: log.clone(), tools, documents });
    let (jobs, queue) = mpsc::channel::<Arc<Appended>>();
    let queue = Arc::new(Mutex::new(queue));
    let (finished, completions) = mpsc::channel::<u64>();
    for n in 0..workers.max(1) {
        let (runner, queue, finished) = (runner.clone(), queue.clone(), finished.clone());
        let spawned = std::thread::Builder::new().name(format!("dossier-action-{n}")).spawn(move || loop {
            let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                Ok(job) => job,
                Err(_) => return,
            };
            runner.run(&job);
            if finished.send(job.seq).is_err() {
                return;
            }
        });
        if let Err(e) = spawned {
            tracing::error!("starting an action worker: {e}");
        }
    }
    let mut follower = Follower::new(log, cursor_file);
    let spawned = std::thread::Builder::new().name("dossier-actions".into()).spawn(move || {
        // What was queued before a restart and has not finished runs now, in order.
        follower.catch_up(|a| {
            if OwnType::ActionQueued.matches(a.event.event_type.as_str()) {
                runner.run(a);
            }
        });
        let mut in_flight = BTreeSet::new();
        let mut seen = None;
        loop {
            match follower.next(Duration::from_millis(50)) {
                Next::Entry(a) => {
                    seen = Some(a.seq);
                    if OwnType::ActionQueued.matches(a.event.event_type.as_str()) {
                        in_flight.insert(a.seq);
                        if jobs.send(a).is_err() {
                            return;
                        }
                    }
                }
                Next::Idle => {}
                Next::Closed => return,
            }
            while let Ok(seq) = completions.try_recv() {
                in_flight.remove(&seq);
            }
            // Everything before the oldest run still going is handled.
            let handled = match in_flight.first() {
                Some(&oldest) => oldest.checked_sub(1),
                None => seen,
            };
            if let Some(seq) = handled {
                follower.done(seq);
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!("starting the action dispatcher: {e}");
    }
}

/// Which run an entry is about (the `started` entry's content, and part of `finished`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct About {
    pub action: String,
    pub policy: String,
    pub kind: String,
    pub target: String,
    pub artifact_id: Option<String>,
    pub execution: u32,
}

/// The `finished` entry's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finished {
    #[serde(flatten)]
    pub outcome: RunOutcome,
    pub duration_ms: u64,
    pub started_at: String,
    #[serde(flatten)]
    pub about: About,
}

struct Runner {
    log: Arc<EvidenceLog>,
    tools: Arc<Tools>,
    documents: Option<Arc<Documents>>,
}

impl Runner {
    /// Runs one queued action unless it finished before, recording its start and its end.
    fn run(&self, a: &Appended) {
        let content =
            serde_json::from_slice::<Value>(&a.event.raw).ok().and_then(|mut v| v.pointer_mut("/subject/content").map(Value::take));
        let queued = match serde_json::from_value::<Queued>(content.unwrap_or(Value::Null)) {
            Ok(q) => q,
            Err(e) => return tracing::error!("queued action at entry {}: {e}", a.seq),
        };
        let store = self.log.store();
        if matches!(store.get_by_key(&key(format!("finished-{}", queued.action))), Ok(Some(_))) {
            return;
        }
        // Executions before this one were cut short by a restart.
        let mut execution = 1;
        while matches!(store.get_by_key(&key(format!("started-{}-{execution}", queued.action))), Ok(Some(_))) {
            execution += 1;
        }
        let about = About {
            action: queued.action.clone(),
            policy: queued.policy.clone(),
            kind: kind(&queued.request).to_owned(),
            target: queued.request.target().to_owned(),
            artifact_id: queued.artifact_id.clone(),
            execution,
        };
        let chain = a.event.chain_id.as_deref();
        match own_event(
            format!("started-{}-{execution}", queued.action),
            SOURCE,
            OwnType::ActionStarted,
            &queued.action,
            serde_json::to_value(&about).unwrap_or(Value::Null),
            chain,
        ) {
            // Not waited for: the writer keeps submission order, so it lands before `finished`.
            Ok(e) => self.log.append_detached(vec![e]),
            Err(e) => tracing::error!("recording the start of {}: {e}", queued.action),
        }
        let started_at = now_rfc3339();
        let clock = Instant::now();
        let outcome = match &queued.request {
            Request::Webhook { url, method, content_type, body, headers, hmac } => {
                send_webhook(&queued.action, url, method, content_type, body, headers, hmac.as_deref())
            }
            Request::Run { tool, args } => match self.tools.get(tool) {
                Some(t) => {
                    let (mut outcome, output) = crate::tools::run(t, args);
                    if let (Some(docs), Some(output)) = (&self.documents, output) {
                        if let Err(e) = docs.keep_bytes(&output) {
                            tracing::error!("keeping the output of {}: {e}", queued.action);
                            outcome.output_kept = Some(false);
                        }
                    }
                    outcome
                }
                None => RunOutcome::failed(format!("tool {tool:?} is not configured (serve --tools FILE)")),
            },
        };
        let finished = Finished { outcome, duration_ms: clock.elapsed().as_millis() as u64, started_at, about };
        let content = serde_json::to_value(&finished).unwrap_or(Value::Null);
        let recorded = own_event(format!("finished-{}", queued.action), SOURCE, OwnType::ActionFinished, &queued.action, content, chain)
            .map_err(|e| e.to_string())
            .and_then(|e| self.log.append_blocking(vec![e]).map_err(|e| e.to_string()));
        if let Err(e) = recorded {
            tracing::error!("recording the end of {}: {e}", queued.action);
        }
    }
}

fn kind(r: &Request) -> &'static str {
    match r {
        Request::Webhook { .. } => "webhook",
        Request::Run { .. } => "run",
    }
}

/// A secret a webhook names that the operator did not set.
#[derive(Debug, thiserror::Error)]
#[error("secret {name:?} is not set (environment variable {var})")]
pub struct SecretNotSet {
    pub name: String,
    pub var: String,
}

/// A secret the operator set as `DOSSIER_SECRET_<NAME>` (upper case, `-` as `_`).
fn secret(name: &str) -> Result<String, SecretNotSet> {
    let var = format!("DOSSIER_SECRET_{}", name.to_ascii_uppercase().replace('-', "_"));
    std::env::var(&var).map_err(|_| SecretNotSet { name: name.to_owned(), var })
}

/// POSTs or PUTs the body with its idempotency key, secrets and signature; retries with backoff
/// what may get better (connection errors, 5xx, 429).
fn send_webhook(
    key: &str,
    url: &str,
    method: &str,
    content_type: &str,
    body: &str,
    headers: &BTreeMap<String, String>,
    hmac: Option<&str>,
) -> RunOutcome {
    let mut resolved: Vec<(String, String)> = vec![("Idempotency-Key".into(), key.to_owned())];
    for (name, value) in headers {
        let value = match value.strip_prefix("secret:") {
            Some(s) => match secret(s) {
                Ok(v) => v,
                Err(e) => return RunOutcome::failed(e.to_string()),
            },
            None => value.clone(),
        };
        resolved.push((name.clone(), value));
    }
    // Signed two ways: `X-Dossier-Signature` over the body (kept for existing receivers), and
    // `X-Dossier-Signature-256: t=…,v1=…` over `t.body`, made anew for each attempt, which a
    // receiver checks against its clock so that a captured call cannot be replayed later.
    let signing_key = match hmac.map(secret).transpose() {
        Ok(k) => k,
        Err(e) => return RunOutcome::failed(e.to_string()),
    };
    if let Some(k) = &signing_key {
        resolved.push(("X-Dossier-Signature".into(), dossier_auth::webhook::sign_body(k.as_bytes(), body.as_bytes())));
    }
    let agent = ureq::AgentBuilder::new().timeout(WEBHOOK_TIMEOUT).redirects(0).build();
    let mut last = String::new();
    for attempt in 1..=WEBHOOK_ATTEMPTS {
        let mut req = agent.request(method, url).set("Content-Type", content_type);
        for (n, v) in &resolved {
            req = req.set(n, v);
        }
        if let Some(k) = &signing_key {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
            req = req.set("X-Dossier-Signature-256", &dossier_auth::webhook::sign_timestamped(k.as_bytes(), now, body.as_bytes()));
        }
        match req.send_string(body) {
            Ok(resp) => {
                let status = resp.status();
                let answer = resp.into_string().unwrap_or_default();
                return RunOutcome {
                    status: Some(RunStatus::Succeeded),
                    attempts: Some(attempt),
                    http_status: Some(status),
                    response_digest: Some(format!("sha256:{}", hex(&Sha256::digest(answer.as_bytes())))),
                    ..Default::default()
                };
            }
            // A client error will not get better by retrying.
            Err(ureq::Error::Status(code, _)) if (400..500).contains(&code) && code != 429 => {
                return RunOutcome { attempts: Some(attempt), http_status: Some(code), ..RunOutcome::failed(format!("HTTP {code}")) };
            }
            Err(e) => last = e.to_string(),
        }
        if attempt < WEBHOOK_ATTEMPTS {
            std::thread::sleep(Duration::from_millis(200 << attempt));
        }
    }
    RunOutcome { attempts: Some(WEBHOOK_ATTEMPTS), ..RunOutcome::failed(last) }
}

/// Where a run is, as its entries tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Timeout,
}

impl RunState {
    pub const ALL: [RunState; 5] = [RunState::Queued, RunState::Running, RunState::Succeeded, RunState::Failed, RunState::Timeout];

    /// The state named `name` (`queued`, `running`, `succeeded`, `failed`, `timeout`).
    pub fn named(name: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Timeout => "timeout",
        }
    }
}

impl From<RunStatus> for RunState {
    fn from(s: RunStatus) -> RunState {
        match s {
            RunStatus::Succeeded => RunState::Succeeded,
            RunStatus::Failed => RunState::Failed,
            RunStatus::Timeout => RunState::Timeout,
        }
    }
}

/// What `started` and `finished` entries say of the run they are about.
#[derive(Deserialize)]
struct Mentions {
    action: String,
    #[serde(default)]
    status: Option<String>,
}

/// One action as its entries tell it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub action: String,
    pub policy: String,
    pub version: String,
    pub kind: &'static str,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    pub trigger: Trigger,
    /// `queued`, `running`, then what `finished` says: `succeeded`, `failed` or `timeout`.
    pub status: RunState,
    pub queued_at: String,
    pub queued_seq: u64,
    /// When each execution started (more than one when a restart cut one short).
    pub started: Vec<String>,
    /// The `finished` entry's content: outcome, duration, attempts, digests, reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<Value>,
}

/// Folds action entries (in log order: seq, type, timestamp, content) into runs, oldest first.
pub fn fold<'a>(entries: impl IntoIterator<Item = (u64, &'a str, &'a str, &'a Value)>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (seq, ty, time, content) in entries {
        if OwnType::ActionQueued.matches(ty) {
            let Ok(q) = serde_json::from_value::<Queued>(content.clone()) else { continue };
            index.insert(q.action.clone(), runs.len());
            runs.push(Run {
                kind: kind(&q.request),
                target: q.request.target().to_owned(),
                action: q.action,
                policy: q.policy,
                version: q.version,
                artifact_id: q.artifact_id,
                trigger: q.trigger,
                status: RunState::Queued,
                queued_at: time.to_owned(),
                queued_seq: seq,
                started: Vec::new(),
                finished: None,
            });
            continue;
        }
        let Ok(mentions) = Mentions::deserialize(content) else { continue };
        let Some(run) = index.get(&mentions.action).map(|&i| &mut runs[i]) else { continue };
        if OwnType::ActionStarted.matches(ty) {
            run.started.push(time.to_owned());
            if run.finished.is_none() {
                run.status = RunState::Running;
            }
        } else if OwnType::ActionFinished.matches(ty) {
            // A finished entry without a status Dossier knows is read as a failure: it says
            // nothing went well.
            run.status = mentions.status.as_deref().and_then(RunState::named).unwrap_or(RunState::Failed);
            run.finished = Some(content.clone());
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        assert_eq!(
            dossier_auth::webhook::sign_body(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_run_is_queued_then_running_then_what_its_end_says() {
        let queued = serde_json::to_value(Queued {
            action: "action-7-scan-0".into(),
            policy: "scan".into(),
            version: "v1".into(),
            trigger: Trigger { seq: 7, source: "/ci".into(), id: "e7".into(), ty: "dev.cdevents.artifact.published.0.3.0".into() },
            artifact_id: Some("pkg:oci/shop@1".into()),
            request: Request::Run { tool: "syft".into(), args: vec!["shop".into()] },
        })
        .unwrap();
        let started = json!({"action": "action-7-scan-0", "execution": 1});
        let finished = json!({"action": "action-7-scan-0", "status": "succeeded", "exitCode": 0});
        let other = json!({"action": "action-9-x-0", "status": "failed"});
        let runs = fold([(8, OwnType::ActionQueued.as_str(), "t8", &queued)]);
        assert_eq!((runs.len(), runs[0].status.as_str(), runs[0].kind, runs[0].target.as_str()), (1, "queued", "run", "syft"));
        let runs = fold([(8, OwnType::ActionQueued.as_str(), "t8", &queued), (9, OwnType::ActionStarted.as_str(), "t9", &started)]);
        assert_eq!((runs[0].status.as_str(), runs[0].started.clone()), ("running", vec!["t9".to_owned()]));
        let runs = fold([
            (8, OwnType::ActionQueued.as_str(), "t8", &queued),
            (9, OwnType::ActionStarted.as_str(), "t9", &started),
            (10, OwnType::ActionFinished.as_str(), "t10", &finished),
            (11, OwnType::ActionFinished.as_str(), "t11", &other),
        ]);
        assert_eq!((runs.len(), runs[0].status.as_str(), runs[0].finished.as_ref()), (1, "succeeded", Some(&finished)));
    }
}
