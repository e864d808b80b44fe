//! Exceptions as a live view of the log (the `Book`, folded at start and by every commit, so a
//! client reads its own writes), the operator's rules, and the announcer that appends an
//! `expired` entry per concerned artifact the moment an exception runs out — which is what
//! makes policies look again at what it covered.

use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use dossier_core::Event;
use dossier_exceptions::{Book, Exception, Rules, EXPIRED, TYPES};
use dossier_store::{AppendOutcome, EventQuery, Store, StoreError, TypePattern, MAX_PAGE};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::log::EvidenceLog;
use crate::own::{hex, now_nanos, own_event};

pub const SOURCE: &str = "/dossier/exceptions";

pub struct ExceptionsView {
    book: RwLock<Book>,
    rules: RwLock<Rules>,
}

fn content_of(raw: &[u8]) -> Option<(Value, i64)> {
    let v: Value = serde_json::from_slice(raw).ok()?;
    let at = v.pointer("/context/timestamp").and_then(Value::as_str).and_then(dossier_core::event::parse_timestamp)?;
    Some((v.pointer("/subject/content").cloned().unwrap_or(Value::Null), at))
}

impl ExceptionsView {
    /// Folds the exception entries of the log (found by type, not by a scan of the log).
    pub fn load(store: &dyn Store) -> Result<ExceptionsView, StoreError> {
        let mut book = Book::new();
        let mut q = EventQuery { types: vec![TypePattern(format!("{TYPES}*"))], limit: MAX_PAGE, ..Default::default() };
        loop {
            let page = store.query(&q)?;
            for e in &page.events {
                if let Some((content, at)) = content_of(&e.raw) {
                    book.apply(e.seq, &e.event_type, &e.subject_id, &content, at);
                }
            }
            match page.next {
                Some(next) => q.after = Some(next),
                None => break,
            }
        }
        Ok(ExceptionsView { book: RwLock::new(book), rules: RwLock::new(Rules::default()) })
    }

    /// Applies a commit's accepted exception entries.
    pub fn apply(&self, events: &[Event], outcomes: &[AppendOutcome]) {
        let relevant: Vec<(u64, &Event)> = events
            .iter()
            .zip(outcomes)
            .filter_map(|(e, o)| match o {
                AppendOutcome::Accepted { seq } if e.event_type.as_str().starts_with(TYPES) => Some((*seq, e)),
                _ => None,
            })
            .collect();
        if relevant.is_empty() {
            return;
        }
        let mut book = self.book.write().unwrap_or_else(|p| p.into_inner());
        for (seq, e) in relevant {
            if let Some((content, at)) = content_of(&e.raw) {
                book.apply(seq, e.event_type.as_str(), &e.subject_id, &content, at);
            }
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Book> {
        self.book.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn rules(&self) -> Rules {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_rules(&self, rules: Rules) {
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = rules;
    }

    /// The exceptions in force at `at` that cover `artifact`, as policies see them.
    pub fn active_for(&self, artifact: Option<&str>, at: i64) -> Vec<Value> {
        let rules = self.rules();
        let book = self.read();
        book.active(at, &rules).filter(|e| e.covers(artifact, None, None, None)).map(view).collect()
    }
}

/// An exception as the API and policies show it.
pub fn view(e: &Exception) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

/// The artifacts an expiring exception concerns: those it names exactly, and the deployed
/// artifacts its patterns match (in its environments, when it names some).
fn concerned(log: &EvidenceLog, e: &Exception) -> Vec<String> {
    let mut out: Vec<String> = e.scope.artifacts.iter().filter(|a| !a.contains('*')).cloned().collect();
    let graph = log.lineage().read();
    for (environment, deployments) in graph.what_runs_where() {
        if !e.scope.environments.is_empty() && !e.scope.environments.contains(&environment) {
            continue;
        }
        for d in deployments {
            if e.covers(Some(&d.artifact), None, None, None) && !out.contains(&d.artifact) {
                out.push(d.artifact);
            }
        }
    }
    out
}

/// Appends the `expired` entries due at `now`: one per concerned artifact (one without an
/// artifact when none is), all of an exception in one commit.
pub fn announce_due(log: &EvidenceLog, now: i64) {
    let rules = log.exceptions().rules();
    let due: Vec<Exception> = log.exceptions().read().due(now, &rules).into_iter().cloned().collect();
    for e in due {
        let artifacts = concerned(log, &e);
        let targets: Vec<Option<&String>> = if artifacts.is_empty() { vec![None] } else { artifacts.iter().map(Some).collect() };
        let mut events = Vec::new();
        for artifact in targets {
            let mut content = json!({"expires": e.expires, "vulnerabilities": e.scope.vulnerabilities, "environments": e.scope.environments, "policies": e.scope.policies});
            let id = match artifact {
                Some(a) => {
                    content["artifactId"] = json!(a);
                    format!("expired-{}-{}", e.id, &hex(&Sha256::digest(a.as_bytes()))[..16])
                }
                None => format!("expired-{}", e.id),
            };
            match own_event(id, SOURCE, EXPIRED, &e.id, content, None) {
                Ok(event) => events.push(event),
                Err(err) => tracing::error!("announcing the expiry of {}: {err}", e.id),
            }
        }
        if let Err(err) = log.append_blocking(events) {
            tracing::error!("announcing the expiry of {}: {err}", e.id);
        }
    }
}

/// Announces expiries as they come, checking every 200 ms.
pub async fn announce_expiries(log: Arc<EvidenceLog>) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        let l = log.clone();
        let _ = tokio::task::spawn_blocking(move || announce_due(&l, now_nanos())).await;
    }
}
