//! The incrementally maintained views always equal a from-scratch recomputation, and the
//! answers are the ones the reference problem asks for.

use dossier_core::{Found, VersionRange, VexFact, VexProduct};
use dossier_lineage::{Fact, Graph, Severity};
use proptest::prelude::*;

fn fact_strategy() -> impl Strategy<Value = Fact> {
    let art = prop_oneof![(0..8u8).prop_map(|i| format!("pkg:oci/a{i}")), (0..4u8).prop_map(|i| format!("pkg:oci/b{i}@sha256:{i:02x}"))];
    let run = (0..4u8).prop_map(|i| format!("run{i}"));
    let commit = (0..4u8).prop_map(|i| format!("c{i}"));
    let svc = (0..3u8).prop_map(|i| format!("svc{i}"));
    // Vulnerability ids of three kinds, so that aliases merge and split in every way.
    let vuln =
        prop_oneof![(0..4u8).prop_map(|i| format!("CVE-{i}")), (0..2u8).prop_map(|i| format!("GHSA-{i}")), Just("PYSEC-0".to_string())];
    let aliases = prop::collection::vec(vuln.clone(), 0..3);
    let sev = prop_oneof![Just(Severity::Low), Just(Severity::High), Just(Severity::Critical)];
    let env = (0..3u8).prop_map(|i| format!("cluster{i}"));
    let package = (0..2u8).prop_map(|i| format!("pkg:npm/lib{i}"));
    let version = (1..5u8).prop_map(|i| format!("1.{i}.0"));
    let range =
        prop_oneof![Just("<1.3.0"), Just(">=1.2.0,<1.4.0"), Just("*"), Just("=1.4.0")].prop_map(|r| VersionRange::parse(r).unwrap());
    prop_oneof![
        (run.clone(), commit.clone()).prop_map(|(run, commit)| Fact::RunSource { run, repository: "repo".into(), commit }),
        (art.clone(), run).prop_map(|(artifact, run)| Fact::BuiltBy { artifact, run }),
        (art.clone(), commit.clone()).prop_map(|(artifact, commit)| Fact::Change { artifact, repository: "repo".into(), commit }),
        (art.clone(), art.clone()).prop_map(|(artifact, parent)| Fact::Parent { artifact, parent }),
        (env.clone(), svc.clone(), art.clone()).prop_map(|(environment, service, artifact)| Fact::Deployed {
            environment,
            service,
            artifact
        }),
        (env.clone(), svc).prop_map(|(environment, service)| Fact::Removed { environment, service }),
        (art.clone(), package.clone(), version).prop_map(|(artifact, package, version)| Fact::Contains { artifact, package, version }),
        (
            vuln.clone(),
            aliases.clone(),
            sev.clone(),
            prop::collection::vec(commit, 0..3),
            prop::collection::vec(art.clone(), 0..2),
            prop::collection::vec((package.clone(), range.clone()), 0..2)
        )
            .prop_map(|(id, aliases, severity, commits, artifacts, packages)| Fact::Vulnerability {
                id,
                aliases,
                severity,
                commits: commits.into_iter().map(|c| ("repo".to_string(), c)).collect(),
                artifacts,
                packages
            }),
        // A document's findings: found in the artifact (in a package or not), or an advisory.
        (
            (0..3u8).prop_map(|i| format!("sha256:doc{i}")),
            art.clone(),
            prop::collection::vec(
                (
                    vuln.clone(),
                    aliases.clone(),
                    sev,
                    prop::option::of((1..4u8).prop_map(|i| format!("pkg:npm/lib0@1.{i}.0"))),
                    prop::collection::vec((package, range), 0..2)
                )
                    .prop_map(|(id, aliases, severity, package, affected)| Found {
                        id,
                        aliases,
                        severity,
                        package,
                        affected
                    }),
                0..3
            )
        )
            .prop_map(|(document, artifact, found)| Fact::Findings { document, artifact, found }),
        // A VEX document: products by purl or by digest, whole or limited to subcomponents.
        (
            (0..2u8).prop_map(|i| format!("sha256:vex{i}")),
            prop::collection::vec(
                (
                    vuln.clone(),
                    aliases,
                    prop::collection::vec(
                        (
                            prop_oneof![
                                art.clone(),
                                (0..8u8).prop_map(|i| format!("pkg:oci/b{i}@sha256:{i:02x}")),
                                Just("sha256:03".to_string())
                            ],
                            prop::collection::vec((1..4u8).prop_map(|i| format!("pkg:npm/lib0@1.{i}.0?arch=x")), 0..2)
                        )
                            .prop_map(|(name, subcomponents)| VexProduct { names: vec![name], subcomponents }),
                        1..3
                    ),
                    any::<bool>()
                )
                    .prop_map(|(vulnerability, aliases, products, waives)| VexFact {
                        vulnerability,
                        aliases,
                        products,
                        waives
                    }),
                0..3
            )
        )
            .prop_map(|(document, statements)| Fact::Vex { document, statements }),
        // An exception, in force or not (approved, revoked, expired).
        (
            (0..2u8).prop_map(|i| format!("exc-{i}")),
            prop::collection::vec(vuln.clone(), 0..2),
            prop_oneof![
                Just(vec!["*".to_string()]),
                Just(vec!["pkg:oci/a1".to_string()]),
                Just(vec!["pkg:oci/a*".to_string(), "pkg:oci/b3@*".to_string()])
            ],
            prop::collection::vec(env.clone(), 0..2),
            any::<bool>()
        )
            .prop_map(|(id, vulnerabilities, artifacts, environments, in_force)| Fact::Exception {
                id,
                vulnerabilities,
                artifacts,
                environments,
                in_force
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
        // The stream of changes adds up to the current view: affected, and not waived.
        let views = g.views();
        let view: std::collections::BTreeSet<(String, String)> =
            views.clusters.into_iter().map(|(c, v, _)| (c, v)).filter(|pair| !views.waived.contains(pair)).collect();
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
            aliases: vec![],
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
            aliases: vec![],
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

/// The facts a CDEvent states, as the server folds them in.
fn stated(graph: &mut Graph, seq: u64, event: serde_json::Value) {
    for fact in dossier_core::conventions::facts(&event).unwrap() {
        graph.apply(&fact, seq);
    }
}

fn packaged(purl: &str, run: &str, change: &str) -> serde_json::Value {
    serde_json::json!({
        "context": {"type": "dev.cdevents.artifact.packaged.0.3.0", "chainId": run},
        "subject": {"id": purl, "content": {"change": {"source": "https://git.example.com/app", "id": change}}}
    })
}

fn deployed(environment: &str, service: &str, purl: &str) -> serde_json::Value {
    serde_json::json!({
        "context": {"type": "dev.cdevents.service.deployed.0.3.0"},
        "subject": {"id": service, "content": {"environment": {"id": environment}, "artifactId": purl}}
    })
}

fn found_in_commit(id: &str, commit: &str) -> Fact {
    Fact::Vulnerability {
        id: id.into(),
        aliases: vec![],
        severity: Severity::High,
        commits: vec![("https://git.example.com/app".into(), commit.into())],
        artifacts: vec![],
        packages: vec![],
    }
}

/// Issue 14: `subject.content.change` of `artifact.packaged` was added to the whole run's
/// sources, so artifact A's change c2 marked its sibling B (built from c3 in the same run).
#[test]
fn a_change_marks_the_artifact_built_from_it_and_not_its_siblings() {
    let mut g = Graph::new();
    sources(&mut g, "run-9", &["c1"]);
    stated(&mut g, 1, packaged("pkg:oci/a@sha256:aa", "run-9", "c2"));
    stated(&mut g, 2, packaged("pkg:oci/b@sha256:bb", "run-9", "c3"));
    stated(&mut g, 3, deployed("prod-a", "a", "pkg:oci/a@sha256:aa"));
    stated(&mut g, 4, deployed("prod-b", "b", "pkg:oci/b@sha256:bb"));

    g.apply(&found_in_commit("CVE-c2", "c2"), 5);
    let impact = g.impact("CVE-c2").unwrap();
    let affected: Vec<(&str, &[String])> = impact.artifacts.iter().map(|a| (a.artifact.as_str(), a.path.as_slice())).collect();
    assert_eq!(affected, vec![("pkg:oci/a@sha256:aa", &["https://git.example.com/app@c2".to_string(), "pkg:oci/a@sha256:aa".into()][..])]);
    assert_eq!(g.affected_clusters("CVE-c2"), vec!["prod-a"]);

    // The run's own sources still reach every artifact it built.
    g.apply(&found_in_commit("CVE-c1", "c1"), 6);
    assert_eq!(g.affected_clusters("CVE-c1"), vec!["prod-a", "prod-b"]);

    let commits = |purl: &str| g.lineage(purl).unwrap().sources.into_iter().map(|s| s.commit).collect::<Vec<_>>();
    assert_eq!(
        (commits("pkg:oci/a@sha256:aa"), commits("pkg:oci/b@sha256:bb")),
        (vec!["c1".into(), "c2".into()], vec!["c1".into(), "c3".into()])
    );
    assert_eq!(g.views(), g.recompute());
}

/// Issue 14: an artifact packaged as `…@sha256:abcd` and deployed as `…@sha256%3Aabcd` became
/// two artifacts, and no cluster was reported affected.
#[test]
fn an_artifact_spelled_two_ways_is_one_artifact() {
    let mut g = Graph::new();
    sources(&mut g, "run-1", &["c1"]);
    stated(&mut g, 1, packaged("pkg:oci/app@sha256:abcd", "run-1", "c2"));
    stated(&mut g, 2, deployed("prod", "app", "pkg:oci/app@sha256%3Aabcd"));
    let changes = g.apply(&found_in_commit("CVE-1", "c2"), 3);
    assert_eq!(
        changes.iter().map(|c| (c.cluster.as_str(), c.vulnerability.as_str(), c.affected)).collect::<Vec<_>>(),
        vec![("prod", "CVE-1", true)]
    );
    assert_eq!(g.affected_clusters("CVE-1"), vec!["prod"]);
    let impact = g.impact("CVE-1").unwrap();
    let affected: Vec<&str> = impact.artifacts.iter().map(|a| a.artifact.as_str()).collect();
    assert_eq!((affected, impact.deployments.len()), (vec!["pkg:oci/app@sha256:abcd"], 1));
    // Asked in either spelling, the answer is about the one artifact, named in canonical form.
    for spelling in ["pkg:oci/app@sha256:abcd", "pkg:oci/app@sha256%3Aabcd", "pkg:OCI/APP@sha256%3AABCD"] {
        let l = g.lineage(spelling).unwrap();
        assert_eq!((l.artifact.as_str(), l.deployments.len()), ("pkg:oci/app@sha256:abcd", 1), "{spelling}");
    }
}

/// A history with many siblings everywhere: sources, children, grandchildren, deployments.
fn bushy_history() -> Graph {
    let mut g = Graph::new();
    sources(&mut g, "run-1", &["c5", "c1", "c7", "c3", "c2", "c6", "c4", "c0"]);
    g.apply(&Fact::BuiltBy { artifact: "pkg:generic/bin@1".into(), run: "run-1".into() }, 1);
    g.apply(&Fact::Parent { artifact: "pkg:generic/bin@1".into(), parent: "pkg:generic/base@2".into() }, 2);
    g.apply(&Fact::Parent { artifact: "pkg:generic/bin@1".into(), parent: "pkg:generic/base@1".into() }, 3);
    for i in [4, 1, 5, 0, 3, 2] {
        let image = format!("pkg:oci/img{i}");
        g.apply(&Fact::Parent { artifact: image.clone(), parent: "pkg:generic/bin@1".into() }, 10 + i);
        for j in [1, 0] {
            g.apply(&Fact::Parent { artifact: format!("pkg:oci/img{i}-{j}"), parent: image.clone() }, 20 + i);
        }
        g.apply(&Fact::Deployed { environment: format!("cluster{}", i % 3), service: format!("svc{i}"), artifact: image }, 30 + i);
    }
    g.apply(&found_in_commit("CVE-1", "c3"), 40);
    g.apply(&found_in_commit("CVE-2", "c6"), 41);
    g
}

/// Issue 14: lineage answers listed `sources` and `descendants` in another order after a
/// restart. Every graph below is built from the same facts, as a restart does; the hash
/// orders of their maps differ, the answers must not.
#[test]
fn every_list_of_an_answer_has_one_order_whatever_graph_holds_it() {
    let answer = |g: &Graph| {
        serde_json::json!({
            "lineage": g.lineage("pkg:generic/bin@1"),
            "image": g.lineage("pkg:oci/img3"),
            "impact": g.impact("CVE-1"),
            "risk": g.risk(),
            "where": g.what_runs_where(),
            "containing": g.vulnerabilities_of("pkg:oci/img3-1"),
        })
    };
    let first = answer(&bushy_history());
    for _ in 0..20 {
        assert_eq!(answer(&bushy_history()), first);
    }
    // The stated orders: sources by repository then commit; derivation edges nearest first,
    // then by artifact, then by parent.
    let l = bushy_history().lineage("pkg:generic/bin@1").unwrap();
    let commits: Vec<String> = l.sources.iter().map(|s| s.commit.clone()).collect();
    assert_eq!(commits, ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"]);
    let edges = |list: &[dossier_lineage::Edge]| list.iter().map(|e| format!("{} <- {}", e.artifact, e.parent)).collect::<Vec<_>>();
    assert_eq!(edges(&l.ancestors), ["pkg:generic/bin@1 <- pkg:generic/base@1", "pkg:generic/bin@1 <- pkg:generic/base@2"]);
    let mut expected: Vec<String> = (0..6).map(|i| format!("pkg:oci/img{i} <- pkg:generic/bin@1")).collect();
    expected.extend((0..6).flat_map(|i| (0..2).map(move |j| format!("pkg:oci/img{i}-{j} <- pkg:oci/img{i}"))));
    assert_eq!(edges(&l.descendants), expected);
}

/// Found on the way: an artifact derived from two of an artifact's descendants was listed
/// twice among the places the artifact runs.
#[test]
fn a_deployment_reached_through_two_derivations_is_listed_once() {
    let mut g = Graph::new();
    for (artifact, parent) in
        [("pkg:oci/a", "pkg:generic/bin@1"), ("pkg:oci/b", "pkg:generic/bin@1"), ("pkg:oci/ab", "pkg:oci/a"), ("pkg:oci/ab", "pkg:oci/b")]
    {
        g.apply(&Fact::Parent { artifact: artifact.into(), parent: parent.into() }, 1);
    }
    g.apply(&Fact::Deployed { environment: "prod".into(), service: "shop".into(), artifact: "pkg:oci/ab".into() }, 2);
    let where_it_runs: Vec<(String, String)> =
        g.lineage("pkg:generic/bin@1").unwrap().deployments.into_iter().map(|d| (d.environment, d.artifact)).collect();
    assert_eq!(where_it_runs, vec![("prod".to_string(), "pkg:oci/ab".to_string())]);
}
