//! Vulnerabilities: the index (every vulnerability reported, aliases merged, searchable by any
//! id and severity, newest report first) and one vulnerability's page — its ids, severity and
//! scores, what the documents said of it, the fixed versions, every artifact and cluster it
//! reaches with the path, every source that reported it, the VEX statements and exceptions;
//! and forms to request an exception for it, through the API as on the exceptions page (the
//! signed-in principal is the requester; the operator's rules and approval apply), or to record
//! a VEX statement about an artifact it reaches (an OpenVEX document sent about that artifact,
//! as any VEX is).

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use dossier_core::Severity;
use dossier_lineage::Waiver;
use dossier_log::own::now_nanos;

use crate::html::{self, artifact, badge, esc, query_value, vulnerability};
use crate::page::{blocking, PageResult};
use crate::state::Pages as AppState;

/// How many rows the index lists at most; a search narrows it.
const SHOWN: usize = 500;

fn severity_cell(s: Severity) -> String {
    format!(r#"<span data-sort="{}">{}</span>"#, s as u8, badge("sev", s.name()))
}

fn clusters_cell(list: &[String]) -> String {
    list.iter().map(|c| format!(r#"<a href="/ui/environments#{}">{}</a>"#, query_value(c), esc(c))).collect::<Vec<_>>().join(", ")
}

pub(super) async fn index(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> PageResult {
    let q = params.get("q").map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    let severity =
        params.get("severity").and_then(|v| Severity::parse(v)).filter(|_| params.get("severity").is_some_and(|v| !v.is_empty()));
    let all = s.views.lineage.read().vulnerabilities();
    let total = all.len();
    let needle = q.as_deref().map(str::to_ascii_lowercase);
    let matching: Vec<_> = all
        .into_iter()
        .filter(|v| severity.is_none_or(|s| v.severity == s))
        .filter(|v| {
            needle
                .as_ref()
                .is_none_or(|n| std::iter::once(&v.vulnerability).chain(&v.aliases).any(|id| id.to_ascii_lowercase().contains(n)))
        })
        .collect();
    let rows: Vec<Vec<String>> = matching
        .iter()
        .take(SHOWN)
        .map(|v| {
            vec![
                vulnerability(&v.vulnerability),
                esc(&v.aliases.join(", ")),
                severity_cell(v.severity),
                clusters_cell(&v.clusters),
                esc(&v.waived.join(", ")),
                v.reports.to_string(),
                v.seq.to_string(),
            ]
        })
        .collect();
    // The table holds the first SHOWN; its pager says how many match.
    let shown = html::Total {
        of: Some(matching.len()),
        hint: (matching.len() > SHOWN).then(|| "Search by id or severity to narrow the list.".to_owned()),
        next: None,
    };
    let options: String = std::iter::once(("", "any"))
        .chain(Severity::ALL.iter().map(|s| (s.name(), s.name())))
        .map(|(value, label)| {
            let selected = if severity.map(Severity::name) == Some(value) && !value.is_empty() { " selected" } else { "" };
            format!(r#"<option value="{value}"{selected}>{label}</option>"#)
        })
        .collect();
    let empty = if total == 0 {
        "No vulnerability is known: they arrive as <code>dev.cdeventsx.dossier-vulnerability.discovered</code> events and as findings of scan reports and advisories (<code>dossier document send</code>)."
    } else {
        "No vulnerability matches."
    };
    let body = format!(
        r#"<h1>Vulnerabilities</h1><p class="lead">Every vulnerability Dossier knows, whoever reported it — discovered events, scanners' findings, advisories — one row per vulnerability, its aliases merged; newest report first.</p>
<section class="panel" aria-label="Search"><form class="stack" method="get" action="/ui/vulnerabilities"><div><label for="vq">Id or alias</label><input id="vq" name="q" value="{q}" placeholder="CVE-2021-23337, GHSA-…, PYSEC-…"></div><div><label for="vs">Severity</label><select id="vs" name="severity">{options}</select></div><div><button class="primary" type="submit">Search</button></div></form></section>
<section class="panel" aria-labelledby="h-vulns"><h2 id="h-vulns">{n} of {total} vulnerabilities</h2>{table}</section>"#,
        q = esc(q.as_deref().unwrap_or("")),
        n = matching.len(),
        table = html::table_of(
            "vulnerabilities",
            &["Vulnerability", "Aliases", "Severity", "Clusters at risk", "Waived in", "Reports", "Newest entry"],
            &rows,
            empty,
            &shown
        ),
    );
    Ok(Html(html::page("Vulnerabilities", "/ui/vulnerabilities", &body)))
}

pub(super) async fn page(State(s): State<AppState>, Path(id): Path<String>) -> PageResult {
    let (log, views, wanted) = (s.log.clone(), s.views.clone(), id.clone());
    let details = blocking(move || {
        dossier_views::vulnerabilities::details(log.store().as_ref(), &views.lineage, &views.exceptions, &wanted, now_nanos())
    })
    .await?;
    let Some(d) = details else {
        let body = format!(
            r#"<h1>Vulnerability</h1><p class="lead mono">{}</p>{}"#,
            esc(&id),
            html::empty("Dossier knows of no report of this vulnerability (or it was withdrawn or fixed). Search the <a href=\"/ui/vulnerabilities\">vulnerabilities</a> by any of their ids.")
        );
        return Err((StatusCode::NOT_FOUND, Html(html::page("Unknown vulnerability", "/ui/vulnerabilities", &body))).into_response());
    };
    let i = &d.impact;
    let titles: BTreeSet<&str> = d.findings.iter().filter_map(|f| f.finding.title.as_deref()).collect();
    let scores: Vec<String> = {
        let mut s: Vec<f64> = d.findings.iter().filter_map(|f| f.finding.score).collect();
        s.sort_by(|a, b| b.total_cmp(a));
        s.dedup();
        s.iter().map(|x| format!("{x:.1}")).collect()
    };
    // Each vector once, scored as FIRST specifies (v3.x and v4.0); one that does not read is shown unscored.
    let vectors: BTreeSet<&str> = d.findings.iter().flat_map(|f| f.finding.vectors.iter().map(String::as_str)).collect();
    let vectors: Vec<String> = vectors
        .into_iter()
        .map(|v| match dossier_evidence::cvss::base_score(v) {
            Some(score) => format!(r#"<b>{score:.1}</b> <span class="mono">{}</span>"#, esc(v)),
            None => format!(r#"<span class="mono">{}</span>"#, esc(v)),
        })
        .collect();
    let descriptions: BTreeSet<&str> = d.findings.iter().filter_map(|f| f.finding.description.as_deref()).collect();
    let references: BTreeSet<&str> = d.findings.iter().flat_map(|f| f.finding.references.iter().map(String::as_str)).collect();
    // Only web links are links: a javascript: or data: one would run in whoever clicks it.
    let references: Vec<String> = references
        .into_iter()
        .map(|r| {
            if dossier_exceptions::is_web_link(r) {
                format!(r#"<a href="{0}" rel="noopener noreferrer">{0}</a>"#, esc(r))
            } else {
                esc(r)
            }
        })
        .collect();
    let fixed: BTreeSet<String> = d
        .findings
        .iter()
        .filter_map(|f| f.finding.fixed_version.as_ref().map(|v| format!("{} {v}", f.finding.package.as_deref().unwrap_or(""))))
        .collect();
    let sources: Vec<Vec<String>> = i
        .sources
        .iter()
        .map(|r| {
            let from = match (&r.document, &r.artifact) {
                (Some(doc), Some(a)) => format!(r#"document <span class="mono">{}</span> about {}"#, esc(doc), artifact(a)),
                _ => "a discovered event".to_owned(),
            };
            let found = r.package.clone().unwrap_or_else(|| r.affected.join(", "));
            vec![esc(&r.id), from, format!(r#"<span class="mono">{}</span>"#, esc(&found)), severity_cell(r.severity), r.seq.to_string()]
        })
        .collect();
    let deployments: Vec<Vec<String>> =
        i.deployments.iter().map(|x| vec![esc(&x.environment), esc(&x.service), artifact(&x.artifact)]).collect();
    let artifacts: Vec<Vec<String>> = i
        .artifacts
        .iter()
        .map(|a| {
            let path = a
                .path
                .iter()
                .map(|p| if p.starts_with("pkg:") { artifact(p) } else { format!(r#"<span class="mono">{}</span>"#, esc(p)) })
                .collect::<Vec<_>>()
                .join(" → ");
            vec![artifact(&a.artifact), if a.image { "image".into() } else { "artifact".into() }, path]
        })
        .collect();
    let waived: Vec<Vec<String>> = i
        .waived
        .iter()
        .flat_map(|w| w.deployments.iter().map(move |x| (w, x)))
        .map(|(w, x)| {
            let by = match &x.by {
                Waiver::Exception { id } => format!(r#"exception <a href="/ui/exceptions#{}">{}</a>"#, query_value(id), esc(id)),
                Waiver::Vex { document, statement, .. } => {
                    format!(r#"VEX statement {statement} of document <span class="mono">{}</span>"#, esc(document))
                }
            };
            vec![esc(&w.cluster), esc(&x.service), artifact(&x.artifact), by]
        })
        .collect();
    let statements: Vec<Vec<String>> = d
        .vex
        .iter()
        .map(|v| {
            let products = v.statement.products.iter().map(|p| p.id.clone()).collect::<Vec<_>>().join(", ");
            vec![
                badge("st", &v.statement.status),
                esc(v.statement.justification.as_deref().unwrap_or("")),
                format!(r#"<span class="mono">{}</span>"#, esc(&products)),
                esc(v.statement.detail.as_deref().unwrap_or("")),
                format!(r#"<span class="mono">{}</span> #{}"#, esc(&v.document), v.index),
            ]
        })
        .collect();
    let exceptions: Vec<Vec<String>> = d
        .exceptions
        .iter()
        .map(|n| {
            let e = &n.exception;
            vec![
                format!(r#"<a href="/ui/exceptions#{}">{}</a>"#, query_value(&e.id), esc(&e.id)),
                badge("st", &n.state.to_string()),
                esc(&e.scope.artifacts.join(", ")),
                esc(&e.scope.environments.join(", ")),
                esc(&e.reason),
                html::time(&e.expires),
            ]
        })
        .collect();
    let aliases = if i.aliases.is_empty() {
        "none".to_owned()
    } else {
        i.aliases.iter().map(|a| format!(r#"<span class="mono">{}</span>"#, esc(a))).collect::<Vec<_>>().join(", ")
    };
    let description = if titles.is_empty() && descriptions.is_empty() {
        String::new()
    } else {
        format!("<p>{}</p>", titles.iter().chain(&descriptions).map(|t| esc(t)).collect::<Vec<_>>().join("<br>"))
    };
    let body = format!(
        r#"<h1><span class="mono">{id}</span> {sev}</h1><p class="lead">Also known as {aliases}. {description_note}</p>
<section class="panel" aria-labelledby="h-about"><h2 id="h-about">About it</h2>{description}
<dl class="facts"><dt>CVSS base score</dt><dd>{scores}</dd><dt>CVSS vectors</dt><dd>{vectors}</dd><dt>References</dt><dd>{references}</dd><dt>Fixed in</dt><dd>{fixed}</dd><dt>Clusters at risk</dt><dd>{clusters}</dd><dt>Waived in</dt><dd>{waived_in}</dd></dl>
<p><a href="/ui/impact?vulnerability={qid}">Impact</a> · <a href="/api/v1/vulnerabilities/{qid}">JSON</a></p></section>
<section class="panel wide" aria-labelledby="h-sources"><h2 id="h-sources">Reported by</h2>{source_table}</section>
<div class="grid">
<section class="panel wide" aria-labelledby="h-deploy"><h2 id="h-deploy">Deployments reached</h2>{deploy_table}</section>
<section class="panel wide" aria-labelledby="h-waived"><h2 id="h-waived">Waived</h2>{waived_table}</section>
<section class="panel wide" aria-labelledby="h-paths"><h2 id="h-paths">Artifacts reached, and why</h2>{artifact_table}</section>
<section class="panel wide" aria-labelledby="h-vex"><h2 id="h-vex">VEX statements</h2>{vex_table}</section>
<section class="panel wide" aria-labelledby="h-exc"><h2 id="h-exc">Exceptions</h2>{exception_table}
<h3 id="h-triage">Request an exception for it</h3>
<form class="stack" data-api="/api/v1/exceptions" aria-labelledby="h-triage">
<input type="hidden" name="vulnerabilities" value="{id}" data-list>
<div><label for="t-a">Artifacts, purls or globs (comma-separated)</label><input id="t-a" name="artifacts" data-list required value="{deployed}"></div>
<div><label for="t-e">Environments (comma-separated; all when empty)</label><input id="t-e" name="environments" data-list value="{at_risk}"></div>
<div><label for="t-r">Reason</label><input id="t-r" name="reason" required></div>
<div><label for="t-x">Expires</label><input id="t-x" name="expires" type="datetime-local" required></div>
<div><button class="primary" type="submit">Request as you</button> <span class="result" tabindex="-1" role="alert"></span></div>
</form>
<h3 id="h-vex-new">Record a VEX statement</h3>
<form class="stack" data-vex="{id}" data-author="{author}" aria-labelledby="h-vex-new">
<div><label for="v-p">Product</label><select id="v-p" name="product" required>{products}</select></div>
<div><label for="v-s">Status</label><select id="v-s" name="status" required><option value="not_affected">not affected</option><option value="affected">affected</option><option value="fixed">fixed</option><option value="under_investigation">under investigation</option></select></div>
<div><label for="v-j">Justification (for not affected)</label><select id="v-j" name="justification"><option value="">none</option><option>component_not_present</option><option>vulnerable_code_not_present</option><option>vulnerable_code_not_in_execute_path</option><option>vulnerable_code_cannot_be_controlled_by_adversary</option><option>inline_mitigations_already_exist</option></select></div>
<div><label for="v-c">Comment</label><input id="v-c" name="comment"></div>
<div><button class="primary" type="submit">Record as you</button> <span class="result" tabindex="-1" role="alert"></span></div>
</form></section>
</div>"#,
        id = esc(&i.vulnerability),
        deployed =
            esc(&i.deployments.iter().map(|x| x.artifact.as_str()).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ")),
        at_risk = esc(&i.clusters.join(", ")),
        author = esc(&crate::state::viewer().who.map(|(name, _)| name).unwrap_or_default()),
        products = i.artifacts.iter().map(|a| format!(r#"<option value="{0}">{0}</option>"#, esc(&a.artifact))).collect::<String>(),
        qid = query_value(&i.vulnerability),
        sev = badge("sev", i.severity.name()),
        description_note = if titles.is_empty() && descriptions.is_empty() { "" } else { "What the documents that reported it say:" },
        vectors = if vectors.is_empty() { "not given".into() } else { vectors.join("<br>") },
        references = if references.is_empty() { "none given".into() } else { references.join("<br>") },
        scores = if scores.is_empty() { "not given".into() } else { esc(&scores.join(", ")) },
        fixed = if fixed.is_empty() { "not given".into() } else { esc(&fixed.into_iter().collect::<Vec<_>>().join(", ")) },
        clusters = if i.clusters.is_empty() { "none".into() } else { clusters_cell(&i.clusters) },
        waived_in = if i.waived.is_empty() {
            "none".into()
        } else {
            esc(&i.waived.iter().map(|w| w.cluster.as_str()).collect::<Vec<_>>().join(", "))
        },
        source_table = html::table("vuln-sources", &["As", "From", "Found in", "Severity", "Entry"], &sources, "No report."),
        deploy_table =
            html::table("vuln-deployments", &["Cluster", "Service", "Artifact"], &deployments, "Nothing it reaches is deployed."),
        waived_table = html::table("vuln-waived", &["Cluster", "Service", "Artifact", "Waived by"], &waived, "Waived nowhere."),
        artifact_table =
            html::table("vuln-artifacts", &["Artifact", "Kind", "Path from where it was found"], &artifacts, "It reaches no artifact."),
        vex_table = html::table(
            "vuln-vex",
            &["Status", "Justification", "Products", "Detail", "Statement"],
            &statements,
            "No VEX statement names it."
        ),
        exception_table = html::table(
            "vuln-exceptions",
            &["Exception", "State", "Artifacts", "Environments", "Reason", "Expires"],
            &exceptions,
            "No exception names it."
        ),
    );
    Ok(Html(html::page(&i.vulnerability, "/ui/vulnerabilities", &body)))
}
