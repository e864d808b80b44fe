//! `dossier actions`: which webhooks and tools ran, on which artifact, when, with what result,
//! asked for by which policy.

use std::process::ExitCode;

use serde_json::Value;

use crate::server_arg::ServerArg;

#[derive(clap::Args, Debug)]
pub struct ActionsArgs {
    /// Only the runs about this artifact purl
    #[arg(long)]
    pub artifact: Option<String>,
    /// Only the runs this policy asked for
    #[arg(long)]
    pub policy: Option<String>,
    /// queued, running, succeeded, failed or timeout
    #[arg(long)]
    pub status: Option<String>,
    /// Only runs queued at or after this moment (RFC 3339)
    #[arg(long)]
    pub since: Option<String>,
    /// The newest runs shown
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Print the JSON answer
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

pub fn run(args: ActionsArgs) -> anyhow::Result<ExitCode> {
    let mut query = vec![("limit", args.limit.to_string())];
    for (name, value) in [("artifact", &args.artifact), ("policy", &args.policy), ("status", &args.status), ("since", &args.since)] {
        if let Some(v) = value {
            query.push((name, v.clone()));
        }
    }
    let v = args.server.client().get_json("/api/v1/actions", &query)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let runs = v["runs"].as_array().cloned().unwrap_or_default();
    for r in &runs {
        let f = &r["finished"];
        let mut result = s(&r["status"]);
        if let Some(ms) = f["durationMs"].as_u64() {
            result.push_str(&format!(" in {ms} ms"));
        }
        if let Some(code) = f["exitCode"].as_i64() {
            result.push_str(&format!(", exit {code}"));
        }
        if let Some(code) = f["httpStatus"].as_u64() {
            result.push_str(&format!(", HTTP {code}"));
        }
        if let Some(n) = f["attempts"].as_u64().filter(|n| *n > 1) {
            result.push_str(&format!(", {n} attempts"));
        }
        let executions = r["started"].as_array().map_or(0, Vec::len);
        if executions > 1 {
            result.push_str(&format!(", {executions} executions"));
        }
        if let Some(reason) = f["reason"].as_str() {
            result.push_str(&format!(": {reason}"));
        }
        let output = f["outputDigest"].as_str().map(|d| format!("  output {d}")).unwrap_or_default();
        println!(
            "{}  {:<7} {:<28} by {:<24} {:<40} {result}{output}",
            s(&r["queuedAt"]),
            s(&r["kind"]),
            s(&r["target"]),
            s(&r["policy"]),
            s(&r["artifactId"])
        );
    }
    println!("{} runs", runs.len());
    Ok(ExitCode::SUCCESS)
}
