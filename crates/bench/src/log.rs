//! `dossier bench log`: what tamper-evidence costs.
//!
//! * **Full verification** of a store of N entries (1 M by default), as `dossier verify` does it
//!   (every entry's leaf from its raw bytes and receipt time, its indexed columns, the tree, the
//!   signed checkpoint and the query indexes), beside the obvious lower bound: recomputing the
//!   root from the stored leaves alone, which proves nothing about the entries. Both run on the
//!   same store in the same run, so their ratio is what the extra checks cost.
//! * **Witnessing per checkpoint**: a `dossier witness` served on loopback and a log growing by
//!   `--per-checkpoint` entries between checkpoints; each checkpoint goes through the whole
//!   tlog-witness exchange (consistency proof, HTTP, the witness's checks, its fsync'd state, the
//!   cosignature verified by the log), beside signing the checkpoint alone.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use dossier_gen::Generator;
use dossier_store::{Store, StoredCheckpoint, Trust};
use dossier_tlog::witness::AddCheckpoint;
use dossier_tlog::{tree, Checkpoint, Cosigner, Frontier, MemoryTree, Signer};

use crate::measure::{machine, percentile_ms};

#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// Entries in the store that is verified
    #[arg(long, default_value_t = 1_000_000)]
    pub entries: u64,
    /// Checkpoints sent to the witness
    #[arg(long, default_value_t = 300)]
    pub checkpoints: usize,
    /// Entries the log grows by between two checkpoints
    #[arg(long, default_value_t = 1000)]
    pub per_checkpoint: u64,
    /// Data directory to use (default: a fresh temporary one)
    #[arg(long)]
    pub data: Option<std::path::PathBuf>,
}

pub fn run(args: LogArgs) -> anyhow::Result<ExitCode> {
    let temp = tempfile::tempdir()?;
    let dir = args.data.clone().unwrap_or_else(|| temp.path().to_owned());
    println!("dossier bench log — {}", machine());
    verification(&dir, args.entries)?;
    witnessing(&dir, args.checkpoints, args.per_checkpoint)?;
    Ok(ExitCode::SUCCESS)
}

fn verification(dir: &std::path::Path, entries: u64) -> anyhow::Result<()> {
    let location = dossier_stores::Location::Sqlite(dir.join("verify.db"));
    let store = dossier_stores::open(&location)?;
    let t = Instant::now();
    let gen = Generator::new(42);
    let mut next = store.size()?;
    while next < entries {
        let n = (entries - next).min(10_000);
        let batch: Vec<dossier_core::Event> = (next..next + n)
            .map(|i| {
                let v = gen.event(i);
                dossier_core::Event::from_json(serde_json::to_vec(&v).expect("JSON"), &v).expect("a generated event reads")
            })
            .collect();
        store.append(&batch, dossier_store::now_unix_nanos())?;
        next += n;
    }
    println!("filled {entries} entries in {:.1} s", t.elapsed().as_secs_f64());
    let signer = Signer::generate("bench.dossier.local/log").map_err(anyhow::Error::msg)?;
    let size = store.size()?;
    let body = Checkpoint { origin: signer.name().into(), size, root: store.root(size)? }.body();
    store.save_checkpoint(&StoredCheckpoint { size, note: signer.sign(&body) })?;
    let key = signer.verifier();

    // Alternated, twice each, so that drift on a shared machine touches both.
    let mut full = Vec::new();
    let mut leaves_only = Vec::new();
    for _ in 0..2 {
        let t = Instant::now();
        let report =
            dossier_store::verify_trusting(store.as_ref(), &Trust { key: &key, trusted: None, witnesses: &[], quorum: 0 }, |_| {})?;
        full.push(t.elapsed());
        anyhow::ensure!(report.ok(), "the benchmark's store does not verify: {:?}", report.problems);
        let t = Instant::now();
        let root = root_from_leaves(store.as_ref(), size)?;
        leaves_only.push(t.elapsed());
        anyhow::ensure!(root == report.root, "the two roots differ");
    }
    let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let per_million = |d: Duration| d.as_secs_f64() * 1e6 / size as f64;
    println!(
        "full verification (dossier verify)   {:>8.1} s per million entries   ({:.0} entries/s; runs: {})",
        per_million(best(&full)),
        size as f64 / best(&full).as_secs_f64(),
        runs(&full)
    );
    println!(
        "root from stored leaves only         {:>8.1} s per million entries   ({:.0} entries/s; runs: {})",
        per_million(best(&leaves_only)),
        size as f64 / best(&leaves_only).as_secs_f64(),
        runs(&leaves_only)
    );
    println!("ratio full / leaves only             {:>8.1}", best(&full).as_secs_f64() / best(&leaves_only).as_secs_f64());
    Ok(())
}

