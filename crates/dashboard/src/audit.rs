//! Audit: the log's size, its latest signed checkpoint and whether it verifies against the
//! log's key and the stored tree; and a report for a period — pipeline runs, deployments,
//! violations, exceptions — saying who did what, when.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use dossier_store::{EventQuery, StoredEvent, TypePattern, MAX_PAGE};
use dossier_tlog::Checkpoint;
use serde_json::Value;

use crate::html::{self, artifact, badge, esc, time};
use crate::page::blocking;
use crate::page::{problem, PageResult};
use crate::state::Pages as AppState;
use dossier_engine::policy::Decided;
use dossier_log::own::now_nanos;

const WEEK: i64 = 7 * 86_400 * 1_000_000_000;
/// Entries of one kind a report lists at most.
const LIMIT: usize = 500;

fn content(e: &StoredEvent) -> Value {
    serde_json::from_slice::<Value>(&e.raw).map(|mut v| v["subject"]["content"].take()).unwrap_or(Value::Null)
}

fn when(e: &StoredEvent) -> String {
    time(&dossier_core::event::format_timestamp(e.time_unix_nanos))
}

fn mono(s: &str) -> String {
    format!(r#"<span class="mono">{}</span>"#, esc(s))
}

pub(super) async fn page(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> PageResult {
    let bad = |e: String| problem(StatusCode::BAD_REQUEST, "Audit", &e);
    // Whole seconds, so that the period reads well in the form; up to the end of this one.
    let now = (now_nanos() / 1_000_000_000 + 1) * 1_000_000_000;
    let since = match params.get("since").filter(|v| !v.is_empty()) {
        Some(v) => dossier_store::parse_time_param("since", v).map_err(bad)?,
        None => now - WEEK,
    };
    let until = match params.get("until").filter(|v| !v.is_empty()) {
        Some(v) => dossier_store::parse_time_param("until", v).map_err(bad)?,
        None => now,
    };
    let log = s.log.clone();
    let verifier = s.log.verifier();
    let (checkpoint, verdict, report) = blocking(move || {
        let store = log.store();
        let checkpoint = log.checkpoint()?;
        // The signature with the log's key, then the signed head against the stored tree.
        let verdict = match verifier
            .open(&checkpoint.note)
            .map_err(|e| e.to_string())
            .and_then(|body| Checkpoint::parse(body).map_err(|e| e.to_string()))
        {
            Err(e) => Err(format!("the checkpoint does not verify: {e}")),
            Ok(c) if c.root != store.root(c.size)? => {
                Err(format!("the signed tree head of size {} does not match the stored tree", c.size))
            }
            Ok(c) => Ok(c.size),
        };
        // The period is Dossier's own clock — when entries were received, which is log order —
        // so it is a range of the log, found by binary search and read from the type index.
        let size = store.size()?;
        let (first, end) =
            (crate::page::first_received_at(store.as_ref(), size, since)?, crate::page::first_received_at(store.as_ref(), size, until)?);
        let period = |types: &[&str]| -> Result<Vec<StoredEvent>, dossier_store::StoreError> {
            let q = EventQuery {
                types: types.iter().map(|t| TypePattern((*t).to_owned())).collect(),
                after: first.checked_sub(1),
                before: Some(end),
                limit: MAX_PAGE.min(LIMIT),
                ..Default::default()
            };
            Ok(store.query(&q)?.events)
        };
        let report = (
            period(&["dev.cdevents.pipelinerun.finished.*"])?,
            period(&[
                "dev.cdevents.service.deployed.*",
                "dev.cdevents.service.upgraded.*",
                "dev.cdevents.service.rolledback.*",
                "dev.cdevents.service.removed.*",
            ])?,
            period(&[&format!("{}*", dossier_core::own::OwnType::PolicyDecided.unversioned())])?,
            period(&[&dossier_core::own::Family::Exception.glob()])?,
        );
        Ok((checkpoint, verdict, report))
    })
    .await?;
    let (runs, deployments, decisions, exceptions) = report;

    let status = match &verdict {
        Ok(size) => format!(
            r#"<p class="ok"><b>✓ Verified</b>: the checkpoint is signed by the log's key, and its tree head of {size} entries matches the stored tree.</p>"#
        ),
        Err(e) => format!(r#"<p class="error">✗ {}</p>"#, esc(e)),
    };
    let run_rows: Vec<Vec<String>> = runs
        .iter()
        .map(|e| {
            let c = content(e);
            vec![
                when(e),
                esc(c["pipelineName"].as_str().unwrap_or("")),
                mono(&e.subject_id),
                esc(c["outcome"].as_str().unwrap_or("")),
                mono(&e.key.source),
            ]
        })
        .collect();
    let deployment_rows: Vec<Vec<String>> = deployments
        .iter()
        .map(|e| {
            let c = content(e);
            let action = e.event_type.split('.').nth(3).unwrap_or("");
            vec![
                when(e),
                esc(action),
                esc(c["environment"]["id"].as_str().unwrap_or("")),
                c["artifactId"].as_str().map(artifact).unwrap_or_default(),
                mono(&e.key.source),
            ]
        })
        .collect();
    let violation_rows: Vec<Vec<String>> = decisions
        .iter()
        .flat_map(|e| {
            let d = Decided::read(&e.raw);
            let target = d.as_ref().and_then(|d| d.artifact_id.as_deref()).map(artifact).unwrap_or_default();
            let mode = d.as_ref().map_or("enforce", |d| d.mode.as_str());
            d.map(|d| d.deny)
                .unwrap_or_default()
                .into_iter()
                .map(move |m| vec![when(e), esc(&e.subject_id), badge("st", mode), target.clone(), esc(&m)])
        })
        .collect();
    let exception_rows: Vec<Vec<String>> = exceptions
        .iter()
        .map(|e| {
            let c = content(e);
            let act =
                e.event_type.trim_start_matches(dossier_core::own::Family::Exception.prefix()).split('.').next().unwrap_or("").to_owned();
            // Who: the principal whose credential made the change (the entry's sender).
            let who =
                e.sender.as_deref().or_else(|| ["requester", "approver", "by"].iter().find_map(|k| c[*k].as_str())).unwrap_or("dossier");
            let why = ["reason", "comment"].iter().find_map(|k| c[*k].as_str()).unwrap_or("");
            vec![when(e), format!(r#"<a href="/ui/exceptions#{0}">{0}</a>"#, esc(&e.subject_id)), badge("st", &act), esc(who), esc(why)]
        })
        .collect();
    let fmt = dossier_core::event::format_timestamp;
    let body = format!(
        r#"<h1>Audit</h1><p class="lead">The evidence log and what it proves; a report of a period.</p>
<div class="grid">
<section class="panel" aria-labelledby="h-log"><h2 id="h-log">The log</h2>
<p><b>{size}</b> entries. Origin <code>{origin}</code>.</p>{status}
<p>Public key (give it to auditors): <code>{key}</code></p>
<p>Verify everything offline: <code>dossier verify --data ./dossier-data</code>; prove one entry: <code>dossier log prove SEQ --key "$(cat dossier-data/log.pub)"</code>.</p></section>
<section class="panel" aria-labelledby="h-cp"><h2 id="h-cp">Latest signed checkpoint</h2><pre><code>{note}</code></pre></section>
</div>
<section class="panel" aria-labelledby="h-period"><h2 id="h-period">Report</h2>
<form class="stack" method="get" action="/ui/audit"><div><label for="a-since">Since (RFC 3339)</label><input id="a-since" name="since" value="{since}"></div><div><label for="a-until">Until (RFC 3339)</label><input id="a-until" name="until" value="{until}"></div><div><button class="primary" type="submit">Report</button></div></form>
<p>Received from {since_t} to {until_t}: {n_runs} pipeline runs, {n_deploy} deployment changes, {n_viol} violations, {n_exc} exception changes (each list shows the first {LIMIT} at most).</p></section>
<div class="grid">
<section class="panel wide" aria-labelledby="h-r1"><h2 id="h-r1">Pipeline runs</h2>{run_table}</section>
<section class="panel wide" aria-labelledby="h-r2"><h2 id="h-r2">Deployments</h2>{deploy_table}</section>
<section class="panel wide" aria-labelledby="h-r3"><h2 id="h-r3">Policy violations</h2>{viol_table}</section>
<section class="panel wide" aria-labelledby="h-r4"><h2 id="h-r4">Exceptions: who, what, when</h2>{exc_table}</section>
</div>"#,
        size = checkpoint.size,
        origin = esc(s.log.verifier().name()),
        key = esc(&s.log.verifier().to_string()),
        note = esc(&checkpoint.note),
        since = esc(&fmt(since)),
        until = esc(&fmt(until)),
        since_t = time(&fmt(since)),
        until_t = time(&fmt(until)),
        n_runs = run_rows.len(),
        n_deploy = deployment_rows.len(),
        n_viol = violation_rows.len(),
        n_exc = exception_rows.len(),
        run_table = html::table(
            "audit-runs",
            &["Finished", "Pipeline", "Run", "Outcome", "Source"],
            &run_rows,
            "No pipeline run finished in this period."
        ),
        deploy_table = html::table(
            "audit-deployments",
            &["When", "Change", "Environment", "Artifact", "Source"],
            &deployment_rows,
            "No deployment changed in this period."
        ),
        viol_table = html::table(
            "audit-violations",
            &["When", "Policy", "Mode", "Artifact", "Message"],
            &violation_rows,
            "No policy denied anything in this period."
        ),
        exc_table = html::table(
            "audit-exceptions",
            &["When", "Exception", "Change", "Who", "Why"],
            &exception_rows,
            "No exception changed in this period."
        ),
    );
    Ok(Html(html::page("Audit", "/ui/audit", &body)))
}
