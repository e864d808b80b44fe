//! Artifacts are found by part of their name: the index kept as artifacts become known answers
//! what a scan of every known artifact would, within its limit, whatever the order of arrival.

use dossier_lineage::{ArtifactMatches, Fact, Graph};
use proptest::prelude::*;

/// Names made of few words from a small vocabulary, so that parts match many of them.
fn purl() -> impl Strategy<Value = String> {
    let word = prop_oneof![Just("shop"), Just("Shop"), Just("api"), Just("app"), Just("app2"), Just("l3"), Just("x")];
    (
        prop_oneof![Just("pkg:oci/"), Just("pkg:oci/team/"), Just("pkg:generic/")],
        prop::collection::vec(word, 1..4),
        prop_oneof![Just("-"), Just("_"), Just(".")],
        prop_oneof![Just("@1"), Just("@sha256:ab"), Just("@sha256%3Acd?arch=x"), Just("")],
    )
        .prop_map(|(ty, words, sep, version)| format!("{ty}{}{version}", words.join(sep)))
}

/// What a scan of every artifact known (in the order first heard of) answers: those with a
/// word of their name starting with `part`, by that word (the first such, in order), then by
/// arrival, each once.
fn scanned(known: &[String], part: &str, limit: usize) -> ArtifactMatches {
    let part = part.trim().to_lowercase();
    let mut hits: Vec<(String, usize, &String)> = Vec::new();
    for (arrival, purl) in known.iter().enumerate() {
        let rest = purl.strip_prefix("pkg:").unwrap();
        let name = rest.split(['?', '#']).next().unwrap().split('@').next().unwrap().rsplit('/').next().unwrap().to_lowercase();
        let mut start = true;
        for (i, c) in name.char_indices() {
            let separator = matches!(c, '-' | '_' | '.');
            if start && !separator && !part.is_empty() && name[i..].starts_with(&part) {
                hits.push((name[i..].to_owned(), arrival, purl));
            }
            start = separator;
        }
    }
    hits.sort();
    let mut out: Vec<String> = Vec::new();
    for (_, _, purl) in hits {
        if !out.contains(purl) {
            out.push(purl.clone());
        }
    }
    let more = out.len() > limit;
    out.truncate(limit);
    ArtifactMatches { artifacts: out, more }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_lookup_answers_what_a_scan_of_every_known_artifact_answers_within_its_limit(
        arrivals in prop::collection::vec((purl(), any::<bool>()), 1..40),
        parts in prop::collection::vec(prop_oneof![Just("sh"), Just("SHOP"), Just("app"), Just("app2"), Just("l"), Just("x"), Just("api_"), Just("zzz"), Just(" ")], 1..5),
        limit in 0..6usize,
    ) {
        let mut g = Graph::new();
        let mut known: Vec<String> = Vec::new();
        for (i, (purl, as_fact)) in arrivals.iter().enumerate() {
            // Events name artifacts in canonical form, and so do the facts they state.
            let purl = &dossier_core::artifact_name(purl).into_owned();
            // Known from an event naming it, or from a fact (a derivation) stating it.
            if *as_fact {
                g.apply(&Fact::Parent { artifact: purl.clone(), parent: "pkg:oci/root@1".into() }, i as u64);
                for p in [purl, &"pkg:oci/root@1".to_string()] {
                    if !known.contains(p) { known.push(p.clone()); }
                }
            } else {
                g.know_artifact(purl);
                if !known.contains(purl) { known.push(purl.clone()); }
            }
            for part in &parts {
                let found = g.find_artifacts(part, limit);
                prop_assert!(found.artifacts.len() <= limit);
                prop_assert_eq!(&found, &scanned(&known, part, limit), "{:?} after {:?}", part, known);
            }
        }
    }
}

#[test]
fn an_artifact_is_found_by_any_word_of_its_name_and_not_by_the_middle_of_one() {
    let mut g = Graph::new();
    for purl in ["pkg:oci/team/shop-api@sha256:aa", "pkg:oci/workshop@1", "pkg:oci/shop@sha256:bb", "pkg:generic/shop-cli@2"] {
        g.know_artifact(purl);
    }
    let found = |part: &str, limit| g.find_artifacts(part, limit);
    assert_eq!(
        found("Shop", 10).artifacts,
        ["pkg:oci/shop@sha256:bb", "pkg:oci/team/shop-api@sha256:aa", "pkg:generic/shop-cli@2"],
        "by word (shop, shop-api, shop-cli), each named in canonical form"
    );
    assert_eq!(found("api", 10).artifacts, ["pkg:oci/team/shop-api@sha256:aa"]);
    assert_eq!(found("hop", 10).artifacts, Vec::<String>::new());
    assert_eq!(found("shop", 1), ArtifactMatches { artifacts: vec!["pkg:oci/shop@sha256:bb".into()], more: true });
}
