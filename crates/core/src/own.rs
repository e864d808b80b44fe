//! Dossier's own event types, defined once: every entry Dossier itself appends to the log (policy
//! versions and decisions, timers, action runs, documents, exceptions, quarantines) and the
//! custom vulnerability events users send, with the source Dossier writes them under.
//!
//! Everything else — builders, readers, the API, the dashboard — names a type through
//! [`OwnType`], never as a string, so a renamed or re-versioned type changes here only.

use std::fmt;

/// The common prefix of Dossier's custom types (`dev.cdeventsx.dossier-<subject>.<predicate>.<version>`).
pub const PREFIX: &str = "dev.cdeventsx.dossier-";

/// Version of every type Dossier defines.
pub const VERSION: &str = "0.1.0";

/// The families of Dossier's own types: the `dossier-<subject>` part.
///
/// Quarantines and releases (`Artifact`) and vulnerability events may be sent by people and
/// tools as well as emitted by policies; the other families only Dossier writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Policy,
    Timer,
    Action,
    Document,
    Exception,
    Artifact,
    Vulnerability,
    /// API tokens: created, revoked, expired.
    Token,
    /// Checks of the signatures `artifact.signed` events carry.
    Signature,
    /// Decisions of the deployment gate ("may this artifact go to that environment?").
    Gate,
}

impl Family {
    pub const ALL: [Family; 10] = [
        Family::Policy,
        Family::Timer,
        Family::Action,
        Family::Document,
        Family::Exception,
        Family::Artifact,
        Family::Vulnerability,
        Family::Token,
        Family::Signature,
        Family::Gate,
    ];

    /// `dev.cdeventsx.dossier-<family>.`: what every type of the family starts with.
    pub const fn prefix(self) -> &'static str {
        match self {
            Family::Policy => "dev.cdeventsx.dossier-policy.",
            Family::Timer => "dev.cdeventsx.dossier-timer.",
            Family::Action => "dev.cdeventsx.dossier-action.",
            Family::Document => "dev.cdeventsx.dossier-document.",
            Family::Exception => "dev.cdeventsx.dossier-exception.",
            Family::Artifact => "dev.cdeventsx.dossier-artifact.",
            Family::Vulnerability => "dev.cdeventsx.dossier-vulnerability.",
            Family::Token => "dev.cdeventsx.dossier-token.",
            Family::Signature => "dev.cdeventsx.dossier-signature.",
            Family::Gate => "dev.cdeventsx.dossier-gate.",
        }
    }

    /// The family `event_type` belongs to, whether or not its type is one Dossier defines.
    pub fn of(event_type: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.contains(event_type))
    }

    /// A type glob matching every type of the family (`dev.cdeventsx.dossier-timer.*`).
    pub fn glob(self) -> String {
        format!("{}*", self.prefix())
    }

    /// Whether `event_type` belongs to the family.
    pub fn contains(self, event_type: &str) -> bool {
        event_type.starts_with(self.prefix())
    }

    /// The source Dossier appends the family's entries under (`None` for the types users send).
    pub const fn source(self) -> Option<&'static str> {
        match self {
            Family::Policy | Family::Timer | Family::Artifact => Some(POLICIES_SOURCE),
            Family::Action => Some(ACTIONS_SOURCE),
            Family::Document => Some(DOCUMENTS_SOURCE),
            Family::Exception => Some(EXCEPTIONS_SOURCE),
            Family::Token => Some(TOKENS_SOURCE),
            Family::Signature => Some(SIGNATURES_SOURCE),
            Family::Gate => Some(GATE_SOURCE),
            Family::Vulnerability => None,
        }
    }

    /// Whether only Dossier writes entries of the family (the submit path refuses them).
    pub const fn is_dossiers_own(self) -> bool {
        !matches!(self, Family::Artifact | Family::Vulnerability)
    }

    /// Whether entries of the family are Dossier's record of its own acts, which never trigger
    /// policies (a decision must not trigger a decision; a gate decision is one).
    pub const fn is_record(self) -> bool {
        matches!(self, Family::Policy | Family::Timer | Family::Gate)
    }
}

