//! The overview: what needs attention first (critical vulnerabilities running in production,
//! quarantined artifacts, denied deployments, exceptions about to expire, as linked rows), then
//! what is happening now — event rate, pipeline runs, security-tool runs, policy violations,
//! quarantined artifacts, exceptions expiring soon, clusters affected by vulnerabilities — with
//! the newest events arriving live.

use std::fmt::Write;

use axum::extract::State;
use axum::response::Html;
use dossier_store::{EventQuery, Order, StoredEvent, TypePattern};
use serde_json::Value;

use crate::html::{self, artifact, badge, esc, mark, time, Mark};
use crate::page::blocking;
use crate::page::PageResult;
use crate::state::Pages as AppState;
use dossier_engine::actions::RunState;
use dossier_engine::policy::Decided;
use dossier_log::own::now_nanos;

const DAY: i64 = 86_400 * 1_000_000_000;

fn content(e: &StoredEvent) -> Value {
    serde_json::from_slice::<Value>(&e.raw).map(|mut v| v["subject"]["content"].take()).unwrap_or(Value::Null)
}

fn stamp(e: &StoredEvent) -> String {
    time(&dossier_core::event::format_timestamp(e.time_unix_nanos))
}

fn text(v: &Value) -> String {
    esc(v.as_str().unwrap_or(""))
}

/// The newest `limit` entries of these types.
fn newest(types: &[&str], limit: usize) -> EventQuery {
    EventQuery {
        types: types.iter().map(|t| TypePattern((*t).to_owned())).collect(),
        order: Order::NewestFirst,
        limit,
        ..Default::default()
    }
}

/// What an empty live table of an unfiltered log says.
pub(super) const NO_EVENTS: &str =
    "No events yet. Send one: <code>dossier send event.json</code>, or fill Dossier with a story: <code>dossier demo</code>.";

