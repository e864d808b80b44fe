//! `dossier bench soak`: sustained ingest at a fixed rate for a while, watching what the server
//! does with it: the rate it accepts, how long acknowledgements take, how far the policy engine
//! falls behind (entries and seconds) and the server's resident memory, every second.
//!
//! The server runs in a process of its own (this binary again, `bench soak-server`), so that
//! its resident memory (`VmRSS` in `/proc/<pid>/status`) is the server's alone, not the load
//! generator's. The load is open-loop: batch `k` is due at `k × batch / rate` seconds from the
//! start, whatever the answers to earlier ones; a client that is late sends at once, and the
//! accepted rate shows whether the server kept up.
//!
//! The policy lag is what `/api/v1/policies` answers (`lag.entries`: entries committed that the
//! engine has not decided; `lag.seconds`: how long ago the oldest of them was received). A
//! server from before that field (for a before/after comparison) is asked the same through the
//! log instead: its persisted cursor (`DATA/policy.cursor`, saved once a second), the log's size
//! and the receipt time of the entry at the cursor.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dossier_gen::Generator;
use serde::Serialize;
use serde_json::Value;

use crate::measure::{agent, machine, percentile_ms};

#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// Events sent per second
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// How long the load lasts, in seconds
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// A policy directory for the server (e.g. the starter pack, `policies`)
    #[arg(long)]
    pub policies: Option<PathBuf>,
    /// Events per request
    #[arg(long, default_value_t = 100)]
    pub batch: u64,
    /// Concurrent clients (enough that a slow answer does not hold the schedule up)
    #[arg(long, default_value_t = 8)]
    pub clients: u64,
    /// After the load, how long to wait at most for the policy engine to catch up, in seconds
    #[arg(long, default_value_t = 120)]
    pub drain: u64,
    /// Seconds per row of the table (every second is sampled, and kept in --json)
    #[arg(long, default_value_t = 10)]
    pub every: u64,
    /// Print the samples and the summary as JSON instead of a table
    #[arg(long)]
    pub json: bool,
    /// Data directory to use (default: a fresh temporary one)
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run the server from this `dossier-bench` binary instead of this one (an older build, to
    /// compare side by side with the same load and the same measurements)
    #[arg(long)]
    pub server: Option<PathBuf>,
}

/// The server half of `soak`: an embedded server in this process, its address on standard
/// output, until standard input closes.
#[derive(clap::Args, Debug)]
pub struct SoakServerArgs {
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub policies: Option<PathBuf>,
}

pub fn serve(args: SoakServerArgs) -> anyhow::Result<ExitCode> {
    let server = crate::measure::start(&args.data, args.policies).context("starting the embedded server")?;
    println!("listening {}", server.addr);
    std::io::stdout().flush()?;
    // Until the parent goes away (or closes our input).
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
        sink.clear();
    }
    Ok(ExitCode::SUCCESS)
}

/// The server process, killed when dropped.
struct ServerProcess {
    child: Child,
    addr: String,
}

impl ServerProcess {
    /// Starts `bench soak-server` from this very binary (`dossier bench …` or `dossier-bench …`).
    fn start(data: &Path, policies: Option<&Path>, log: &Path, server: Option<&Path>) -> anyhow::Result<ServerProcess> {
        let exe = match server {
            Some(s) => s.to_path_buf(),
            None => std::env::current_exe().context("finding this binary")?,
        };
        // Whatever came before `soak` on our command line (`bench`, for `dossier bench soak`);
        // nothing for another binary, which is a `dossier-bench`.
        let prefix: Vec<String> =
            if server.is_some() { Vec::new() } else { std::env::args().skip(1).take_while(|a| a != "soak").collect() };
        let mut cmd = Command::new(exe);
        cmd.args(&prefix).arg("soak-server").arg("--data").arg(data);
        if let Some(p) = policies {
            cmd.arg("--policies").arg(p);
        }
        let stderr = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr).spawn().context("starting the server process")?;
        let stdout = child.stdout.take().context("the server's output")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(addr) = line.trim().strip_prefix("listening ") else {
            let _ = child.kill();
            bail!("the server process did not start (its log: {})", log.display());
        };
        Ok(ServerProcess { addr: addr.to_owned(), child })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of process `pid` in bytes (`VmRSS`), if it still runs.
fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse::<u64>().ok()?;
    Some(kb * 1024)
}

