//! `dossier send`: post events from files or stdin, in batches, with a summary.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::value::RawValue;

use crate::server_arg::ServerArg;

#[derive(clap::Args, Debug)]
pub struct SendArgs {
    /// Files holding a CDEvent, a JSON array of them, or NDJSON; "-" reads stdin
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Events per request
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    #[command(flatten)]
    pub server: ServerArg,
}

/// The events of one input, each as the exact text it has there.
fn split_events(text: &str) -> anyhow::Result<Vec<&str>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let raws: Vec<&RawValue> = serde_json::from_str(text).context("reading a JSON array of events")?;
        return Ok(raws.into_iter().map(RawValue::get).collect());
    }
    if let Ok(one) = serde_json::from_str::<&RawValue>(text) {
        return Ok(vec![one.get()]);
    }
    // NDJSON: the server reports a bad line precisely, so lines are sent as they are.
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

#[derive(Default)]
struct Summary {
    accepted: usize,
    duplicates: usize,
    conflicts: usize,
    rejected: usize,
    problems: Vec<String>,
}

pub fn run(args: SendArgs) -> anyhow::Result<ExitCode> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let client = args.server.client();
    let mut inputs = Vec::new();
    for path in &args.files {
        let text = if path.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("reading stdin")?;
            s
        } else {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        };
        inputs.push((path.display().to_string(), text));
    }
    let mut files = Vec::new();
    for (name, text) in &inputs {
        files.push((name.as_str(), split_events(text).with_context(|| name.clone())?));
    }
    let total: usize = files.iter().map(|(_, e)| e.len()).sum();
    let bar = if total >= 2000 { ProgressBar::new(total as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events, {per_sec}, eta {eta}").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut summary = Summary::default();
    for (name, events) in &files {
        for (chunk_no, chunk) in events.chunks(args.batch).enumerate() {
            let body = format!("[{}]", chunk.join(","));
            let (status, answer) = client.post("/api/v1/events", "application/json", body.as_bytes())?;
            let offset = chunk_no * args.batch;
            match answer["results"].as_array() {
                Some(results) => {
                    for r in results {
                        let index = offset + r["index"].as_u64().unwrap_or(0) as usize;
                        match r["status"].as_str() {
                            Some("accepted") => summary.accepted += 1,
                            Some("duplicate") => summary.duplicates += 1,
                            Some("conflict") => {
                                summary.conflicts += 1;
                                summary.problems.push(format!("{name}: event #{index}: {}", r["error"].as_str().unwrap_or("conflict")));
                            }
                            _ => {
                                summary.rejected += 1;
                                summary.problems.push(format!("{name}: event #{index}: {}", r["error"].as_str().unwrap_or("rejected")));
                            }
                        }
                    }
                }
                None => {
                    // The whole request was refused (too large, malformed, server unavailable).
                    let reason = answer["error"].as_str().map(str::to_owned).unwrap_or_else(|| answer.to_string());
                    summary.rejected += chunk.len();
                    summary.problems.push(format!("{name}: events #{offset} to #{}: HTTP {status}: {reason}", offset + chunk.len() - 1));
                }
            }
            bar.inc(chunk.len() as u64);
        }
    }
    bar.finish_and_clear();
    for p in &summary.problems {
        eprintln!("{p}");
    }
    println!(
        "{total} events: {} accepted, {} duplicates, {} conflicts, {} rejected",
        summary.accepted, summary.duplicates, summary.conflicts, summary.rejected
    );
    Ok(if summary.rejected + summary.conflicts == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
mod tests {
    use super::split_events;

    #[test]
    fn reads_an_object_an_array_and_ndjson_keeping_each_event_text() {
        assert_eq!(split_events(" {\"a\": 1}\n").unwrap(), vec!["{\"a\": 1}"]);
        assert_eq!(split_events("[{\"a\": 1}, {\"b\":2}]").unwrap(), vec!["{\"a\": 1}", "{\"b\":2}"]);
        assert_eq!(split_events("{\"a\": 1}\n\n{\"b\":2}\n").unwrap(), vec!["{\"a\": 1}", "{\"b\":2}"]);
    }

    #[test]
    fn a_broken_array_is_an_error() {
        assert!(split_events("[{\"a\": 1},").is_err());
    }
}
