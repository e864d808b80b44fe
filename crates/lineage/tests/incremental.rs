//! The incrementally maintained views always equal a from-scratch recomputation, and the
//! answers are the ones the reference problem asks for.

use dossier_core::VersionRange;
use dossier_lineage::{Fact, Graph, Severity};
use proptest::prelude::*;

fn fact_strategy() -> impl Strategy<Value = Fact> {
    let art = (0..8u8).prop_map(|i| format!("pkg:oci/a{i}"));
    let run = (0..4u8).prop_map(|i| format!("run{i}"));
    let commit = (0..4u8).prop_map(|i| format!("c{i}"));
    let env = (0..3u8).prop_map(|i| format!("cluster{i}"));
    let svc = (0..3u8).prop_map(|i| format!("svc{i}"));
    let vuln = (0..4u8).prop_map(|i| format!("CVE-{i}"));
    let sev = prop_oneof![Just(Severity::Low), Just(Severity::High), Just(Severity::Critical)];
    let package = (0..2u8).prop_map(|i| format!("pkg:npm/lib{i}"));
    let version = (1..5u8).prop_map(|i| format!("1.{i}.0"));
    let range =
        prop_oneof![Just("<1.3.0"), Just(">=1.2.0,<1.4.0"), Just("*"), Just("=1.4.0")].prop_map(|r| VersionRange::parse(r).unwrap());
    prop_oneof![
        (run.clone(), commit.clone()).prop_map(|(run, commit)| Fact::RunSource { run, repository: "repo".into(), commit }),
        (art.clone(), run).prop_map(|(artifact, run)| Fact::BuiltBy { artifact, run }),
        (art.clone(), art.clone()).prop_map(|(artifact, parent)| Fact::Parent { artifact, parent }),
        (env.clone(), svc.clone(), art.clone()).prop_map(|(environment, service, artifact)| Fact::Deployed {
            environment,
            service,
            artifact
        }),
        (env, svc).prop_map(|(environment, service)| Fact::Removed { environment, service }),
        (art.clone(), package.clone(), version).prop_map(|(artifact, package, version)| Fact::Contains { artifact, package, version }),
        (
            vuln.clone(),
            sev,
            prop::collection::vec(commit, 0..3),
            prop::collection::vec(art.clone(), 0..2),
            prop::collection::vec((package, range), 0..2)
        )
            .prop_map(|(id, severity, commits, artifacts, packages)| Fact::Vulnerability {
                id,
                severity,
                commits: commits.into_iter().map(|c| ("repo".to_string(), c)).collect(),
                artifacts,
                packages
            }),
        vuln.prop_map(|id| Fact::VulnerabilityGone { id }),
        art.clone().prop_map(|artifact| Fact::ArtifactDeleted { artifact }),
        (art, any::<bool>()).prop_map(|(artifact, quarantined)| Fact::Quarantine { artifact, quarantined }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn incremental_views_equal_recomputation_after_any_sequence(facts in prop::collection::vec(fact_strategy(), 1..80)) {
        let mut g = Graph::new();
        let mut live: std::collections::BTreeSet<(String, String)> = Default::default();
        for (seq, f) in facts.iter().enumerate() {
            for change in g.apply(f, seq as u64) {
                let key = (change.cluster.clone(), change.vulnerability.clone());
                if change.affected {
                    prop_assert!(live.insert(key), "{change:?} announced twice");
                } else {
                    prop_assert!(live.remove(&key), "{change:?} withdrawn but never announced");
                }
            }
            prop_assert_eq!(g.views(), g.recompute());
        }
        // The stream of changes adds up to the current view.
        let view: std::collections::BTreeSet<(String, String)> = g.views().clusters.into_iter().map(|(c, v, _)| (c, v)).collect();
        prop_assert_eq!(live, view);
    }
}

fn sources(g: &mut Graph, run: &str, commits: &[&str]) {
    for c in commits {
        g.apply(&Fact::RunSource { run: run.into(), repository: "https://git.example.com/app".into(), commit: (*c).into() }, 0);
    }
}

#[test]
fn a_commit_vulnerability_reaches_clusters_through_any_depth_and_counts_once() {
    let mut g = Graph::new();
    sources(&mut g, "run-1", &["c1", "c2"]);
    g.apply(&Fact::BuiltBy { artifact: "pkg:generic/app-bin@1".into(), run: "run-1".into() }, 1);
    // A chain of 20 images, each built on the previous one, and a second path to the top.
    let mut parent = "pkg:generic/app-bin@1".to_string();
    for i in 0..20 {
        let image = format!("pkg:oci/img{i}");
        g.apply(&Fact::Parent { artifact: image.clone(), parent: parent.clone() }, 2);
        parent = image;
    }
    g.apply(&Fact::Parent { artifact: "pkg:oci/img19".into(), parent: "pkg:generic/app-bin@1".into() }, 3);
    g.apply(&Fact::Deployed { environment: "prod-eu".into(), service: "shop".into(), artifact: "pkg:oci/img19".into() }, 4);
    g.apply(&Fact::Deployed { environment: "prod-eu".into(), service: "cart".into(), artifact: "pkg:oci/img3".into() }, 5);

    let changes = g.apply(
        &Fact::Vulnerability {
            id: "CVE-2026-1234".into(),
            severity: Severity::Critical,
            commits: vec![("https://git.example.com/app".into(), "c2".into())],
            artifacts: vec![],
            packages: vec![],
        },
        6,
    );
    assert_eq!(changes.len(), 1, "one cluster became affected: {changes:?}");
    assert_eq!((changes[0].cluster.as_str(), changes[0].affected), ("prod-eu", true));
    assert_eq!(g.affected_clusters("CVE-2026-1234"), vec!["prod-eu"]);
    let risk = g.risk();
    assert_eq!((risk[0].cluster.as_str(), risk[0].vulnerabilities, risk[0].worst), ("prod-eu", 1, Severity::Critical));

    let impact = g.impact("CVE-2026-1234").unwrap();
    assert_eq!(impact.artifacts.len(), 21);
    let top = impact.artifacts.iter().find(|a| a.artifact == "pkg:oci/img3").unwrap();
    assert_eq!(
        top.path,
        vec!["https://git.example.com/app@c2", "pkg:generic/app-bin@1", "pkg:oci/img0", "pkg:oci/img1", "pkg:oci/img2", "pkg:oci/img3"]
    );

    // Removing one deployment keeps the cluster affected through the other; removing both clears it.
    assert!(g.apply(&Fact::Removed { environment: "prod-eu".into(), service: "shop".into() }, 7).is_empty());
    let cleared = g.apply(&Fact::Removed { environment: "prod-eu".into(), service: "cart".into() }, 8);
    assert_eq!((cleared.len(), cleared[0].affected), (1, false));
    assert!(g.risk().is_empty());
    assert_eq!(g.views(), g.recompute());
}

#[test]
fn a_package_vulnerability_reaches_what_contains_a_version_in_its_range_even_later() {
    let mut g = Graph::new();
    let contains = |a: &str, v: &str| Fact::Contains { artifact: a.into(), package: "pkg:npm/lodash".into(), version: v.into() };
    g.apply(&contains("pkg:generic/old@1", "4.17.20"), 0);
    g.apply(&Fact::Parent { artifact: "pkg:oci/old".into(), parent: "pkg:generic/old@1".into() }, 1);
    g.apply(&Fact::Deployed { environment: "prod".into(), service: "old".into(), artifact: "pkg:oci/old".into() }, 2);
    g.apply(&Fact::Deployed { environment: "staging".into(), service: "new".into(), artifact: "pkg:generic/new@1".into() }, 3);
    let changes = g.apply(
        &Fact::Vulnerability {
            id: "CVE-2021-23337".into(),
            severity: Severity::High,
            commits: vec![],
            artifacts: vec![],
            packages: vec![("pkg:npm/lodash".into(), VersionRange::parse("<4.17.21").unwrap())],
        },
        4,
    );
    assert_eq!(changes.iter().map(|c| c.cluster.as_str()).collect::<Vec<_>>(), vec!["prod"]);
    // A fixed version does not match; an older one arriving later does.
    assert!(g.apply(&contains("pkg:generic/new@1", "4.17.21"), 5).is_empty());
    let later = g.apply(&contains("pkg:generic/new@1", "4.17.15"), 6);
    assert_eq!(later.iter().map(|c| (c.cluster.as_str(), c.affected)).collect::<Vec<_>>(), vec![("staging", true)]);
    let impact = g.impact("CVE-2021-23337").unwrap();
    let old = impact.artifacts.iter().find(|a| a.artifact == "pkg:oci/old").unwrap();
    assert_eq!(old.path, vec!["pkg:npm/lodash@4.17.20", "pkg:generic/old@1", "pkg:oci/old"]);
    assert_eq!(g.views(), g.recompute());
}

#[test]
fn artifacts_containing_a_package_are_found_directly_and_through_derivation_in_the_ecosystems_order() {
    let mut g = Graph::new();
    let contains = |a: &str, v: &str| Fact::Contains { artifact: a.into(), package: "pkg:pypi/django".into(), version: v.into() };
    g.apply(&contains("pkg:pypi/app@1", "3.2.0"), 0);
    g.apply(&contains("pkg:pypi/tool@1", "3.2rc1"), 1);
    g.apply(&contains("pkg:pypi/new@1", "4.0"), 2);
    g.apply(&Fact::Parent { artifact: "pkg:oci/app".into(), parent: "pkg:pypi/app@1".into() }, 3);
    g.apply(&Fact::Parent { artifact: "pkg:oci/app-debug".into(), parent: "pkg:oci/app".into() }, 4);
    // PEP 440: 3.2rc1 < 3.2 — a generic ordering would put the release candidate after it.
    let range = VersionRange::of_package("pkg:pypi/django", ">=3.2,<4.0").unwrap();
    let found: Vec<(String, String, Option<String>)> =
        g.containing("pkg:pypi/django", &range).into_iter().map(|c| (c.artifact, c.version, c.via)).collect();
    assert_eq!(
        found,
        vec![
            ("pkg:oci/app".into(), "3.2.0".into(), Some("pkg:pypi/app@1".into())),
            ("pkg:oci/app-debug".into(), "3.2.0".into(), Some("pkg:pypi/app@1".into())),
            ("pkg:pypi/app@1".into(), "3.2.0".into(), None),
        ]
    );
    assert!(g.containing("pkg:pypi/flask", &range).is_empty());
}

#[test]
fn a_derivation_that_would_close_a_cycle_is_refused() {
    let mut g = Graph::new();
    g.apply(&Fact::Parent { artifact: "b".into(), parent: "a".into() }, 0);
    g.apply(&Fact::Parent { artifact: "c".into(), parent: "b".into() }, 1);
    g.apply(&Fact::Parent { artifact: "a".into(), parent: "c".into() }, 2);
    assert_eq!(g.stats()["refused_cycles"], 1);
    assert_eq!(g.lineage("a").unwrap().ancestors, vec![]);
}