/// CPU time the threads of process `pid` have used, in seconds, summed per thread name (digits
/// at the end dropped, so the policy workers are one line): `utime + stime` of each task in
/// `/proc/<pid>/task/*/stat`, in clock ticks of 10 ms (Linux's `USER_HZ` is 100 on every
/// architecture Dossier builds for).
fn cpu_by_thread(pid: u32) -> std::collections::BTreeMap<String, f64> {
    let mut by = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return by };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // `pid (comm) state ppid …`: the name may hold spaces and parentheses, so split at the last `)`.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let name = stat[open + 1..close].trim_end_matches(|c: char| c.is_ascii_digit() || c == '-').to_owned();
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After the name: state is field 3 of stat(5), so utime (14) and stime (15) are at 11 and 12.
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        *by.entry(name).or_insert(0.0) += (ticks(11) + ticks(12)) as f64 / 100.0;
    }
    by
}

/// How far the policy engine is behind.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
struct Lag {
    entries: u64,
    seconds: f64,
}

/// Asks the server how far its policy engine is behind.
struct LagProbe {
    agent: ureq::Agent,
    base: String,
    cursor_file: PathBuf,
    /// Whether the server answers `lag` itself (decided on the first answer).
    reported: Option<bool>,
}

impl LagProbe {
    fn lag(&mut self) -> anyhow::Result<Lag> {
        if self.reported != Some(false) {
            let status: Value = self.agent.get(&format!("{}/api/v1/policies", self.base)).call()?.into_json()?;
            let lag = &status["lag"];
            if let (Some(entries), Some(seconds)) = (lag["entries"].as_u64(), lag["seconds"].as_f64()) {
                self.reported = Some(true);
                return Ok(Lag { entries, seconds });
            }
            self.reported = Some(false);
        }
        // A server that does not say: its saved cursor against the log's size.
        let cursor: u64 = std::fs::read_to_string(&self.cursor_file)
            .with_context(|| format!("reading {}", self.cursor_file.display()))?
            .trim()
            .parse()
            .context("the policy cursor")?;
        let checkpoint = self.agent.get(&format!("{}/api/v1/log/checkpoint", self.base)).call()?.into_string()?;
        // The checkpoint body: origin, size, root.
        let size: u64 = checkpoint.lines().nth(1).and_then(|l| l.trim().parse().ok()).context("the checkpoint's size")?;
        if cursor >= size {
            return Ok(Lag { entries: 0, seconds: 0.0 });
        }
        let entry: Value = self.agent.get(&format!("{}/api/v1/events/{cursor}", self.base)).call()?.into_json()?;
        let received = entry["received"].as_str().and_then(dossier_core::event::parse_timestamp).context("the entry's receipt time")?;
        Ok(Lag { entries: size - cursor, seconds: ((now_nanos() - received) as f64 / 1e9).max(0.0) })
    }
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
struct Sample {
    /// Seconds since the load started (the end of the second sampled).
    t: u64,
    /// Whether the load was running during that second.
    loaded: bool,
    accepted: u64,
    rejected: u64,
    requests: usize,
    ack_p50_ms: f64,
    ack_p99_ms: f64,
    lag: Option<Lag>,
    rss_bytes: Option<u64>,
}

/// What the clients share.
#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    /// Acknowledgement times since the sampler last took them.
    latencies: Mutex<Vec<Duration>>,
    /// Every acknowledgement time of the run, for the overall percentiles.
    all: Mutex<Vec<Duration>>,
    /// The first failure of a client (the run stops).
    failed: Mutex<Option<String>>,
    stop: AtomicBool,
}

fn accepted_in(answer: &Value) -> (u64, u64) {
    let n = |k: &str| answer[k].as_u64().unwrap_or(0);
    (n("accepted") + n("duplicates"), n("rejected"))
}

