//! The report of a period, for auditors: deployments to each environment, what the gate allowed
//! and denied, exceptions and who approved them, policy changes, violations, tool runs. Each
//! line names its entry (`seq`), and the report cites the signed checkpoint every line is in, so
//! each can be proved against it (`dossier log prove SEQ`, or an audit bundle).
//!
//! The period is Dossier's own clock — when entries were received, which is log order — so it
//! is a range of the log, found by binary search; each section is read from the type index a
//! page at a time, **counted in full** and listed up to a limit (a count taken after a capped
//! read undercounts: 500 decisions read, 0 of them denials, while 13 denials existed).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use dossier_core::event::format_timestamp;
use dossier_core::own::{Family, OwnType};
use dossier_gate::GateDecided;
use dossier_store::{EventQuery, Store, StoreError, StoredEvent, TypePattern, MAX_PAGE};

use crate::actions::Finished;
use crate::policy::Decided;

/// Lines a section lists at most (its count is always complete).
pub const LIMIT: usize = 500;

/// Why a period cannot be reported.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("since ({since}) is after until ({until}): the period would be empty; swap them")]
    Inverted { since: String, until: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One line of a section: the entry it is read from, when it was received, and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line<T> {
    pub seq: u64,
    pub received: String,
    /// Who sent it (the principal of the credential), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    #[serde(flatten)]
    pub what: T,
}

/// A section: how many lines the period holds, and the first [`LIMIT`] of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section<T> {
    pub count: u64,
    pub lines: Vec<Line<T>>,
    /// Whether `count` is every line of the period; false when a [`Reading`] bound stopped the
    /// reading first (`count` is then a lower bound, and says so wherever it is shown).
    #[serde(default = "complete")]
    pub complete: bool,
}

fn complete() -> bool {
    true
}

impl<T> Default for Section<T> {
    fn default() -> Self {
        Section { count: 0, lines: Vec::new(), complete: true }
    }
}

/// How much of the period a report reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Every entry: exact counts, whatever the period holds (the API and `dossier audit report`).
    All,
    /// At most this many entries per section (a page that must answer fast): counts past it are
    /// lower bounds, marked incomplete.
    AtMost(u64),
}

impl<T> Section<T> {
    /// Whether some lines are not listed.
    pub fn truncated(&self) -> bool {
        (self.lines.len() as u64) < self.count
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineRun {
    pub pipeline: String,
    pub run: String,
    pub outcome: String,
    /// The source that reported it.
    pub source: String,
}

/// What a deployment event did: the predicate of its `service.*` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentAction {
    Deployed,
    Upgraded,
    Rolledback,
    Removed,
}

impl DeploymentAction {
    pub const ALL: [DeploymentAction; 4] =
        [DeploymentAction::Deployed, DeploymentAction::Upgraded, DeploymentAction::Rolledback, DeploymentAction::Removed];

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentAction::Deployed => "deployed",
            DeploymentAction::Upgraded => "upgraded",
            DeploymentAction::Rolledback => "rolledback",
            DeploymentAction::Removed => "removed",
        }
    }

    /// The glob of the event types stating it (`dev.cdevents.service.deployed.*`).
    fn glob(self) -> String {
        format!("dev.cdevents.service.{}.*", self.as_str())
    }

    /// The action an event type states, if it is one.
    pub fn of(event_type: &str) -> Option<DeploymentAction> {
        DeploymentAction::ALL.into_iter().find(|a| TypePattern(a.glob()).matches(event_type))
    }
}

/// What happened to an exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionAct {
    Requested,
    Approved,
    Revoked,
    Expired,
}

