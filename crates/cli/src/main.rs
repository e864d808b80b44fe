//! `dossier`: the server, its client and its tools in one binary.

mod actions_cmd;
mod audit_cmd;
mod config;
mod documents_cmd;
mod exceptions_cmd;
mod gate_cmd;
mod lineage_cmd;
mod logcmd;
mod policy_cmd;
mod query;
mod report_cmd;
mod send;
mod server_arg;
mod token_cmd;
mod verify;
mod witness_cmd;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "dossier", version, about = "An evidence store and policy engine for software delivery, built on CDEvents")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server on the embedded store (SQLite in a data directory).
    Serve(Box<config::ServeArgs>),
    /// Send CDEvents from files (JSON object, JSON array or NDJSON) or stdin ("-").
    Send(send::SendArgs),
    /// List events, filtered.
    Events(query::EventsArgs),
    /// Show one event by sequence number or by source and id, optionally with its proof.
    Event(query::EventArgs),
    /// Show every event that names an artifact (its timeline).
    Artifact(query::ArtifactArgs),
    /// The lineage of an artifact: sources, ancestors, descendants, deployments, vulnerabilities.
    Lineage(lineage_cmd::LineageArgs),
    /// Everything a vulnerability affects: artifacts, images, deployments, clusters, with paths.
    Impact(lineage_cmd::ImpactArgs),
    /// Risk per cluster: distinct vulnerabilities, worst severity, counts by severity.
    Risk(lineage_cmd::AsOf),
    /// What runs where: per environment, the current deployments.
    Where(lineage_cmd::AsOf),
    /// Documents: send an SBOM, scan report, VEX or attestation about an artifact; get; list.
    #[command(subcommand)]
    Document(documents_cmd::DocumentCommand),
    /// An artifact's components over all its SBOMs, and its licence summary.
    Components(documents_cmd::ArtifactArg),
    /// An artifact's findings, its ancestors' included, with what VEX says of them.
    Findings(documents_cmd::ArtifactArg),
    /// Which tools looked at an artifact (scans, SBOMs, attestations), and when.
    Scans(documents_cmd::ArtifactArg),
    /// Which artifacts contain a package, optionally within a version range.
    Contains(documents_cmd::ContainsArgs),
    /// Which webhooks and tools policies ran, on which artifact, when, with what result.
    Actions(actions_cmd::ActionsArgs),
    /// Ask the deployment gate whether an artifact may be deployed to an environment: exit 0
    /// allowed, 1 denied, 2 no answer.
    Gate(gate_cmd::GateArgs),
    /// Exceptions: request, approve, revoke, list, show, import from VEX.
    #[command(subcommand)]
    Exception(exceptions_cmd::ExceptionCommand),
    /// API tokens: create (admin), list, show, revoke; generate one offline.
    #[command(subcommand)]
    Token(token_cmd::TokenCommand),
    /// Who the credential in DOSSIER_TOKEN is, and what it may do.
    Whoami(server_arg::ServerArg),
    /// Rebuild the lineage graph from a data directory's log and print its statistics.
    Reindex(lineage_cmd::ReindexArgs),
    /// Send a seeded, realistic DevSecOps history to a server, to explore.
    Demo(lineage_cmd::DemoArgs),
    /// Check a data directory's whole store against its log and signed checkpoint.
    Verify(verify::VerifyArgs),
    /// Audit bundles: write an artifact's evidence with its proofs in one file; verify one offline.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Run a witness: cosign a log's checkpoints only when they extend what it cosigned before.
    Witness(witness_cmd::WitnessArgs),
    /// The evidence log: checkpoint, key, inclusion and consistency proofs (verified locally).
    #[command(subcommand)]
    Log(logcmd::LogCommand),
    /// Policies: check, test and evaluate them.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Measure Dossier on this machine.
    #[command(subcommand)]
    #[cfg(feature = "bench")]
    Bench(dossier_bench::BenchCommand),
    /// Measure Dossier on this machine (in a binary built with `--features bench`).
    #[cfg(not(feature = "bench"))]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
}

/// mimalloc rather than the system allocator: the engine and the views allocate and free many
/// small values per entry from several threads, where glibc's allocator spends a fifth of the
/// policy workers' time and lets resident memory grow with fragmentation (BENCHMARKS.md,
/// "Sustained ingest").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Behave like a Unix tool when the reader goes away (`dossier events | head`).
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => config::serve(*args),
        Command::Send(args) => send::run(args),
        Command::Events(args) => query::events(args),
        Command::Event(args) => query::event(args),
        Command::Artifact(args) => query::artifact(args),
        Command::Verify(args) => verify::run(args),
        Command::Audit(cmd) => audit_cmd::run(cmd),
        Command::Lineage(args) => lineage_cmd::lineage(args),
        Command::Impact(args) => lineage_cmd::impact(args),
        Command::Risk(args) => lineage_cmd::risk(args),
        Command::Where(args) => lineage_cmd::where_runs(args),
        Command::Document(cmd) => documents_cmd::document(cmd),
        Command::Components(args) => documents_cmd::components(args),
        Command::Findings(args) => documents_cmd::findings(args),
        Command::Scans(args) => documents_cmd::scans(args),
        Command::Contains(args) => documents_cmd::contains(args),
        Command::Actions(args) => actions_cmd::run(args),
        Command::Gate(args) => gate_cmd::run(args),
        Command::Exception(cmd) => exceptions_cmd::run(cmd),
        Command::Token(cmd) => token_cmd::run(cmd),
        Command::Whoami(server) => token_cmd::whoami(server),
        Command::Reindex(args) => lineage_cmd::reindex(args),
        Command::Demo(args) => lineage_cmd::demo(args),
        Command::Log(cmd) => logcmd::run(cmd),
        Command::Witness(args) => witness_cmd::run(args),
        Command::Policy(cmd) => policy_cmd::run(cmd),
        #[cfg(feature = "bench")]
        Command::Bench(cmd) => dossier_bench::run(cmd),
        #[cfg(not(feature = "bench"))]
        Command::Bench { .. } => Err(anyhow::anyhow!(
            "this dossier was built without the benchmarks (they bring the SQL baselines' drivers); run them with \
             `cargo run --release --features bench -- bench …` or `cargo run --release -p dossier-bench -- …`"
        )),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
