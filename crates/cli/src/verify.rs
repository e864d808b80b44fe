//! `dossier verify`: checks a data directory's store against its log, offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use dossier_tlog::Verifier;

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Data directory [default: ./dossier-data]
    #[arg(long, env = "DOSSIER_DATA")]
    pub data: Option<PathBuf>,
    /// Where the store is: sqlite:PATH or postgresql://user@host:port/database [default: sqlite:DATA/dossier.db]
    #[arg(long, env = "DOSSIER_STORE")]
    pub store: Option<String>,
    /// A signed checkpoint you saved earlier (a file holding the C2SP note, e.g. from `dossier
    /// log checkpoint`): the store must extend it, whatever its own checkpoints say
    #[arg(long, value_name = "FILE")]
    pub trusted_checkpoint: Option<PathBuf>,
    /// The log's public key (text or file) [default: DATA/log.pub]
    #[arg(long)]
    pub key: Option<String>,
    /// A witness's public key (text or file): the store must match the newest checkpoint that
    /// the witnesses cosigned; repeat for several
    #[arg(long = "witness-key")]
    pub witness_keys: Vec<String>,
    /// How many of the witnesses given must have cosigned [default: all of them]
    #[arg(long)]
    pub witness_quorum: Option<usize>,
}

/// A key given as its text or as a file holding it (`--key`, `--witness-key`, `--log-key`).
pub fn read_key(k: &str) -> anyhow::Result<String> {
    let path = std::path::Path::new(k);
    if path.is_file() {
        return std::fs::read_to_string(path).with_context(|| format!("reading {k}"));
    }
    // Key text is `<name>+<id>+<base64>`, without spaces; anything else was meant as a file.
    if !k.contains('+') || k.contains(char::is_whitespace) {
        anyhow::bail!("{k}: no such file, and not a key (`<name>+<id>+<base64>`)");
    }
    Ok(k.to_owned())
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let data = args.data.unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_DATA));
    let key_text = match &args.key {
        Some(k) => read_key(k)?,
        None => std::fs::read_to_string(data.join("log.pub"))
            .with_context(|| format!("reading the log's public key {}", data.join("log.pub").display()))?,
    };
    let key = Verifier::parse(key_text.trim()).map_err(|e| anyhow!("the log key: {e}"))?;
    let location = crate::config::store_location(args.store.as_deref(), &data)?;
    if !location.exists()? {
        anyhow::bail!("there is no Dossier store in the {}", location.describe());
    }
    let store = dossier_stores::open(&location)?;
    let trusted = match &args.trusted_checkpoint {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| format!("reading the trusted checkpoint {}", path.display()))?),
        None => None,
    };
    let witnesses = args
        .witness_keys
        .iter()
        .map(|k| dossier_tlog::CosignatureVerifier::parse(read_key(k)?.trim()).map_err(|e| anyhow!("--witness-key {k}: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(k) = args.witness_quorum {
        if k == 0 || k > witnesses.len() {
            anyhow::bail!("--witness-quorum {k}: it must be between 1 and the number of --witness-key given ({})", witnesses.len());
        }
    }
    let trust =
        dossier_store::Trust { key: &key, trusted: trusted.as_deref(), witnesses: &witnesses, quorum: args.witness_quorum.unwrap_or(0) };
    let report = dossier_store::verify_trusting(store.as_ref(), &trust, |n| {
        if n % 100_000 == 0 {
            eprint!("\rchecked {n} entries");
        }
    })?;
    eprint!("\r");
    for p in &report.problems {
        println!("FAIL  {p}");
    }
    match report.checkpoint_size {
        Some(size) => println!("checkpoint: size {size}, signed by {}", key.name()),
        None => println!("checkpoint: none in the store"),
    }
    if report.checkpoint_size.is_some() && report.unsigned() > 0 {
        println!("unsigned: the newest {} entries come after the newest signed checkpoint", report.unsigned());
    }
    if let Some(size) = report.trusted_size {
        println!("trusted: the store extends your checkpoint of size {size}");
    }
    if let Some((size, by)) = &report.witnessed {
        let by: Vec<String> = by
            .iter()
            .map(|(w, t)| format!("{w} at {}", dossier_core::event::format_timestamp((*t as i64).saturating_mul(1_000_000_000))))
            .collect();
        println!("witnessed: the store matches the checkpoint of size {size} cosigned by {}", by.join(", "));
    }
    if report.ok() {
        println!(
            "OK  {} entries verified; root {}",
            report.entries,
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, report.root)
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} problem(s) found in {} entries", report.problems.len(), report.entries);
        Ok(ExitCode::from(1))
    }
}
