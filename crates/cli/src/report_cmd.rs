//! `dossier audit report --since --until`: the report of a period, as one self-contained,
//! printable HTML file (no script, no outside asset) or as JSON: deployments to each
//! environment, what the gate allowed and denied, exceptions and who approved them, policy
//! changes, violations, tool runs — each line naming its entry, all of them in the signed
//! checkpoint the report cites.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use serde::Deserialize;

use dossier_engine::report::{Line, Report, Section};

use crate::server_arg::ServerArg;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Start of the period (RFC 3339) [default: a week before --until]
    #[arg(long)]
    pub since: Option<String>,
    /// End of the period, excluded (RFC 3339) [default: now]
    #[arg(long)]
    pub until: Option<String>,
    /// Write the report to this file (HTML, or JSON with --json) instead of standard output
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
    /// JSON rather than HTML
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(flatten)]
    report: Report,
    checkpoint: Checkpoint,
}

#[derive(Deserialize)]
struct Checkpoint {
    size: u64,
    note: String,
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let mut query = Vec::new();
    if let Some(s) = &args.since {
        query.push(("since", s.clone()));
    }
    if let Some(u) = &args.until {
        query.push(("until", u.clone()));
    }
    let v = args.server.client().get_json("/api/v1/audit/report", &query)?;
    let text = if args.json {
        serde_json::to_string_pretty(&v)?
    } else {
        let answer: Answer = serde_json::from_value(v).context("the report does not read")?;
        html(&answer.report, &answer.checkpoint)
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#111}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.25rem .4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}\
th{background:#f3f3f3}.mono,pre{font-family:ui-monospace,monospace;font-size:12px}.denied{color:#a00;font-weight:600}.allowed{color:#060;font-weight:600}\
pre{background:#f6f6f6;padding:.5rem;white-space:pre-wrap}@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}";

/// One section as a table: its count, then its lines (each with its entry), saying when some
/// are not listed.
fn table<T>(out: &mut String, title: &str, s: &Section<T>, head: &[&str], row: impl Fn(&Line<T>) -> Vec<String>) {
    let _ = write!(out, "<h2>{} <small>({})</small></h2>", esc(title), s.count);
    if s.lines.is_empty() {
        out.push_str("<p>None in the period.</p>");
        return;
    }
    out.push_str("<table><thead><tr><th>Entry</th><th>Received</th><th>By</th>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for l in &s.lines {
        let _ = write!(
            out,
            "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td>",
            l.seq,
            esc(&l.received),
            esc(l.sender.as_deref().unwrap_or("dossier"))
        );
        for cell in row(l) {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    if s.truncated() {
        let _ = write!(out, "<p>The first {} of {} are listed; `--json` or a shorter period lists the rest.</p>", s.lines.len(), s.count);
    }
}

/// The report as one self-contained HTML page.
fn html(r: &Report, c: &Checkpoint) -> String {
    let mut out = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Dossier audit report {} – {}</title><style>{STYLE}</style></head><body>",
        esc(&r.since),
        esc(&r.until)
    );
    let _ = write!(
        out,
        "<h1>Audit report</h1><p>Entries received from <b>{}</b> to <b>{}</b>: log entries {} to {} (excluded).</p>",
        esc(&r.since),
        esc(&r.until),
        r.first,
        r.end
    );
    let _ = write!(
        out,
        "<p>Every line names its log entry. The entries before {} are in the signed checkpoint below: prove one with \
         <span class=\"mono\">dossier log prove SEQ --key \"$(cat log.pub)\"</span>, or verify an artifact's whole story with \
         <span class=\"mono\">dossier audit bundle</span>.</p><pre>{}</pre>",
        c.size,
        esc(&c.note)
    );
    out.push_str("<h2>Environments</h2>");
    if r.environments.is_empty() {
        out.push_str("<p>No deployment and no gate decision in the period.</p>");
    } else {
        out.push_str(
            "<table><thead><tr><th>Environment</th><th>Deployments</th><th>Gate: allowed</th><th>Gate: denied</th></tr></thead><tbody>",
        );
        for e in &r.environments {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&e.environment),
                e.deployments,
                e.gate_allowed,
                e.gate_denied
            );
        }
        out.push_str("</tbody></table>");
    }
    table(&mut out, "Deployments", &r.deployments, &["Action", "Environment", "Artifact"], |l| {
        vec![esc(l.what.action.as_str()), esc(&l.what.environment), format!("<span class=\"mono\">{}</span>", esc(&l.what.artifact))]
    });
    table(&mut out, "Gate decisions", &r.gate, &["Decision", "Verdict", "Environment", "Artifact", "Why", "Exceptions"], |l| {
        let g = &l.what;
        let verdict = match (g.allowed, g.dry_run) {
            (true, false) => "<span class=\"allowed\">allowed</span>".to_owned(),
            (false, false) => "<span class=\"denied\">denied</span>".to_owned(),
            (true, true) => "allowed (dry run)".to_owned(),
            (false, true) => "denied (dry run)".to_owned(),
        };
        vec![
            format!("<span class=\"mono\">{}</span>", esc(&g.decision_id)),
            verdict,
            esc(&g.environment),
            format!("<span class=\"mono\">{}</span>", esc(&g.artifact)),
            g.denies.iter().map(|d| esc(d)).collect::<Vec<_>>().join("<br>"),
            esc(&g.exceptions_applied.join(", ")),
        ]
    });
    table(&mut out, "Exceptions", &r.exceptions, &["Exception", "Act", "Why"], |l| {
        vec![format!("<span class=\"mono\">{}</span>", esc(&l.what.exception)), esc(l.what.act.as_str()), esc(&l.what.why)]
    });
    table(&mut out, "Policy changes", &r.policy_changes, &["Policy", "Act", "Version"], |l| {
        vec![
            esc(&l.what.policy),
            esc(l.what.act.as_str()),
            format!("<span class=\"mono\">{}</span>", esc(l.what.version.as_deref().unwrap_or(""))),
        ]
    });
    table(&mut out, "Violations", &r.violations, &["Policy", "Mode", "Artifact", "Message", "About entry"], |l| {
        let v = &l.what;
        vec![
            esc(&v.policy),
            esc(v.mode.as_str()),
            format!("<span class=\"mono\">{}</span>", esc(v.artifact.as_deref().unwrap_or(""))),
            esc(&v.message),
            v.trigger.to_string(),
        ]
    });
    table(&mut out, "Tool runs", &r.tool_runs, &["Kind", "Target", "Policy", "Artifact", "Status"], |l| {
        let t = &l.what;
        let status = t.status.map(|s| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default());
        vec![
            esc(&t.kind),
            esc(&t.target),
            esc(&t.policy),
            format!("<span class=\"mono\">{}</span>", esc(t.artifact.as_deref().unwrap_or(""))),
            esc(&status.unwrap_or_default()),
        ]
    });
    out.push_str("</body></html>\n");
    out
}
