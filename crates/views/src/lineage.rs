//! The lineage graph as a live view of the log: rebuilt from the log at start, then updated by
//! every commit before its callers are answered, so a client reads its own writes.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use dossier_core::Event;
use dossier_lineage::{Graph, ImpactChange};
use dossier_log::{Appended, Projection};
use dossier_store::{AppendOutcome, Store, StoreError};
use tokio::sync::broadcast;

const SCAN_CHUNK: usize = 10_000;

pub struct LineageView {
    graph: RwLock<Graph>,
    changes: broadcast::Sender<Arc<ImpactChange>>,
}

/// Folds the log's entries into a new graph, up to those received at or before `until`
/// (nanoseconds since the epoch) when it is given.
pub fn replay(store: &dyn Store, until: Option<i64>) -> Result<Graph, StoreError> {
    let mut graph = Graph::new();
    let mut next = 0u64;
    loop {
        let rows = store.scan(next, SCAN_CHUNK)?;
        let Some(last) = rows.last().map(|r| r.seq) else { break };
        for row in rows {
            if until.is_some_and(|t| row.received_unix_nanos > t) {
                return Ok(graph);
            }
            if !dossier_core::conventions::relevant(&row.event_type) {
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
        Ok(LineageView::new(replay(store, None)?))
    }

    pub fn new(graph: Graph) -> LineageView {
        let (changes, _) = broadcast::channel(4096);
        LineageView { graph: RwLock::new(graph), changes }
    }

    /// Applies a commit's accepted events, in log order.
    pub fn apply(&self, events: &[Event], outcomes: &[AppendOutcome]) {
        let mut graph = self.graph.write().unwrap_or_else(|p| p.into_inner());
        for (event, outcome) in events.iter().zip(outcomes) {
            if let AppendOutcome::Accepted { seq } = outcome {
                for artifact in &event.artifacts {
                    graph.know_artifact(artifact);
                }
                for fact in &event.facts {
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