impl ExceptionAct {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionAct::Requested => "requested",
            ExceptionAct::Approved => "approved",
            ExceptionAct::Revoked => "revoked",
            ExceptionAct::Expired => "expired",
        }
    }

    /// The act an entry's type records, if it is an exception's.
    pub fn of(event_type: &str) -> Option<ExceptionAct> {
        match OwnType::of(event_type)? {
            OwnType::ExceptionRequested => Some(ExceptionAct::Requested),
            OwnType::ExceptionApproved => Some(ExceptionAct::Approved),
            OwnType::ExceptionRevoked => Some(ExceptionAct::Revoked),
            OwnType::ExceptionExpired => Some(ExceptionAct::Expired),
            _ => None,
        }
    }
}

/// What happened to a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyAct {
    Loaded,
    Removed,
    Refused,
}

impl PolicyAct {
    pub const ALL: [PolicyAct; 3] = [PolicyAct::Loaded, PolicyAct::Removed, PolicyAct::Refused];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyAct::Loaded => "loaded",
            PolicyAct::Removed => "removed",
            PolicyAct::Refused => "refused",
        }
    }

    /// The entry type that records it.
    fn own_type(self) -> OwnType {
        match self {
            PolicyAct::Loaded => OwnType::PolicyLoaded,
            PolicyAct::Removed => OwnType::PolicyRemoved,
            PolicyAct::Refused => OwnType::PolicyRefused,
        }
    }

    /// The act an entry's type records, if it is one.
    pub fn of(event_type: &str) -> Option<PolicyAct> {
        let own = OwnType::of(event_type)?;
        PolicyAct::ALL.into_iter().find(|a| a.own_type() == own)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub action: DeploymentAction,
    pub environment: String,
    pub artifact: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateLine {
    pub decision_id: String,
    pub allowed: bool,
    pub dry_run: bool,
    pub environment: String,
    pub artifact: String,
    pub requester: String,
    /// Every denial's message, `policy: message`.
    pub denies: Vec<String>,
    pub exceptions_applied: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExceptionLine {
    pub exception: String,
    pub act: ExceptionAct,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyChange {
    pub policy: String,
    pub act: PolicyAct,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    pub policy: String,
    pub mode: dossier_policy::Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    pub message: String,
    /// The entry the decision was about.
    pub trigger: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRun {
    pub kind: String,
    pub target: String,
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// How it ended (none: the record does not say).
    pub status: Option<crate::run::RunStatus>,
}

/// Deployments to one environment in the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentSummary {
    pub environment: String,
    pub deployments: u64,
    pub gate_allowed: u64,
    pub gate_denied: u64,
}

/// The report of a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub since: String,
    pub until: String,
    /// The log's range the period is: entries `[first, end)`.
    pub first: u64,
    pub end: u64,
    pub environments: Vec<EnvironmentSummary>,
    pub pipeline_runs: Section<PipelineRun>,
    pub deployments: Section<Deployment>,
    pub gate: Section<GateLine>,
    pub exceptions: Section<ExceptionLine>,
    pub policy_changes: Section<PolicyChange>,
    pub violations: Section<Violation>,
    pub tool_runs: Section<ToolRun>,
}

/// The first entry Dossier received at or after `t`: entries are received in log order, so a
/// binary search over the log finds it in a few lookups, without an index on time.
pub fn first_received_at(store: &dyn Store, size: u64, t: i64) -> Result<u64, StoreError> {
    let (mut low, mut high) = (0, size);
    while low < high {
        let mid = low + (high - low) / 2;
        match store.get(mid)? {
            Some(e) if e.received_unix_nanos < t => low = mid + 1,
            _ => high = mid,
        }
    }
    Ok(low)
}

/// Reads every entry of `types` in `[first, end)`, a page at a time; `read` gives the lines of
/// one (a decision can hold several violations, or none).
fn section<T>(
    store: &dyn Store,
    types: &[String],
    (first, end): (u64, u64),
    reading: Reading,
    mut read: impl FnMut(&StoredEvent) -> Vec<T>,
) -> Result<Section<T>, StoreError> {
    let mut out = Section::default();
    let mut after = first.checked_sub(1);
    let mut scanned = 0u64;
    loop {
        if let Reading::AtMost(n) = reading {
            if scanned >= n {
                out.complete = false;
                return Ok(out);
            }
        }
        let q = EventQuery {
            types: types.iter().map(|t| TypePattern(t.clone())).collect(),
            after,
            before: Some(end),
            limit: MAX_PAGE,
            ..Default::default()
        };
        let page = store.query(&q)?;
        scanned += page.events.len() as u64;
        for e in &page.events {
            for what in read(e) {
                out.count += 1;
                if out.lines.len() < LIMIT {
                    out.lines.push(Line { seq: e.seq, received: format_timestamp(e.received_unix_nanos), sender: e.sender.clone(), what });
                }
            }
        }
        match page.events.last() {
            Some(last) if page.events.len() == MAX_PAGE => after = Some(last.seq),
            _ => return Ok(out),
        }
    }
}

fn content<T: serde::de::DeserializeOwned>(e: &StoredEvent) -> Option<T> {
    #[derive(Deserialize)]
    struct Entry<C> {
        subject: Subject<C>,
    }
    #[derive(Deserialize)]
    struct Subject<C> {
        content: C,
    }
    serde_json::from_slice::<Entry<T>>(&e.raw).ok().map(|e| e.subject.content)
}

/// The summary of `env`, made when first needed.
fn of<'a>(environments: &'a mut BTreeMap<String, EnvironmentSummary>, env: &str) -> &'a mut EnvironmentSummary {
    environments.entry(env.to_owned()).or_insert_with(|| EnvironmentSummary { environment: env.to_owned(), ..Default::default() })
}

