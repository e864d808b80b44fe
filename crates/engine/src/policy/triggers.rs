//! The trigger index: which loaded policies an event type triggers, worked out once per type
//! and kept, so that an entry no policy is triggered by costs one hash lookup — before its
//! JSON is read or any input is built. It answers exactly as [`Policy::triggered_by`] does.

use std::collections::HashMap;
use std::sync::Arc;

use dossier_core::own::Family;
use dossier_policy::Policy;

/// Types whose answer is kept at most; past it the kept answers are dropped and worked out
/// again (event types come from producers: what is kept must not grow with what they send).
pub const KEPT_TYPES: usize = 1024;

/// Which policies (by position in the loaded set) each event type triggers.
pub struct Triggers {
    policies: Vec<Policy>,
    kept: HashMap<String, Arc<[usize]>>,
    capacity: usize,
}

impl Triggers {
    pub fn new(policies: &[Policy]) -> Triggers {
        Triggers::with_capacity(policies, KEPT_TYPES)
    }

    /// An index keeping the answers of at most `capacity` types.
    pub fn with_capacity(policies: &[Policy], capacity: usize) -> Triggers {
        Triggers { policies: policies.to_vec(), kept: HashMap::new(), capacity: capacity.max(1) }
    }

    /// The positions of the policies `event_type` triggers, in the set's order.
    pub fn of(&mut self, event_type: &str) -> Arc<[usize]> {
        if let Some(found) = self.kept.get(event_type) {
            return found.clone();
        }
        let found: Arc<[usize]> =
            self.policies.iter().enumerate().filter(|(_, p)| p.triggered_by(event_type)).map(|(i, _)| i).collect::<Vec<_>>().into();
        if self.kept.len() >= self.capacity {
            self.kept.clear();
        }
        self.kept.insert(event_type.to_owned(), found.clone());
        found
    }

    /// Whether an entry of this type is the engine's to evaluate: a policy is triggered by it,
    /// and it is not Dossier's record of its own acts (which never triggers policies).
    pub fn wanted(&mut self, event_type: &str) -> bool {
        !Family::of(event_type).is_some_and(Family::is_record) && !self.of(event_type).is_empty()
    }

