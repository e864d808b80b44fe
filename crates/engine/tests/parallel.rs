//! Evaluation on several workers decides exactly what one worker decides: the same decisions,
//! with the same inputs and the same actions, each artifact's in the order of its entries; and
//! what a decision says its actions appended is the entry at that seq.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dossier_core::own::OwnType;
use dossier_core::Event;
use dossier_engine::policy::{start_with, Decided, Options};
use dossier_engine::{Context, OnError};
use dossier_log::EvidenceLog;
use dossier_store::{EventQuery, StoredEvent, TypePattern};
use dossier_views::Views;
use serde_json::Value;

/// Depends on the order of each artifact's entries (how many came before), emits an event for
/// each publication and sets a timer for each deployment (a day out: it never fires here).
const HISTORY: &str = r#"package history

triggers := ["dev.cdevents.artifact.*", "dev.cdevents.service.deployed.*"]

allowed_actions := ["emit", "recheck"]

deny contains msg if {
	msg := sprintf("%s after %d entries", [input.event.context.type, count(input.subject.timeline)])
}

actions contains {"kind": "emit", "type": "dev.cdevents.testsuiterun.queued.0.3.0", "subject": sprintf("scan-%s", [input.event.context.id]),
	"content": {"testSuite": {"id": "scan"}, "environment": {"id": "security"}}} if {
	startswith(input.event.context.type, "dev.cdevents.artifact.published.")
}

actions contains {"kind": "recheck", "after": "1d"} if startswith(input.event.context.type, "dev.cdevents.service.deployed.")
"#;

/// Audit only: warns on production deployments, names nothing else.
const PRODUCTION: &str = r#"package production

triggers := ["dev.cdevents.service.deployed.*"]

mode := "audit"

warn contains msg if {
	input.event.subject.content.environment.id == "prod"
	msg := sprintf("%s reaches production", [input.subject.artifact])
}
"#;

const EVENTS: u64 = 1500;

fn events(from: u64, to: u64) -> Vec<Event> {
    let g = dossier_gen::Generator::new(11);
    (from..to)
        .map(|i| {
            let v = g.event(i);
            Event::from_json(serde_json::to_vec(&v).unwrap(), &v).unwrap()
        })
        .collect()
}

/// Every entry of the types `glob` matches, in log order.
fn entries(log: &EvidenceLog, glob: String) -> Vec<StoredEvent> {
    let mut q = EventQuery { types: vec![TypePattern(glob)], limit: 1000, ..Default::default() };
    let mut out = Vec::new();
    loop {
        let page = log.store().query(&q).unwrap();
        out.extend(page.events);
        match page.next {
            Some(n) => q.after = Some(n),
            None => return out,
        }
    }
}

/// What a run decided: its decision entries (seq, policy, content) in log order, and the id of
/// every entry by seq.
struct Run {
    decisions: Vec<(u64, String, Decided)>,
    ids: BTreeMap<u64, String>,
}

/// The same log, from nothing, evaluated by `workers` workers from its first entry.
fn run(workers: usize) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let (data, policies) = (dir.path().join("data"), dir.path().join("policies"));
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("history.rego"), HISTORY).unwrap();
    std::fs::write(policies.join("production.rego"), PRODUCTION).unwrap();
    let store = dossier_stores::open(&dossier_stores::Location::in_data_dir(&data)).unwrap();
    let views = Views::load(store.as_ref()).unwrap();
    let log = EvidenceLog::new(store, dossier_tlog::Signer::generate("test/log").unwrap(), views.projections());
    for from in (0..EVENTS).step_by(500) {
        log.append_blocking(events(from, from + 500)).unwrap();
    }
    // The engine starts behind the whole log.
    std::fs::write(data.join("policy.cursor"), "0\n").unwrap();
    let cx = Context { log: log.clone(), views };
    let options = Options { workers, in_flight: 64 };
    let service = start_with(cx, policies, data.join("policy.cursor"), Arc::default(), OnError::default(), options);
    let deadline = Instant::now() + Duration::from_secs(300);
    // Caught up: every entry decided, its records committed (and passed over in turn).
    while service.lag().entries > 0 {
        assert!(Instant::now() < deadline, "the engine did not catch up: {:?}", service.lag());
        std::thread::sleep(Duration::from_millis(50));
    }
    let decisions = entries(&log, format!("{}*", OwnType::PolicyDecided.unversioned()))
        .iter()
        .map(|e| (e.seq, e.subject_id.clone(), Decided::read(&e.raw).expect("a decision reads")))
        .collect();
    let ids = log.store().scan(0, 100_000).unwrap().into_iter().map(|e| (e.seq, e.key.id)).collect();
    log.close();
    Run { decisions, ids }
}

