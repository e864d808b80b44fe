//! `dossier witness`: a C2SP tlog-witness for one or more Dossier logs (or any log that signs
//! C2SP checkpoints with Ed25519).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use dossier_tlog::Verifier;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7380";

#[derive(clap::Args, Debug)]
pub struct WitnessArgs {
    /// The witness's directory: its key (witness.key, created on first start) and the
    /// checkpoint it last cosigned for each log [default: ./dossier-witness]
    #[arg(long, env = "DOSSIER_WITNESS_DATA")]
    pub data: Option<PathBuf>,
    /// The witness's private key, best kept apart from the state [default: DATA/witness.key]
    #[arg(long, env = "DOSSIER_WITNESS_KEY")]
    pub key: Option<PathBuf>,
    /// The witness's name, used when its key is first created [default: witness.local/<random>]
    #[arg(long)]
    pub name: Option<String>,
    /// The public key of a log to witness (its text, or a file holding it, e.g. DATA/log.pub);
    /// repeat for several logs
    #[arg(long = "log-key", required = true)]
    pub log_keys: Vec<String>,
    /// Address to listen on [default: 127.0.0.1:7380]
    #[arg(long, env = "DOSSIER_WITNESS_LISTEN")]
    pub listen: Option<SocketAddr>,
}

pub fn run(args: WitnessArgs) -> anyhow::Result<ExitCode> {
    crate::config::init_logging();
    let data = args.data.unwrap_or_else(|| PathBuf::from("./dossier-witness"));
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let key_path = args.key.unwrap_or_else(|| data.join("witness.key"));
    let cosigner = dossier_witness::load_or_create_key(&key_path, args.name.as_deref())?;
    let logs = args
        .log_keys
        .iter()
        .map(|k| {
            let text = crate::verify::read_key(k)?;
            Verifier::parse(text.trim()).map_err(|e| anyhow!("--log-key {k}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let listen = args.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address"));
    let witness = Arc::new(dossier_witness::Witness::open(cosigner, logs, &data.join("state"))?);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
        tracing::info!(
            "witness {} serving http://{} for {}; its key: {}",
            witness.cosigner().name(),
            listener.local_addr()?,
            witness.logs().iter().map(|l| l.name().to_owned()).collect::<Vec<_>>().join(", "),
            witness.cosigner().verifier()
        );
        dossier_witness::serve(listener, witness, crate::config::shutdown_signal()).await;
        Ok(ExitCode::SUCCESS)
    })
}