/// The source of policy versions, decisions and timers; what a policy's actions emit goes under
/// `<POLICIES_SOURCE>/<policy>`.
pub const POLICIES_SOURCE: &str = "/dossier/policies";
/// The source of action runs (`queued`, `started`, `finished`).
pub const ACTIONS_SOURCE: &str = "/dossier/actions";
/// The source of documents received and refused.
pub const DOCUMENTS_SOURCE: &str = "/dossier/documents";
/// The source of exception requests, approvals, revocations and expiries.
pub const EXCEPTIONS_SOURCE: &str = "/dossier/exceptions";

/// The source of signature checks.
pub const SIGNATURES_SOURCE: &str = "/dossier/signatures";

/// The source of the deployment gate's decisions.
pub const GATE_SOURCE: &str = "/dossier/gate";

/// The source of token changes (created, revoked, expired).
pub const TOKENS_SOURCE: &str = "/dossier/tokens";
/// Every source Dossier writes under starts with this; no producer may send from it.
pub const RESERVED_SOURCE_PREFIX: &str = "/dossier/";

/// Whether an event of type `event_type` from `source` is one only Dossier may write: a type of
/// a family only Dossier appends ([`Family::is_dossiers_own`]), or
/// any source under [`RESERVED_SOURCE_PREFIX`]. The submit path refuses such events from
/// producers, so an exception approval or a token cannot be forged as an event.
pub fn written_by_dossier_only(source: &str, event_type: &str) -> bool {
    source.starts_with(RESERVED_SOURCE_PREFIX) || source == "/dossier" || Family::of(event_type).is_some_and(Family::is_dossiers_own)
}

/// Whether an entry of type `event_type` from `source` is Dossier's record of its own acts
/// rather than the history of what it names: a policy's version or decision, a timer, a gate
/// decision (the families [`Family::is_record`] names), and whatever the gate keeps under
/// [`GATE_SOURCE`] (the signed verification summary of a decision). Policies do not read records
/// in an artifact's timeline: they are what deciding produced. Decided from the two indexed
/// columns alone, so that a store can leave records out of a query without reading an entry.
pub fn is_record(event_type: &str, source: &str) -> bool {
    source == GATE_SOURCE || Family::of(event_type).is_some_and(Family::is_record)
}

/// The families whose entries are records ([`is_record`]), for stores that test it in a query.
pub fn record_families() -> impl Iterator<Item = Family> {
    Family::ALL.into_iter().filter(|f| f.is_record())
}

/// Whether an entry is an event a policy's action emitted (`emit`, `quarantine`, `release`, under
/// `<POLICIES_SOURCE>/<policy>`): what goes onto the bus. Timers are the engine's bookkeeping.
pub fn emitted_by_policy(source: &str, event_type: &str) -> bool {
    source.strip_prefix(POLICIES_SOURCE).is_some_and(|rest| rest.starts_with('/')) && !Family::Timer.contains(event_type)
}

/// One of Dossier's own event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnType {
    PolicyLoaded,
    /// A policy removed from the directory (over the API).
    PolicyRemoved,
    /// An upload refused (it did not compile).
    PolicyRefused,
    PolicyDecided,
    /// The body type of a webhook sent as a CloudEvent (not a log entry).
    PolicyAction,
    TimerSet,
    TimerFired,
    ActionQueued,
    ActionStarted,
    ActionFinished,
    DocumentReceived,
    DocumentRefused,
    ExceptionRequested,
    ExceptionApproved,
    ExceptionRevoked,
    ExceptionExpired,
    ArtifactQuarantined,
    ArtifactReleased,
    VulnerabilityDiscovered,
    VulnerabilityWithdrawn,
    VulnerabilityFixed,
    TokenCreated,
    TokenRevoked,
    TokenExpired,
    /// The check of the signature an `artifact.signed` event carries.
    SignatureChecked,
    /// A decision of the deployment gate: asked before a deployment, never triggered by one.
    GateDecided,
}