/// A decision as it would be whichever worker made it and whenever it was committed: the seqs of
/// what its actions appended and the timers' due times left out (the ids stay).
fn comparable(d: &Decided) -> Value {
    let mut v = serde_json::to_value(d).unwrap();
    for action in v["actions"].as_array_mut().unwrap() {
        let outcome = action["outcome"].as_object_mut().unwrap();
        outcome.remove("due");
        for field in ["event", "timer"] {
            if let Some(r) = outcome.get_mut(field).and_then(Value::as_object_mut) {
                r.remove("seq");
            }
        }
    }
    v
}

/// (trigger, policy, decision), sorted by trigger and policy.
fn decided_by_trigger(run: &Run) -> Vec<(u64, String, Value)> {
    let mut out: Vec<(u64, String, Value)> = run.decisions.iter().map(|(_, p, d)| (d.trigger.seq, p.clone(), comparable(d))).collect();
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    out
}

/// Each artifact's decisions, as the triggers they are about, in the order they were committed.
fn per_artifact(run: &Run) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, _, d) in &run.decisions {
        out.entry(d.artifact_id.clone().unwrap_or_default()).or_default().push(d.trigger.seq);
    }
    out
}

fn check_references(run: &Run, workers: usize) {
    for (seq, _, d) in &run.decisions {
        for action in &d.actions {
            let outcome = &action["outcome"];
            for field in ["event", "timer"] {
                if let Some(r) = outcome.get(field) {
                    let at = r["seq"].as_u64().unwrap();
                    assert_eq!(Some(r["id"].as_str().unwrap()), run.ids.get(&at).map(String::as_str), "{workers} workers, decision {seq}");
                    assert!(at < *seq, "what an action appended is committed before its decision");
                }
            }
        }
    }
}

#[test]
fn two_workers_decide_exactly_what_one_worker_decides_each_artifact_in_order() {
    let one = run(1);
    let two = run(2);
    // 150 runs of the story, each with three artifact events (packaged, signed, published) and a
    // deployment: `history` decides on all four, `production` on deployments to production.
    let production = events(0, EVENTS)
        .iter()
        .filter(|e| {
            e.event_type.as_str().starts_with("dev.cdevents.service.deployed.") && e.raw.windows(11).any(|w| w == b"\"id\":\"prod\"")
        })
        .count();
    assert!(production > 20, "{production} deployments to production");
    let by = |r: &Run, policy: &str| r.decisions.iter().filter(|(_, p, _)| p == policy).count();
    assert_eq!((by(&one, "history"), by(&one, "production")), (600, production));
    let with =
        |r: &Run, status: &str| r.decisions.iter().filter(|(_, _, d)| d.actions.iter().any(|a| a["outcome"]["status"] == status)).count();
    assert_eq!((with(&one, "scheduled"), with(&one, "done"), with(&one, "skipped")), (150, 150, 0));
    assert_eq!(decided_by_trigger(&one), decided_by_trigger(&two), "the same decisions, inputs and actions");
    for (workers, r) in [(1, &one), (2, &two)] {
        for (artifact, triggers) in per_artifact(r) {
            assert!(triggers.windows(2).all(|w| w[0] <= w[1]), "{workers} workers: {artifact} decided out of order: {triggers:?}");
        }
        check_references(r, workers);
    }
    assert_eq!(per_artifact(&one), per_artifact(&two));
}