/// The clients: batch `k` (events `k × batch …`) is sent at `k × batch / rate` seconds.
fn clients(args: &SoakArgs, base: &str, counters: &Arc<Counters>, began: Instant) -> Vec<std::thread::JoinHandle<()>> {
    let gen = Arc::new(Generator::new(42));
    let next = Arc::new(AtomicU64::new(0));
    let batches = args.rate * args.seconds / args.batch.max(1);
    let period = args.batch as f64 / args.rate as f64;
    let end = Duration::from_secs(args.seconds);
    (0..args.clients)
        .map(|_| {
            let (gen, next, counters, url, batch) =
                (gen.clone(), next.clone(), counters.clone(), format!("{base}/api/v1/events"), args.batch);
            std::thread::spawn(move || {
                let agent = agent().timeout(Duration::from_secs(120)).build();
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    // The load lasts its seconds: what could not be sent by then is not sent.
                    if k >= batches || counters.stop.load(Ordering::Relaxed) || began.elapsed() >= end {
                        return;
                    }
                    let events: Vec<String> = (k * batch..(k + 1) * batch).map(|i| gen.event(i).to_string()).collect();
                    let body = format!("[{}]", events.join(","));
                    let due = began + Duration::from_secs_f64(period * k as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let t = Instant::now();
                    let answer = agent.post(&url).set("Content-Type", "application/json").send_string(&body);
                    let took = t.elapsed();
                    let outcome = match answer {
                        Ok(r) => r.into_json::<Value>().map(|v| accepted_in(&v)).map_err(|e| e.to_string()),
                        Err(ureq::Error::Status(code, r)) => Err(format!("HTTP {code}: {}", r.into_string().unwrap_or_default())),
                        Err(e) => Err(e.to_string()),
                    };
                    match outcome {
                        Ok((accepted, rejected)) => {
                            counters.accepted.fetch_add(accepted, Ordering::Relaxed);
                            counters.rejected.fetch_add(rejected, Ordering::Relaxed);
                            counters.latencies.lock().unwrap_or_else(|p| p.into_inner()).push(took);
                        }
                        Err(e) => {
                            counters.failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e);
                            counters.stop.store(true, Ordering::Relaxed);
                            return;
                        }
                    }
                }
            })
        })
        .collect()
}

/// The `p` quantile of `values` (sorted here), or 0 for none.
fn quantile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[(((values.len() - 1) as f64) * p).round() as usize]
}

#[derive(Debug, Serialize)]
struct Summary {
    rate: u64,
    seconds: u64,
    batch: u64,
    policies: Option<String>,
    machine: String,
    /// Events accepted per second over the load.
    accepted_rate: f64,
    accepted: u64,
    rejected: u64,
    ack_p50_ms: f64,
    ack_p99_ms: f64,
    /// Over the samples taken while the load ran.
    lag_entries_p50: u64,
    lag_entries_p99: u64,
    lag_entries_max: u64,
    lag_seconds_p50: f64,
    lag_seconds_p99: f64,
    lag_seconds_max: f64,
    /// Seconds after the load stopped until the engine had decided everything (None: not
    /// within --drain, or no policies).
    drained_after: Option<u64>,
    rss_start_bytes: Option<u64>,
    rss_max_bytes: Option<u64>,
    rss_end_of_load_bytes: Option<u64>,
    /// CPU seconds the server used from its start until the end of the run (the load and the
    /// drain), per thread name; and per 1 000 accepted events, all threads together. Unlike the
    /// lag, this hardly depends on what else the machine runs at the time.
    cpu_seconds_by_thread: std::collections::BTreeMap<String, f64>,
    cpu_ms_per_1000_events: f64,
}

