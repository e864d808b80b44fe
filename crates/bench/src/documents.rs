//! `dossier bench documents`: a large SBOM's ingest (time, and the process's peak memory
//! while it streams in, is read and is recorded), SBOM ingest throughput, then "which artifacts
//! contain package X" over many artifacts with many components each — all through the HTTP API.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dossier_gen::Sboms;

use crate::measure::percentile_ms;

#[derive(clap::Args, Debug)]
pub struct DocumentsArgs {
    /// Size of the large SBOM, in MiB
    #[arg(long, default_value_t = 20)]
    pub large_mib: usize,
    /// Artifacts, each with its SBOM
    #[arg(long, default_value_t = 10_000)]
    pub artifacts: u64,
    /// Components in each artifact's SBOM
    #[arg(long, default_value_t = 500)]
    pub components: usize,
    /// Distinct packages the components are drawn from (skewed: a few are everywhere)
    #[arg(long, default_value_t = 20_000)]
    pub packages: u64,
    /// Concurrent uploading clients
    #[arg(long, default_value_t = 2)]
    pub clients: u64,
    /// "Which artifacts contain package X" queries timed
    #[arg(long, default_value_t = 1000)]
    pub queries: u64,
    /// Data directory to use (default: a fresh temporary one)
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

/// This process's resident set and its peak since the last reset, in KiB (Linux).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn upload(agent: &ureq::Agent, base: &str, artifact: &str, body: impl std::io::Read) -> anyhow::Result<serde_json::Value> {
    let r = agent
        .post(&format!("{base}/api/v1/documents"))
        .query("artifact", artifact)
        .query("sender", "bench")
        .set("Content-Type", "application/vnd.cyclonedx+json")
        .send(body);
    match r {
        Ok(r) => Ok(r.into_json()?),
        Err(ureq::Error::Status(code, r)) => bail!("HTTP {code}: {}", r.into_string().unwrap_or_default()),
        Err(e) => bail!("{e}"),
    }
}

pub fn run(args: DocumentsArgs) -> anyhow::Result<ExitCode> {
    let tmp = tempfile::tempdir()?;
    let dir = args.data.clone().unwrap_or_else(|| tmp.path().join("data"));
    let server = crate::measure::start(&dir, None)?;
    let base = format!("http://{}", server.addr);
    let agent = crate::measure::agent().timeout(Duration::from_secs(600)).build();
    let sboms = Sboms::new(7, args.packages);

    // A large SBOM, written to a file so that only the upload is measured.
    let path = tmp.path().join("large.cdx.json");
    let large = sboms.large(args.large_mib * 1024 * 1024);
    std::fs::File::create(&path)?.write_all(&large)?;
    let size = large.len();
    drop(large);
    // Reset the peak: what follows is the upload's.
    std::fs::write("/proc/self/clear_refs", "5").ok();
    let (rss_before, _) = memory_kib();
    let t = Instant::now();
    let receipt = upload(&agent, &base, "pkg:oci/monorepo@sha256%3A00", std::fs::File::open(&path)?)?;
    let took = t.elapsed();
    let (_, peak) = memory_kib();
    println!(
        "large SBOM: {:.1} MiB, {} components recorded in {:.2} s ({:.0} MiB/s); peak resident memory {} MiB above the {} MiB before",
        size as f64 / 1048576.0,
        receipt["components"],
        took.as_secs_f64(),
        size as f64 / 1048576.0 / took.as_secs_f64(),
        peak.saturating_sub(rss_before) / 1024,
        rss_before / 1024
    );

    // Many artifacts, each with its SBOM.
    let next = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let workers: Vec<_> = (0..args.clients)
        .map(|_| {
            let (next, base, agent) = (next.clone(), base.clone(), agent.clone());
            let sboms = Sboms::new(7, args.packages);
            let (n, components) = (args.artifacts, args.components);
            std::thread::spawn(move || -> anyhow::Result<u64> {
                let mut bytes = 0u64;
                loop {
                    let a = next.fetch_add(1, Ordering::Relaxed);
                    if a >= n {
                        return Ok(bytes);
                    }
                    let body = serde_json::to_vec(&sboms.sbom(a, components))?;
                    bytes += body.len() as u64;
                    upload(&agent, &base, &format!("pkg:oci/app-{a}@sha256%3A{a:064x}"), body.as_slice())
                        .with_context(|| format!("artifact {a}"))?;
                }
            })
        })
        .collect();
    let mut bytes = 0;
    for w in workers {
        bytes += w.join().map_err(|_| anyhow::anyhow!("an uploading client panicked"))??;
    }
    let took = t.elapsed().as_secs_f64();
    println!(
        "SBOM ingest: {} artifacts × {} components in {:.1} s: {:.0} SBOMs/s, {:.0} components/s ({:.0} MiB of documents)",
        args.artifacts,
        args.components,
        took,
        args.artifacts as f64 / took,
        (args.artifacts as f64 * args.components as f64) / took,
        bytes as f64 / 1048576.0
    );

    // Which artifacts contain package X: packages across the popularity range, half of the
    // queries with a version range.
    let mut times = Vec::with_capacity(args.queries as usize);
    let mut found = 0u64;
    for q in 0..args.queries {
        let k = spread(q, args.packages);
        let package = sboms.package(k);
        let versions = if q % 2 == 0 { "*".to_owned() } else { format!("<{}", sboms.version(k, 2)) };
        let t = Instant::now();
        let answer: serde_json::Value =
            agent.get(&format!("{base}/api/v1/contains")).query("package", &package).query("versions", &versions).call()?.into_json()?;
        times.push(t.elapsed());
        found += answer["artifacts"].as_array().map_or(0, |a| a.len() as u64);
    }
    times.sort();
    println!(
        "contains package X (HTTP)         p50 {:>8.3} ms   p99 {:>8.3} ms   ({} queries, {:.0} artifacts per answer on average)",
        percentile_ms(&times, 0.5),
        percentile_ms(&times, 0.99),
        args.queries,
        found as f64 / args.queries.max(1) as f64
    );
    Ok(ExitCode::SUCCESS)
}

/// Query packages spread over the whole range, popular ones included.
fn spread(q: u64, packages: u64) -> u64 {
    (q.wrapping_mul(2_654_435_761)) % packages
}
