//! `dossier bench dashboard`: how long each dashboard page takes with many events stored.
//!
//! It fills an embedded server with generated CI/CD events (1 M by default), adds the demo's
//! DevSecOps history (builds, image chains, deployments, vulnerabilities), scan reports with
//! findings (10 000 by default, about the demo's images and generated artifacts), an SBOM, a
//! scan report and an exception, then asks for every page many times over HTTP on loopback:
//! the time from request to the last byte of the page, an upper bound of its rendering on the
//! server.

use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dossier_gen::Generator;
use serde_json::{json, Value};

use crate::measure::{drive, machine, percentile_ms, start};
use dossier_client::Client;

#[derive(clap::Args, Debug)]
pub struct DashboardArgs {
    /// Generated events stored before the pages are timed
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Times each page is asked for
    #[arg(long, default_value_t = 50)]
    pub repeat: usize,
    /// Data directory to use (default: a fresh temporary one)
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
    /// Scan reports (CycloneDX SBOMs with vulnerabilities, as Grype and Trivy write them) sent
    /// about the demo's images and the generated artifacts before the pages are timed
    #[arg(long, default_value_t = 10_000)]
    pub sboms: u64,
    /// Components in each of them
    #[arg(long, default_value_t = 40)]
    pub components: usize,
}

