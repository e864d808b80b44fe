//! The lineage graph as a live view of the log: rebuilt from the log at start, then updated by
//! every commit before its callers are answered, so a client reads its own writes.

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use dossier_core::own::{Family, EXCEPTIONS_SOURCE};
use dossier_core::{Event, Fact};
use dossier_exceptions::{Book, Exception, Rules};
use dossier_lineage::{Graph, ImpactChange};
use dossier_log::{Appended, Projection};
use dossier_store::{AppendOutcome, Store, StoreError};
use tokio::sync::broadcast;

use crate::entry::content_of;

const SCAN_CHUNK: usize = 10_000;

pub struct LineageView {
    graph: RwLock<Graph>,
    waivers: Mutex<Waivers>,
    changes: broadcast::Sender<Arc<ImpactChange>>,
}

/// The exceptions as the graph needs them: folded from their entries (under Dossier's own
/// source only, as the exceptions view believes them), each stated to the graph as a waiver in
/// force or not whenever one of its entries arrives. In force: approved (or requested, when the
/// operator's rules require no approval), and neither revoked nor announced expired — so an
/// expiry takes effect when the engine's announcer records it.
#[derive(Default)]
pub struct Waivers {
    book: Book,
    rules: Rules,
}

impl Waivers {
    pub fn new(rules: Rules) -> Waivers {
        Waivers { book: Book::new(), rules }
    }

    /// The waiver an entry changes, if it is an exception entry Dossier wrote.
    pub fn fold(&mut self, seq: u64, event: &Event) -> Option<Fact> {
        if !Family::Exception.contains(event.event_type.as_str()) || event.key.source != EXCEPTIONS_SOURCE {
            return None;
        }
        let (content, at) = content_of(&event.raw)?;
        self.book.apply(seq, event.event_type.as_str(), &event.subject_id, &content, at);
        self.book.get(&event.subject_id).map(|e| waiver(e, &self.rules))
    }

    /// Every exception's waiver under new rules.
    fn restate(&mut self, rules: Rules) -> Vec<Fact> {
        self.rules = rules;
        self.book.all().map(|e| waiver(e, &self.rules)).collect()
    }
}

fn waiver(e: &Exception, rules: &Rules) -> Fact {
    let in_force = e.revoked.is_none() && e.expiry_announced.is_none() && (e.approved.is_some() || !rules.approval_required);
    Fact::Exception {
        id: e.id.clone(),
        vulnerabilities: e.scope.vulnerabilities.clone(),
        artifacts: e.scope.artifacts.clone(),
        environments: e.scope.environments.clone(),
        in_force,
    }
}

/// Folds the log's entries into a new graph, up to those received at or before `until`
/// (nanoseconds since the epoch) when it is given, with the default exception rules.
pub fn replay(store: &dyn Store, until: Option<i64>) -> Result<Graph, StoreError> {
    replay_with(store, until, &mut Waivers::default())
}

/// [`replay`] under the operator's exception rules.
pub fn replay_with_rules(store: &dyn Store, until: Option<i64>, rules: Rules) -> Result<Graph, StoreError> {
    replay_with(store, until, &mut Waivers::new(rules))
}

fn replay_with(store: &dyn Store, until: Option<i64>, waivers: &mut Waivers) -> Result<Graph, StoreError> {
    let mut graph = Graph::new();
    let mut next = 0u64;
    loop {
        let rows = store.scan(next, SCAN_CHUNK)?;
        let Some(last) = rows.last().map(|r| r.seq) else { break };
        for row in rows {
            if until.is_some_and(|t| row.received_unix_nanos > t) {
                return Ok(graph);
            }
            if !dossier_core::conventions::relevant(&row.event_type) && !Family::Exception.contains(&row.event_type) {
                continue;
            }
            // Entries were validated on the way in; one that no longer reads is a damaged store,
            // counted and logged by the one conversion, and named by `dossier verify`.
            let Ok(Appended { event, .. }) = Appended::from_row(&row, "the lineage view") else { continue };
            for artifact in &event.artifacts {
                graph.know_artifact(artifact);
            }
            for fact in &event.facts {
                graph.apply(fact, row.seq);
            }
            if let Some(fact) = waivers.fold(row.seq, &event) {
                graph.apply(&fact, row.seq);
            }
        }
        next = last + 1;
    }
    Ok(graph)
}

impl Projection for LineageView {
    fn apply(&self, events: &[Event], outcomes: &[AppendOutcome]) {
        LineageView::apply(self, events, outcomes)
    }
}

impl LineageView {
    /// The view of the log as `store` holds it now.
    pub fn load(store: &dyn Store) -> Result<LineageView, StoreError> {
        let mut waivers = Waivers::default();
        let graph = replay_with(store, None, &mut waivers)?;
        let (changes, _) = broadcast::channel(4096);
        Ok(LineageView { graph: RwLock::new(graph), waivers: Mutex::new(waivers), changes })
    }

    pub fn new(graph: Graph) -> LineageView {
        let (changes, _) = broadcast::channel(4096);
        LineageView { graph: RwLock::new(graph), waivers: Mutex::new(Waivers::default()), changes }
    }

    /// The operator's exception rules: every exception's waiver is stated again under them.
    pub fn set_exception_rules(&self, rules: Rules) {
        let mut graph = self.graph.write().unwrap_or_else(|p| p.into_inner());
        let facts = self.waivers.lock().unwrap_or_else(|p| p.into_inner()).restate(rules);
        for fact in facts {
            for change in graph.apply(&fact, 0) {
                let _ = self.changes.send(Arc::new(change));
            }
        }
    }

    /// Applies a commit's accepted events, in log order.
    pub fn apply(&self, events: &[Event], outcomes: &[AppendOutcome]) {
        let mut graph = self.graph.write().unwrap_or_else(|p| p.into_inner());
        for (event, outcome) in events.iter().zip(outcomes) {
            if let AppendOutcome::Accepted { seq } = outcome {
                for artifact in &event.artifacts {
                    graph.know_artifact(artifact);
                }
                let waiver = self.waivers.lock().unwrap_or_else(|p| p.into_inner()).fold(*seq, event);
                for fact in event.facts.iter().chain(&waiver) {
                    for change in graph.apply(fact, *seq) {
                        let _ = self.changes.send(Arc::new(change));
                    }
                }
            }
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Graph> {
        self.graph.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ImpactChange>> {
        self.changes.subscribe()
    }
}
