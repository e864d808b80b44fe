//! What every benchmark shares: a server on a free port, drivers that send requests from
//! several clients, percentiles, and the description of the machine the figures come from.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use dossier_gen::Generator;

/// The admin token the benchmarks' server starts with; every request sends it, as a producer's
/// would (authentication is part of what is measured).
pub const BENCH_TOKEN: &str = "dst_0000000000be_benchtokenbenchtokenbenchtokenbenchtokenben";

/// An agent builder whose requests carry [`BENCH_TOKEN`].
pub fn agent() -> ureq::AgentBuilder {
    ureq::AgentBuilder::new().middleware(dossier_client::Bearer::new(BENCH_TOKEN))
}

/// A server on a background runtime, on a free port.
pub struct Embedded {
    pub addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

pub fn start(dir: &std::path::Path, policies: Option<std::path::PathBuf>) -> anyhow::Result<Embedded> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let server = dossier_server::Server::builder(dir)
        .log_name(Some("bench.dossier.local/log".into()))
        .max_document(1 << 30)
        .policies_opt(policies)
        .admin_token(Some(BENCH_TOKEN.to_owned()))
        // One principal sends everything here: the limiter keeps its books, never refuses.
        .rate_limit(dossier_server::Rate { per_second: 1e9, burst: 1e9 })
        .start()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    runtime.spawn(server.serve(listener, std::future::pending()));
    Ok(Embedded { addr, _runtime: runtime })
}

/// The `p` quantile of sorted durations, in milliseconds (0 for none).
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

pub struct Phase {
    pub name: String,
    pub events: u64,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Phase {
    pub fn print(&mut self) {
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
pub fn drive(
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
            let agent = agent().build();
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
