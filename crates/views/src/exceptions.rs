//! Exceptions as a live view of the log (the `Book`, folded at start and by every commit, so a
//! client reads its own writes) and the operator's rules. The announcer of expiries, which
//! appends, is the engine's (`dossier_engine::expiry`).

use std::sync::{RwLock, RwLockReadGuard};

use dossier_core::own::{Family, EXCEPTIONS_SOURCE};
use dossier_core::Event;
use dossier_exceptions::{Book, Exception, Rules};
use dossier_log::Projection;
use dossier_store::{AppendOutcome, EventQuery, Store, StoreError, TypePattern, MAX_PAGE};
use serde_json::Value;

use crate::entry::content_of;
use crate::lineage::LineageView;

pub struct ExceptionsView {
    book: RwLock<Book>,
    rules: RwLock<Rules>,
}

impl Projection for ExceptionsView {
    fn apply(&self, events: &[Event], outcomes: &[AppendOutcome]) {
        ExceptionsView::apply(self, events, outcomes)
    }
}

impl ExceptionsView {
    /// Folds the exception entries of the log (found by type, not by a scan of the log).
    pub fn load(store: &dyn Store) -> Result<ExceptionsView, StoreError> {
        let mut book = Book::new();
        // Only Dossier writes under its source (the submit path refuses these types and sources
        // from producers); entries of the types elsewhere are not believed.
        let mut q = EventQuery {
            types: vec![TypePattern(Family::Exception.glob())],
            source: Some(EXCEPTIONS_SOURCE.to_owned()),
            limit: MAX_PAGE,
            ..Default::default()
        };
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
                AppendOutcome::Accepted { seq }
                    if Family::Exception.contains(e.event_type.as_str()) && e.key.source == EXCEPTIONS_SOURCE =>
                {
                    Some((*seq, e))
                }
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
pub fn concerned(lineage: &LineageView, e: &Exception) -> Vec<String> {
    let mut out: Vec<String> = e.scope.artifacts.iter().filter(|a| !a.contains('*')).cloned().collect();
    let graph = lineage.read();
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
