//! One vulnerability model: discovered events, scanners' findings and advisories in documents,
//! merged by their aliases; VEX statements and exceptions waive it where they say.

use dossier_core::{Found, VersionRange, VexFact, VexProduct};
use dossier_lineage::{Fact, Graph, ImpactChange, Severity, VexWaived, Waiver};

const BASE: &str = "pkg:oci/node@sha256:9e1c";
const SHOP: &str = "pkg:oci/shop@sha256:4d2a";
const CART: &str = "pkg:oci/cart@sha256:77aa";

/// Two images built on one base image, running in two clusters.
fn estate() -> Graph {
    let mut g = Graph::new();
    g.apply(&Fact::Parent { artifact: SHOP.into(), parent: BASE.into() }, 1);
    g.apply(&Fact::Parent { artifact: CART.into(), parent: BASE.into() }, 2);
    g.apply(&Fact::Deployed { environment: "prod".into(), service: "shop".into(), artifact: SHOP.into() }, 3);
    g.apply(&Fact::Deployed { environment: "staging".into(), service: "cart".into(), artifact: CART.into() }, 4);
    g
}

fn lodash(id: &str, aliases: &[&str]) -> Found {
    Found {
        id: id.into(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
        severity: Severity::High,
        package: Some("pkg:npm/lodash@4.17.20".into()),
        affected: vec![],
    }
}

fn scan(document: &str, artifact: &str, found: Vec<Found>) -> Fact {
    Fact::Findings { document: document.into(), artifact: artifact.into(), found }
}

fn changes(list: &[ImpactChange]) -> Vec<(&str, &str, bool, bool)> {
    list.iter().map(|c| (c.cluster.as_str(), c.vulnerability.as_str(), c.affected, c.waived)).collect()
}

#[test]
fn a_finding_on_a_base_image_reaches_every_image_built_on_it_and_every_cluster_running_one() {
    let mut g = estate();
    let found = g.apply(&scan("sha256:grype", BASE, vec![lodash("GHSA-35jh-r3h4-6jhm", &["CVE-2021-23337"])]), 5);
    // Named by its CVE, the canonical id, whatever id the scanner used.
    assert_eq!(changes(&found), vec![("prod", "CVE-2021-23337", true, false), ("staging", "CVE-2021-23337", true, false)]);
    let impact = g.impact("GHSA-35jh-r3h4-6jhm").expect("known by its alias");
    assert_eq!((impact.vulnerability.as_str(), impact.aliases.as_slice()), ("CVE-2021-23337", &["GHSA-35jh-r3h4-6jhm".to_string()][..]));
    assert_eq!(impact.clusters, vec!["prod", "staging"]);
    let shop = impact.artifacts.iter().find(|a| a.artifact == SHOP).unwrap();
    assert_eq!(shop.path, vec![BASE, SHOP]);
    assert_eq!(g.lineage(SHOP).unwrap().vulnerabilities, vec![("CVE-2021-23337".to_string(), Severity::High)]);
    assert_eq!(g.views(), g.recompute());
}

#[test]
fn a_vulnerability_reported_under_its_aliases_by_an_event_and_two_scanners_is_one_with_every_source() {
    let mut g = estate();
    g.apply(
        &Fact::Vulnerability {
            id: "CVE-2021-23337".into(),
            aliases: vec![],
            severity: Severity::Medium,
            commits: vec![],
            artifacts: vec![],
            packages: vec![("pkg:npm/lodash".into(), VersionRange::parse("<4.17.21").unwrap())],
        },
        5,
    );
    g.apply(&scan("sha256:osv", SHOP, vec![lodash("GHSA-35jh-r3h4-6jhm", &[])]), 6);
    // Two vulnerabilities until a report says they are one.
    assert_eq!(g.vulnerabilities().len(), 2);
    g.apply(&scan("sha256:grype", CART, vec![lodash("CVE-2021-23337", &["GHSA-35jh-r3h4-6jhm"])]), 7);
    let all = g.vulnerabilities();
    assert_eq!(all.iter().map(|v| (v.vulnerability.as_str(), v.reports)).collect::<Vec<_>>(), vec![("CVE-2021-23337", 3)]);
    let impact = g.impact("CVE-2021-23337").unwrap();
    let sources: Vec<(&str, &str, Option<&str>)> = impact.sources.iter().map(|s| (s.kind, s.id.as_str(), s.document.as_deref())).collect();
    assert_eq!(
        sources,
        vec![
            ("event", "CVE-2021-23337", None),
            ("document", "GHSA-35jh-r3h4-6jhm", Some("sha256:osv")),
            ("document", "CVE-2021-23337", Some("sha256:grype"))
        ]
    );
    assert_eq!(impact.severity, Severity::High, "the worst any source gives");
    assert_eq!(g.risk().iter().map(|r| (r.cluster.as_str(), r.vulnerabilities)).collect::<Vec<_>>(), vec![("prod", 1), ("staging", 1)]);

    // The document stating the alias is replaced by one that does not: they are two again,
    // exactly as if the alias had never been stated: prod runs what the GHSA was found in.
    let split = g.apply(&scan("sha256:grype", CART, vec![lodash("CVE-2021-23337", &[])]), 8);
    assert_eq!(changes(&split), vec![("prod", "CVE-2021-23337", false, false), ("prod", "GHSA-35jh-r3h4-6jhm", true, false)]);
    assert_eq!(g.resolve("GHSA-35jh-r3h4-6jhm").as_deref(), Some("GHSA-35jh-r3h4-6jhm"));
    assert_eq!(g.views(), g.recompute());
}

fn vex(document: &str, product: &str, subcomponents: &[&str], waives: bool) -> Fact {
    Fact::Vex {
        document: document.into(),
        statements: vec![VexFact {
            vulnerability: "GHSA-35jh-r3h4-6jhm".into(),
            aliases: vec![],
            products: vec![VexProduct {
                names: vec![product.into()],
                subcomponents: subcomponents.iter().map(|s| s.to_string()).collect(),
            }],
            waives,
        }],
    }
}

#[test]
fn a_not_affected_statement_waives_the_product_in_every_cluster_it_runs_and_a_newer_statement_takes_it_back() {
    let mut g = estate();
    g.apply(&scan("sha256:grype", BASE, vec![lodash("CVE-2021-23337", &["GHSA-35jh-r3h4-6jhm"])]), 5);
    // Named by its digest, limited to the package the scanner found it in (qualifiers aside).
    let waived = g.apply(&vex("sha256:vex1", "sha256:4D2A", &["pkg:npm/lodash@4.17.20?os=linux"], true), 6);
    assert_eq!(changes(&waived), vec![("prod", "CVE-2021-23337", false, true)]);
    let risk = g.risk();
    let prod = risk.iter().find(|r| r.cluster == "prod").unwrap();
    assert_eq!((prod.vulnerabilities, prod.waived.as_slice()), (0, &["CVE-2021-23337".to_string()][..]));
    let impact = g.impact("CVE-2021-23337").unwrap();
    assert_eq!(impact.clusters, vec!["staging"]);
    assert_eq!(impact.waived.len(), 1);
    assert_eq!(
        (impact.waived[0].cluster.as_str(), &impact.waived[0].deployments[0].by),
        ("prod", &Waiver::Vex { document: "sha256:vex1".into(), statement: 0, seq: 6 })
    );
    // The shop image's lineage says so too, wherever it runs (what the policy input reads);
    // the cart image, built on the same base, is not the statement's product.
    assert_eq!(
        g.lineage(SHOP).unwrap().vex,
        vec![VexWaived {
            vulnerability: "CVE-2021-23337".into(),
            by: Waiver::Vex { document: "sha256:vex1".into(), statement: 0, seq: 6 }
        }]
    );
    assert_eq!(g.lineage(BASE).unwrap().vex, vec![], "the statement names the shop image, not its base");
    // A statement limited to another package does not waive it.
    let mut other = estate();
    other.apply(&scan("sha256:grype", BASE, vec![lodash("CVE-2021-23337", &[])]), 5);
    assert!(other.apply(&vex("sha256:vex1", SHOP, &["pkg:npm/express@4.19.2"], true), 6).is_empty());
    // A newer statement saying affected brings it back.
    let back = g.apply(&vex("sha256:vex2", SHOP, &[], false), 7);
    assert_eq!(changes(&back), vec![("prod", "CVE-2021-23337", true, false)]);
    assert_eq!(g.views(), g.recompute());
}

fn exception(in_force: bool) -> Fact {
    Fact::Exception {
        id: "exc-1".into(),
        vulnerabilities: vec!["GHSA-35jh-r3h4-6jhm".into()],
        artifacts: vec!["pkg:oci/shop@*".into()],
        environments: vec!["prod".into()],
        in_force,
    }
}

#[test]
fn an_exception_in_force_waives_its_vulnerability_in_its_environments_until_it_is_not() {
    let mut g = estate();
    g.apply(&scan("sha256:grype", BASE, vec![lodash("CVE-2021-23337", &["GHSA-35jh-r3h4-6jhm"])]), 5);
    assert!(g.apply(&exception(false), 6).is_empty(), "requested, not approved: nothing waived");
    let approved = g.apply(&exception(true), 7);
    assert_eq!(changes(&approved), vec![("prod", "CVE-2021-23337", false, true)]);
    let impact = g.impact("CVE-2021-23337").unwrap();
    assert_eq!(impact.waived[0].deployments[0].by, Waiver::Exception { id: "exc-1".into() });
    assert_eq!(g.affected_clusters("CVE-2021-23337"), vec!["staging"], "the exception names prod only");
    // A second deployment in prod that the exception does not cover puts prod at risk again.
    let uncovered = g.apply(&Fact::Deployed { environment: "prod".into(), service: "cart".into(), artifact: CART.into() }, 8);
    assert_eq!(changes(&uncovered), vec![("prod", "CVE-2021-23337", true, false)]);
    g.apply(&Fact::Removed { environment: "prod".into(), service: "cart".into() }, 9);
    // Expired (or revoked): live again.
    let expired = g.apply(&exception(false), 10);
    assert_eq!(changes(&expired), vec![("prod", "CVE-2021-23337", true, false)]);
    assert_eq!(g.views(), g.recompute());
}

#[test]
fn an_advisory_reaches_every_artifact_containing_a_version_before_its_fix() {
    let mut g = estate();
    g.apply(&Fact::Contains { artifact: BASE.into(), package: "pkg:npm/lodash".into(), version: "4.17.20".into() }, 5);
    let advisory = Found {
        id: "GHSA-35jh-r3h4-6jhm".into(),
        aliases: vec!["CVE-2021-23337".into()],
        severity: Severity::High,
        package: None,
        affected: vec![("pkg:npm/lodash".into(), VersionRange::parse("<4.17.21").unwrap())],
    };
    // Sent about any artifact: an advisory is about the package wherever it is.
    let found = g.apply(&scan("sha256:osv-ghsa", "pkg:generic/advisories", vec![advisory]), 6);
    assert_eq!(changes(&found), vec![("prod", "CVE-2021-23337", true, false), ("staging", "CVE-2021-23337", true, false)]);
    let impact = g.impact("CVE-2021-23337").unwrap();
    let shop = impact.artifacts.iter().find(|a| a.artifact == SHOP).unwrap();
    assert_eq!(shop.path, vec!["pkg:npm/lodash@4.17.20", BASE, SHOP]);
    assert_eq!(impact.sources[0].affected, vec!["pkg:npm/lodash <4.17.21"]);
    assert_eq!(g.views(), g.recompute());
}

#[test]
fn fixing_a_vulnerability_by_any_of_its_ids_withdraws_the_events_and_keeps_the_documents_findings() {
    let mut g = estate();
    g.apply(
        &Fact::Vulnerability {
            id: "CVE-2021-23337".into(),
            aliases: vec!["GHSA-35jh-r3h4-6jhm".into()],
            severity: Severity::High,
            commits: vec![],
            artifacts: vec![CART.into()],
            packages: vec![],
        },
        5,
    );
    g.apply(&scan("sha256:grype", SHOP, vec![lodash("GHSA-35jh-r3h4-6jhm", &[])]), 6);
    let fixed = g.apply(&Fact::VulnerabilityGone { id: "GHSA-35jh-r3h4-6jhm".into() }, 7);
    // The event's alias went with it: the scanner's finding is known by its own id again.
    assert_eq!(
        changes(&fixed),
        vec![
            ("prod", "CVE-2021-23337", false, false),
            ("prod", "GHSA-35jh-r3h4-6jhm", true, false),
            ("staging", "CVE-2021-23337", false, false)
        ]
    );
    assert_eq!(g.affected_clusters("GHSA-35jh-r3h4-6jhm"), vec!["prod"]);
    assert_eq!(g.views(), g.recompute());
}
