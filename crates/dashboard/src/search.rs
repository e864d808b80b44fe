//! The header's search: what was typed, taken to its page. A vulnerability id (CVE-…, GHSA-…,
//! any alias a report states, in any letter case) opens the vulnerability's page; part of one
//! opens the vulnerabilities index filtered by it; anything else names an artifact, in any
//! spelling of its purl (`pkg:oci/app@sha256:…` as typed, or with `%3A`), and opens its dossier
//! under its canonical name.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::html::query_value;
use crate::page::problem;
use crate::state::Pages as AppState;

pub(super) async fn search(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(q) = params.get("q").map(|q| q.trim()).filter(|q| !q.is_empty()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Search",
            "type an artifact's package URL (pkg:oci/app@sha256:…) or a vulnerability id (CVE-…, GHSA-…) in the search box",
        );
    };
    Redirect::to(&target(&s, q)).into_response()
}

/// Where `q` leads: its vulnerability's page, else its artifact's dossier.
fn target(s: &AppState, q: &str) -> String {
    if !q.starts_with("pkg:") {
        let graph = s.views.lineage.read();
        // As typed, in capitals (cve-2021-23337), or with only its prefix in capitals (ghsa-35jh-…).
        let prefixed = match q.split_once('-') {
            Some((prefix, rest)) => format!("{}-{}", prefix.to_ascii_uppercase(), rest.to_ascii_lowercase()),
            None => q.to_owned(),
        };
        if let Some(id) = [q.to_owned(), q.to_ascii_uppercase(), prefixed].iter().find_map(|id| graph.resolve(id)) {
            return format!("/ui/vulnerabilities/{}", query_value(&id));
        }
        // Part of an id (CVE-2021-, 35jh): the vulnerabilities whose ids or aliases hold it.
        let needle = q.to_ascii_lowercase();
        let partial = graph
            .vulnerabilities()
            .iter()
            .any(|v| std::iter::once(&v.vulnerability).chain(&v.aliases).any(|id| id.to_ascii_lowercase().contains(&needle)));
        if partial {
            return format!("/ui/vulnerabilities?q={}", query_value(q));
        }
    }
    format!("/ui/artifact?purl={}", query_value(&dossier_core::artifact_name(q)))
}
