//! `dossier bench`: measurements on this machine, through the public HTTP API, each against the
//! obvious alternative where there is one (recursive SQL for lineage). Its own crate, so that the
//! baselines' database drivers (rusqlite, postgres) stay out of the shipped binary: `dossier
//! bench` exists when the binary is built with `--features bench`, and `dossier-bench` is the
//! same commands as a binary of their own.
//!
//! * [`measure`]: an embedded server, request drivers, percentiles, the machine's description.
//! * one module per command: [`ingest`], [`lineage`], [`policy`], [`documents`], [`dashboard`],
//!   [`log`], [`soak`], [`sigstore`], [`gate`], [`audit`].

pub mod audit;
pub mod dashboard;
pub mod documents;
pub mod gate;
pub mod ingest;
pub mod lineage;
pub mod log;
pub mod measure;
pub mod policy;
pub mod sigstore;
pub mod soak;

use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Ingest throughput and acknowledgement latency (single events, batches of 100 and
    /// 1000), then artifact-timeline lookups with many events stored
    Ingest(crate::ingest::IngestArgs),
    /// The lineage reference problem: vulnerability → affected clusters on the live graph,
    /// against recursive SQL over the same data (SQLite, and PostgreSQL with --postgres)
    Lineage(crate::lineage::LineageArgs),
    /// Policy evaluation: 20 Rego policies on generated events with their history
    Policy(crate::policy::PolicyArgs),
    /// Documents: a large SBOM's ingest time and peak memory, SBOM throughput, and which
    /// artifacts contain a package
    Documents(crate::documents::DocumentsArgs),
    /// Dashboard: each page's time with many events stored
    Dashboard(crate::dashboard::DashboardArgs),
    /// The log: full verification per million entries, and witnessing per checkpoint
    Log(crate::log::LogArgs),
    /// Sustained ingest at a fixed rate: accepted rate, acknowledgement latency, policy lag and
    /// the server's resident memory, every second
    Soak(crate::soak::SoakArgs),
    /// Sigstore bundles verified per second (the conformance bundles, on one thread and on
    /// every core)
    Sigstore(crate::sigstore::SigstoreArgs),
    /// The deployment gate: decisions and admission reviews answered with many events stored
    /// and the 20 benchmark policies loaded
    Gate(crate::gate::GateArgs),
    /// The audit bundle of an artifact with 1 000 entries: `dossier audit verify`'s time,
    /// beside checking the same entries online one inclusion proof at a time
    Audit(crate::audit::AuditArgs),
    /// The server process of `soak` (started by it)
    #[command(hide = true)]
    SoakServer(crate::soak::SoakServerArgs),
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Ingest(args) => ingest::run(args),
        BenchCommand::Lineage(args) => crate::lineage::run(args),
        BenchCommand::Policy(args) => crate::policy::run(args),
        BenchCommand::Documents(args) => crate::documents::run(args),
        BenchCommand::Dashboard(args) => crate::dashboard::run(args),
        BenchCommand::Log(args) => crate::log::run(args),
        BenchCommand::Soak(args) => crate::soak::run(args),
        BenchCommand::Sigstore(args) => crate::sigstore::run(args),
        BenchCommand::Gate(args) => crate::gate::run(args),
        BenchCommand::Audit(args) => crate::audit::run(args),
        BenchCommand::SoakServer(args) => crate::soak::serve(args),
    }
}
