//! `dossier bench audit`: the audit bundle of an artifact with N entries (1 000 by default).
//!
//! * **verify**: `dossier audit verify`'s work on the bundle file — read and parse it, open both
//!   checkpoints, the consistency proof, every entry's leaf from its bytes (JCS included) and its
//!   inclusion proof, the citations — offline.
//! * beside it, the obvious alternative without a bundle: checking the same entries online, one
//!   inclusion proof per entry through the API (`GET /api/v1/log/proof/inclusion`, as
//!   `dossier log prove` does), the leaf hash taken from the server's answer.
//! * **make**: `GET /api/v1/audit/bundle` on the server, for the record.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use dossier_audit::{Bundle, Verified};
use dossier_tlog::{tree, Checkpoint, Hash, Verifier};
use serde::Deserialize;
use serde_json::json;

use crate::measure::{machine, BENCH_TOKEN};

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// Entries naming the artifact
    #[arg(long, default_value_t = 1000)]
    pub entries: u64,
    /// Times each measurement is repeated (the median is reported)
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Keep the bundle in this file, and the log's key beside it with the extension .pub (to time
    /// other verifiers on the same bundle)
    #[arg(long, value_name = "FILE")]
    pub keep: Option<std::path::PathBuf>,
}

const ARTIFACT: &str = "pkg:oci/bench-app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The events: the artifact packaged from its base, then deployments of it and events naming
/// it, each carrying about 700 bytes of `customData` (a producer's own details).
fn events(n: u64) -> Vec<serde_json::Value> {
    let context = |i: u64, ty: &str| json!({"specversion": "0.5.1", "id": format!("audit-{i}"), "source": "/bench/ci", "type": ty, "timestamp": "2026-12-03T10:00:00Z"});
    let custom = json!({"bench": {"note": "x".repeat(700)}});
    (0..n)
        .map(|i| match i {
            0 => json!({
                "context": context(i, "dev.cdevents.artifact.packaged.0.3.0"),
                "subject": {"id": ARTIFACT, "content": {"change": {"id": "c0ffee", "source": "https://git.example.com/app"}}},
                "customData": {"dossier": {"parents": ["pkg:oci/base@sha256:00"]}}
            }),
            i if i % 10 == 1 => json!({
                "context": context(i, "dev.cdevents.service.deployed.0.3.0"),
                "subject": {"id": format!("svc-{}", i % 7), "content": {"environment": {"id": format!("env-{}", i % 5)}, "artifactId": ARTIFACT}},
                "customData": custom
            }),
            i => json!({
                "context": context(i, "dev.cdevents.artifact.published.0.3.0"),
                "subject": {"id": ARTIFACT, "content": {}},
                "customData": custom
            }),
        })
        .collect()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    println!("dossier bench audit — {}", machine());
    let temp = tempfile::tempdir()?;
    let server = crate::measure::start(temp.path(), None)?;
    let client = dossier_client::Client::with_token(&format!("http://{}", server.addr), Some(BENCH_TOKEN.to_owned()));
    for chunk in events(args.entries).chunks(500) {
        let (status, answer) = client.post("/api/v1/events", "application/json", serde_json::to_string(chunk)?.as_bytes())?;
        #[derive(Deserialize)]
        struct Answer {
            accepted: usize,
        }
        let accepted = serde_json::from_value::<Answer>(answer.clone()).map(|a| a.accepted).unwrap_or(0);
        if !(200..300).contains(&status) || accepted != chunk.len() {
            bail!("sending events: HTTP {status}: {answer}");
        }
    }
    let key = Verifier::parse(client.get_text("/api/v1/log/key")?.trim()).map_err(anyhow::Error::msg)?;
    let query = [("artifact", ARTIFACT.to_owned()), ("documents", "include".to_owned())];

    let mut make = Vec::new();
    let mut file = Vec::new();
    for _ in 0..args.rounds {
        file.clear();
        let t = Instant::now();
        client.get_into("/api/v1/audit/bundle", &query, &mut file)?;
        make.push(t.elapsed());
    }
    let path = args.keep.clone().unwrap_or_else(|| temp.path().join("bench.audit.json"));
    std::fs::write(&path, &file)?;
    if args.keep.is_some() {
        std::fs::write(path.with_extension("pub"), format!("{key}\n"))?;
    }

    let mut offline = Vec::new();
    let mut verified: Option<Verified> = None;
    for _ in 0..args.rounds {
        let t = Instant::now();
        let bundle: Bundle = serde_json::from_slice(&std::fs::read(&path)?).context("reading the bundle")?;
        verified = Some(dossier_audit::verify(&bundle, &key, None).map_err(|f| anyhow::anyhow!("the bundle does not verify: {f}"))?);
        offline.push(t.elapsed());
    }
    let verified = verified.context("no round ran")?;

    let mut online = Vec::new();
    let seqs: Vec<u64> = serde_json::from_slice::<Bundle>(&file)?.entries.iter().map(|e| e.seq).collect();
    for _ in 0..args.rounds.min(3) {
        let t = Instant::now();
        prove_online(&client, &key, &seqs)?;
        online.push(t.elapsed());
    }

    println!(
        "bundle: {} entries ({} naming the artifact, with its lineage), {:.1} KB, checkpoint of size {}",
        verified.entries,
        args.entries,
        file.len() as f64 / 1024.0,
        verified.checkpoint
    );
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("make   GET /api/v1/audit/bundle                 median {:>8.1} ms   ({} rounds)", ms(median(make)), args.rounds);
    println!("verify dossier audit verify (offline)           median {:>8.1} ms   ({} rounds)", ms(median(offline)), args.rounds);
    println!("beside: one inclusion proof per entry via the API median {:>8.1} ms", ms(median(online)));
    Ok(ExitCode::SUCCESS)
}

#[derive(Deserialize)]
struct Inclusion {
    tree_size: u64,
    leaf_hash: String,
    hashes: Vec<String>,
    checkpoint: Option<String>,
}

fn hash(text: &str) -> anyhow::Result<Hash> {
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text)?;
    Hash::try_from(bytes.as_slice()).map_err(|_| anyhow::anyhow!("a hash is 32 bytes"))
}

/// What checking the entries online costs: each entry's inclusion proof fetched and verified
/// against the signed checkpoint it comes with.
fn prove_online(client: &dossier_client::Client, key: &Verifier, seqs: &[u64]) -> anyhow::Result<()> {
    for &seq in seqs {
        let answer: Inclusion = serde_json::from_value(client.get_json("/api/v1/log/proof/inclusion", &[("seq", seq.to_string())])?)?;
        let note = answer.checkpoint.context("no checkpoint with the proof")?;
        let checkpoint = Checkpoint::parse(key.open(&note).map_err(anyhow::Error::msg)?).map_err(anyhow::Error::msg)?;
        let proof = answer.hashes.iter().map(|h| hash(h)).collect::<anyhow::Result<Vec<Hash>>>()?;
        tree::verify_inclusion(&hash(&answer.leaf_hash)?, seq, answer.tree_size, &proof, &checkpoint.root).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}