impl OwnType {
    pub const ALL: [OwnType; 26] = [
        OwnType::PolicyLoaded,
        OwnType::PolicyRemoved,
        OwnType::PolicyRefused,
        OwnType::PolicyDecided,
        OwnType::PolicyAction,
        OwnType::TimerSet,
        OwnType::TimerFired,
        OwnType::ActionQueued,
        OwnType::ActionStarted,
        OwnType::ActionFinished,
        OwnType::DocumentReceived,
        OwnType::DocumentRefused,
        OwnType::ExceptionRequested,
        OwnType::ExceptionApproved,
        OwnType::ExceptionRevoked,
        OwnType::ExceptionExpired,
        OwnType::ArtifactQuarantined,
        OwnType::ArtifactReleased,
        OwnType::VulnerabilityDiscovered,
        OwnType::VulnerabilityWithdrawn,
        OwnType::VulnerabilityFixed,
        OwnType::TokenCreated,
        OwnType::TokenRevoked,
        OwnType::TokenExpired,
        OwnType::SignatureChecked,
        OwnType::GateDecided,
    ];

    /// The full type with its version, as written into `context.type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OwnType::PolicyLoaded => "dev.cdeventsx.dossier-policy.loaded.0.1.0",
            OwnType::PolicyRemoved => "dev.cdeventsx.dossier-policy.removed.0.1.0",
            OwnType::PolicyRefused => "dev.cdeventsx.dossier-policy.refused.0.1.0",
            OwnType::PolicyDecided => "dev.cdeventsx.dossier-policy.decided.0.1.0",
            OwnType::PolicyAction => "dev.cdeventsx.dossier-policy.action.0.1.0",
            OwnType::TimerSet => "dev.cdeventsx.dossier-timer.set.0.1.0",
            OwnType::TimerFired => "dev.cdeventsx.dossier-timer.fired.0.1.0",
            OwnType::ActionQueued => "dev.cdeventsx.dossier-action.queued.0.1.0",
            OwnType::ActionStarted => "dev.cdeventsx.dossier-action.started.0.1.0",
            OwnType::ActionFinished => "dev.cdeventsx.dossier-action.finished.0.1.0",
            OwnType::DocumentReceived => "dev.cdeventsx.dossier-document.received.0.1.0",
            OwnType::DocumentRefused => "dev.cdeventsx.dossier-document.refused.0.1.0",
            OwnType::ExceptionRequested => "dev.cdeventsx.dossier-exception.requested.0.1.0",
            OwnType::ExceptionApproved => "dev.cdeventsx.dossier-exception.approved.0.1.0",
            OwnType::ExceptionRevoked => "dev.cdeventsx.dossier-exception.revoked.0.1.0",
            OwnType::ExceptionExpired => "dev.cdeventsx.dossier-exception.expired.0.1.0",
            OwnType::ArtifactQuarantined => "dev.cdeventsx.dossier-artifact.quarantined.0.1.0",
            OwnType::ArtifactReleased => "dev.cdeventsx.dossier-artifact.released.0.1.0",
            OwnType::VulnerabilityDiscovered => "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0",
            OwnType::VulnerabilityWithdrawn => "dev.cdeventsx.dossier-vulnerability.withdrawn.0.1.0",
            OwnType::VulnerabilityFixed => "dev.cdeventsx.dossier-vulnerability.fixed.0.1.0",
            OwnType::TokenCreated => "dev.cdeventsx.dossier-token.created.0.1.0",
            OwnType::TokenRevoked => "dev.cdeventsx.dossier-token.revoked.0.1.0",
            OwnType::TokenExpired => "dev.cdeventsx.dossier-token.expired.0.1.0",
            OwnType::SignatureChecked => "dev.cdeventsx.dossier-signature.checked.0.1.0",
            OwnType::GateDecided => "dev.cdeventsx.dossier-gate.decided.0.1.0",
        }
    }

    pub const fn family(self) -> Family {
        match self {
            OwnType::PolicyLoaded | OwnType::PolicyRemoved | OwnType::PolicyRefused | OwnType::PolicyDecided | OwnType::PolicyAction => {
                Family::Policy
            }
            OwnType::TimerSet | OwnType::TimerFired => Family::Timer,
            OwnType::ActionQueued | OwnType::ActionStarted | OwnType::ActionFinished => Family::Action,
            OwnType::DocumentReceived | OwnType::DocumentRefused => Family::Document,
            OwnType::ExceptionRequested | OwnType::ExceptionApproved | OwnType::ExceptionRevoked | OwnType::ExceptionExpired => {
                Family::Exception
            }
            OwnType::ArtifactQuarantined | OwnType::ArtifactReleased => Family::Artifact,
            OwnType::VulnerabilityDiscovered | OwnType::VulnerabilityWithdrawn | OwnType::VulnerabilityFixed => Family::Vulnerability,
            OwnType::TokenCreated | OwnType::TokenRevoked | OwnType::TokenExpired => Family::Token,
            OwnType::SignatureChecked => Family::Signature,
            OwnType::GateDecided => Family::Gate,
        }
    }

    /// The type without its version (`dev.cdeventsx.dossier-timer.set.`), which matches every
    /// version of it.
    pub fn unversioned(self) -> &'static str {
        let s = self.as_str();
        &s[..s.len() - VERSION.len()]
    }

    /// Whether `event_type` is this type, in any version.
    pub fn matches(self, event_type: &str) -> bool {
        event_type.starts_with(self.unversioned())
    }

    /// The own type `event_type` is, in any version.
    pub fn of(event_type: &str) -> Option<OwnType> {
        if !event_type.starts_with(PREFIX) {
            return None;
        }
        OwnType::ALL.into_iter().find(|t| t.matches(event_type))
    }
}

