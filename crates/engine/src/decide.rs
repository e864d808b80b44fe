//! The one `decide`: the policies an entry triggers, evaluated over the input it has *at a
//! moment*. Live evaluation, replay and the gate all call it, so the same entry at the same
//! moment gets the same decision whichever path asks — after a restart or a lag too.
//!
//! The moment of an entry is fixed by the log, never by the clock of whoever asks: its history
//! is the entries before it, and the exceptions are those in force when Dossier received it.
//! The gate asks about a deployment that has not happened: the entry it would be if it were
//! appended now, at the moment the gate records with its decision.

use std::sync::Arc;

use dossier_core::own::OwnType;
use dossier_log::render::EventView;
use dossier_log::{Appended, EvidenceLog};
use dossier_policy::{Decision, PolicySet};
use dossier_store::EventQuery;
use dossier_views::Views;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use dossier_log::own::hex;

/// When a decision is made, as the log sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    /// The history is the entries before this one.
    pub before: u64,
    /// Exceptions in force at this time (nanoseconds since the epoch).
    pub at: i64,
}

impl Moment {
    /// The moment of an entry: what came before it, and when Dossier received it.
    pub fn of(a: &Appended) -> Moment {
        Moment { before: a.seq, at: a.received_unix_nanos }
    }
}

/// A recheck: the timer that asked for it and when it was due.
#[derive(Debug, Clone)]
pub struct Recheck {
    pub timer: String,
    pub policy: String,
    pub due_unix_nanos: i64,
}

/// Why an entry is decided: what `decide` evaluates and adds to the input.
#[derive(Debug, Clone, Copy)]
pub enum Why<'a> {
    /// The entry arrived (live), or is replayed: every policy its type triggers.
    Arrived,
    /// A recheck's timer fired: only the rechecking policy, with `recheck` in the input.
    Recheck(&'a Recheck),
    /// The gate asks whether the deployment the entry describes may happen: every policy its
    /// type triggers, with `gate` (who asks, the request's context, whether it is a dry run) in
    /// the input.
    Gate(&'a Value),
}

/// What `decide` gives: every decision (significant or not) and the input they were made on.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub input: Value,
    pub decisions: Vec<Decision>,
}

impl Evaluation {
    /// SHA-256 of the input's RFC 8785 form, hex: what a recorded decision names its input by.
    /// Computed when asked, since most evaluations record nothing and the input (with the
    /// artifact's timeline) is the dearest thing to canonicalise.
    pub fn input_digest(&self) -> String {
        hex(&Sha256::digest(dossier_core::jcs::canonicalize(&self.input).as_bytes()))
    }
}

/// What the input is read from: the store, the views.
#[derive(Clone)]
pub struct Context {
    pub log: Arc<EvidenceLog>,
    pub views: Views,
}

impl Context {
    /// `dossier.events(filter)` answered from the store: the filter's fields are the events API's
    /// parameters; the answer lists events as the API does.
    pub fn events_fn(&self) -> dossier_policy::EventsFn {
        let log = self.log.clone();
        Arc::new(move |filter: &Value| {
            let pairs = dossier_policy::filter_params(filter)?;
            let q = EventQuery::from_params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
            let page = log.store().query(&q).map_err(|e| e.to_string())?;
            Ok(Value::Array(page.events.iter().map(|e| serde_json::to_value(EventView::of(e)).unwrap_or(Value::Null)).collect()))
        })
    }

    /// The input document for `a` at `moment`: the event and what is known of its subject — the
    /// artifact's timeline (the entries before `moment.before`), its lineage, the exceptions in
    /// force at `moment.at`, and for a vulnerability what it reaches.
    pub fn input(&self, a: &Appended, event: &Value, moment: Moment) -> Value {
        let purl = dossier_policy::input::subject_artifact(event);
        let mut timeline = Vec::new();
        let mut lineage = None;
        if let Some(purl) = &purl {
            // Records are left out by the store, on its indexed columns, before an entry is read.
            let q = EventQuery {
                artifact: Some(purl.clone()),
                before: Some(moment.before),
                without_records: true,
                limit: 1000,
                ..Default::default()
            };
            match self.log.store().query(&q) {
                Ok(page) => timeline = page
                    .events
                    .iter()
                    .filter(|e| e.seq != a.seq)
                    .filter_map(|e| {
                        // Each entry's bytes are read once, for the record test and the input.
                        let event = serde_json::from_slice::<Value>(&e.raw).unwrap_or(Value::Null);
                        (!is_record(&e.event_type, &e.key.source, &event)).then(|| {
                            json!({"seq": e.seq, "type": e.event_type, "timestamp": dossier_core::event::format_timestamp(e.time_unix_nanos),
                                   "event": event})
                        })
                    })
                    .collect(),
                Err(e) => tracing::error!("reading the timeline of {purl} for entry {}: {e}", a.seq),
            }
            lineage = self.views.lineage.read().lineage(purl).and_then(|l| serde_json::to_value(l).ok());
        }
        let exceptions = self.views.exceptions.active_for(purl.as_deref(), moment.at);
        let mut input = dossier_policy::input::build(event, &timeline, lineage, exceptions);
        if OwnType::VulnerabilityDiscovered.matches(a.event.event_type.as_str()) {
            let graph = self.views.lineage.read();
            input["impact"] = graph.impact(&a.event.subject_id).and_then(|i| serde_json::to_value(i).ok()).unwrap_or(Value::Null);
        }
        input
    }
}

/// Whether a stored entry is Dossier's record of its own acts about the artifact — a policy's
/// decision, a timer, a gate decision or the verification summary kept of one — rather than its
/// history. Records are not in the timeline policies read: they are what deciding produced, and
/// an artifact asked about often would otherwise carry every earlier answer into each input.
/// The store leaves out what [`dossier_core::own::is_record`] names; a summary kept before
/// summaries had the gate's source is known by its origin.
fn is_record(event_type: &str, source: &str, event: &Value) -> bool {
    if dossier_core::own::is_record(event_type, source) {
        return true;
    }
    OwnType::DocumentReceived.matches(event_type)
        && event.pointer("/subject/content/origin").and_then(Value::as_str).is_some_and(|o| o.starts_with(dossier_gate::GATE_ORIGIN))
}

/// Evaluates the policies of `set` that entry `a` triggers (for a recheck, only the rechecking
/// policy) over its input at `moment`, with what `why` adds to it.
pub fn decide(set: &mut PolicySet, cx: &Context, a: &Appended, moment: Moment, why: Why<'_>) -> Option<Evaluation> {
    let event = match serde_json::from_slice::<Value>(&a.event.raw) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!("entry {}: not JSON ({e}); no policy can decide on it", a.seq);
            return None;
        }
    };
    let mut input = cx.input(a, &event, moment);
    let decisions = match why {
        Why::Arrived => set.evaluate(a.event.event_type.as_str(), &input),
        Why::Gate(gate) => {
            input["gate"] = gate.clone();
            set.evaluate(a.event.event_type.as_str(), &input)
        }
        Why::Recheck(r) => {
            input["recheck"] = json!({"timer": r.timer, "due": dossier_core::event::format_timestamp(r.due_unix_nanos)});
            set.evaluate_policy(&r.policy, &input).into_iter().collect()
        }
    };
    Some(Evaluation { input, decisions })
}
