//! `dossier bench`: measurements on this machine, through the public HTTP API.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dossier_gen::Generator;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Ingest throughput and acknowledgement latency (single events, batches of 100 and
    /// 1000), then artifact-timeline lookups with many events stored
    Ingest(IngestArgs),
    /// The lineage reference problem: vulnerability → affected clusters on the live graph,
    /// against recursive SQL over the same data (SQLite, and PostgreSQL with --postgres)
    Lineage(crate::bench_lineage::LineageArgs),
    /// Policy evaluation: 20 Rego policies on generated events with their history
    Policy(crate::bench_policy::PolicyArgs),
    /// Documents: a large SBOM's ingest time and peak memory, SBOM throughput, and which
    /// artifacts contain a package
    Documents(crate::bench_documents::DocumentsArgs),
    /// Dashboard: each page's time with many events stored
    Dashboard(crate::bench_dashboard::DashboardArgs),
}

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

pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Ingest(args) => ingest(args),
        BenchCommand::Lineage(args) => crate::bench_lineage::run(args),
        BenchCommand::Policy(args) => crate::bench_policy::run(args),
        BenchCommand::Documents(args) => crate::bench_documents::run(args),
        BenchCommand::Dashboard(args) => crate::bench_dashboard::run(args),
    }
}

/// A server on a background runtime, on a free port.
pub(crate) struct Embedded {
    pub(crate) addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

pub(crate) fn start(dir: &std::path::Path, policies: Option<std::path::PathBuf>) -> anyhow::Result<Embedded> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let server = dossier_server::Server::builder(dir)
        .log_name(Some("bench.dossier.local/log".into()))
        .max_document(1 << 30)
        .policies_opt(policies)
        .start()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    runtime.spawn(server.serve(listener, std::future::pending()));
    Ok(Embedded { addr, _runtime: runtime })
}

/// The `p` quantile of sorted durations, in milliseconds (0 for none).
pub(crate) fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

pub(crate) struct Phase {
    name: String,
    events: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn print(&mut self) {
        self.latencies.sort();
        println!(
            "{:<34} {:>10.0} events/s   p50 {:>8.2} ms   p99 {:>8.2} ms   ({} events, {} requests)",
            self.name,
            self.events as f64 / self.elapsed.as_secs_f64(),
            percentile_ms(&self.latencies, 0.50),
            percentile_ms(&self.latencies, 0.99),
            self.events,
            self.latencies.len()
        );
    }
}

/// Sends events `[next, next + count)` in requests of `batch` from `clients` threads.
pub(crate) fn drive(
    addr: SocketAddr,
    gen: &Arc<Generator>,
    next: &AtomicU64,
    count: u64,
    batch: u64,
    clients: u64,
    name: &str,
) -> anyhow::Result<Phase> {
    let start_at = next.fetch_add(count, Ordering::SeqCst);
    let requests = count.div_ceil(batch);
    // Bodies are made before the clock starts: the generator is not what is measured.
    let bodies: Vec<String> = (0..requests)
        .map(|r| {
            let from = start_at + r * batch;
            let to = (from + batch).min(start_at + count);
            if batch == 1 {
                gen.event(from).to_string()
            } else {
                let events: Vec<String> = (from..to).map(|i| gen.event(i).to_string()).collect();
                format!("[{}]", events.join(","))
            }
        })
        .collect();
    let bodies = Arc::new(bodies);
    let cursor = Arc::new(AtomicU64::new(0));
    let url = format!("http://{addr}/api/v1/events");
    let began = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..clients {
        let (bodies, cursor, url) = (bodies.clone(), cursor.clone(), url.clone());
        handles.push(std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
            let agent = ureq::AgentBuilder::new().build();
            let mut lat = Vec::new();
            loop {
                let i = cursor.fetch_add(1, Ordering::SeqCst) as usize;
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                let resp = agent.post(&url).set("Content-Type", "application/json").send_string(body);
                match resp {
                    Ok(r) if r.status() == 200 || r.status() == 201 => {
                        let answer = r.into_string()?;
                        if answer.contains("\"rejected\"") && !answer.contains("\"rejected\":0") {
                            bail!("events were rejected: {}", &answer[..answer.len().min(400)]);
                        }
                    }
                    Ok(r) => bail!("HTTP {}", r.status()),
                    Err(e) => bail!("request failed: {e}"),
                }
                lat.push(t.elapsed());
            }
            Ok(lat)
        }));
    }
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(h.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))??);
    }
    Ok(Phase { name: name.to_owned(), events: count, elapsed: began.elapsed(), latencies })
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    format!("{cores} cores, {cpu}")
}

fn ingest(args: IngestArgs) -> anyhow::Result<ExitCode> {
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
    let agent = ureq::AgentBuilder::new().build();
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
