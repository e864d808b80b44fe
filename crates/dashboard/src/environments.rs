//! Environments: what runs where now, and the risk each deployment carries through its lineage.

use axum::extract::State;
use axum::response::Html;

use crate::html::{self, artifact, badge, esc, query_value};
use crate::page::PageResult;
use crate::state::Pages as AppState;

pub(super) async fn page(State(s): State<AppState>) -> PageResult {
    let mut sections = String::new();
    let environments = {
        let graph = s.views.lineage.read();
        let quarantined: std::collections::HashSet<String> = graph.quarantined().into_iter().map(|(a, _)| a).collect();
        graph
            .what_runs_where()
            .into_iter()
            .map(|(env, deployments)| {
                let rows: Vec<Vec<String>> = deployments
                    .iter()
                    .map(|d| {
                        let vulns = graph.vulnerabilities_of(&d.artifact);
                        let worst = vulns
                            .first()
                            .map(|(_, sev)| badge("sev", sev.name()))
                            .unwrap_or_else(|| r#"<span class="ok">none known</span>"#.into());
                        let quarantined = if quarantined.contains(&d.artifact) { badge("st", "quarantined") } else { String::new() };
                        vec![esc(&d.service), format!("{} {quarantined}", artifact(&d.artifact)), vulns.len().to_string(), worst]
                    })
                    .collect();
                (env, rows)
            })
            .collect::<Vec<_>>()
    };
    for (env, rows) in &environments {
        sections.push_str(&format!(
            r#"<section class="panel wide" id="{anchor}" aria-labelledby="h-{anchor}"><h2 id="h-{anchor}">{name} <small>({n} services)</small></h2>{table}</section>"#,
            anchor = esc(&query_value(env)),
            name = esc(env),
            n = rows.len(),
            table = html::table(&format!("env-{}", query_value(env)), &["Service", "Artifact", "Vulnerabilities", "Worst"], rows, "Nothing runs here now.")
        ));
    }
    if environments.is_empty() {
        sections = html::empty("No deployment is known yet. Deployments arrive as <code>dev.cdevents.service.deployed</code> events (and upgraded, rolledback, removed).");
    }
    let body = format!(
        r#"<h1>Environments</h1><p class="lead">What runs where, now, with the vulnerabilities each deployment carries through its lineage.</p><div class="grid">{sections}</div>"#
    );
    Ok(Html(html::page("Environments", "/ui/environments", &body)))
}
