//! `dossier lineage`, `impact`, `risk`, `where`, `reindex` and `demo`.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::Value;

use crate::server_arg::ServerArg;

#[derive(clap::Args, Debug)]
pub struct AsOf {
    /// Answer for the state at this moment (RFC 3339), replaying the log up to it
    #[arg(long)]
    pub as_of: Option<String>,
    /// Print the JSON answer
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub server: ServerArg,
}

#[derive(clap::Args, Debug)]
pub struct LineageArgs {
    /// The artifact's package URL
    pub purl: String,
    #[command(flatten)]
    pub opts: AsOf,
}

#[derive(clap::Args, Debug)]
pub struct ImpactArgs {
    /// The vulnerability id, e.g. CVE-2026-1234
    pub vulnerability: String,
    #[command(flatten)]
    pub opts: AsOf,
}

#[derive(clap::Args, Debug)]
pub struct ReindexArgs {
    /// Data directory [default: ./dossier-data]
    #[arg(long, env = "DOSSIER_DATA")]
    pub data: Option<std::path::PathBuf>,
    /// Where the store is: sqlite:PATH or postgresql://user@host:port/database [default: sqlite:DATA/dossier.db]
    #[arg(long, env = "DOSSIER_STORE")]
    pub store: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Seed: the same seed sends the same history
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Artifacts to create (binaries, images, base images)
    #[arg(long, default_value_t = 2000)]
    pub artifacts: u64,
    /// Images derived one from another above each binary (up to 20)
    #[arg(long, default_value_t = 3)]
    pub depth: u32,
    #[arg(long, default_value_t = 6)]
    pub clusters: u32,
    /// Vulnerabilities reported; about a third are fixed afterwards
    #[arg(long, default_value_t = 30)]
    pub vulnerabilities: u64,
    #[command(flatten)]
    pub server: ServerArg,
}

