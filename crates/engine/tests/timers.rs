//! A recheck fires once: its decision and its `fired` entry are committed together, and an
//! engine started again over the same log does not fire it a second time.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dossier_core::own::OwnType;
use dossier_core::Event;
use dossier_engine::policy::{start_with, Decided, Options, PolicyService};
use dossier_engine::{Context, OnError};
use dossier_log::EvidenceLog;
use dossier_store::{EventQuery, StoredEvent, TypePattern};
use dossier_views::Views;
use serde_json::json;

const LATE: &str = r#"package late

triggers := ["dev.cdevents.artifact.published.*"]

allowed_actions := ["recheck"]

actions contains {"kind": "recheck", "after": "1s"} if not input.recheck

deny contains "looked at again" if input.recheck
"#;

fn open(data: &Path) -> (Arc<EvidenceLog>, Views) {
    let store = dossier_stores::open(&dossier_stores::Location::in_data_dir(data)).unwrap();
    let views = Views::load(store.as_ref()).unwrap();
    let log = EvidenceLog::new(store, dossier_tlog::Signer::generate("test/log").unwrap(), views.projections());
    (log, views)
}

fn start(log: &Arc<EvidenceLog>, views: Views, dir: &Path) -> Arc<PolicyService> {
    let cx = Context { log: log.clone(), views };
    let options = Options { workers: 2, in_flight: 16 };
    start_with(cx, dir.join("policies"), dir.join("data/policy.cursor"), Arc::default(), OnError::default(), options)
}

fn of_type(log: &EvidenceLog, ty: OwnType) -> Vec<StoredEvent> {
    let q = EventQuery { types: vec![TypePattern(format!("{}*", ty.unversioned()))], limit: 100, ..Default::default() };
    log.store().query(&q).unwrap().events
}

fn published() -> Event {
    let v = json!({"context": {"specversion": "0.5.1", "id": "p1", "source": "/ci", "type": "dev.cdevents.artifact.published.0.3.0",
                               "timestamp": "2026-11-25T10:00:00Z"},
                   "subject": {"id": "pkg:oci/late@1", "content": {}}});
    Event::from_json(serde_json::to_vec(&v).unwrap(), &v).unwrap()
}

#[test]
fn a_recheck_fires_once_with_its_decision_and_not_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    std::fs::write(dir.path().join("policies/late.rego"), LATE).unwrap();
    let data = dir.path().join("data");
    let (log, views) = open(&data);
    let _service = start(&log, views, dir.path());
    let trigger = match log.append_blocking(vec![published()]).unwrap()[..] {
        [dossier_store::AppendOutcome::Accepted { seq }] => seq,
        ref other => panic!("{other:?}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while of_type(&log, OwnType::TimerFired).is_empty() {
        assert!(Instant::now() < deadline, "the timer did not fire");
        std::thread::sleep(Duration::from_millis(50));
    }
    let timers = of_type(&log, OwnType::TimerSet);
    let decisions = of_type(&log, OwnType::PolicyDecided);
    let fired = of_type(&log, OwnType::TimerFired);
    assert_eq!((timers.len(), decisions.len(), fired.len()), (1, 2, 1));
    let scheduling = Decided::read(&decisions[0].raw).unwrap();
    assert_eq!((scheduling.trigger.seq, scheduling.recheck.as_deref()), (trigger, None));
    assert_eq!(scheduling.actions[0]["outcome"]["status"], "scheduled");
    assert_eq!(scheduling.actions[0]["outcome"]["timer"]["seq"], timers[0].seq, "the outcome names the timer's entry");
    assert!(timers[0].seq < decisions[0].seq, "the timer is committed before the decision naming it");
    let recheck = Decided::read(&decisions[1].raw).unwrap();
    assert_eq!((recheck.trigger.seq, recheck.recheck.as_deref()), (trigger, Some(timers[0].key.id.as_str())));
    assert_eq!(recheck.deny, vec!["looked at again"]);
    assert_eq!(fired[0].seq, decisions[1].seq + 1, "fired right after its decision, in the same commit");
    log.close();
    // Started again over the same log: the timer has fired, nothing is due.
    let (log, views) = open(&data);
    let _service = start(&log, views, dir.path());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!((of_type(&log, OwnType::PolicyDecided).len(), of_type(&log, OwnType::TimerFired).len()), (2, 1));
    log.close();
}
