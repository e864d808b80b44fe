//! `dossier policy`: check, test and try policies before they run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use dossier_policy::{PolicySet, TestOutcome};
use serde_json::Value;

use crate::server_arg::ServerArg;
use dossier_client::Client;

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Load a policy bundle (a directory or an OPA bundle .tar.gz) and list its policies and
    /// libraries, or what does not load (exit 1)
    Check { dir: PathBuf },
    /// Run the Rego unit tests (rules named test_*) of a policy bundle, as `opa test` does:
    /// exit 0 when all pass, 2 when one fails, 1 when the bundle does not load
    Test(TestArgs),
    /// Show the input document an event gives the policies, and what they decide: exit 0 when
    /// no enforce policy denies, 1 when one does, 2 when the bundle does not load
    Eval(EvalArgs),
    /// Evaluate one policy over stored history without acting: what would it have decided?
    Replay(ReplayArgs),
}

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Policy bundle: a directory or an OPA bundle .tar.gz
    pub dir: PathBuf,
    /// List every test with its outcome and duration, not only the failures
    #[arg(short, long)]
    pub verbose: bool,
    /// Run only the tests whose name (package.rule) this regular expression matches
    #[arg(long, value_name = "REGEX")]
    pub run: Option<String>,
    /// `pretty` (the default) or `json`: every result as one JSON array
    #[arg(long, default_value = "pretty", value_parser = ["pretty", "json"])]
    pub format: String,
}

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The policy's name (its file name without .rego)
    pub policy: String,
    /// Policy directory
    #[arg(long, default_value = "policies")]
    pub dir: PathBuf,
    /// Events whose context.timestamp is at or after this (RFC 3339)
    #[arg(long)]
    pub since: Option<String>,
    /// Events whose context.timestamp is before this (RFC 3339)
    #[arg(long)]
    pub until: Option<String>,
    /// Print every decision as JSON lines instead of a summary table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Policy directory
    #[arg(long, default_value = "policies")]
    pub dir: PathBuf,
    /// The triggering CDEvent (a JSON file, or - for stdin)
    #[arg(long)]
    pub event: PathBuf,
    /// Do not ask a server for the subject's history: evaluate on the event alone
    #[arg(long)]
    pub offline: bool,
    /// Print the input document too
    #[arg(long)]
    pub show_input: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

/// `dossier.events(filter)` answered by a server's events API.
fn events_from_server(server: &ServerArg) -> dossier_policy::EventsFn {
    let client = std::sync::Arc::new(server.client());
    std::sync::Arc::new(move |filter: &Value| {
        let pairs = dossier_policy::filter_params(filter)?;
        let query: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let page = client.get_json("/api/v1/events", &query).map_err(|e| e.to_string())?;
        Ok(page["events"].clone())
    })
}

/// Loads a bundle; `events` answers `dossier.events` (empty lists without a server).
fn load(dir: &Path, events: Option<dossier_policy::EventsFn>) -> anyhow::Result<(PolicySet, bool)> {
    let (set, errors) = PolicySet::load_dir_with(dir, events).map_err(|e| anyhow!("{e}"))?;
    for e in &errors {
        eprintln!("error: {}: {}", dir.join(&e.file).display(), e.message);
    }
    Ok((set, errors.is_empty()))
}

fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    let only = match &args.run {
        Some(r) => Some(regex_lite::Regex::new(r).with_context(|| format!("--run {r:?} is not a regular expression"))?),
        None => None,
    };
    let (mut set, ok) = load(&args.dir, None)?;
    let results = set.run_tests(&|name| only.as_ref().is_none_or(|r| r.is_match(name)));
    let failed = results.iter().filter(|r| matches!(r.outcome, TestOutcome::Failed(_))).count();
    let skipped = results.iter().filter(|r| r.outcome == TestOutcome::Skipped).count();
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for r in &results {
            let at = format!("{}:{}", args.dir.join(&r.file).display(), r.line);
            let took = format!("{:.3}ms", r.duration_ns as f64 / 1e6);
            match &r.outcome {
                TestOutcome::Passed if args.verbose => println!("PASS  {} ({took})", r.name),
                TestOutcome::Skipped if args.verbose => println!("SKIP  {} ({at})", r.name),
                TestOutcome::Failed(why) => println!("FAIL  {} ({at}): {why}", r.name),
                _ => {}
            }
        }
        let skipped = if skipped > 0 { format!(", {skipped} skipped") } else { String::new() };
        println!(
            "{} passed, {failed} failed{skipped}",
            results.len() - failed - results.iter().filter(|r| r.outcome == TestOutcome::Skipped).count()
        );
    }
    Ok(if !ok {
        ExitCode::from(1)
    } else if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::Check { dir } => {
            let (set, ok) = load(&dir, None)?;
            for p in set.policies() {
                println!(
                    "{:<32} {:<8} {}  triggers: {}  on error: {}",
                    p.name,
                    p.mode.as_str(),
                    &p.version[..12],
                    p.triggers.join(", "),
                    p.on_error.as_str()
                );
            }
            for l in set.libraries() {
                println!("{:<32} library  {}", l.package, l.files.join(", "));
                if l.decides_nothing {
                    eprintln!(
                        "note: package {} defines deny, warn or actions but no triggers: it is a library and decides nothing; \
                         add triggers := [...] to make it a policy",
                        l.package
                    );
                }
            }
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        PolicyCommand::Test(args) => test(args),
        PolicyCommand::Eval(args) => eval(args),
        PolicyCommand::Replay(args) => replay(args),
    }
}

