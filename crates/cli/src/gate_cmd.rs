//! `dossier gate`: ask the deployment gate before deploying. Exit 0 when allowed, 1 when
//! denied, 2 when the gate could not answer (the server unreachable, a malformed question):
//! a CI step fails closed on anything but a yes.

use std::process::ExitCode;

use anyhow::{bail, Context};
use serde::Deserialize;
use serde_json::Value;

use dossier_engine::gate::{Ask, GateDecided, Said};

use crate::server_arg::ServerArg;

#[derive(clap::Args, Debug)]
pub struct GateArgs {
    /// The artifact: a purl (pkg:oci/shop@sha256:…) or an image reference pinned by digest
    /// (ghcr.io/acme/shop@sha256:…)
    #[arg(long)]
    pub artifact: String,
    /// The environment it would be deployed to
    #[arg(long)]
    pub environment: String,
    /// Context recorded with the decision and shown to policies as input.gate.context: a JSON
    /// object, or @FILE
    #[arg(long)]
    pub context: Option<String>,
    /// Your id for this question: asked again, it gets the same decision (e.g. the pipeline
    /// run's id and attempt)
    #[arg(long)]
    pub request_id: Option<String>,
    /// Decide and record it as a dry run
    #[arg(long)]
    pub dry_run: bool,
    /// Print the decision as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

/// The gate's answer as the API gives it: the decision, and where it is in the log.
#[derive(Deserialize)]
struct Answer {
    #[serde(flatten)]
    decided: GateDecided,
    seq: u64,
    #[serde(default)]
    repeated: bool,
}

pub fn run(args: GateArgs) -> anyhow::Result<ExitCode> {
    let context = match args.context.as_deref() {
        None => Value::Null,
        Some(text) => {
            let text = match text.strip_prefix('@') {
                Some(path) => std::fs::read_to_string(path).with_context(|| format!("--context @{path}"))?,
                None => text.to_owned(),
            };
            serde_json::from_str(&text).context("--context must be JSON")?
        }
    };
    let ask = Ask { artifact: args.artifact, environment: args.environment, context, dry_run: args.dry_run, request_id: args.request_id };
    let client = args.server.client();
    let (status, body) = client.post("/api/v1/gate", "application/json", &serde_json::to_vec(&ask)?)?;
    if status != 200 {
        let message = body.get("error").and_then(Value::as_str).map_or_else(|| body.to_string(), str::to_owned);
        bail!("the gate did not answer ({status}): {message}");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    }
    let answer: Answer = serde_json::from_value(body).context("the gate's answer does not read")?;
    if !args.json {
        print!("{}", summary(&answer.decided, answer.seq, answer.repeated));
        if !answer.decided.allowed {
            print!("{}", waivers(&client, &answer.decided));
        }
    }
    Ok(if answer.decided.allowed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// What a person reads in a CI log: the verdict, then each reason.
fn summary(d: &GateDecided, seq: u64, repeated: bool) -> String {
    let mut out = String::new();
    let verdict = if d.allowed { "ALLOWED" } else { "DENIED" };
    let dry = if d.asked.dry_run { " (dry run)" } else { "" };
    out.push_str(&format!("{verdict}{dry}: {} to {}\n", d.artifact, d.environment));
    let again = if repeated { ", asked before under this request id" } else { "" };
    out.push_str(&format!("  decision {} (log entry {seq}{again})\n", d.decision_id));
    let line = |out: &mut String, tag: &str, s: &Said| {
        for m in &s.messages {
            out.push_str(&format!("  {tag} {}: {m}\n", s.policy));
        }
    };
    for s in &d.denies {
        line(&mut out, "deny ", s);
    }
    for s in &d.warnings {
        line(&mut out, "warn ", s);
    }
    for s in &d.errors {
        line(&mut out, "error", s);
    }
    if !d.exceptions_applied.is_empty() {
        out.push_str(&format!("  exceptions applied: {}\n", d.exceptions_applied.join(", ")));
    }
    let names: Vec<String> = d.policies.iter().map(|p| format!("{} {}", p.policy, &p.version[..p.version.len().min(12)])).collect();
    out.push_str(&format!(
        "  checked by {} {}: {}; on {} entries and {} documents\n",
        names.len(),
        if names.len() == 1 { "policy" } else { "policies" },
        if names.is_empty() { "none".to_owned() } else { names.join(", ") },
        d.evidence.entries.len(),
        d.evidence.documents.len()
    ));
    out
}

/// Which exceptions would waive the denials: those requested and awaiting approval, and how to
/// request one.
fn waivers(client: &dossier_client::Client, d: &GateDecided) -> String {
    let mut out = String::new();
    let query = [("artifact", d.artifact.clone()), ("environment", d.environment.clone()), ("state", "requested".to_owned())];
    if let Ok(v) = client.get_json("/api/v1/exceptions", &query) {
        #[derive(Deserialize)]
        struct Listed {
            id: String,
            #[serde(default)]
            reason: String,
        }
        let listed: Vec<Listed> = v.get("exceptions").cloned().and_then(|e| serde_json::from_value(e).ok()).unwrap_or_default();
        for e in listed {
            out.push_str(&format!("  awaiting approval: exception {} ({}): dossier exception approve {}\n", e.id, e.reason, e.id));
        }
    }
    for s in d.denies.iter().filter(|s| s.policy != dossier_engine::gate::UNKNOWN_ARTIFACT) {
        out.push_str(&format!(
            "  to waive {}: dossier exception request --artifact '{}' --environment '{}' --policy {} --reason '…' --expires <RFC 3339> [--vulnerability ID]\n",
            s.policy, d.artifact, d.environment, s.policy
        ));
    }
    if d.denies.iter().any(|s| s.policy == dossier_engine::gate::UNKNOWN_ARTIFACT) {
        out.push_str("  Dossier knows nothing of this artifact: send its build's events (artifact.packaged, artifact.published) first\n");
    }
    out
}
