//! Environments: what runs where now, and the risk each deployment carries through its lineage.
//! A summary first — one row per environment, production first, then the worst first: its
//! worst severity, its vulnerabilities by severity, those waived there, what runs there — then
//! each environment's deployments, their vulnerabilities named and linked, waived ones said so.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::extract::State;
use axum::response::Html;
use dossier_core::Severity;

use crate::html::{self, artifact, badge, esc, mark, query_value, stage, vulnerability, Mark};
use crate::page::PageResult;
use crate::state::Pages as AppState;

/// Vulnerabilities named in a deployment's row; the rest are counted.
const NAMED: usize = 5;

/// A severity that sorts by rank in a table (the script reads `data-sort`).
fn severity(s: Severity) -> String {
    format!(r#"<span data-sort="{}">{}</span>"#, s as u8, badge("sev", s.name()))
}

struct Environment {
    name: String,
    deployments: Vec<dossier_lineage::Deployment>,
    risk: Option<dossier_lineage::ClusterRisk>,
}

pub(super) async fn page(State(s): State<AppState>) -> PageResult {
    let (mut environments, vulns, quarantined) = {
        let graph = s.views.lineage.read();
        let quarantined: HashSet<String> = graph.quarantined().into_iter().map(|(a, _)| a).collect();
        let mut risks: HashMap<String, dossier_lineage::ClusterRisk> = graph.risk().into_iter().map(|r| (r.cluster.clone(), r)).collect();
        let mut vulns: HashMap<String, Vec<(String, Severity)>> = HashMap::new();
        let environments: Vec<Environment> = graph
            .what_runs_where()
            .into_iter()
            .map(|(name, deployments)| {
                for d in &deployments {
                    vulns.entry(d.artifact.clone()).or_insert_with(|| graph.vulnerabilities_of(&d.artifact));
                }
                let risk = risks.remove(&name);
                Environment { name, deployments, risk }
            })
            .collect();
        (environments, vulns, quarantined)
    };
    let worst = |e: &Environment| e.risk.as_ref().filter(|r| r.vulnerabilities > 0).map(|r| r.worst);
    environments.sort_by(|a, b| stage(&a.name).cmp(&stage(&b.name)).then(worst(b).cmp(&worst(a))).then(a.name.cmp(&b.name)));

    let summary: Vec<Vec<String>> = environments
        .iter()
        .map(|e| {
            let (worst_cell, counts, waived) = match &e.risk {
                Some(r) => {
                    let counts: Vec<String> =
                        Severity::ALL.iter().filter_map(|s| r.by_severity.get(s.name()).map(|n| format!("{n} {}", s.name()))).collect();
                    let waived: Vec<String> = r.waived.iter().map(|v| format!("{} {}", vulnerability(v), mark(Mark::Waived))).collect();
                    let worst_cell = if r.vulnerabilities > 0 {
                        severity(r.worst)
                    } else {
                        r#"<span class="ok" data-sort="0">none live</span>"#.to_owned()
                    };
                    (worst_cell, counts.join(", "), waived.join(" "))
                }
                None => (r#"<span class="ok" data-sort="0">none known</span>"#.to_owned(), String::new(), String::new()),
            };
            let live = e.risk.as_ref().map_or(0, |r| r.vulnerabilities);
            vec![
                format!(r##"<a href="#{}">{}</a>"##, esc(&query_value(&e.name)), esc(&e.name)),
                worst_cell,
                format!(r#"<span data-sort="{live}">{live}</span> <span class="muted">{}</span>"#, esc(&counts)),
                waived,
                format!(
                    r#"<span data-sort="{n}">{n}</span> <span class="muted">{}</span>"#,
                    esc(&e.deployments.iter().map(|d| d.service.as_str()).collect::<Vec<_>>().join(", ")),
                    n = e.deployments.len()
                ),
            ]
        })
        .collect();

    let mut sections = String::new();
    for e in &environments {
        let waived: HashSet<&str> = e.risk.iter().flat_map(|r| r.waived.iter().map(String::as_str)).collect();
        let rows: Vec<Vec<String>> = e
            .deployments
            .iter()
            .map(|d| {
                let found = vulns.get(&d.artifact).map(Vec::as_slice).unwrap_or_default();
                let live: Vec<&(String, Severity)> = found.iter().filter(|(v, _)| !waived.contains(v.as_str())).collect();
                let worst =
                    live.first().map(|(_, s)| severity(*s)).unwrap_or_else(|| r#"<span class="ok" data-sort="0">none known</span>"#.into());
                let mut named: Vec<String> = found
                    .iter()
                    .take(NAMED)
                    .map(|(v, s)| {
                        if waived.contains(v.as_str()) {
                            format!("{} {}", vulnerability(v), mark(Mark::Waived))
                        } else {
                            format!("{} {}", vulnerability(v), badge("sev", s.name()))
                        }
                    })
                    .collect();
                if found.len() > NAMED {
                    named.push(format!(r#"<span class="muted">and {} more</span>"#, found.len() - NAMED));
                }
                let quarantined = if quarantined.contains(&d.artifact) { mark(Mark::Quarantined) } else { String::new() };
                vec![
                    esc(&d.service),
                    format!("{} {quarantined}", artifact(&d.artifact)),
                    format!(r#"<span data-sort="{}">{}</span> {}"#, live.len(), live.len(), named.join(" ")),
                    worst,
                ]
            })
            .collect();
        sections.push_str(&format!(
            r#"<section class="panel wide" id="{anchor}" aria-labelledby="h-{anchor}"><h2 id="h-{anchor}">{name} <small>({n} services)</small></h2>{table}</section>"#,
            anchor = esc(&query_value(&e.name)),
            name = esc(&e.name),
            n = rows.len(),
            table = html::table(&format!("env-{}", query_value(&e.name)), &["Service", "Artifact", "Vulnerabilities", "Worst"], &rows, "Nothing runs here now.")
        ));
    }
    let body = if environments.is_empty() {
        html::empty("No deployment is known yet. Deployments arrive as <code>dev.cdevents.service.deployed</code> events (and upgraded, rolledback, removed).")
    } else {
        let counts: BTreeMap<u8, usize> = environments.iter().fold(BTreeMap::new(), |mut m, e| {
            *m.entry(stage(&e.name)).or_default() += 1;
            m
        });
        format!(
            r#"<section class="panel wide" aria-labelledby="h-summary"><h2 id="h-summary">Summary <small>({} environments, {} production)</small></h2>{}</section>{sections}"#,
            environments.len(),
            counts.get(&0).copied().unwrap_or(0),
            html::table("environments", &["Environment", "Worst", "Vulnerabilities", "Waived there", "Services"], &summary, "")
        )
    };
    let body = format!(
        r#"<h1>Environments</h1><p class="lead">What runs where, now, with the vulnerabilities each deployment carries through its lineage: production first, the worst first.</p><div class="grid">{body}</div>"#
    );
    Ok(Html(html::page("Environments", "/ui/environments", &body)))
}