/// The live table of the newest events (also used by the events page); `empty` (HTML) is what
/// it says while it has no row.
/// The live table of `events`, newest first; `next`: the link to the rows before them, said
/// by the table's pager.
pub(super) fn live_table(events: &[StoredEvent], stream_params: &str, empty: &str, next: Option<&str>) -> String {
    let mut rows = String::new();
    for e in events {
        let _ = write!(
            rows,
            r#"<tr><td data-sort="{seq}"><a href="/ui/events?seq={seq}">{seq}</a> <button type="button" class="expand" data-seq="{seq}" aria-expanded="false" aria-label="JSON of entry {seq}">JSON</button></td><td>{}</td><td class="mono">{}</td><td class="mono">{}</td><td class="mono">{}</td></tr>"#,
            stamp(e),
            esc(&e.event_type),
            esc(&e.subject_id),
            esc(&e.key.source),
            seq = e.seq
        );
    }
    let hidden = if events.is_empty() { " hidden" } else { "" };
    let empty_hidden = if events.is_empty() { "" } else { " hidden" };
    format!(
        r#"<p class="empty" id="live-empty"{empty_hidden}>{empty}</p>
<div class="tools"><span id="live-status" class="live off" aria-live="polite">○ connecting</span></div>
<table class="data" id="live" data-live="{}" data-status="live-status" data-empty="live-empty"{next_data}{hidden}><thead><tr><th scope="col">Entry</th><th scope="col">Time</th><th scope="col">Type</th><th scope="col">Subject</th><th scope="col">Source</th></tr></thead><tbody>{rows}</tbody></table>{next_link}"#,
        esc(stream_params),
        next_data = next.map(|n| format!(r#" data-next="{}""#, esc(n))).unwrap_or_default(),
        next_link = next
            .map(|n| format!(r#"<p class="pager-static" data-for="live"><a href="{}">Next rows →</a></p>"#, esc(n)))
            .unwrap_or_default(),
    )
}

pub(super) async fn page(State(s): State<AppState>) -> PageResult {
    let log = s.log.clone();
    let now = now_nanos();
    let (size, recent, last_hour, runs, decisions, actions, documents) = blocking(move || {
        let store = log.store();
        let size = store.size()?;
        let recent = store.query(&EventQuery { order: Order::NewestFirst, limit: 12, ..Default::default() })?.events;
        let last_hour = size - dossier_engine::report::first_received_at(store.as_ref(), size, now - 3_600_000_000_000)?;
        let runs = store.query(&newest(&["dev.cdevents.pipelinerun.finished.*"], 10))?.events;
        let decisions = store.query(&newest(&[&format!("{}*", dossier_core::own::OwnType::PolicyDecided.unversioned())], 200))?.events;
        let actions = store.query(&newest(&[&dossier_core::own::Family::Action.glob()], 300))?.events;
        let documents = store.query(&newest(&[&format!("{}*", dossier_core::own::OwnType::DocumentReceived.unversioned())], 10))?.events;
        Ok((size, recent, last_hour, runs, decisions, actions, documents))
    })
    .await?;

    // Policy violations: decisions that denied.
    let mut violations = Vec::new();
    for e in &decisions {
        let Some(d) = Decided::read(&e.raw) else { continue };
        for message in &d.deny {
            let target = d.artifact_id.as_deref().map(artifact).unwrap_or_default();
            violations.push(vec![stamp(e), esc(&e.subject_id), target, esc(message)]);
        }
    }
    // Counted whole (among the newest decisions read), listed ten at a time.
    let violation_count = violations.len();
    violations.truncate(10);

    // Security-tool runs: webhook and tool runs, newest first, and documents received.
    let entries: Vec<(u64, String, String, Value)> = actions
        .iter()
        .rev()
        .map(|e| (e.seq, e.event_type.clone(), dossier_core::event::format_timestamp(e.time_unix_nanos), content(e)))
        .collect();
    let mut folded = dossier_engine::actions::fold(entries.iter().map(|(seq, ty, t, c)| (*seq, ty.as_str(), t.as_str(), c)));
    folded.reverse();
    let mut tool_runs: Vec<Vec<String>> = folded
        .iter()
        .take(10)
        .map(|r| {
            vec![
                time(&r.queued_at),
                esc(r.kind),
                format!(r#"<span class="mono">{}</span>"#, esc(&r.target)),
                esc(&r.policy),
                r.artifact_id.as_deref().map(artifact).unwrap_or_default(),
                badge("st", r.status.as_str()),
            ]
        })
        .collect();
    for e in &documents {
        let c = content(e);
        let tools: Vec<String> = c["tools"].as_array().into_iter().flatten().filter_map(|t| t["name"].as_str().map(esc)).collect();
        let what = format!("{} document", text(&c["format"]));
        tool_runs.push(vec![
            stamp(e),
            what,
            tools.join(", "),
            "—".into(),
            c["artifactId"].as_str().map(artifact).unwrap_or_default(),
            badge("st", RunState::Succeeded.as_str()),
        ]);
    }

    let pipeline_rows: Vec<Vec<String>> = runs
        .iter()
        .map(|e| {
            let c = content(e);
            let outcome = c["outcome"].as_str().unwrap_or("unknown");
            // A pipeline run's outcome in the words of Dossier's own runs.
            let status = match outcome {
                "success" => RunState::Succeeded.as_str(),
                "failure" | "error" => RunState::Failed.as_str(),
                other => other,
            };
            vec![stamp(e), text(&c["pipelineName"]), format!(r#"<span class="mono">{}</span>"#, esc(&e.subject_id)), badge("st", status)]
        })
        .collect();

    let (quarantined, risk, vulnerabilities) = {
        let graph = s.views.lineage.read();
        (graph.quarantined(), graph.risk(), graph.vulnerabilities())
    };
    let quarantine_rows: Vec<Vec<String>> =
        quarantined.iter().map(|(a, seq)| vec![artifact(a), format!(r#"<a href="/ui/events?seq={seq}">{seq}</a>"#)]).collect();
    let risk_rows: Vec<Vec<String>> = risk
        .iter()
        .filter(|r| r.vulnerabilities > 0)
        .map(|r| {
            vec![
                format!(r#"<a href="/ui/environments#{}">{}</a>"#, esc(&html::query_value(&r.cluster)), esc(&r.cluster)),
                r.vulnerabilities.to_string(),
                badge("sev", r.worst.name()),
            ]
        })
        .collect();

    let rules = s.views.exceptions.rules();
    let expiring: Vec<Vec<String>> = {
        let book = s.views.exceptions.read();
        let mut soon: Vec<_> = book.active(now, &rules).filter(|e| e.expires_nanos - now < 14 * DAY).collect();
        soon.sort_by_key(|e| e.expires_nanos);
        soon.iter()
            .map(|e| {
                vec![
                    format!(r#"<a href="/ui/exceptions#{0}">{0}</a>"#, esc(&e.id)),
                    e.scope.vulnerabilities.iter().map(|v| html::vulnerability(v)).collect::<Vec<_>>().join(", "),
                    esc(&e.scope.artifacts.join(", ")),
                    time(&e.expires),
                ]
            })
            .collect()
    };
    let active = s.views.exceptions.read().active(now, &rules).count();

    // What needs attention first, in this order, each row linked: critical vulnerabilities
    // running in production, quarantined artifacts, deployments a policy denied, exceptions
    // expiring within three days.
    let mut attention: Vec<Vec<String>> = Vec::new();
    for v in vulnerabilities.iter().filter(|v| v.severity == dossier_core::Severity::Critical) {
        let production: Vec<&String> = v.clusters.iter().filter(|c| html::stage(c) == 0).collect();
        if !production.is_empty() {
            let places: Vec<String> =
                production.iter().map(|c| format!(r#"<a href="/ui/environments#{}">{}</a>"#, esc(&html::query_value(c)), esc(c))).collect();
            attention.push(vec![
                badge("sev", "critical"),
                format!("{} runs in production", html::vulnerability(&v.vulnerability)),
                places.join(", "),
            ]);
        }
    }
    for (a, seq) in &quarantined {
        attention.push(vec![mark(Mark::Quarantined), artifact(a), format!(r#"since <a href="/ui/events?seq={seq}">entry {seq}</a>"#)]);
    }
    for e in &decisions {
        let Some(d) = Decided::read(&e.raw) else { continue };
        let deployment =
            d.trigger.ty.starts_with("dev.cdevents.service.deployed.") || d.trigger.ty.starts_with("dev.cdevents.service.upgraded.");
        if deployment && !d.deny.is_empty() {
            attention.push(vec![
                mark(Mark::Denied),
                format!("{} deployed: {}", d.artifact_id.as_deref().map(artifact).unwrap_or_default(), esc(&d.deny.join("; "))),
                format!(
                    r#"by <a href="/ui/policies#{0}">{0}</a>, <a href="/ui/events?seq={1}">entry {1}</a>"#,
                    esc(&e.subject_id),
                    d.trigger.seq
                ),
            ]);
        }
    }
    {
        let book = s.views.exceptions.read();
        let mut soon: Vec<_> = book.active(now, &rules).filter(|e| e.expires_nanos - now < 3 * DAY).collect();
        soon.sort_by_key(|e| e.expires_nanos);
        for e in soon {
            attention.push(vec![
                mark(Mark::Expiring),
                format!(
                    r#"exception <a href="/ui/exceptions#{0}">{0}</a> for {1}"#,
                    esc(&e.id),
                    e.scope.vulnerabilities.iter().map(|v| html::vulnerability(v)).collect::<Vec<_>>().join(", ")
                ),
                format!("expires {}", time(&e.expires)),
            ]);
        }
    }

    let body = format!(
        r#"<h1>Overview</h1><p class="lead">What Dossier knows now. New events appear as they arrive, and the panels follow them.</p>
<div class="figures" id="figures" data-refresh>
<div class="figure"><b id="event-count">{size}</b><span>entries in the evidence log</span></div>
<div class="figure"><b>{last_hour}</b><span>entries received in the last hour</span></div>
<div class="figure"><b id="violation-count">{violations}</b><span>recent policy violations</span></div>
<div class="figure"><b>{quarantined}</b><span>quarantined artifacts</span></div>
<div class="figure"><b>{active}</b><span>exceptions in force</span></div>
<div class="figure"><b>{clusters}</b><span>clusters running something vulnerable</span></div>
</div>
<div class="grid">
<section class="panel wide" id="p-attention" data-refresh aria-labelledby="h-attention"><h2 id="h-attention">Needs attention <small>({attention_count})</small></h2>{attention_table}</section>
<section class="panel wide" aria-labelledby="h-live"><h2 id="h-live">Newest events</h2>{live}</section>
<section class="panel" id="p-runs" data-refresh aria-labelledby="h-runs"><h2 id="h-runs">Pipeline runs</h2>{pipelines}</section>
<section class="panel wide" id="p-tools" data-refresh aria-labelledby="h-tools"><h2 id="h-tools">Security-tool runs</h2>{tools}</section>
<section class="panel wide" id="p-viol" data-refresh aria-labelledby="h-viol"><h2 id="h-viol">Policy violations</h2>{violation_table}</section>
<section class="panel" id="p-quar" data-refresh aria-labelledby="h-quar"><h2 id="h-quar">Quarantined artifacts</h2>{quarantine_table}</section>
<section class="panel" id="p-exp" data-refresh aria-labelledby="h-exp"><h2 id="h-exp">Exceptions expiring within 14 days</h2>{expiring_table}</section>
<section class="panel" id="p-risk" data-refresh aria-labelledby="h-risk"><h2 id="h-risk">Clusters affected by vulnerabilities</h2>{risk_table}</section>
</div>"#,
        attention_count = attention.len(),
        attention_table = html::table("attention", &["What", "Which", "Where"], &attention, "Nothing needs attention: no critical vulnerability runs in production, nothing is quarantined, no deployment was denied recently, no exception expires within three days."),
        violations = violation_count,
        quarantined = quarantine_rows.len(),
        clusters = risk_rows.len(),
        live = live_table(&recent, "", NO_EVENTS, None),
        pipelines = html::table("runs", &["Finished", "Pipeline", "Run", "Outcome"], &pipeline_rows, "No pipeline run has finished yet. Point your CI at <code>POST /api/v1/events</code>."),
        tools = html::table("tools", &["When", "Kind", "Tool", "Policy", "Artifact", "Status"], &tool_runs, "No security tool has run yet. Policies ask for scans (<code>run</code>, <code>webhook</code>); scanners send their reports with <code>dossier document send</code>."),
        violation_table = html::table("violations", &["When", "Policy", "Artifact", "Message"], &violations, "No policy has denied anything recently."),
        quarantine_table = html::table("quarantined", &["Artifact", "Since entry"], &quarantine_rows, "No artifact is quarantined."),
        expiring_table = html::table("expiring", &["Exception", "Vulnerabilities", "Artifacts", "Expires"], &expiring, "No exception expires within 14 days."),
        risk_table = html::table("risk", &["Cluster", "Vulnerabilities", "Worst"], &risk_rows, "No cluster runs anything with a known vulnerability."),
    );
    Ok(Html(html::page("Overview", "/ui", &body)))
}
