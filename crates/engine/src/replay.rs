//! Replay: a policy evaluated over stored history without acting — what it would have decided
//! and asked for — so that it can be tried before it enforces anything. Each triggering entry
//! gets the input it would have had then: its artifact's earlier timeline, and the exceptions in
//! force when Dossier received it.

use dossier_log::Appended;
use dossier_policy::{Decision, PolicySet};
use dossier_store::{EventQuery, StoreError};
use serde::Serialize;

use crate::decide::{decide, Context, Moment, Why};

/// Triggering entries a replay evaluates at most.
pub const MAX_EVALUATIONS: usize = 10_000;
/// Significant decisions a replay lists at most (all are counted).
pub const MAX_LISTED: usize = 200;

/// One significant decision of a replay.
#[derive(Debug, Clone, Serialize)]
pub struct Replayed {
    pub seq: u64,
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    pub decision: Decision,
}

/// What a policy would have done over a period.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    pub policy: String,
    pub version: String,
    pub evaluated: usize,
    pub denied: usize,
    pub warned: usize,
    pub acting: usize,
    /// More triggering entries than [`MAX_EVALUATIONS`] fell in the period; the rest were not
    /// evaluated.
    pub truncated: bool,
    pub decisions: Vec<Replayed>,
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("no policy {0:?} is loaded")]
    NotLoaded(String),
    #[error("reading the log: {0}")]
    Store(#[from] StoreError),
}

/// Replays `policy` over the entries of the period (`since`, `until`: their timestamps), each
/// decided by the one [`decide`] at the entry's own moment.
/// `set` holds the one policy to replay ([`PolicySet::only`]), with the libraries and data it
/// was loaded with.
pub fn replay(cx: &Context, mut set: PolicySet, since: Option<i64>, until: Option<i64>) -> Result<Replay, ReplayError> {
    set.audit_disabled();
    let Some(policy) = set.policies().first().cloned() else { return Err(ReplayError::NotLoaded(String::new())) };
    let mut out = Replay {
        policy: policy.name.clone(),
        version: policy.version.clone(),
        evaluated: 0,
        denied: 0,
        warned: 0,
        acting: 0,
        truncated: false,
        decisions: Vec::new(),
    };
    let types = policy.triggers.iter().map(|t| dossier_store::TypePattern(t.clone())).collect();
    let mut q = EventQuery { types, since, until, limit: dossier_store::MAX_PAGE, ..Default::default() };
    loop {
        let page = cx.log.store().query(&q)?;
        for stored in &page.events {
            if out.evaluated >= MAX_EVALUATIONS {
                out.truncated = true;
                return Ok(out);
            }
            let Ok(a) = Appended::from_row(stored, "a policy replay") else { continue };
            let Some(evaluation) = decide(&mut set, cx, &a, Moment::of(&a), Why::Arrived) else { continue };
            for d in evaluation.decisions {
                out.evaluated += 1;
                out.denied += usize::from(!d.deny.is_empty());
                out.warned += usize::from(!d.warn.is_empty());
                out.acting += usize::from(!d.actions.is_empty());
                if d.is_significant() && out.decisions.len() < MAX_LISTED {
                    out.decisions.push(Replayed {
                        seq: stored.seq,
                        id: stored.key.id.clone(),
                        event_type: stored.event_type.clone(),
                        artifact: a.event.artifacts.first().cloned(),
                        decision: d,
                    });
                }
            }
        }
        match page.next {
            Some(next) => q.after = Some(next),
            None => return Ok(out),
        }
    }
}
