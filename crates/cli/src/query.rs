//! `dossier events`, `dossier event` and `dossier artifact`: tables for people, JSON for scripts.

use std::process::ExitCode;

use anyhow::bail;
use serde_json::Value;

use crate::logcmd;
use crate::server_arg::ServerArg;
use dossier_client::Client;

#[derive(clap::Args, Debug)]
pub struct Filters {
    /// Event type; `*` is a wildcard (dev.cdevents.artifact.*); comma-separate several
    #[arg(long = "type")]
    pub types: Option<String>,
    /// Subject id
    #[arg(long)]
    pub subject: Option<String>,
    /// context.source
    #[arg(long)]
    pub source: Option<String>,
    /// context.chainId
    #[arg(long)]
    pub chain: Option<String>,
    /// Events naming this artifact (purl)
    #[arg(long)]
    pub artifact: Option<String>,
    /// context.timestamp at or after (RFC 3339)
    #[arg(long)]
    pub since: Option<String>,
    /// context.timestamp before (RFC 3339)
    #[arg(long)]
    pub until: Option<String>,
    /// Newest first
    #[arg(long)]
    pub newest_first: bool,
    /// Events per page
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Follow the cursor to the end instead of stopping after one page
    #[arg(long)]
    pub all: bool,
    /// Print JSON (one event per line) instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub filters: Filters,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(clap::Args, Debug)]
pub struct ArtifactArgs {
    /// The artifact's package URL, e.g. pkg:oci/app@sha256:... (any spelling)
    pub purl: String,
    #[command(flatten)]
    pub filters: Filters,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(clap::Args, Debug)]
pub struct EventArgs {
    /// Sequence number in the log
    pub seq: Option<u64>,
    /// Look the event up by context.source (with --id) instead
    #[arg(long, requires = "id", conflicts_with = "seq")]
    pub source: Option<String>,
    /// context.id
    #[arg(long, requires = "source")]
    pub id: Option<String>,
    /// Fetch its inclusion proof and verify it against the signed checkpoint
    #[arg(long)]
    pub proof: bool,
    /// The log's public key (text or a file holding it); by default the server's is used
    #[arg(long)]
    pub key: Option<String>,
    /// Print the JSON answer
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

fn params(f: &Filters) -> Vec<(&'static str, String)> {
    let mut p = vec![("limit", f.limit.to_string())];
    for (name, v) in [
        ("type", &f.types),
        ("subject", &f.subject),
        ("source", &f.source),
        ("chain", &f.chain),
        ("artifact", &f.artifact),
        ("since", &f.since),
        ("until", &f.until),
    ] {
        if let Some(v) = v {
            p.push((name, v.clone()));
        }
    }
    if f.newest_first {
        p.push(("order", "desc".into()));
    }
    p
}

fn short_type(t: &str) -> &str {
    t.strip_prefix("dev.cdevents.").unwrap_or(t)
}

fn list(client: &Client, path: &str, mut query: Vec<(&'static str, String)>, f: &Filters) -> anyhow::Result<ExitCode> {
    let mut printed = 0usize;
    if !f.json {
        println!("{:>8}  {:<24}  {:<34}  {:<40}  SOURCE", "SEQ", "TIMESTAMP", "TYPE", "SUBJECT");
    }
    loop {
        let page = client.get_json(path, &query)?;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        for e in &events {
            if f.json {
                println!("{e}");
            } else {
                println!(
                    "{:>8}  {:<24}  {:<34}  {:<40}  {}",
                    e["seq"].as_u64().unwrap_or(0),
                    e["timestamp"].as_str().unwrap_or(""),
                    short_type(e["type"].as_str().unwrap_or("")),
                    e["subject"].as_str().unwrap_or(""),
                    e["source"].as_str().unwrap_or("")
                );
            }
        }
        printed += events.len();
        match page["next"].as_str() {
            Some(next) if f.all => {
                query.retain(|(k, _)| *k != "after");
                query.push(("after", next.to_owned()));
            }
            Some(next) => {
                if !f.json {
                    eprintln!("({printed} shown; more with --all, or the cursor --after {next} in the API)");
                }
                break;
            }
            None => break,
        }
    }
    if printed == 0 && !f.json {
        eprintln!("no events match");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn events(args: EventsArgs) -> anyhow::Result<ExitCode> {
    let client = args.server.client();
    list(&client, "/api/v1/events", params(&args.filters), &args.filters)
}

pub fn artifact(args: ArtifactArgs) -> anyhow::Result<ExitCode> {
    if args.filters.artifact.is_some() {
        bail!("give the artifact as the argument, not with --artifact");
    }
    let client = args.server.client();
    let mut query = params(&args.filters);
    query.push(("purl", args.purl.clone()));
    list(&client, "/api/v1/artifact", query, &args.filters)
}

pub fn event(args: EventArgs) -> anyhow::Result<ExitCode> {
    let client = args.server.client();
    let proof = if args.proof { "true" } else { "false" }.to_owned();
    let answer: Value = match (args.seq, &args.source, &args.id) {
        (Some(seq), _, _) => client.get_json(&format!("/api/v1/events/{seq}"), &[("proof", proof)])?,
        (None, Some(source), Some(id)) => {
            client.get_json("/api/v1/event", &[("source", source.clone()), ("id", id.clone()), ("proof", proof)])?
        }
        _ => bail!("give a sequence number, or --source and --id"),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        println!("seq       {}", answer["seq"]);
        println!("received  {}", answer["received"].as_str().unwrap_or(""));
        println!("type      {}", answer["type"].as_str().unwrap_or(""));
        println!("source    {}", answer["source"].as_str().unwrap_or(""));
        println!("id        {}", answer["id"].as_str().unwrap_or(""));
        println!("subject   {}", answer["subject"].as_str().unwrap_or(""));
        println!("{}", serde_json::to_string_pretty(&answer["event"])?);
    }
    if args.proof {
        let key = logcmd::verifier(&client, args.key.as_deref())?;
        let seq = answer["seq"].as_u64().ok_or_else(|| anyhow::anyhow!("the answer carries no seq"))?;
        let entry = logcmd::entry(&client, seq, &answer)?;
        let summary = logcmd::check_inclusion(&answer["proof"], Some(&entry), &key)?;
        eprintln!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}