pub fn run(args: SoakArgs) -> anyhow::Result<ExitCode> {
    if args.rate == 0 || args.batch == 0 || args.clients == 0 {
        bail!("--rate, --batch and --clients must be at least 1");
    }
    let temp = tempfile::tempdir()?;
    let dir = args.data.clone().unwrap_or_else(|| temp.path().join("data"));
    let policies = args.policies.as_ref().map(|p| p.canonicalize().with_context(|| format!("the policy directory {}", p.display())));
    let policies = policies.transpose()?;
    let server_log = temp.path().join("server.log");
    let server = ServerProcess::start(&dir, policies.as_deref(), &server_log, args.server.as_deref())?;
    let base = format!("http://{}", server.addr);
    let mut probe = policies.as_ref().map(|_| LagProbe {
        agent: agent().timeout(Duration::from_secs(5)).build(),
        base: base.clone(),
        cursor_file: dir.join("policy.cursor"),
        reported: None,
    });
    if !args.json {
        println!(
            "dossier bench soak — {} — {} events/s for {} s in batches of {}, {} — server pid {} at {}",
            machine(),
            args.rate,
            args.seconds,
            args.batch,
            policies.as_ref().map_or("no policies".to_owned(), |p| format!("policies {}", p.display())),
            server.pid(),
            server.addr
        );
    }
    // The policies are loaded (and their versions logged) before the clock starts.
    std::thread::sleep(Duration::from_millis(500));
    let rss_start = rss(server.pid());
    let counters = Arc::new(Counters::default());
    let began = Instant::now();
    let handles = clients(&args, &base, &counters, began);
    let mut samples: Vec<Sample> = Vec::new();
    let mut drained_after = None;
    let (mut last_accepted, mut last_rejected) = (0, 0);
    let mut t = 0u64;
    loop {
        t += 1;
        if let Some(wait) = (began + Duration::from_secs(t)).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let loaded = t <= args.seconds;
        let mut lat = std::mem::take(&mut *counters.latencies.lock().unwrap_or_else(|p| p.into_inner()));
        lat.sort();
        let (accepted, rejected) = (counters.accepted.load(Ordering::Relaxed), counters.rejected.load(Ordering::Relaxed));
        let lag = match probe.as_mut().map(LagProbe::lag) {
            Some(Ok(l)) => Some(l),
            Some(Err(e)) => {
                eprintln!("t={t}s: asking for the policy lag: {e:#}");
                None
            }
            None => None,
        };
        let sample = Sample {
            t,
            loaded,
            accepted: accepted - last_accepted,
            rejected: rejected - last_rejected,
            requests: lat.len(),
            ack_p50_ms: percentile_ms(&lat, 0.50),
            ack_p99_ms: percentile_ms(&lat, 0.99),
            lag,
            rss_bytes: rss(server.pid()),
        };
        counters.all.lock().unwrap_or_else(|p| p.into_inner()).extend(lat);
        (last_accepted, last_rejected) = (accepted, rejected);
        if !args.json {
            print_progress(&sample, t, &args, &samples);
        }
        samples.push(sample);
        if sample_failed(&counters) || samples.last().is_some_and(|s| s.rss_bytes.is_none()) {
            break;
        }
        if !loaded {
            let caught_up = lag.is_none_or(|l| l.entries == 0);
            if caught_up && policies.is_some() {
                drained_after = Some(t - args.seconds);
            }
            if caught_up || t >= args.seconds + args.drain {
                break;
            }
        }
    }
    counters.stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    if let Some(e) = counters.failed.lock().unwrap_or_else(|p| p.into_inner()).take() {
        bail!("a client failed: {e} (server log: {})", server_log.display());
    }
    if samples.last().is_some_and(|s| s.rss_bytes.is_none()) {
        let log = std::fs::read_to_string(&server_log).unwrap_or_default();
        bail!("the server process ended during the run; its log ends with:\n{}", tail(&log, 20));
    }
    let cpu = cpu_by_thread(server.pid());
    let mut summary = summarize(&args, policies.as_deref(), &counters, &samples, rss_start, drained_after);
    summary.cpu_ms_per_1000_events = cpu.values().sum::<f64>() * 1e6 / summary.accepted.max(1) as f64;
    summary.cpu_seconds_by_thread = cpu;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"summary": summary, "samples": samples}))?);
    } else {
        print_summary(&summary);
    }
    drop(server);
    Ok(ExitCode::SUCCESS)
}

