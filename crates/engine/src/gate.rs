//! The deployment gate: "may this artifact go to that environment?", answered *before* the
//! deployment happens.
//!
//! The gate decides with the one [`decide`](crate::decide): the question becomes the
//! `service.deployed` event the deployment would send, decided as the entry it would be if it
//! were appended now — its history is the log as the views have applied it, the exceptions
//! those in force now. The same policies, the same input (plus `gate`: who asks, the request's
//! context, whether it is a dry run), the same enforce and audit modes, the same fail-closed
//! setting as live evaluation. Every decision is an entry in the log
//! (`dossier-gate.decided`), recording the moment it was made at, so a replay of it decides
//! alike; a repeated request id is answered with the decision already recorded.
//!
//! An artifact Dossier has no evidence about is denied (per environment, the operator may allow
//! it, with a warning): a gate that lets the unknown through has checked nothing.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use dossier_core::event::format_timestamp;
use dossier_core::image::{ImageRef, ImageRefError};
use dossier_core::own::{OwnType, GATE_SOURCE};
use dossier_core::{Event, EventKey, PurlError};
use dossier_log::own::{hex, now_nanos, own_event};
use dossier_log::Appended;
use dossier_policy::{Decision, Mode};

pub use dossier_gate::{
    policy_set_digest, Ask, Evaluated, Evidence, GateConfig, GateDecided, RecordedMoment, Said, Unknown, DEPLOYMENT_TYPE, GATE_ORIGIN,
    MAX_CONTEXT, UNKNOWN_ARTIFACT,
};
use dossier_store::AppendOutcome;

use crate::decide::{Moment, Why};
use crate::policy::PolicyService;

/// The gate's answer: the decision and where it is in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub decided: GateDecided,
    /// The entry recording it.
    pub seq: u64,
    /// The question was asked before under the same request id: this is that decision.
    pub repeated: bool,
}

/// A question checked and decided, not recorded yet.
enum Prepared {
    Repeated(Box<Answer>),
    New(EventKey, Box<GateDecided>, Box<Event>),
}

