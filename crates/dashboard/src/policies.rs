//! Policies: what is loaded (mode, triggers, allowed actions, version), what was refused, and
//! what they decided lately — violations first.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::response::Html;
use dossier_store::{EventQuery, Order, TypePattern};

use crate::html::{self, artifact, badge, esc, time};
use crate::page::blocking;
use crate::page::PageResult;
use crate::state::Pages as AppState;
use dossier_engine::policy::{Decided, Lag};

/// Decisions looked at for the recent counts.
const RECENT: usize = 1000;

#[derive(Default)]
struct Tally {
    decisions: usize,
    denied: usize,
    warned: usize,
    acted: usize,
    last: Option<String>,
}

pub(super) async fn page(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> PageResult {
    let log = s.log.clone();
    let decisions = blocking(move || {
        let q = EventQuery {
            types: vec![TypePattern(format!("{}*", dossier_core::own::OwnType::PolicyDecided.unversioned()))],
            order: Order::NewestFirst,
            limit: RECENT,
            ..Default::default()
        };
        Ok(log.store().query(&q)?.events)
    })
    .await?;
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    let mut violations = Vec::new();
    for e in &decisions {
        let Some(d) = Decided::read(&e.raw) else { continue };
        let when = dossier_core::event::format_timestamp(e.time_unix_nanos);
        let t = tally.entry(e.subject_id.clone()).or_default();
        t.decisions += 1;
        t.denied += usize::from(!d.deny.is_empty());
        t.warned += usize::from(!d.warn.is_empty());
        t.acted += usize::from(!d.actions.is_empty());
        t.last.get_or_insert(when.clone());
        for m in &d.deny {
            if violations.len() < 50 {
                let target = d.artifact_id.as_deref().map(artifact).unwrap_or_default();
                violations.push(vec![time(&when), esc(&e.subject_id), badge("st", d.mode.as_str()), target, esc(m)]);
            }
        }
    }
    let status = match s.policies.clone() {
        // Blocking: the lag may read an entry of the store.
        Some(p) => Some(blocking(move || Ok(p.status())).await?),
        None => None,
    };
    let (loaded, refused, dir, lag) = match status {
        Some(status) => (status.policies, status.errors, Some(status.dir), Some(status.lag)),
        None => (Vec::new(), Vec::new(), None, None),
    };
    let policy_rows: Vec<Vec<String>> = loaded
        .iter()
        .map(|p| {
            let t = tally.get(&p.name);
            let mode = serde_json::to_value(p.mode).ok().and_then(|m| m.as_str().map(str::to_owned)).unwrap_or_default();
            vec![
                format!("<b>{}</b>", esc(&p.name)),
                badge("st", &mode),
                format!(r#"<span class="mono">{}</span>"#, esc(&p.triggers.join(", "))),
                esc(&p.allowed_actions.join(", ")),
                t.map_or(0, |t| t.decisions).to_string(),
                t.map_or(0, |t| t.denied).to_string(),
                t.map_or(0, |t| t.warned).to_string(),
                t.map_or(0, |t| t.acted).to_string(),
                t.and_then(|t| t.last.as_deref()).map(time).unwrap_or_default(),
                format!(r#"<span class="mono" title="{0}">{1}</span>"#, esc(&p.version), esc(&p.version[..12.min(p.version.len())])),
            ]
        })
        .collect();
    let refused_rows: Vec<Vec<String>> = refused.iter().map(|e| vec![esc(&e.file), format!("<pre>{}</pre>", esc(&e.message))]).collect();
    let intro = match &dir {
        Some(d) => format!("Rego policies from <code>{}</code>, picked up within a second of a change. Decisions counted over the last {RECENT}.", esc(d)),
        None => "No policy engine runs: start the server with <code>dossier serve --policies DIR</code> (the starter pack is in <code>policies/</code>).".into(),
    };
    let replay_form = if loaded.is_empty() {
        String::new()
    } else {
        let wanted = params.get("replay").map(String::as_str).unwrap_or("");
        let options: String = loaded
            .iter()
            .map(|p| format!(r#"<option value="{0}"{1}>{0}</option>"#, esc(&p.name), if p.name == wanted { " selected" } else { "" }))
            .collect();
        let value = |k: &str| params.get(k).map(|v| esc(v)).unwrap_or_default();
        format!(
            r#"<form class="stack" method="get" action="/ui/policies" aria-label="Replay a policy"><div><label for="r-p">Policy</label><select id="r-p" name="replay">{options}</select></div><div><label for="r-s">Since (RFC 3339)</label><input id="r-s" name="since" value="{}" placeholder="2026-11-01T00:00:00Z"></div><div><label for="r-u">Until (RFC 3339)</label><input id="r-u" name="until" value="{}" placeholder="now"></div><div><button class="primary" type="submit">Replay</button></div></form>"#,
            value("since"),
            value("until")
        )
    };
    let replay_result = match params.get("replay") {
        None => String::new(),
        Some(name) => match replay(&s, name, params.get("since").map(String::as_str), params.get("until").map(String::as_str)).await {
            Err(message) => format!(r#"<p class="error" role="alert">{}</p>"#, esc(&message)),
            Ok(r) => {
                let rows: Vec<Vec<String>> = r
                    .decisions
                    .iter()
                    .map(|d| {
                        let what: Vec<String> = d
                            .decision
                            .deny
                            .iter()
                            .map(|m| format!(r#"<span class="deny">deny</span>: {}"#, esc(m)))
                            .chain(d.decision.warn.iter().map(|m| format!(r#"<span class="warn">warn</span>: {}"#, esc(m))))
                            .chain(d.decision.actions.iter().map(|a| format!("would {}", esc(a["kind"].as_str().unwrap_or("act")))))
                            .chain(d.decision.errors.iter().map(|m| format!(r#"<span class="error">error</span>: {}"#, esc(m))))
                            .collect();
                        vec![
                            format!(r#"<a href="/ui/events?seq={0}" data-sort="{0}">{0}</a>"#, d.seq),
                            format!(r#"<span class="mono">{}</span>"#, esc(&d.event_type)),
                            d.artifact.as_deref().map(artifact).unwrap_or_default(),
                            what.join("<br>"),
                        ]
                    })
                    .collect();
                let truncated = if r.truncated {
                    format!(" Stopped after {} evaluations.", dossier_engine::replay::MAX_EVALUATIONS)
                } else {
                    String::new()
                };
                format!(
                    r#"<p id="replay-summary"><b>{}</b>: {} evaluations — {} would deny, {} would warn, {} would act. Nothing was run.{truncated}</p>{}"#,
                    esc(&r.policy),
                    r.evaluated,
                    r.denied,
                    r.warned,
                    r.acting,
                    html::table(
                        "replay",
                        &["Entry", "Type", "Artifact", "Would have"],
                        &rows,
                        "It would have decided nothing in this period."
                    )
                )
            }
        },
    };
    let lag = lag.map(lag_line).unwrap_or_default();
    let body = format!(
        r#"<h1>Policies</h1><p class="lead">{intro}</p>{lag}
<div class="grid">
<section class="panel wide" aria-labelledby="h-loaded"><h2 id="h-loaded">Loaded</h2>{policy_table}</section>
<section class="panel wide" aria-labelledby="h-refused"><h2 id="h-refused">Refused modules</h2>{refused_table}</section>
<section class="panel wide" aria-labelledby="h-viol"><h2 id="h-viol">Recent violations</h2>{violation_table}</section>
<section class="panel wide" aria-labelledby="h-replay"><h2 id="h-replay">Try a policy on history</h2>
<p>Replay evaluates a loaded policy over the stored events of a period, as it would have decided then, without acting. (From the command line, a policy not loaded yet: <code>dossier policy replay POLICY --dir DIR --since …</code>.)</p>
{replay_form}{replay_result}</section>
</div>"#,
        policy_table = html::table(
            "policies",
            &["Policy", "Mode", "Triggers", "May", "Decisions", "Denied", "Warned", "Acted", "Last", "Version"],
            &policy_rows,
            "No policy is loaded. Put <code>.rego</code> files in the policy directory, or upload one: <code>curl -X PUT --data-binary @p.rego /api/v1/policies/p</code>."
        ),
        refused_table = html::table("refused", &["File", "Why"], &refused_rows, "Every module compiles."),
        violation_table = html::table("policy-violations", &["When", "Policy", "Mode", "Artifact", "Message"], &violations, "No recent decision denied anything."),
    );
    Ok(Html(html::page("Policies", "/ui/policies", &body)))
}

/// How far evaluation is behind the log, in words.
fn lag_line(lag: Lag) -> String {
    if lag.entries == 0 {
        return r#"<p id="policy-lag">Evaluation is up to date: every entry of the log is decided.</p>"#.to_owned();
    }
    format!(
        r#"<p id="policy-lag">Evaluation lags <b>{} {}</b> behind the log; the oldest not decided yet was received <b>{:.1} s</b> ago.</p>"#,
        lag.entries,
        if lag.entries == 1 { "entry" } else { "entries" },
        lag.seconds
    )
}

/// Replays loaded policy `name` over a period given as RFC 3339 bounds (empty: unbounded).
async fn replay(s: &AppState, name: &str, since: Option<&str>, until: Option<&str>) -> Result<dossier_engine::replay::Replay, String> {
    let service = s.policies.clone().ok_or("no policy directory is configured; start the server with --policies DIR")?;
    let time = |name: &str, t: Option<&str>| t.filter(|t| !t.is_empty()).map(|t| dossier_store::parse_time_param(name, t)).transpose();
    let (since, until) = (time("since", since)?, time("until", until)?);
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || service.replay(&name, since, until))
        .await
        .map_err(|e| format!("internal error: {e}"))?
        .map_err(|e| e.to_string())
}