fn runs(v: &[Duration]) -> String {
    v.iter().map(|d| format!("{:.1} s", d.as_secs_f64())).collect::<Vec<_>>().join(", ")
}

fn root_from_leaves(store: &dyn Store, size: u64) -> anyhow::Result<tree::Hash> {
    let mut frontier = Frontier::default();
    while frontier.size() < size {
        let leaves = store.leaves(frontier.size(), 10_000)?;
        anyhow::ensure!(!leaves.is_empty(), "leaves end early");
        for l in leaves {
            frontier.push(l);
        }
    }
    Ok(frontier.root())
}

fn witnessing(dir: &std::path::Path, checkpoints: usize, per_checkpoint: u64) -> anyhow::Result<()> {
    let log = Signer::generate("bench.dossier.local/witnessed").map_err(anyhow::Error::msg)?;
    let cosigner = Cosigner::generate("bench.dossier.local/witness").map_err(anyhow::Error::msg)?;
    let witness_key = cosigner.verifier();
    let witness = Arc::new(dossier_witness::Witness::open(cosigner, vec![log.verifier()], &dir.join("witness-state"))?);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}/add-checkpoint", listener.local_addr()?);
    runtime.spawn(dossier_witness::serve(listener, witness, std::future::pending()));
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();

    let mut tree = MemoryTree::default();
    let mut witnessed = 0u64;
    let (mut exchange, mut signing) = (Vec::with_capacity(checkpoints), Vec::with_capacity(checkpoints));
    for c in 0..checkpoints {
        for i in 0..per_checkpoint {
            tree.push(tree::leaf_hash(format!("entry {c} {i}").as_bytes()));
        }
        let t = Instant::now();
        let note = log.sign(&Checkpoint { origin: log.name().into(), size: tree.size(), root: tree.root() }.body());
        signing.push(t.elapsed());
        let t = Instant::now();
        let proof = if witnessed == 0 { Vec::new() } else { tree::consistency_proof(&tree, witnessed, tree.size())? };
        let body = AddCheckpoint { old: witnessed, proof, checkpoint: note.clone() }.body();
        let answer = agent.post(&url).send_string(&body).context("the witness refused")?.into_string()?;
        let cosigned = dossier_tlog::cosignature::with_cosignatures(&note, &answer);
        witness_key.verify(&cosigned).map_err(|e| anyhow::anyhow!("the cosignature: {e}"))?;
        exchange.push(t.elapsed());
        witnessed = tree.size();
    }
    exchange.sort();
    signing.sort();
    println!(
        "witnessing one checkpoint (HTTP, proof, fsync)  p50 {:>7.3} ms   p99 {:>7.3} ms   ({checkpoints} checkpoints, +{per_checkpoint} entries each)",
        percentile_ms(&exchange, 0.5),
        percentile_ms(&exchange, 0.99)
    );
    println!(
        "signing one checkpoint alone                    p50 {:>7.3} ms   p99 {:>7.3} ms",
        percentile_ms(&signing, 0.5),
        percentile_ms(&signing, 0.99)
    );
    Ok(())
}
