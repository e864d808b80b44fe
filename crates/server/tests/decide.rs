//! Live evaluation and replay are one `decide`: the same entry gets the same decision whichever
//! asks, also when the live engine decides it late — after a restart, with later entries and a
//! later exception already in the log.

use std::path::Path;
use std::time::{Duration, Instant};

use dossier_core::own::{OwnType, EXCEPTIONS_SOURCE};
use dossier_core::Event;
use dossier_server::Server;
use dossier_store::{EventQuery, TypePattern};
use serde_json::{json, Value};

/// Denies an artifact event, saying how many earlier entries the artifact had and how many
/// exceptions were in force: both depend on the moment the decision is made at.
const POLICY: &str = r#"package moment

triggers := ["dev.cdevents.artifact.*"]

mode := "audit"

deny contains msg if {
	msg := sprintf("%d earlier, %d exceptions", [count(input.subject.timeline), count(input.exceptions)])
}
"#;

fn event(id: &str, ty: &str, subject: &str, content: Value) -> Event {
    let v = json!({
        "context": {"specversion": "0.5.1", "id": id, "source": "/ci", "type": ty, "timestamp": "2026-11-25T10:00:00Z"},
        "subject": {"id": subject, "content": content}
    });
    dossier_cdevents::validate(&v).unwrap();
    Event::from_json(serde_json::to_vec(&v).unwrap(), &v).unwrap()
}

fn exception(id: &str, artifact: &str) -> Event {
    let content = json!({"artifacts": [artifact], "reason": "accepted for the test", "requester": "alice",
                         "expires": "2036-01-01T00:00:00Z"});
    dossier_log::own::own_event(format!("requested-{id}"), EXCEPTIONS_SOURCE, OwnType::ExceptionRequested, id, content, None).unwrap()
}

fn start(data: &Path, policies: Option<&Path>) -> (tokio::runtime::Runtime, Server) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let rules = dossier_exceptions::Rules { approval_required: false, ..Default::default() };
    let server = runtime.block_on(async {
        Server::builder(data)
            .log_name(Some("test/log".into()))
            .exceptions(rules)
            .policies_opt(policies.map(Path::to_owned))
            .start()
            .unwrap()
    });
    (runtime, server)
}

/// Appends one entry; its seq.
fn append(server: &Server, e: Event) -> u64 {
    match server.log().append_blocking(vec![e]).unwrap()[..] {
        [dossier_store::AppendOutcome::Accepted { seq }] => seq,
        ref other => panic!("{other:?}"),
    }
}

/// The recorded decisions (trigger seq → deny), waiting until there are `n`.
fn decisions(server: &Server, n: usize) -> Vec<(u64, Vec<String>)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let q =
            EventQuery { types: vec![TypePattern(format!("{}*", OwnType::PolicyDecided.unversioned()))], limit: 100, ..Default::default() };
        let page = server.log().store().query(&q).unwrap();
        let found: Vec<(u64, Vec<String>)> = page
            .events
            .iter()
            .map(|e| {
                let d = dossier_engine::policy::Decided::read(&e.raw).expect("a decision reads as Decided");
                (d.trigger.seq, d.deny)
            })
            .collect();
        if found.len() >= n {
            return found;
        }
        assert!(Instant::now() < deadline, "{} decisions of {n} after 20 s", found.len());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_decision_made_late_after_a_restart_is_the_one_a_replay_makes() {
    let data = tempfile::tempdir().unwrap();
    let policies = tempfile::tempdir().unwrap();
    std::fs::write(policies.path().join("moment.rego"), POLICY).unwrap();
    let artifact = "pkg:oci/shop@1";

    // With the policy engine running: the first entry is decided at once.
    let (rt, server) = start(data.path(), Some(policies.path()));
    let e1 = append(&server, event("e1", "dev.cdevents.artifact.packaged.0.3.0", artifact, json!({"change": {"id": "c1"}})));
    assert_eq!(decisions(&server, 1), vec![(e1, vec!["0 earlier, 0 exceptions".to_owned()])]);
    server.log().close();
    drop((server, rt));

    // The policy thread stopped: an entry arrives, then a later one about the same artifact and
    // an exception covering it.
    let (rt, server) = start(data.path(), None);
    let e2 = append(&server, event("e2", "dev.cdevents.artifact.published.0.3.0", artifact, json!({})));
    std::thread::sleep(Duration::from_millis(5));
    append(&server, exception("exc-1", artifact));
    let e3 = append(&server, event("e3", "dev.cdevents.artifact.signed.0.3.0", artifact, json!({"signature": "MEUCIQ"})));
    server.log().close();
    drop((server, rt));

    // Restarted with the engine: it catches up on what it missed, late.
    let (_rt, server) = start(data.path(), Some(policies.path()));
    let live = decisions(&server, 3);
    let deny_of = |seq: u64| live.iter().find(|(s, _)| *s == seq).map(|(_, d)| d.clone());
    assert_eq!(
        deny_of(e2),
        Some(vec!["1 earlier, 0 exceptions".to_owned()]),
        "e2 as of its own moment: e1 before it (its decision is Dossier's record, not the artifact's history), not e3, no exception yet"
    );
    assert_eq!(
        deny_of(e3),
        Some(vec!["2 earlier, 1 exceptions".to_owned()]),
        "e3 as of its own moment: e1 and e2 before it, after the exception"
    );

    let replay = server.policies().unwrap().replay("moment", None, None).unwrap();
    let replayed: Vec<(u64, Vec<String>)> = replay.decisions.iter().map(|d| (d.seq, d.decision.deny.clone())).collect();
    let mut live_artifact: Vec<(u64, Vec<String>)> = live.into_iter().filter(|(seq, _)| replayed.iter().any(|(s, _)| s == seq)).collect();
    live_artifact.sort();
    assert_eq!(replayed.len(), 3, "e1, e2 and e3 are replayed: {replayed:?}");
    assert_eq!(live_artifact, replayed, "live (late, after a restart) and replay decide alike");
}
