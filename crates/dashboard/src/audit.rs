//! Audit: the log's size, its latest signed checkpoint and whether it verifies against the
//! log's key and the stored tree; and a report for a period — pipeline runs, deployments,
//! violations, exceptions — saying who did what, when.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;

use dossier_tlog::Checkpoint;

use crate::html::{self, artifact, badge, esc, time};
use crate::page::blocking;
use crate::page::{problem, PageResult};
use crate::state::Pages as AppState;
use dossier_log::own::now_nanos;

const WEEK: i64 = 7 * 86_400 * 1_000_000_000;
/// Lines of one kind a report lists at most.
const LIMIT: usize = dossier_engine::report::LIMIT;
/// Entries of one kind the page reads at most (the API's report reads them all).
const PAGE_READ: u64 = 5_000;

/// A section's count, "at least" when the page stopped reading before its end.
fn counted<T>(s: &dossier_engine::report::Section<T>) -> String {
    if s.complete {
        s.count.to_string()
    } else {
        format!("at least {}", s.count)
    }
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
    if since > until {
        let fmt = dossier_core::event::format_timestamp;
        return Err(bad(format!("since ({}) is after until ({}): the period would be empty; swap them", fmt(since), fmt(until))));
    }
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
        // The period's report, every section counted in full (the one the API and `dossier
        // audit report` give).
        // At most PAGE_READ entries a section, so that the page answers fast at any size;
        // past it a count says "at least" (`dossier audit report` reads everything).
        let reading = dossier_engine::report::Reading::AtMost(PAGE_READ);
        let report = dossier_engine::report::period_read(store.as_ref(), since, until, reading).map_err(|e| match e {
            dossier_engine::report::ReportError::Store(e) => e,
            e => dossier_store::StoreError::Backend(e.to_string()),
        })?;
        Ok((checkpoint, verdict, report))
    })
    .await?;
    let status = match &verdict {
        Ok(size) => format!(
            r#"<p class="ok"><b>✓ Verified</b>: the checkpoint is signed by the log's key, and its tree head of {size} entries matches the stored tree.</p>"#
        ),
        Err(e) => format!(r#"<p class="error">✗ {}</p>"#, esc(e)),
    };
    let at = |received: &str| time(received);
    let run_rows: Vec<Vec<String>> = report
        .pipeline_runs
        .lines
        .iter()
        .map(|l| vec![at(&l.received), esc(&l.what.pipeline), mono(&l.what.run), esc(&l.what.outcome), mono(&l.what.source)])
        .collect();
    let deployment_rows: Vec<Vec<String>> = report
        .deployments
        .lines
        .iter()
        .map(|l| {
            vec![
                at(&l.received),
                esc(l.what.action.as_str()),
                esc(&l.what.environment),
                artifact(&l.what.artifact),
                mono(l.sender.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    let gate_rows: Vec<Vec<String>> = report
        .gate
        .lines
        .iter()
        .map(|l| {
            let g = &l.what;
            let verdict = if g.allowed { badge("st", "allowed") } else { badge("st", "denied") };
            let dry = if g.dry_run { " (dry run)" } else { "" };
            vec![
                at(&l.received),
                format!("{verdict}{dry}"),
                esc(&g.environment),
                artifact(&g.artifact),
                esc(&g.requester),
                esc(&g.denies.join("; ")),
            ]
        })
        .collect();
    let violation_rows: Vec<Vec<String>> = report
        .violations
        .lines
        .iter()
        .map(|l| {
            let v = &l.what;
            vec![
                at(&l.received),
                esc(&v.policy),
                badge("st", v.mode.as_str()),
                v.artifact.as_deref().map(artifact).unwrap_or_default(),
                esc(&v.message),
            ]
        })
        .collect();
    let exception_rows: Vec<Vec<String>> = report
        .exceptions
        .lines
        .iter()
        .map(|l| {
            let e = &l.what;
            vec![
                at(&l.received),
                format!(r#"<a href="/ui/exceptions#{0}">{0}</a>"#, esc(&e.exception)),
                badge("st", e.act.as_str()),
                esc(l.sender.as_deref().unwrap_or("dossier")),
                esc(&e.why),
            ]
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
<p>Received from {since_t} to {until_t}: {n_runs} pipeline runs, {n_deploy} deployment changes, {n_gate} gate decisions ({n_denied} denied), {n_viol} violations, {n_exc} exception changes (each list shows the first {LIMIT} at most; a count reads at most {PAGE_READ} entries, "at least" past them). The whole report, every count exact, as a printable file: <code>dossier audit report --since … --until … -o report.html</code>.</p></section>
<div class="grid">
<section class="panel wide" aria-labelledby="h-r1"><h2 id="h-r1">Pipeline runs</h2>{run_table}</section>
<section class="panel wide" aria-labelledby="h-r2"><h2 id="h-r2">Deployments</h2>{deploy_table}</section>
<section class="panel wide" aria-labelledby="h-r5"><h2 id="h-r5">Gate decisions</h2>{gate_table}</section>
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
        n_runs = counted(&report.pipeline_runs),
        n_deploy = counted(&report.deployments),
        n_gate = counted(&report.gate),
        n_denied = report.environments.iter().map(|e| e.gate_denied).sum::<u64>(),
        n_viol = counted(&report.violations),
        n_exc = counted(&report.exceptions),
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
        gate_table = html::table(
            "audit-gate",
            &["When", "Verdict", "Environment", "Artifact", "Asked by", "Why"],
            &gate_rows,
            "The gate decided nothing in this period."
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
