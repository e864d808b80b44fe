//! `dossier policy`: check, test and try policies before they run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use dossier_policy::PolicySet;
use serde_json::Value;

use crate::client::{Client, ServerArg};

#[derive(clap::Subcommand, Debug)]
pub enum PolicyCommand {
    /// Load a policy directory and list its policies, or what does not compile
    Check { dir: PathBuf },
    /// Run the Rego unit tests (rules named test_*) of a policy directory
    Test { dir: PathBuf },
    /// Show the input document an event gives the policies, and what they decide
    Eval(EvalArgs),
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

fn load(dir: &Path) -> anyhow::Result<(PolicySet, bool)> {
    let (set, errors) = PolicySet::load_dir(dir).map_err(|e| anyhow!("{e}"))?;
    for e in &errors {
        eprintln!("error: {}: {}", dir.join(&e.file).display(), e.message);
    }
    Ok((set, errors.is_empty()))
}

pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::Check { dir } => {
            let (set, ok) = load(&dir)?;
            for p in set.policies() {
                println!("{:<32} {:<8} {}  triggers: {}", p.name, format!("{:?}", p.mode).to_lowercase(), &p.version[..12], p.triggers.join(", "));
            }
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        PolicyCommand::Test { dir } => {
            let (mut set, ok) = load(&dir)?;
            let results = set.run_tests();
            for r in &results {
                match &r.error {
                    None => println!("PASS  {}", r.name),
                    Some(e) => println!("FAIL  {}: {e}", r.name),
                }
            }
            let failed = results.iter().filter(|r| !r.passed).count();
            println!("{} passed, {failed} failed", results.len() - failed);
            Ok(if ok && failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        PolicyCommand::Eval(args) => eval(args),
    }
}

fn eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let text = if args.event.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading stdin")?
    } else {
        std::fs::read_to_string(&args.event).with_context(|| format!("reading {}", args.event.display()))?
    };
    let event: Value = serde_json::from_str(&text).context("the event is not JSON")?;
    let event_type = event.pointer("/context/type").and_then(Value::as_str).ok_or_else(|| anyhow!("the event has no context.type"))?.to_owned();
    let (mut set, ok) = load(&args.dir)?;
    let (timeline, lineage) = match (args.offline, dossier_policy::input::subject_artifact(&event)) {
        (false, Some(purl)) => {
            let client = Client::new(&args.server);
            let page = client.get_json("/api/v1/artifact", &[("purl", purl.clone()), ("limit", "1000".into())])?;
            let timeline = page["events"].as_array().cloned().unwrap_or_default();
            // No lineage is known for an artifact the graph has not seen.
            let lineage = client.get_json("/api/v1/lineage", &[("purl", purl)]).ok();
            (timeline, lineage)
        }
        _ => (Vec::new(), None),
    };
    let input = dossier_policy::input::build(&event, &timeline, lineage);
    if args.show_input {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"input": input}))?);
    }
    let decisions = set.evaluate(&event_type, &input);
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"decisions": decisions}))?);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