fn sample_failed(counters: &Counters) -> bool {
    counters.failed.lock().unwrap_or_else(|p| p.into_inner()).is_some()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn summarize(
    args: &SoakArgs,
    policies: Option<&Path>,
    counters: &Counters,
    samples: &[Sample],
    rss_start: Option<u64>,
    drained_after: Option<u64>,
) -> Summary {
    let mut all = std::mem::take(&mut *counters.all.lock().unwrap_or_else(|p| p.into_inner()));
    all.sort();
    let under_load: Vec<&Sample> = samples.iter().filter(|s| s.loaded).collect();
    let accepted: u64 = under_load.iter().map(|s| s.accepted).sum();
    let rejected: u64 = samples.iter().map(|s| s.rejected).sum();
    let mut entries: Vec<f64> = under_load.iter().filter_map(|s| s.lag.map(|l| l.entries as f64)).collect();
    let mut seconds: Vec<f64> = under_load.iter().filter_map(|s| s.lag.map(|l| l.seconds)).collect();
    let max = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    Summary {
        rate: args.rate,
        seconds: args.seconds,
        batch: args.batch,
        policies: policies.map(|p| p.display().to_string()),
        machine: machine(),
        accepted_rate: accepted as f64 / under_load.len().max(1) as f64,
        accepted,
        rejected,
        ack_p50_ms: percentile_ms(&all, 0.50),
        ack_p99_ms: percentile_ms(&all, 0.99),
        lag_entries_p50: quantile(&mut entries, 0.50) as u64,
        lag_entries_p99: quantile(&mut entries, 0.99) as u64,
        lag_entries_max: max(&entries) as u64,
        lag_seconds_p50: quantile(&mut seconds, 0.50),
        lag_seconds_p99: quantile(&mut seconds, 0.99),
        lag_seconds_max: max(&seconds),
        drained_after,
        rss_start_bytes: rss_start,
        rss_max_bytes: samples.iter().filter_map(|s| s.rss_bytes).max(),
        rss_end_of_load_bytes: under_load.last().and_then(|s| s.rss_bytes),
        cpu_seconds_by_thread: Default::default(),
        cpu_ms_per_1000_events: 0.0,
    }
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("-".into(), |b| format!("{:.0}", b as f64 / (1024.0 * 1024.0)))
}

/// One row of the table every `--every` seconds, summing the samples since the last row.
fn print_progress(sample: &Sample, t: u64, args: &SoakArgs, earlier: &[Sample]) {
    if t == 1 {
        println!(
            "{:>6} {:>10} {:>9} {:>10} {:>10} {:>12} {:>10} {:>9}",
            "t (s)", "accepted/s", "rejected", "ack p50", "ack p99", "lag entries", "lag s", "RSS MiB"
        );
    }
    if !t.is_multiple_of(args.every.max(1)) && t != args.seconds {
        return;
    }
    let from = earlier.iter().rposition(|s| s.t.is_multiple_of(args.every.max(1)) || s.t == args.seconds).map_or(0, |i| i + 1);
    let window: Vec<&Sample> = earlier[from..].iter().chain(std::iter::once(sample)).collect();
    let accepted: u64 = window.iter().map(|s| s.accepted).sum();
    let rejected: u64 = window.iter().map(|s| s.rejected).sum();
    let p50 = window.iter().map(|s| s.ack_p50_ms).fold(0.0, f64::max);
    let p99 = window.iter().map(|s| s.ack_p99_ms).fold(0.0, f64::max);
    let (entries, seconds) = sample.lag.map_or(("-".into(), "-".into()), |l| (l.entries.to_string(), format!("{:.2}", l.seconds)));
    println!(
        "{:>6} {:>10.0} {:>9} {:>8.1}ms {:>8.1}ms {:>12} {:>10} {:>9}",
        t,
        accepted as f64 / window.len() as f64,
        rejected,
        p50,
        p99,
        entries,
        seconds,
        mib(sample.rss_bytes)
    );
}

fn print_summary(s: &Summary) {
    println!();
    println!(
        "accepted            {:.0} events/s ({} events, {} rejected) against {} sent per second",
        s.accepted_rate, s.accepted, s.rejected, s.rate
    );
    println!("acknowledgement     p50 {:.2} ms, p99 {:.2} ms", s.ack_p50_ms, s.ack_p99_ms);
    if s.policies.is_some() {
        println!(
            "policy lag, entries p50 {}, p99 {}, max {} (sampled every second under load)",
            s.lag_entries_p50, s.lag_entries_p99, s.lag_entries_max
        );
        println!("policy lag, seconds p50 {:.2}, p99 {:.2}, max {:.2}", s.lag_seconds_p50, s.lag_seconds_p99, s.lag_seconds_max);
        match s.drained_after {
            Some(d) => println!("caught up           {d} s after the load stopped"),
            None => println!("caught up           not within --drain after the load stopped"),
        }
    }
    println!(
        "resident memory     {} MiB at the start, {} MiB at the end of the load, {} MiB at most",
        mib(s.rss_start_bytes),
        mib(s.rss_end_of_load_bytes),
        mib(s.rss_max_bytes)
    );
    let threads: Vec<String> = s.cpu_seconds_by_thread.iter().filter(|(_, &c)| c >= 0.5).map(|(n, c)| format!("{n} {c:.1}")).collect();
    println!("server CPU          {:.1} ms per 1 000 events; seconds by thread: {}", s.cpu_ms_per_1000_events, threads.join(", "));
}