/// Why the gate could not answer.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("artifact: {0}")]
    Purl(#[from] PurlError),
    #[error("artifact: {0}")]
    Image(#[from] ImageRefError),
    #[error("artifact: {reference} is not pinned by digest, and a tag can move: the gate decides about exact artifacts. Pin it: deploy {repository}@sha256:<digest> (`crane digest {reference}` or `docker buildx imagetools inspect {reference}` prints the digest); Dossier does not ask registries")]
    TagOnly { reference: String, repository: String },
    #[error("environment: must be 1 to 253 characters without control characters, got {0:?}")]
    Environment(String),
    #[error("request_id: must be 1 to 128 letters, digits and . _ : -, got {0:?}")]
    RequestId(String),
    #[error("context: {0} bytes of JSON; at most {MAX_CONTEXT} are recorded with a decision")]
    ContextTooLarge(usize),
    #[error("request_id {request_id:?} was decided already (decision {decision}) for another question: {differs}")]
    Conflict { request_id: String, decision: String, differs: &'static str },
    #[error("the deployment the gate asks about could not be built: {0}")]
    Deployment(String),
    #[error("recording the decision: {0}")]
    Log(String),
}

/// The gate: the policy service it decides with, and its configuration.
pub struct Gate {
    policies: Arc<PolicyService>,
    config: GateConfig,
}

impl Gate {
    pub fn new(policies: Arc<PolicyService>, config: GateConfig) -> Gate {
        Gate { policies, config }
    }

    pub fn config(&self) -> &GateConfig {
        &self.config
    }

    /// Decides `ask` for `requester`, records the decision and answers (blocking: it reads the
    /// store and waits for the decision to be durable).
    pub fn ask(&self, ask: Ask, requester: &str) -> Result<Answer, GateError> {
        self.ask_all(vec![ask], requester).pop().unwrap_or_else(|| Err(GateError::Log("the gate answered nothing".into())))
    }

    /// Decides each question at one moment and records the decisions in one append (one
    /// commit for a Deployment's five containers, not five); one answer per question, in order.
    pub fn ask_all(&self, asks: Vec<Ask>, requester: &str) -> Vec<Result<Answer, GateError>> {
        let cx = self.policies.context();
        let moment = Moment { before: cx.log.applied(), at: now_nanos() };
        let mut answers: Vec<Result<Answer, GateError>> = Vec::with_capacity(asks.len());
        // The decisions to record: (index in `answers`, key, decision, entry).
        let mut new = Vec::new();
        for prepared in self.prepare_all(asks, requester, moment) {
            match prepared {
                Ok(Prepared::Repeated(a)) => answers.push(Ok(*a)),
                Ok(Prepared::New(key, decided, event)) => {
                    new.push((answers.len(), key, *decided, *event));
                    answers.push(Err(GateError::Log("not recorded".into())));
                }
                Err(e) => answers.push(Err(e)),
            }
        }
        if new.is_empty() {
            return answers;
        }
        let events: Vec<Event> = new.iter().map(|n| n.3.clone()).collect();
        match cx.log.append_blocking(events) {
            Ok(outcomes) => {
                for ((i, key, decided, _), outcome) in new.into_iter().zip(outcomes) {
                    answers[i] = match outcome {
                        AppendOutcome::Accepted { seq } => Ok(Answer { decided, seq, repeated: false }),
                        // Asked twice at once under one request id: the first recorded is the answer.
                        AppendOutcome::Duplicate { .. } | AppendOutcome::Conflict { .. } => {
                            self.repeated(&key, &decided.asked, requester).and_then(|a| {
                                a.ok_or_else(|| GateError::Log("the decision recorded under this request id cannot be read".into()))
                            })
                        }
                    };
                }
            }
            Err(e) => {
                for (i, ..) in new {
                    answers[i] = Err(GateError::Log(e.to_string()));
                }
            }
        }
        answers
    }

    /// [`Gate::prepare`]s each question, side by side on as many threads as the policy service
    /// has copies of its set (a Deployment's containers are decided at once, not one after
    /// another); the results in the questions' order.
    fn prepare_all(&self, asks: Vec<Ask>, requester: &str, moment: Moment) -> Vec<Result<Prepared, GateError>> {
        let lanes = self.policies.parallelism().min(asks.len());
        if lanes <= 1 {
            return asks.into_iter().map(|a| self.prepare(a, requester, moment)).collect();
        }
        let n = asks.len();
        // Lane k takes questions k, k + lanes, …; lane 0 runs on this thread.
        let mut lanes_of: Vec<Vec<(usize, Ask)>> = (0..lanes).map(|_| Vec::new()).collect();
        for (i, ask) in asks.into_iter().enumerate() {
            lanes_of[i % lanes].push((i, ask));
        }
        let run = |lane: Vec<(usize, Ask)>| -> Vec<(usize, Result<Prepared, GateError>)> {
            lane.into_iter().map(|(i, a)| (i, self.prepare(a, requester, moment))).collect()
        };
        let mut slots: Vec<Option<Result<Prepared, GateError>>> = (0..n).map(|_| None).collect();
        std::thread::scope(|scope| {
            let mut lanes_of = lanes_of.into_iter();
            let here = lanes_of.next().unwrap_or_default();
            let others: Vec<_> = lanes_of.map(|lane| scope.spawn(move || run(lane))).collect();
            let mut done = run(here);
            for other in others {
                // A lane that panicked leaves its questions unanswered: each gets an error below.
                done.extend(other.join().unwrap_or_default());
            }
            for (i, r) in done {
                slots[i] = Some(r);
            }
        });
        slots.into_iter().map(|s| s.unwrap_or_else(|| Err(GateError::Deployment("deciding this question failed".into())))).collect()
    }

    /// Checks and decides one question: the answer recorded before under its request id, or a
    /// new decision with the entry recording it.
    fn prepare(&self, ask: Ask, requester: &str, moment: Moment) -> Result<Prepared, GateError> {
        check(&ask)?;
        let artifact = resolve(&ask.artifact, &self.policies.context().views.lineage.read())?;
        let decision = match &ask.request_id {
            Some(r) => format!("gd-{}", &hex(&Sha256::digest(r.as_bytes()))[..24]),
            None => {
                let mut random = [0u8; 12];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
                format!("gd-{}", hex(&random))
            }
        };
        let key = EventKey { source: GATE_SOURCE.to_owned(), id: decision.clone() };
        if let Some(answer) = self.repeated(&key, &ask, requester)? {
            return Ok(Prepared::Repeated(Box::new(answer)));
        }
        let decided = self.decide(&decision, &artifact, ask, requester, moment)?;
        // `artifactId` in the content files the decision under the artifact, in its timeline.
        let content = serde_json::to_value(&decided).map_err(|e| GateError::Log(e.to_string()))?;
        let mut event =
            own_event(decision, GATE_SOURCE, OwnType::GateDecided, &artifact, content, None).map_err(|e| GateError::Log(e.to_string()))?;
        event.sender = Some(requester.to_owned());
        Ok(Prepared::New(key, Box::new(decided), Box::new(event)))
    }

    /// The decision `decision` recorded, with its entry's seq.
    pub fn get(&self, decision: &str) -> Result<Option<(u64, GateDecided)>, GateError> {
        let key = EventKey { source: GATE_SOURCE.to_owned(), id: decision.to_owned() };
        let row = self.policies.context().log.store().get_by_key(&key).map_err(|e| GateError::Log(e.to_string()))?;
        Ok(row.and_then(|r| GateDecided::read(&r.raw).map(|d| (r.seq, d))))
    }

    /// The answer already recorded under `key`, if the same question was asked; a conflict if
    /// another was.
    fn repeated(&self, key: &EventKey, ask: &Ask, requester: &str) -> Result<Option<Answer>, GateError> {
        let Some((seq, decided)) = self.get(&key.id)? else { return Ok(None) };
        let differs = if decided.asked.artifact != ask.artifact {
            Some("the artifact differs")
        } else if decided.asked.environment != ask.environment {
            Some("the environment differs")
        } else if decided.asked.dry_run != ask.dry_run {
            Some("dry_run differs")
        } else if decided.asked.context != ask.context {
            Some("the context differs")
        } else if decided.requester != requester {
            Some("another principal asked it")
        } else {
            None
        };
        match differs {
            None => Ok(Some(Answer { decided, seq, repeated: true })),
            Some(differs) => {
                Err(GateError::Conflict { request_id: ask.request_id.clone().unwrap_or_default(), decision: key.id.clone(), differs })
            }
        }
    }

    /// Decides the deployment of `artifact` that `ask` is about, at `moment`.
    fn decide(&self, decision: &str, artifact: &str, ask: Ask, requester: &str, moment: Moment) -> Result<GateDecided, GateError> {
        let event = deployment(decision, artifact, &ask.environment, moment.at)?;
        let proposed = Appended { seq: moment.before, received_unix_nanos: moment.at, event };
        let gate = json!({"requester": requester, "context": ask.context, "dry_run": ask.dry_run, "decision": decision});
        let evaluation = self.policies.decide(&proposed, moment, Why::Gate(&gate));
        let (input, decisions) = match evaluation {
            Some(e) => {
                let digest = e.input_digest();
                (e.input, (e.decisions, digest))
            }
            None => return Err(GateError::Deployment("the deployment event did not read back".into())),
        };
        let (decisions, input_digest) = decisions;
        let evidence = evidence_of(&input);
        // Known: evidence about it, or a lineage that says something. Not its name alone, which
        // the graph learns from any entry naming it — the gate's own decisions included.
        let stated = self.policies.context().views.lineage.read().lineage(artifact).is_some_and(|l| l.states_anything());
        let known = !evidence.entries.is_empty() || stated;
        let mut out = GateDecided {
            decision_id: decision.to_owned(),
            allowed: true,
            artifact: artifact.to_owned(),
            environment: ask.environment.clone(),
            requester: requester.to_owned(),
            asked: ask,
            known,
            denies: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            exceptions_applied: Vec::new(),
            evidence,
            policies: Vec::new(),
            policy_set: String::new(),
            input_digest,
            moment: RecordedMoment { before: moment.before, at_unix_nanos: moment.at },
        };
        if !known {
            let message = format!("Dossier has no evidence about {artifact}");
            match self.config.unknown_in(&out.environment) {
                Unknown::Deny => {
                    out.denies.push(Said { policy: UNKNOWN_ARTIFACT.into(), version: None, mode: None, messages: vec![message] })
                }
                Unknown::Allow => out.warnings.push(Said {
                    policy: UNKNOWN_ARTIFACT.into(),
                    version: None,
                    mode: None,
                    messages: vec![format!("{message}; allowed because environment {} lets unknown artifacts through", out.environment)],
                }),
            }
        }
        let mut exceptions = BTreeSet::new();
        for d in decisions {
            fold(&mut out, &mut exceptions, d);
        }
        if out.policies.is_empty() {
            out.warnings.push(Said {
                policy: "no_policy".into(),
                version: None,
                mode: None,
                messages: vec![format!("no loaded policy is triggered by {DEPLOYMENT_TYPE}: no policy checked this deployment")],
            });
        }
        out.exceptions_applied = exceptions.into_iter().collect();
        out.policy_set = policy_set_digest(&out.policies);
        out.allowed = out.denies.is_empty();
        Ok(out)
    }
}

/// Adds what one policy decided to the gate's decision.
fn fold(out: &mut GateDecided, exceptions: &mut BTreeSet<String>, d: Decision) {
    let said = |messages: Vec<String>| Said { policy: d.policy.clone(), version: Some(d.version.clone()), mode: Some(d.mode), messages };
    out.policies.push(Evaluated { policy: d.policy.clone(), version: d.version.clone(), mode: d.mode });
    if !d.deny.is_empty() {
        match d.mode {
            Mode::Enforce => out.denies.push(said(d.deny.clone())),
            Mode::Audit | Mode::Disabled => out.warnings.push(said(d.deny.iter().map(|m| format!("(audit) {m}")).collect())),
        }
    }
    if !d.warn.is_empty() {
        out.warnings.push(said(d.warn.clone()));
    }
    if !d.errors.is_empty() {
        out.errors.push(said(d.errors.clone()));
    }
    exceptions.extend(d.exceptions.iter().cloned());
}

/// The entries and documents of the artifact's history the input holds (Dossier's own records,
/// the gate's decisions and summaries among them, are not in it: `decide` leaves them out).
fn evidence_of(input: &Value) -> Evidence {
    #[derive(Deserialize)]
    struct Entry {
        seq: u64,
        #[serde(rename = "type")]
        ty: String,
        #[serde(default)]
        event: Document,
    }
    #[derive(Deserialize, Default)]
    struct Document {
        #[serde(default)]
        subject: Subject,
    }
    #[derive(Deserialize, Default)]
    struct Subject {
        #[serde(default)]
        content: Content,
    }
    #[derive(Deserialize, Default)]
    struct Content {
        #[serde(default)]
        digest: Option<String>,
    }
    // Read in place: only the seqs, types and document digests, not a copy of the timeline.
    let timeline = input.pointer("/subject/timeline").map(Vec::<Entry>::deserialize).and_then(Result::ok).unwrap_or_default();
    let mut out = Evidence::default();
    for e in timeline {
        if OwnType::DocumentReceived.matches(&e.ty) {
            out.documents.extend(e.event.subject.content.digest);
        }
        out.entries.push(e.seq);
    }
    out
}

/// The questions's fields within their bounds.
fn check(ask: &Ask) -> Result<(), GateError> {
    let env = &ask.environment;
    if env.is_empty() || env.chars().count() > 253 || env.chars().any(char::is_control) {
        return Err(GateError::Environment(env.chars().take(300).collect()));
    }
    if let Some(r) = &ask.request_id {
        let ok = (1..=128).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if !ok {
            return Err(GateError::RequestId(r.chars().take(300).collect()));
        }
    }
    let size = serde_json::to_vec(&ask.context).map_or(0, |v| v.len());
    if size > MAX_CONTEXT {
        return Err(GateError::ContextTooLarge(size));
    }
    Ok(())
}

/// The artifact `asked` names, as Dossier names it: a purl in canonical form; an image reference
/// pinned by digest as the artifact Dossier knows with that digest (preferring the same
/// repository, then the same name), else as `pkg:oci/<name>@<digest>?repository_url=…`.
pub fn resolve(asked: &str, graph: &dossier_lineage::Graph) -> Result<String, GateError> {
    let asked = asked.trim();
    if asked.starts_with("pkg:") {
        return Ok(dossier_core::Purl::parse(asked)?.as_str().to_owned());
    }
    let image = ImageRef::parse(asked)?;
    let Some(purl) = image.purl() else {
        return Err(GateError::TagOnly { reference: asked.to_owned(), repository: image.repository_url() });
    };
    let digest = image.digest.as_deref().unwrap_or_default();
    let Some(hex) = digest.strip_prefix("sha256:") else { return Ok(purl) };
    let known: Vec<String> = graph.artifacts_with_digest(hex).into_iter().filter(|p| p.starts_with("pkg:oci/")).collect();
    if known.contains(&purl) {
        return Ok(purl);
    }
    // The repository as the canonical purl spells it (its qualifier, percent-encoded).
    let repository = purl.split_once('?').map_or_else(String::new, |(_, q)| q.to_owned());
    let named = |p: &String| p.strip_prefix("pkg:oci/").and_then(|r| r.split('@').next()) == Some(image.name());
    let choice = known
        .iter()
        .find(|p| named(p) && !repository.is_empty() && p.contains(&repository))
        .or_else(|| known.iter().find(|p| named(p) && !p.contains("repository_url=")))
        .or_else(|| known.iter().find(|p| named(p)))
        .or_else(|| (known.len() == 1).then(|| &known[0]));
    Ok(choice.cloned().unwrap_or(purl))
}

/// The `service.deployed` event the deployment would send.
fn deployment(decision: &str, artifact: &str, environment: &str, at: i64) -> Result<Event, GateError> {
    let service =
        artifact.strip_prefix("pkg:").and_then(|r| r.split(['@', '?']).next()).and_then(|r| r.rsplit('/').next()).unwrap_or(artifact);
    let value = json!({
        "context": {"specversion": "0.5.1", "id": decision, "source": GATE_SOURCE, "type": DEPLOYMENT_TYPE, "timestamp": format_timestamp(at)},
        "subject": {"id": service, "source": GATE_SOURCE, "content": {"environment": {"id": environment}, "artifactId": artifact}},
    });
    let raw = serde_json::to_vec(&value).map_err(|e| GateError::Deployment(e.to_string()))?;
    Event::from_json(raw, &value).map_err(|e| GateError::Deployment(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899";

    #[test]
    fn an_image_pinned_by_digest_is_the_artifact_dossier_knows_with_that_digest() {
        let mut graph = dossier_lineage::Graph::new();
        graph.know_artifact(&format!("pkg:oci/shop@sha256:{HEX}"));
        graph.know_artifact(&format!("pkg:oci/other@sha256:{}", "1".repeat(64)));
        let known = format!("pkg:oci/shop@sha256:{HEX}");
        assert_eq!(resolve(&format!("ghcr.io/acme/shop@sha256:{HEX}"), &graph).unwrap(), known, "same name, no repository known");
        assert_eq!(
            resolve(&format!("ghcr.io/acme/shop:1.4@sha256:{HEX}"), &graph).unwrap(),
            known,
            "a tag beside the digest changes nothing"
        );
        assert_eq!(
            resolve(&format!("registry.internal/mirror/renamed@sha256:{HEX}"), &graph).unwrap(),
            known,
            "the same bytes under another name"
        );
        assert_eq!(resolve(&format!("pkg:oci/shop@sha256%3A{HEX}"), &graph).unwrap(), known, "a purl in another spelling");
        let unknown = format!("ghcr.io/acme/new@sha256:{}", "2".repeat(64));
        assert_eq!(
            resolve(&unknown, &graph).unwrap(),
            format!("pkg:oci/new@sha256:{}?repository_url=ghcr.io%2Facme%2Fnew", "2".repeat(64)),
            "unknown: named as the purl specification names it"
        );
    }

    #[test]
    fn a_repository_known_twice_is_told_apart_by_its_repository_url() {
        let mut graph = dossier_lineage::Graph::new();
        let a = format!("pkg:oci/shop@sha256:{HEX}?repository_url=ghcr.io%2Facme%2Fshop");
        let b = format!("pkg:oci/shop@sha256:{HEX}?repository_url=quay.io%2Facme%2Fshop");
        graph.know_artifact(&a);
        graph.know_artifact(&b);
        assert_eq!(resolve(&format!("quay.io/acme/shop@sha256:{HEX}"), &graph).unwrap(), b);
        assert_eq!(resolve(&format!("ghcr.io/acme/shop@sha256:{HEX}"), &graph).unwrap(), a);
    }

    #[test]
    fn a_tag_alone_is_refused_with_how_to_pin_it() {
        let e = resolve("ghcr.io/acme/shop:1.4", &dossier_lineage::Graph::new()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "artifact: ghcr.io/acme/shop:1.4 is not pinned by digest, and a tag can move: the gate decides about exact artifacts. Pin it: deploy \
             ghcr.io/acme/shop@sha256:<digest> (`crane digest ghcr.io/acme/shop:1.4` or `docker buildx imagetools inspect ghcr.io/acme/shop:1.4` \
             prints the digest); Dossier does not ask registries"
        );
    }
}