fn get(opts: &AsOf, path: &str, mut query: Vec<(&str, String)>) -> anyhow::Result<Value> {
    if let Some(t) = &opts.as_of {
        query.push(("as_of", t.clone()));
    }
    opts.server.client().get_json(path, &query)
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

pub fn lineage(args: LineageArgs) -> anyhow::Result<ExitCode> {
    let l = get(&args.opts, "/api/v1/lineage", vec![("purl", args.purl.clone())])?;
    if args.opts.json {
        println!("{}", serde_json::to_string_pretty(&l)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("artifact   {}", s(&l["artifact"]));
    if let Some(d) = l["deleted"].as_u64() {
        println!("deleted    from its registry (entry {d})");
    }
    match l["built_by"].as_array() {
        Some(b) => println!("built by   pipeline run {} (entry {})", s(&b[0]), b[1]),
        None => println!("built by   (no build known)"),
    }
    for src in l["sources"].as_array().into_iter().flatten() {
        println!("source     {} @ {} (entry {})", s(&src["repository"]), s(&src["commit"]), src["seq"]);
    }
    for o in l["origins"].as_array().into_iter().flatten() {
        println!("contains   {}", s(o));
    }
    for e in l["ancestors"].as_array().into_iter().flatten() {
        println!("parent     {} ← {} (entry {})", s(&e["artifact"]), s(&e["parent"]), e["seq"]);
    }
    for e in l["descendants"].as_array().into_iter().flatten() {
        println!("derived    {} → {} (entry {})", s(&e["parent"]), s(&e["artifact"]), e["seq"]);
    }
    for d in l["deployments"].as_array().into_iter().flatten() {
        println!("runs in    {} as {}: {} (entry {})", s(&d["environment"]), s(&d["service"]), s(&d["artifact"]), d["seq"]);
    }
    for v in l["vulnerabilities"].as_array().into_iter().flatten() {
        println!("affected   {} ({})", s(&v[0]), s(&v[1]));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn impact(args: ImpactArgs) -> anyhow::Result<ExitCode> {
    let i = get(&args.opts, "/api/v1/impact", vec![("vulnerability", args.vulnerability.clone())])?;
    if args.opts.json {
        println!("{}", serde_json::to_string_pretty(&i)?);
        return Ok(ExitCode::SUCCESS);
    }
    let clusters: Vec<&str> = i["clusters"].as_array().into_iter().flatten().map(s).collect();
    let arts = i["artifacts"].as_array().cloned().unwrap_or_default();
    println!(
        "{} ({}): {} artifacts, {} deployments, clusters: {}",
        s(&i["vulnerability"]),
        s(&i["severity"]),
        arts.len(),
        i["deployments"].as_array().map(|d| d.len()).unwrap_or(0),
        if clusters.is_empty() { "none".to_string() } else { clusters.join(", ") }
    );
    let aliases: Vec<&str> = i["aliases"].as_array().into_iter().flatten().map(s).collect();
    if !aliases.is_empty() {
        println!("  also known as {}", aliases.join(", "));
    }
    for r in i["sources"].as_array().into_iter().flatten() {
        match r["document"].as_str() {
            Some(doc) => println!("  reported as {} by document {doc} about {}", s(&r["id"]), s(&r["artifact"])),
            None => println!("  reported as {} by a discovered event (entry {})", s(&r["id"]), r["seq"]),
        }
    }
    for d in i["deployments"].as_array().into_iter().flatten() {
        println!("  runs in {} as {}: {}", s(&d["environment"]), s(&d["service"]), s(&d["artifact"]));
    }
    for w in i["waived"].as_array().into_iter().flatten() {
        for d in w["deployments"].as_array().into_iter().flatten() {
            let by = &d["by"];
            let by = match by["kind"].as_str() {
                Some("exception") => format!("exception {}", s(&by["id"])),
                _ => format!("VEX statement {} of document {}", by["statement"], s(&by["document"])),
            };
            println!("  waived in {} for {}: {} (by {by})", s(&w["cluster"]), s(&d["service"]), s(&d["artifact"]));
        }
    }
    for a in &arts {
        let path: Vec<&str> = a["path"].as_array().into_iter().flatten().map(s).collect();
        println!("  {}{}  via {}", s(&a["artifact"]), if a["image"].as_bool() == Some(true) { " [image]" } else { "" }, path.join(" → "));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn risk(opts: AsOf) -> anyhow::Result<ExitCode> {
    let r = get(&opts, "/api/v1/risk", vec![])?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let clusters = r["clusters"].as_array().cloned().unwrap_or_default();
    if !clusters.is_empty() {
        println!("{:<24} {:>6} {:>9} {:>6} {:>7} {:>6} {:>8}  WORST", "CLUSTER", "VULNS", "CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN");
    }
    for c in &clusters {
        let n = |k: &str| c["by_severity"][k].as_u64().unwrap_or(0);
        println!(
            "{:<24} {:>6} {:>9} {:>6} {:>7} {:>6} {:>8}  {}",
            s(&c["cluster"]),
            c["vulnerabilities"].as_u64().unwrap_or(0),
            n("critical"),
            n("high"),
            n("medium"),
            n("low"),
            n("unknown"),
            s(&c["worst"])
        );
        let waived: Vec<&str> = c["waived"].as_array().into_iter().flatten().map(s).collect();
        if !waived.is_empty() {
            println!("{:<24} waived: {}", "", waived.join(", "));
        }
    }
    if clusters.is_empty() {
        eprintln!("no cluster runs anything affected by a known vulnerability");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn where_runs(opts: AsOf) -> anyhow::Result<ExitCode> {
    let r = get(&opts, "/api/v1/environments", vec![])?;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let envs = r["environments"].as_object().cloned().unwrap_or_default();
    for (env, deps) in &envs {
        println!("{env}");
        for d in deps.as_array().into_iter().flatten() {
            println!("  {:<28} {}", s(&d["service"]), s(&d["artifact"]));
        }
    }
    if envs.is_empty() {
        eprintln!("nothing is deployed yet (service.deployed events create deployments)");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn reindex(args: ReindexArgs) -> anyhow::Result<ExitCode> {
    let data = args.data.unwrap_or_else(|| std::path::PathBuf::from(crate::config::DEFAULT_DATA));
    let location = crate::config::store_location(args.store.as_deref(), &data)?;
    if !location.exists()? {
        bail!("there is no Dossier store in the {}", location.describe());
    }
    let store = dossier_stores::open(&location)?;
    let t = Instant::now();
    let size = store.size()?;
    let graph = dossier_views::lineage::replay(store.as_ref(), None).context("replaying the log")?;
    println!("rebuilt the lineage graph from {size} log entries in {:.2} s", t.elapsed().as_secs_f64());
    println!("{}", serde_json::to_string_pretty(&graph.stats())?);
    Ok(ExitCode::SUCCESS)
}

fn demo_generator(args: &DemoArgs) -> dossier_gen::DevSecOps {
    dossier_gen::DevSecOps { seed: args.seed, artifacts: args.artifacts, depth: args.depth, clusters: args.clusters, ..Default::default() }
}

pub fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    if args.depth > 20 {
        bail!("--depth is at most 20");
    }
    let client = args.server.client();
    let gen = demo_generator(&args);
    let events = gen.demo_history(args.vulnerabilities);
    let (mut accepted, mut duplicates) = (0u64, 0u64);
    for chunk in events.chunks(500) {
        let body = serde_json::to_vec(chunk)?;
        let (status, answer) = client.post("/api/v1/events", "application/json", &body)?;
        if status != 200 {
            bail!("the server refused the demo's events: HTTP {status}: {answer}");
        }
        if answer["rejected"].as_u64().unwrap_or(0) + answer["conflicts"].as_u64().unwrap_or(0) > 0 {
            bail!("the server refused some of the demo's events: {answer}");
        }
        accepted += answer["accepted"].as_u64().unwrap_or(0);
        duplicates += answer["duplicates"].as_u64().unwrap_or(0);
    }
    println!(
        "demo (seed {}): {} events sent, {accepted} accepted, {duplicates} already there — {} builds, {} artifacts, depth {}, {} clusters, {} vulnerabilities ({} fixed)",
        args.seed,
        events.len(),
        gen.families(),
        args.artifacts,
        args.depth,
        args.clusters,
        args.vulnerabilities,
        args.vulnerabilities.div_ceil(3)
    );
    // Point at a vulnerability that reaches a cluster, to start exploring from.
    let reaching =
        (0..args.vulnerabilities).filter(|k| k % 3 != 0 && k % 4 != 3).map(dossier_gen::DevSecOps::vulnerability_id).find(|id| {
            client
                .get_json("/api/v1/impact", &[("vulnerability", id.clone())])
                .is_ok_and(|i| i["clusters"].as_array().is_some_and(|c| !c.is_empty()))
        });
    println!("explore:  dossier risk");
    println!("          dossier where");
    if let Some(id) = reaching {
        println!("          dossier impact {id}");
    }
    println!("          dossier lineage '{}'", gen.top(0));
    Ok(ExitCode::SUCCESS)
}
