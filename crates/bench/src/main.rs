//! `dossier-bench`: the benchmark commands as a binary of their own (the same as `dossier bench`
//! in a binary built with `--features bench`).

use clap::Parser;

#[derive(Parser)]
#[command(name = "dossier-bench", version, about = "Dossier's benchmarks: measurements on this machine")]
struct Cli {
    #[command(subcommand)]
    command: dossier_bench::BenchCommand,
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    dossier_bench::run(Cli::parse().command)
}
