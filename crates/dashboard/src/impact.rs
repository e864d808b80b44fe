//! Vulnerability impact: type a vulnerability id and see what it reaches — artifacts, images,
//! deployments, clusters — with the path from where it was found; beside it, risk per cluster.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Html;

use crate::html::{self, artifact, badge, esc, query_value, vulnerability};
use crate::page::PageResult;
use crate::state::Pages as AppState;

pub(super) async fn page(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> PageResult {
    let wanted = params.get("vulnerability").map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let (impact, risk) = {
        let graph = s.views.lineage.read();
        (wanted.as_deref().map(|v| graph.impact(v)), graph.risk())
    };
    let result = match (&wanted, impact) {
        (None, _) => String::new(),
        (Some(v), Some(None)) | (Some(v), None) => html::empty(&format!(
            "Dossier knows of no vulnerability {}. Vulnerabilities arrive as <code>dev.cdeventsx.dossier-vulnerability.discovered</code> events, or as findings of scan reports.",
            esc(v)
        )),
        (Some(_), Some(Some(i))) => {
            let artifacts: Vec<Vec<String>> = i
                .artifacts
                .iter()
                .map(|a| {
                    let path = a.path.iter().map(|p| if p.starts_with("pkg:") { artifact(p) } else { format!(r#"<span class="mono">{}</span>"#, esc(p)) }).collect::<Vec<_>>().join(" → ");
                    vec![artifact(&a.artifact), if a.image { "image".into() } else { "artifact".into() }, path]
                })
                .collect();
            let deployments: Vec<Vec<String>> =
                i.deployments.iter().map(|d| vec![esc(&d.environment), esc(&d.service), artifact(&d.artifact)]).collect();
            let clusters = if i.clusters.is_empty() { "none".to_owned() } else { i.clusters.iter().map(|c| format!("<b>{}</b>", esc(c))).collect::<Vec<_>>().join(", ") };
            let aliases = if i.aliases.is_empty() { String::new() } else { format!(" Also known as {}.", esc(&i.aliases.join(", "))) };
            let waived = if i.waived.is_empty() {
                String::new()
            } else {
                format!(" Waived in: {} (by an exception or a VEX statement).", i.waived.iter().map(|w| format!("<b>{}</b>", esc(&w.cluster))).collect::<Vec<_>>().join(", "))
            };
            format!(
                r#"<section class="panel" aria-labelledby="h-result"><h2 id="h-result">{id} {sev}</h2>
<p>Reaches {n_artifacts} artifacts ({n_images} images), {n_deployments} deployments, in clusters: {clusters}.{waived}{aliases} Reported by {n_sources}.</p></section>
<div class="grid">
<section class="panel wide" aria-labelledby="h-deploy"><h2 id="h-deploy">Deployments affected</h2>{deploy_table}</section>
<section class="panel wide" aria-labelledby="h-paths"><h2 id="h-paths">Artifacts affected, and why</h2>{artifact_table}</section>
</div>"#,
                id = vulnerability(&i.vulnerability),
                sev = badge("sev", i.severity.name()),
                n_sources = if i.sources.len() == 1 { "one source".to_owned() } else { format!("{} sources", i.sources.len()) },
                n_artifacts = i.artifacts.len(),
                n_images = i.artifacts.iter().filter(|a| a.image).count(),
                n_deployments = i.deployments.len(),
                deploy_table = html::table("impact-deployments", &["Cluster", "Service", "Artifact"], &deployments, "Nothing affected is deployed."),
                artifact_table = html::table("impact-artifacts", &["Artifact", "Kind", "Path from where it was found"], &artifacts, "No artifact is affected."),
            )
        }
    };
    let risk_rows: Vec<Vec<String>> = risk
        .iter()
        .map(|r| {
            let mut counts =
                r.by_severity.iter().filter(|(_, n)| **n > 0).map(|(sev, n)| format!("{n} {sev}")).collect::<Vec<_>>().join(", ");
            if !r.waived.is_empty() {
                counts = format!("{counts}{}{} waived", if counts.is_empty() { "" } else { "; " }, r.waived.len());
            }
            vec![
                format!(r#"<a href="/ui/environments#{0}">{1}</a>"#, query_value(&r.cluster), esc(&r.cluster)),
                r.vulnerabilities.to_string(),
                if r.vulnerabilities == 0 { String::new() } else { badge("sev", r.worst.name()) },
                esc(&counts),
            ]
        })
        .collect();
    let body = format!(
        r#"<h1>Vulnerability impact</h1><p class="lead">Which artifacts, images and clusters a vulnerability reaches, through builds, derivations and deployments, as the lineage graph knows it now.</p>
<section class="panel" aria-label="Vulnerability"><form class="stack" method="get" action="/ui/impact"><div><label for="vuln">Vulnerability id</label><input id="vuln" name="vulnerability" value="{value}" placeholder="CVE-2026-1234" required></div><div><button class="primary" type="submit">Show impact</button></div></form></section>
{result}
<section class="panel" aria-labelledby="h-risk"><h2 id="h-risk">Risk per cluster</h2>{risk_table}</section>"#,
        value = esc(wanted.as_deref().unwrap_or("")),
        risk_table = html::table(
            "cluster-risk",
            &["Cluster", "Vulnerabilities", "Worst", "By severity"],
            &risk_rows,
            "No deployment is known yet: send <code>service.deployed</code> events."
        ),
    );
    Ok(Html(html::page("Vulnerability impact", "/ui/impact", &body)))
}