    /// Types whose answer is kept now.
    pub fn kept(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_core::own::OwnType;

    /// A policy as the set loads it from Rego.
    fn source(name: &str, triggers: &[&str], mode: &str) -> (String, String) {
        let triggers = serde_json::to_string(triggers).unwrap();
        (format!("{name}.rego"), format!("package dossier.{name}\n\ntriggers := {triggers}\n\nmode := \"{mode}\"\n"))
    }

    /// Triggers of every shape the globs allow: exact, prefix, suffix, middle, several, all,
    /// and a disabled policy (which nothing triggers).
    fn policies() -> Vec<Policy> {
        let (set, errors) = dossier_policy::PolicySet::from_sources_with(
            vec![
                source("exact", &["dev.cdevents.artifact.published.0.3.0"], "enforce"),
                source("prefix", &["dev.cdevents.artifact.*"], "audit"),
                source("suffix", &["*.finished.0.3.0"], "enforce"),
                source("middle", &["dev.cdevents.*.deployed.*"], "enforce"),
                source("several", &["dev.cdevents.service.upgraded.*", "dev.cdeventsx.dossier-exception.expired.*"], "enforce"),
                source("everything", &["*"], "audit"),
                source("disabled", &["*"], "disabled"),
                source("two_stars", &["dev.*.artifact.*.0.3.0"], "enforce"),
            ],
            None,
        );
        assert_eq!(errors, vec![]);
        assert_eq!(set.policies().len(), 8);
        set.policies().to_vec()
    }

    /// The names of the policies at these positions, sorted.
    fn names(policies: &[Policy], at: &[usize]) -> Vec<String> {
        let mut out: Vec<String> = at.iter().map(|&i| policies[i].name.clone()).collect();
        out.sort();
        out
    }

    /// Types from the generator's story, Dossier's own, custom ones, and odd strings.
    fn types() -> Vec<String> {
        let mut out: Vec<String> = [
            "dev.cdevents.pipelinerun.queued.0.3.0",
            "dev.cdevents.taskrun.finished.0.3.0",
            "dev.cdevents.build.finished.0.3.0",
            "dev.cdevents.artifact.packaged.0.3.0",
            "dev.cdevents.artifact.signed.0.3.0",
            "dev.cdevents.artifact.published.0.3.0",
            "dev.cdevents.artifact.published.0.2.0",
            "dev.cdevents.testsuiterun.finished.0.3.0",
            "dev.cdevents.service.deployed.0.3.0",
            "dev.cdevents.service.upgraded.0.2.0",
            "dev.cdevents.ticket.created.0.2.0",
            "dev.cdeventsx.acme-scan.finished.0.3.0",
            "dev.cdevents.artifact.",
            "dev.cdevents.artifact",
            "dev.",
            "",
            "*",
            "finished.0.3.0",
            ".finished.0.3.0",
            "dev.cdevents..deployed.",
        ]
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
        out.extend(OwnType::ALL.iter().map(|t| t.as_str().to_owned()));
        // Every combination of a few fragments: prefixes, middles and suffixes the globs look for.
        let fragments = ["dev.", "cdevents.", "artifact.", "service.", "deployed.", "finished.", "0.3.0", "x"];
        for a in fragments {
            for b in fragments {
                for c in fragments {
                    out.push(format!("{a}{b}{c}"));
                }
            }
        }
        out
    }

    fn expected(policies: &[Policy], ty: &str) -> Vec<usize> {
        policies.iter().enumerate().filter(|(_, p)| p.triggered_by(ty)).map(|(i, _)| i).collect()
    }

    #[test]
    fn the_index_answers_as_policy_triggered_by_for_every_type_first_and_when_kept() {
        let policies = policies();
        let mut index = Triggers::new(&policies);
        let types = types();
        assert!(types.len() > 500, "{} types", types.len());
        for round in ["worked out", "kept"] {
            for ty in &types {
                assert_eq!(index.of(ty).to_vec(), expected(&policies, ty), "{ty:?}, {round}");
            }
        }
        // A few answers spelled out, so that the reference itself is checked.
        let of = |index: &mut Triggers, ty: &str| names(&policies, &index.of(ty));
        assert_eq!(of(&mut index, "dev.cdevents.artifact.published.0.3.0"), ["everything", "exact", "prefix", "two_stars"]);
        assert_eq!(of(&mut index, "dev.cdevents.taskrun.finished.0.3.0"), ["everything", "suffix"]);
        assert_eq!(of(&mut index, "dev.cdevents.service.deployed.0.3.0"), ["everything", "middle"]);
        assert_eq!(of(&mut index, "dev.cdevents.service.upgraded.0.2.0"), ["everything", "several"]);
        assert_eq!(of(&mut index, ""), ["everything"]);
    }

    #[test]
    fn what_the_index_keeps_is_bounded_and_answers_stay_exact_past_the_bound() {
        let policies = policies();
        let mut index = Triggers::with_capacity(&policies, 16);
        for round in 0..3 {
            for ty in types() {
                assert_eq!(index.of(&ty).to_vec(), expected(&policies, &ty), "{ty:?}, round {round}");
                assert!(index.kept() <= 16, "{} kept", index.kept());
            }
        }
    }

    #[test]
    fn dossiers_records_of_its_own_acts_are_never_wanted_even_when_a_policy_matches_them() {
        let policies = policies();
        let mut index = Triggers::new(&policies);
        for own in OwnType::ALL {
            let record = Family::of(own.as_str()).is_some_and(Family::is_record);
            assert_eq!(index.wanted(own.as_str()), !record, "{}", own.as_str());
        }
        assert!(index.wanted("dev.cdevents.ticket.created.0.2.0"), "the catch-all policy is triggered by it");
        let mut none = Triggers::new(&[]);
        assert!(!none.wanted("dev.cdevents.artifact.published.0.3.0"), "no policy, nothing wanted");
    }
}
