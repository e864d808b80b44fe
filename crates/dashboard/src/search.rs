//! The header's search: what was typed, taken to its page. A vulnerability id (CVE-…, GHSA-…,
//! any alias a report states, in any letter case) opens the vulnerability's page; part of one
//! opens the vulnerabilities index filtered by it; an artifact's purl, in any spelling
//! (`pkg:oci/app@sha256:…` as typed, or with `%3A`), opens its dossier under its canonical
//! name; part of an artifact's name (a word of it, or its start: `shop`, `api`, `app-1-l`)
//! opens the one artifact it names, or lists the first [`MATCHES`] it could mean.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::html::{self, artifact, badge, esc, mark, query_value, Mark};
use crate::page::problem;
use crate::state::Pages as AppState;

/// Artifacts listed for a part of a name, at most.
pub const MATCHES: usize = 50;

/// Where a search leads: a page, or a choice between artifacts.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Go(String),
    Choose { artifacts: Vec<String>, more: bool },
}

pub(super) async fn search(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(q) = params.get("q").map(|q| q.trim()).filter(|q| !q.is_empty()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Search",
            "type an artifact's name or package URL (shop, pkg:oci/app@sha256:…) or a vulnerability id (CVE-…, GHSA-…) in the search box",
        );
    };
    match target(&s, q) {
        Found::Go(to) => Redirect::to(&to).into_response(),
        Found::Choose { artifacts, more } => Html(choices(&s, q, &artifacts, more)).into_response(),
    }
}

/// Where `q` leads: its vulnerability's page, else its artifact's dossier, else the artifacts
/// whose names it is part of.
fn target(s: &AppState, q: &str) -> Found {
    let graph = s.views.lineage.read();
    if !q.starts_with("pkg:") {
        // As typed, in capitals (cve-2021-23337), or with only its prefix in capitals (ghsa-35jh-…).
        let prefixed = match q.split_once('-') {
            Some((prefix, rest)) => format!("{}-{}", prefix.to_ascii_uppercase(), rest.to_ascii_lowercase()),
            None => q.to_owned(),
        };
        if let Some(id) = [q.to_owned(), q.to_ascii_uppercase(), prefixed].iter().find_map(|id| graph.resolve(id)) {
            return Found::Go(format!("/ui/vulnerabilities/{}", query_value(&id)));
        }
        // Part of an id (CVE-2021-, 35jh): the vulnerabilities whose ids or aliases hold it.
        let needle = q.to_ascii_lowercase();
        let partial = graph
            .vulnerabilities()
            .iter()
            .any(|v| std::iter::once(&v.vulnerability).chain(&v.aliases).any(|id| id.to_ascii_lowercase().contains(&needle)));
        if partial {
            return Found::Go(format!("/ui/vulnerabilities?q={}", query_value(q)));
        }
        // Part of an artifact's name: the one it names, or the ones it may mean.
        let found = graph.find_artifacts(q, MATCHES);
        match found.artifacts.as_slice() {
            [] => {}
            [one] if !found.more => return Found::Go(format!("/ui/artifact?purl={}", query_value(one))),
            _ => return Found::Choose { artifacts: found.artifacts, more: found.more },
        }
    }
    Found::Go(format!("/ui/artifact?purl={}", query_value(&dossier_core::artifact_name(q))))
}

/// The page listing the artifacts `q` may mean, each with its state.
fn choices(s: &AppState, q: &str, artifacts: &[String], more: bool) -> String {
    let graph = s.views.lineage.read();
    let rows: Vec<Vec<String>> = artifacts
        .iter()
        .map(|a| {
            let status = graph.status(a);
            let mut state = Vec::new();
            if let Some(st) = &status {
                if st.quarantined.is_some() {
                    state.push(mark(Mark::Quarantined));
                }
                if let (Some(worst), n) = (st.worst, st.vulnerabilities) {
                    state.push(format!("{} <span class=\"muted\">{n} vulnerabilities</span>", badge("sev", worst.name())));
                }
                if st.waived > 0 {
                    state.push(format!("{} <span class=\"muted\">{}</span>", mark(Mark::Waived), st.waived));
                }
            }
            let runs: Vec<String> =
                status.iter().flat_map(|st| st.deployed.iter().map(|(e, svc)| format!("{} ({})", esc(e), esc(svc)))).collect();
            vec![artifact(a), state.join(" "), runs.join(", ")]
        })
        .collect();
    let said = if more {
        format!(
            "The first {} artifacts with a word of their name starting with <q class=\"mono\">{}</q>; more match: type more of the name.",
            artifacts.len(),
            esc(q)
        )
    } else {
        format!("{} artifacts have a word of their name starting with <q class=\"mono\">{}</q>.", artifacts.len(), esc(q))
    };
    let body = format!(
        r#"<h1>Search</h1><p class="lead">{said}</p><section class="panel" aria-labelledby="h-matches"><h2 id="h-matches">Artifacts</h2>{}</section>"#,
        html::table("matches", &["Artifact", "State", "Runs in"], &rows, "No artifact matches.")
    );
    html::page("Search", "", &body)
}