fn q(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

pub fn run(args: DashboardArgs) -> anyhow::Result<ExitCode> {
    let temp = tempfile::tempdir()?;
    let dir = args.data.clone().unwrap_or_else(|| temp.path().to_owned());
    let server = start(&dir, None).context("starting the embedded server")?;
    let base = format!("http://{}", server.addr);
    println!("dossier bench dashboard — {} — {} events", machine(), args.events);
    let t = Instant::now();
    let gen = Arc::new(Generator::new(42));
    let next = AtomicU64::new(0);
    let mut filled = 0;
    // The period between these two moments holds the middle part of the fill: half of it.
    let (mut quarter, mut three_quarters) = (None, None);
    while filled < args.events {
        let chunk = (args.events - filled).min(100_000);
        drive(server.addr, &gen, &next, chunk, 1000, 2, "filling")?;
        filled += chunk;
        let now =
            dossier_core::event::format_timestamp(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos() as i64);
        if quarter.is_none() && filled >= args.events / 4 {
            quarter = Some(now);
        } else if three_quarters.is_none() && filled >= args.events * 3 / 4 {
            three_quarters = Some(now);
        }
    }
    let client = Client::with_token(&base, Some(crate::measure::BENCH_TOKEN.to_owned()));
    let demo = dossier_gen::DevSecOps { seed: 1, artifacts: 2000, depth: 3, clusters: 6, ..Default::default() };
    let history = demo.demo_history(30);
    for chunk in history.chunks(500) {
        let (status, answer) = client.post("/api/v1/events", "application/json", &serde_json::to_vec(chunk)?)?;
        if status != 200 {
            bail!("the demo history was refused: {answer}");
        }
    }
    println!("stored {} events in {:.1} s", args.events + history.len() as u64, t.elapsed().as_secs_f64());

    // Scan reports: one about each of the demo's images first (so that findings reach their
    // descendants and the clusters running them), then about generated artifacts.
    let images: Vec<String> = {
        let mut seen = std::collections::BTreeSet::new();
        history
            .iter()
            .filter(|e| {
                e.pointer("/context/type").and_then(Value::as_str).is_some_and(|t| t.starts_with("dev.cdevents.artifact.packaged."))
            })
            .filter_map(|e| e.pointer("/subject/id").and_then(Value::as_str).map(str::to_owned))
            .filter(|a| seen.insert(a.clone()))
            .collect()
    };
    let t = Instant::now();
    let sboms = dossier_gen::Sboms::new(9, 5_000);
    let runs = Generator::runs(args.events).max(1);
    let sent = AtomicU64::new(0);
    let findings = AtomicU64::new(0);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    let client = Client::with_token(&base, Some(crate::measure::BENCH_TOKEN.to_owned()));
                    loop {
                        let n = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if n >= args.sboms {
                            return Ok(());
                        }
                        let artifact = match images.get(n as usize) {
                            Some(image) => image.clone(),
                            None => gen.artifact((n * 7919) % runs),
                        };
                        let doc = serde_json::to_vec(&sboms.scan(n, args.components, 6))?;
                        let (status, answer) = client.post_stream(
                            "/api/v1/documents",
                            &[("artifact", artifact.clone())],
                            "application/json",
                            doc.as_slice(),
                        )?;
                        if status != 201 && status != 200 {
                            bail!("the scan report about {artifact} was refused: {answer}");
                        }
                        findings.fetch_add(answer["findings"].as_u64().unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().map_err(|_| anyhow::anyhow!("a sender panicked"))??;
        }
        Ok(())
    })?;
    println!(
        "sent {} scan reports ({} components, {} findings in all) in {:.1} s",
        args.sboms,
        args.sboms * args.components as u64,
        findings.load(std::sync::atomic::Ordering::Relaxed),
        t.elapsed().as_secs_f64()
    );

    // A deployed image of the demo, with documents and an exception; a vulnerability that
    // reaches a deployment.
    let environments = client.get_json("/api/v1/environments", &[])?;
    let deployed = environments["environments"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|d| d[0]["artifact"].as_str())
        .context("no deployment")?
        .to_owned();
    let documents = concat!(env!("CARGO_MANIFEST_DIR"), "/../evidence/tests/documents/");
    for doc in ["cyclonedx-py-1.6.json", "osv-scanner.json"] {
        let (status, answer) = client.post_stream(
            "/api/v1/documents",
            &[("artifact", deployed.clone())],
            "application/json",
            std::fs::File::open(format!("{documents}{doc}"))?,
        )?;
        if status != 201 {
            bail!("{doc} was refused: {answer}");
        }
    }
    let expires = dossier_core::event::format_timestamp(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos() as i64 + 7 * 86_400_000_000_000,
    );
    let exception = json!({"vulnerabilities": ["CVE-2021-23337"], "artifacts": ["pkg:oci/app-*"], "reason": "bench", "requester": "alice", "expires": expires});
    client.post("/api/v1/exceptions", "application/json", exception.to_string().as_bytes())?;
    let risk = client.get_json("/api/v1/risk", &[])?;
    let vulnerability = (0..30)
        .map(dossier_gen::DevSecOps::vulnerability_id)
        .find(|v| {
            client
                .get_json("/api/v1/impact", &[("vulnerability", v.clone())])
                .is_ok_and(|i: Value| i["deployments"].as_array().is_some_and(|d| !d.is_empty()))
        })
        .context("no vulnerability of the demo reaches a deployment")?;
    let generated = gen.artifact(Generator::runs(args.events) / 2);
    // A vulnerability only the scan reports found (the first the index lists).
    let scanned = client.get_json("/api/v1/vulnerabilities", &[("q", "CVE-2099-".to_owned()), ("limit", "1".to_owned())])?
        ["vulnerabilities"][0]["vulnerability"]
        .as_str()
        .unwrap_or("CVE-2099-00000")
        .to_owned();
    let cluster = risk["clusters"][0]["cluster"].as_str().unwrap_or("cluster-0").to_owned();

    let pages = [
        ("overview", "/ui".to_owned()),
        ("events, newest", "/ui/events".to_owned()),
        ("events, one type", "/ui/events?type=dev.cdevents.service.deployed.*".to_owned()),
        ("events, an older page", format!("/ui/events?after={}", args.events / 2)),
        ("one entry", format!("/ui/events?seq={}", args.events / 2)),
        ("artifact (CI history)", format!("/ui/artifact?purl={}", q(&generated))),
        ("artifact (image, SBOM, findings)", format!("/ui/artifact?purl={}", q(&deployed))),
        // A base image: its lineage is hundreds of images, drawn as a few and their groups.
        ("artifact (base image, lineage)", format!("/ui/artifact?purl={}", q(&demo.base_image(0)))),
        ("search, part of a name", "/ui/search?q=app-1".to_owned()),
        ("vulnerability impact", format!("/ui/impact?vulnerability={}", q(&vulnerability))),
        ("vulnerabilities (index)", "/ui/vulnerabilities".to_owned()),
        ("a scanned vulnerability", format!("/ui/vulnerabilities/{}", q(&scanned))),
        ("environments", "/ui/environments".to_owned()),
        ("policies", "/ui/policies".to_owned()),
        ("exceptions", "/ui/exceptions".to_owned()),
        ("audit, this week", "/ui/audit".to_owned()),
        (
            "audit, half of the fill",
            format!("/ui/audit?since={}&until={}", quarter.unwrap_or_default(), three_quarters.unwrap_or_default()),
        ),
    ];
    let agent = crate::measure::agent().timeout(Duration::from_secs(60)).build();
    println!("{:<34} {:>9} {:>9} {:>9}  (cluster {cluster})", "page", "p50 ms", "p99 ms", "KiB");
    for (name, path) in pages {
        let mut times = Vec::with_capacity(args.repeat);
        let mut size = 0;
        for _ in 0..args.repeat {
            let t = Instant::now();
            let r = agent.get(&format!("{base}{path}")).call().with_context(|| format!("{name}: GET {path}"))?;
            let body = r.into_string()?;
            times.push(t.elapsed());
            size = body.len();
        }
        times.sort();
        println!("{name:<34} {:>9.2} {:>9.2} {:>9.1}", percentile_ms(&times, 0.5), percentile_ms(&times, 0.99), size as f64 / 1024.0);
    }
    Ok(ExitCode::SUCCESS)
}
