//! `dossier-bench`: the benchmark commands as a binary of their own (the same as `dossier bench`
//! in a binary built with `--features bench`).

use clap::Parser;

#[derive(Parser)]
#[command(name = "dossier-bench", version, about = "Dossier's benchmarks: measurements on this machine")]
struct Cli {
    #[command(subcommand)]
    command: dossier_bench::BenchCommand,
}

/// mimalloc rather than the system allocator: the engine and the views allocate and free many
/// small values per entry from several threads, where glibc's allocator spends a fifth of the
/// policy workers' time and lets resident memory grow with fragmentation (BENCHMARKS.md,
/// "Sustained ingest").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<std::process::ExitCode> {
    dossier_bench::run(Cli::parse().command)
}