/// The input the server would have built for `event`: its artifact's timeline up to it, its
/// lineage (as known now), and the exceptions in force at `at` (RFC 3339; now when `None`).
fn input_from_server(client: &Client, event: &Value, before_seq: Option<u64>, at: Option<&str>) -> anyhow::Result<Value> {
    let artifact = dossier_policy::input::subject_artifact(event);
    let mut query = vec![("state", "active".to_owned())];
    if let Some(a) = &artifact {
        query.push(("artifact", a.clone()));
    }
    if let Some(t) = at {
        query.push(("at", t.to_owned()));
    }
    let exceptions = client.get_json("/api/v1/exceptions", &query)?["exceptions"].as_array().cloned().unwrap_or_default();
    let (timeline, lineage) = match artifact {
        Some(purl) => {
            let page = client.get_json("/api/v1/artifact", &[("purl", purl.clone()), ("limit", "1000".into())])?;
            let timeline: Vec<Value> = page["events"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| before_seq.is_none_or(|s| e["seq"].as_u64().is_some_and(|x| x < s)))
                .cloned()
                .collect();
            // No lineage is known for an artifact the graph has not seen.
            (timeline, client.get_json("/api/v1/lineage", &[("purl", purl)]).ok())
        }
        None => (Vec::new(), None),
    };
    Ok(dossier_policy::input::build(event, &timeline, lineage, exceptions))
}

fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let (all, _) = load(&args.dir, Some(events_from_server(&args.server)))?;
    let mut set = all.only(&args.policy).ok_or_else(|| anyhow!("no policy {:?} loads from {}", args.policy, args.dir.display()))?;
    set.audit_disabled();
    let client = args.server.client();
    let mut query: Vec<(&str, String)> = vec![("limit", "1000".into())];
    if let Some(t) = &args.since {
        query.push(("since", t.clone()));
    }
    if let Some(t) = &args.until {
        query.push(("until", t.clone()));
    }
    let (mut evaluated, mut denied, mut warned, mut acting) = (0usize, 0usize, 0usize, 0usize);
    loop {
        let page = client.get_json("/api/v1/events", &query)?;
        for stored in page["events"].as_array().into_iter().flatten() {
            let ty = stored["type"].as_str().unwrap_or_default();
            if !set.policies().iter().any(|p| dossier_core::glob_match_any(&p.triggers, ty)) {
                continue;
            }
            let input = input_from_server(&client, &stored["event"], stored["seq"].as_u64(), stored["received"].as_str())?;
            for d in set.evaluate(ty, &input) {
                evaluated += 1;
                denied += usize::from(!d.deny.is_empty());
                warned += usize::from(!d.warn.is_empty());
                acting += usize::from(!d.actions.is_empty());
                if args.json {
                    println!("{}", serde_json::json!({"seq": stored["seq"], "id": stored["id"], "decision": d}));
                } else if d.is_significant() {
                    let what: Vec<String> = d
                        .deny
                        .iter()
                        .map(|m| format!("deny: {m}"))
                        .chain(d.warn.iter().map(|m| format!("warn: {m}")))
                        .chain(d.actions.iter().map(|a| format!("would {}: {a}", a["kind"].as_str().unwrap_or("act"))))
                        .collect();
                    println!("{:>8}  {}", stored["seq"].as_u64().unwrap_or(0), what.join("; "));
                }
            }
        }
        match page["next"].as_str() {
            Some(next) => {
                query.retain(|(k, _)| *k != "after");
                query.push(("after", next.to_owned()));
            }
            None => break,
        }
    }
    if !args.json {
        println!("{evaluated} evaluations: {denied} would deny, {warned} would warn, {acting} would act (nothing was run)");
    }
    Ok(ExitCode::SUCCESS)
}

fn eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let text = if args.event.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading stdin")?
    } else {
        std::fs::read_to_string(&args.event).with_context(|| format!("reading {}", args.event.display()))?
    };
    let event: Value = serde_json::from_str(&text).context("the event is not JSON")?;
    let event_type =
        event.pointer("/context/type").and_then(Value::as_str).ok_or_else(|| anyhow!("the event has no context.type"))?.to_owned();
    let events = (!args.offline).then(|| events_from_server(&args.server));
    let (mut set, ok) = load(&args.dir, events)?;
    let input = if args.offline {
        dossier_policy::input::build(&event, &[], None, Vec::new())
    } else {
        input_from_server(&args.server.client(), &event, None, None)?
    };
    if args.show_input {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"input": input}))?);
    }
    let decisions = set.evaluate(&event_type, &input);
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"decisions": decisions}))?);
    let denied: Vec<&str> =
        decisions.iter().filter(|d| d.mode == dossier_policy::Mode::Enforce && !d.deny.is_empty()).map(|d| d.policy.as_str()).collect();
    if !denied.is_empty() {
        eprintln!("denied by {}", denied.join(", "));
    }
    Ok(if !ok {
        ExitCode::from(2)
    } else if !denied.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
