//! `dossier bench ingest`: throughput and acknowledgement latency, then timeline lookups with
//! many events stored.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use dossier_gen::Generator;

use crate::measure::{drive, machine, percentile_ms, start, Phase};

#[derive(clap::Args, Debug)]
pub struct IngestArgs {
    /// Single events sent one after another (latency)
    #[arg(long, default_value_t = 2000)]
    pub single: u64,
    /// Events sent in each batched phase
    #[arg(long, default_value_t = 200_000)]
    pub batched: u64,
    /// Concurrent clients in the concurrent phases
    #[arg(long, default_value_t = 4)]
    pub clients: u64,
    /// Events stored before the lookups are timed
    #[arg(long, default_value_t = 1_000_000)]
    pub stored: u64,
    /// Timeline lookups timed
    #[arg(long, default_value_t = 2000)]
    pub lookups: u64,
    /// Data directory to use (default: a fresh temporary one)
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

pub fn run(args: IngestArgs) -> anyhow::Result<ExitCode> {
    let temp = tempfile::tempdir()?;
    let dir = args.data.clone().unwrap_or_else(|| temp.path().to_owned());
    let server = start(&dir, None).context("starting the embedded server")?;
    println!("dossier bench ingest — {} — server {} — data {}", machine(), server.addr, dir.display());
    let gen = Arc::new(Generator::new(42));
    let next = AtomicU64::new(0);

    let mut phases = vec![
        drive(server.addr, &gen, &next, args.single, 1, 1, "single events, 1 client")?,
        drive(server.addr, &gen, &next, args.single * 2, 1, args.clients, &format!("single events, {} clients", args.clients))?,
        drive(server.addr, &gen, &next, args.batched, 100, args.clients, &format!("batches of 100, {} clients", args.clients))?,
        drive(server.addr, &gen, &next, args.batched, 1000, args.clients, &format!("batches of 1000, {} clients", args.clients))?,
    ];
    for p in &mut phases {
        p.print();
    }

    let stored = next.load(Ordering::SeqCst);
    if args.stored > stored {
        let t = Instant::now();
        let mut fill = drive(server.addr, &gen, &next, args.stored - stored, 1000, args.clients, "filling")?;
        fill.print();
        eprintln!("filled to {} events in {:.1} s", args.stored, t.elapsed().as_secs_f64());
    }
    let total = next.load(Ordering::SeqCst);
    let runs = Generator::runs(total);
    let agent = crate::measure::agent().build();
    let url = format!("http://{}/api/v1/artifact", server.addr);
    let mut latencies = Vec::with_capacity(args.lookups as usize);
    let mut found = 0usize;
    let began = Instant::now();
    for i in 0..args.lookups {
        // Spread over the whole history: old and new artifacts alike.
        let run = (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 11) % runs.max(1);
        let purl = gen.artifact(run);
        let t = Instant::now();
        let body = agent.get(&url).query("purl", &purl).call()?.into_string()?;
        latencies.push(t.elapsed());
        found += body.matches("\"seq\"").count();
    }
    let elapsed = began.elapsed();
    if found == 0 {
        bail!("the lookups found no events: the benchmark is broken");
    }
    let mut lookup = Phase { name: format!("artifact timeline, {total} stored"), events: args.lookups, elapsed, latencies };
    lookup.latencies.sort();
    println!(
        "{:<34} {:>10.0} lookups/s  p50 {:>8.2} ms   p99 {:>8.2} ms   ({} lookups, {:.1} events each)",
        lookup.name,
        args.lookups as f64 / elapsed.as_secs_f64(),
        percentile_ms(&lookup.latencies, 0.50),
        percentile_ms(&lookup.latencies, 0.99),
        args.lookups,
        found as f64 / args.lookups as f64
    );
    Ok(ExitCode::SUCCESS)
}