impl fmt::Display for OwnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_in_its_family_has_the_version_and_reads_back() {
        for t in OwnType::ALL {
            assert!(t.family().contains(t.as_str()), "{t}");
            assert!(t.as_str().ends_with(VERSION), "{t}");
            assert_eq!(OwnType::of(t.as_str()), Some(t));
            assert_eq!(OwnType::of(&format!("{}0.2.0", t.unversioned())), Some(t));
        }
        assert_eq!(OwnType::of("dev.cdevents.artifact.published.0.2.0"), None);
        assert_eq!(OwnType::of("dev.cdeventsx.dossier-timer.setx.0.1.0"), None);
    }

    #[test]
    fn only_the_policy_engines_records_are_records() {
        let records: Vec<Family> = OwnType::ALL.into_iter().map(OwnType::family).filter(|f| f.is_record()).collect();
        assert!(records.iter().all(|f| matches!(f, Family::Policy | Family::Timer | Family::Gate)));
        assert!(!Family::Artifact.is_record(), "quarantines trigger policies");
        assert_eq!(
            Family::of("dev.cdeventsx.dossier-policy.alert.0.1.0"),
            Some(Family::Policy),
            "a type Dossier does not define is still in its family"
        );
        assert_eq!(Family::of("dev.cdevents.artifact.published.0.2.0"), None);
    }

    #[test]
    fn records_are_decisions_timers_and_what_the_gate_keeps_not_history() {
        assert!(is_record(OwnType::PolicyDecided.as_str(), POLICIES_SOURCE));
        assert!(is_record(OwnType::GateDecided.as_str(), GATE_SOURCE));
        assert!(is_record(OwnType::DocumentReceived.as_str(), GATE_SOURCE), "a gate decision's summary");
        assert!(!is_record(OwnType::DocumentReceived.as_str(), DOCUMENTS_SOURCE), "a document sent about the artifact");
        assert!(!is_record("dev.cdevents.artifact.published.0.3.0", "/ci/build"));
        assert!(!is_record("dev.cdevents.testsuiterun.queued.0.3.0", "/dossier/policies/sbom_required"), "what an action emitted");
        assert_eq!(record_families().collect::<Vec<_>>(), vec![Family::Policy, Family::Timer, Family::Gate]);
    }
}