/// The report of the entries received in `[since, until)` (nanoseconds since the epoch).
pub fn period(store: &dyn Store, since: i64, until: i64) -> Result<Report, ReportError> {
    period_read(store, since, until, Reading::All)
}

/// [`period`], reading each section as `reading` says.
pub fn period_read(store: &dyn Store, since: i64, until: i64, reading: Reading) -> Result<Report, ReportError> {
    if since > until {
        return Err(ReportError::Inverted { since: format_timestamp(since), until: format_timestamp(until) });
    }
    let size = store.size()?;
    let range = (first_received_at(store, size, since)?, first_received_at(store, size, until)?);
    let glob = |t: OwnType| format!("{}*", t.unversioned());

    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Deployed {
        #[serde(default)]
        environment: Option<Id>,
        #[serde(default)]
        artifact_id: Option<String>,
    }
    #[derive(Deserialize, Default)]
    struct Id {
        #[serde(default)]
        id: String,
    }
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase")]
    struct Run {
        #[serde(default)]
        pipeline_name: String,
        #[serde(default)]
        outcome: String,
    }
    let pipeline_runs = section(store, &["dev.cdevents.pipelinerun.finished.*".to_owned()], range, reading, |e| {
        let r: Run = content(e).unwrap_or_default();
        vec![PipelineRun { pipeline: r.pipeline_name, run: e.subject_id.clone(), outcome: r.outcome, source: e.key.source.clone() }]
    })?;
    // Per environment, counted over the whole period (not over the lines listed).
    let mut environments: BTreeMap<String, EnvironmentSummary> = BTreeMap::new();
    let deployments = section(store, &DeploymentAction::ALL.map(DeploymentAction::glob), range, reading, |e| {
        let Some(action) = DeploymentAction::of(&e.event_type) else { return Vec::new() };
        let d: Deployed = content(e).unwrap_or_default();
        let environment = d.environment.map(|e| e.id).unwrap_or_default();
        of(&mut environments, &environment).deployments += 1;
        vec![Deployment { action, environment, artifact: d.artifact_id.unwrap_or_default() }]
    })?;
    let gate = section(store, &[glob(OwnType::GateDecided)], range, reading, |e| {
        GateDecided::read(&e.raw)
            .inspect(|d| {
                if !d.asked.dry_run {
                    let s = of(&mut environments, &d.environment);
                    if d.allowed {
                        s.gate_allowed += 1;
                    } else {
                        s.gate_denied += 1;
                    }
                }
            })
            .map(|d| GateLine {
                decision_id: d.decision_id,
                allowed: d.allowed,
                dry_run: d.asked.dry_run,
                environment: d.environment,
                artifact: d.artifact,
                requester: d.requester,
                denies: d.denies.iter().flat_map(|s| s.messages.iter().map(move |m| format!("{}: {m}", s.policy))).collect(),
                exceptions_applied: d.exceptions_applied,
            })
            .into_iter()
            .collect()
    })?;
    #[derive(Deserialize, Default)]
    struct Why {
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        comment: Option<String>,
        #[serde(default)]
        version: Option<String>,
    }
    let exceptions = section(store, &[Family::Exception.glob()], range, reading, |e| {
        let w: Why = content(e).unwrap_or_default();
        let Some(act) = ExceptionAct::of(&e.event_type) else { return Vec::new() };
        vec![ExceptionLine { exception: e.subject_id.clone(), act, why: w.reason.or(w.comment).unwrap_or_default() }]
    })?;
    let changes = PolicyAct::ALL.map(|a| glob(a.own_type()));
    let policy_changes = section(store, &changes, range, reading, |e| {
        let Some(act) = PolicyAct::of(&e.event_type) else { return Vec::new() };
        let w: Why = content(e).unwrap_or_default();
        vec![PolicyChange { policy: e.subject_id.clone(), act, version: w.version }]
    })?;
    let violations = section(store, &[glob(OwnType::PolicyDecided)], range, reading, |e| {
        let Some(d) = Decided::read(&e.raw) else { return Vec::new() };
        let policy = e.subject_id.clone();
        d.deny
            .into_iter()
            .map(|message| Violation {
                policy: policy.clone(),
                mode: d.mode,
                artifact: d.artifact_id.clone(),
                message,
                trigger: d.trigger.seq,
            })
            .collect()
    })?;
    let tool_runs = section(store, &[glob(OwnType::ActionFinished)], range, reading, |e| {
        content::<Finished>(e)
            .map(|f| ToolRun {
                kind: f.about.kind,
                target: f.about.target,
                policy: f.about.policy,
                artifact: f.about.artifact_id,
                status: f.outcome.status,
            })
            .into_iter()
            .collect()
    })?;
    Ok(Report {
        since: format_timestamp(since),
        until: format_timestamp(until),
        first: range.0,
        end: range.1,
        environments: environments.into_values().collect(),
        pipeline_runs,
        deployments,
        gate,
        exceptions,
        policy_changes,
        violations,
        tool_runs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_reads_what_happened_from_the_entry_type_and_writes_it_as_before() {
        assert_eq!(DeploymentAction::of("dev.cdevents.service.rolledback.0.3.0"), Some(DeploymentAction::Rolledback));
        assert_eq!(DeploymentAction::of("dev.cdevents.service.published.0.3.0"), None);
        assert_eq!(ExceptionAct::of(OwnType::ExceptionApproved.as_str()), Some(ExceptionAct::Approved));
        assert_eq!(ExceptionAct::of(OwnType::PolicyLoaded.as_str()), None);
        assert_eq!(PolicyAct::of(OwnType::PolicyRefused.as_str()), Some(PolicyAct::Refused));
        assert_eq!(PolicyAct::of(OwnType::PolicyDecided.as_str()), None);
        // The JSON of the report keeps the words it had when these were strings.
        assert_eq!(serde_json::to_value(DeploymentAction::Rolledback).unwrap(), "rolledback");
        assert_eq!(serde_json::to_value(ExceptionAct::Expired).unwrap(), "expired");
        assert_eq!(serde_json::to_value(PolicyAct::Loaded).unwrap(), "loaded");
        for a in DeploymentAction::ALL {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
    }
}
