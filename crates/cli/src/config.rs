//! `dossier serve`: configuration from flags, environment variables and a TOML file, in that
//! order of precedence, then the server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use dossier_server::{ApiConfig, EvidenceLog};
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7340";
pub const DEFAULT_DATA: &str = "./dossier-data";

#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Data directory (created if missing) [default: ./dossier-data]
    #[arg(long, env = "DOSSIER_DATA")]
    pub data: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7340]
    #[arg(long, env = "DOSSIER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// TOML configuration file; flags and environment variables override it
    #[arg(long, env = "DOSSIER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Largest request body, in bytes [default: 16777216]
    #[arg(long, env = "DOSSIER_MAX_BODY")]
    pub max_body: Option<usize>,
    /// Most events in one request [default: 10000]
    #[arg(long, env = "DOSSIER_MAX_BATCH")]
    pub max_batch: Option<usize>,
    /// Deepest JSON nesting accepted [default: 64]
    #[arg(long, env = "DOSSIER_MAX_DEPTH")]
    pub max_depth: Option<usize>,
    /// Name of the log (its checkpoints' origin), used when the key is first created
    /// [default: dossier.local/<random>]
    #[arg(long, env = "DOSSIER_LOG_NAME")]
    pub log_name: Option<String>,
    /// Directory of Rego policies to evaluate on every event (reloaded when it changes)
    #[arg(long, env = "DOSSIER_POLICIES")]
    pub policies: Option<PathBuf>,
    /// TOML file of the tools that policies' `run` actions may execute
    #[arg(long, env = "DOSSIER_TOOLS")]
    pub tools: Option<PathBuf>,
    /// NATS server to publish what policies emit to, e.g. nats://127.0.0.1:4222 (JetStream)
    #[arg(long, env = "DOSSIER_NATS")]
    pub nats: Option<String>,
    /// JetStream stream for them, created if missing [default: DOSSIER]
    #[arg(long, env = "DOSSIER_NATS_STREAM")]
    pub nats_stream: Option<String>,
    /// Subject prefix: each event goes to <prefix>.<its type> [default: dossier.events]
    #[arg(long, env = "DOSSIER_NATS_SUBJECT")]
    pub nats_subject: Option<String>,
    /// Webhooks and tools run at the same time at most [default: 4]
    #[arg(long, env = "DOSSIER_ACTION_WORKERS")]
    pub action_workers: Option<usize>,
    /// Largest document (SBOM, scan report, …) accepted, in bytes [default: 268435456]
    #[arg(long, env = "DOSSIER_MAX_DOCUMENT")]
    pub max_document: Option<u64>,
    /// Directory the SBOMs named by artifact events' sbom.uri may be read from (paths and
    /// file:// URIs inside it)
    #[arg(long, env = "DOSSIER_FETCH_DIR")]
    pub fetch_dir: Option<PathBuf>,
    /// URL prefix the SBOMs named by artifact events may be fetched from over http(s);
    /// repeat it, or separate prefixes with commas
    #[arg(long, env = "DOSSIER_FETCH_ALLOW", value_delimiter = ',')]
    pub fetch_allow: Vec<String>,
    /// Longest an exception may last, in days [default: 90]
    #[arg(long, env = "DOSSIER_EXCEPTION_MAX_DAYS")]
    pub exception_max_days: Option<u32>,
    /// Exceptions are in force as soon as they are requested (no approval step)
    #[arg(long, env = "DOSSIER_EXCEPTIONS_WITHOUT_APPROVAL")]
    pub exceptions_without_approval: bool,
    /// The requester of an exception may approve it
    #[arg(long, env = "DOSSIER_EXCEPTIONS_SELF_APPROVAL")]
    pub exceptions_self_approval: bool,
}

/// The TOML file: the same settings as the flags, in snake_case.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data: Option<PathBuf>,
    listen: Option<SocketAddr>,
    max_body: Option<usize>,
    max_batch: Option<usize>,
    max_depth: Option<usize>,
    log_name: Option<String>,
    policies: Option<PathBuf>,
    tools: Option<PathBuf>,
    action_workers: Option<usize>,
    nats: Option<String>,
    nats_stream: Option<String>,
    nats_subject: Option<String>,
    max_document: Option<u64>,
    fetch_dir: Option<PathBuf>,
    #[serde(default)]
    fetch_allow: Vec<String>,
    exception_max_days: Option<u32>,
    #[serde(default)]
    exceptions_without_approval: bool,
    #[serde(default)]
    exceptions_self_approval: bool,
}

/// Settings after flags, environment and file are merged.
#[derive(Debug)]
pub struct Settings {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub api: ApiConfig,
    pub log_name: Option<String>,
    pub policies: Option<PathBuf>,
    pub tools: dossier_server::tools::Tools,
    pub action_workers: usize,
    pub bus: Option<dossier_server::publish::BusConfig>,
    pub max_document: u64,
    pub fetch: dossier_server::fetch::FetchRules,
    pub exceptions: dossier_exceptions::Rules,
}

pub const DEFAULT_MAX_DOCUMENT: u64 = 256 * 1024 * 1024;

pub fn resolve(args: ServeArgs) -> anyhow::Result<Settings> {
    let file: FileConfig = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("{}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let mut api = ApiConfig::default();
    if let Some(n) = args.max_body.or(file.max_body) {
        api.max_body = n;
    }
    if let Some(n) = args.max_batch.or(file.max_batch) {
        api.limits.max_batch = n;
    }
    if let Some(n) = args.max_depth.or(file.max_depth) {
        if n < 4 {
            bail!("max_depth {n} is too small: a CDEvent nests at least 4 levels");
        }
        api.limits.max_depth = n;
    }
    Ok(Settings {
        data: args.data.or(file.data).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA)),
        listen: args.listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address")),
        api,
        log_name: args.log_name.or(file.log_name),
        policies: args.policies.or(file.policies),
        max_document: args.max_document.or(file.max_document).unwrap_or(DEFAULT_MAX_DOCUMENT),
        exceptions: dossier_exceptions::Rules {
            approval_required: !(args.exceptions_without_approval || file.exceptions_without_approval),
            distinct_approver: !(args.exceptions_self_approval || file.exceptions_self_approval),
            max_days: args.exception_max_days.or(file.exception_max_days).unwrap_or(90),
        },
        fetch: dossier_server::fetch::FetchRules {
            dir: args.fetch_dir.or(file.fetch_dir),
            allow: if args.fetch_allow.is_empty() { file.fetch_allow } else { args.fetch_allow },
        },
        action_workers: match args.action_workers.or(file.action_workers).unwrap_or(4) {
            0 => bail!("action_workers must be at least 1"),
            n => n,
        },
        bus: args.nats.or(file.nats).map(|url| dossier_server::publish::BusConfig {
            url,
            stream: args.nats_stream.or(file.nats_stream).unwrap_or_else(|| "DOSSIER".into()),
            subject: args.nats_subject.or(file.nats_subject).unwrap_or_else(|| "dossier.events".into()),
        }),
        tools: match args.tools.or(file.tools) {
            Some(path) => dossier_server::tools::load(&path).map_err(anyhow::Error::msg)?,
            None => Default::default(),
        },
    })
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("DOSSIER_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let settings = resolve(args)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let log = EvidenceLog::open_dir(&settings.data, settings.log_name.as_deref())
            .with_context(|| format!("opening the data directory {}", settings.data.display()))?;
        let listener = tokio::net::TcpListener::bind(settings.listen).await.with_context(|| format!("listening on {}", settings.listen))?;
        let size = {
            let l = log.clone();
            tokio::task::spawn_blocking(move || l.store().size()).await??
        };
        tracing::info!(
            "Dossier serving http://{} (data {}, {} events, log {})",
            listener.local_addr()?,
            settings.data.display(),
            size,
            log.verifier().name()
        );
        log.exceptions().set_rules(settings.exceptions);
        let documents = dossier_server::documents::Documents::open(&settings.data.join("documents"), settings.max_document)
            .with_context(|| format!("opening {}", settings.data.join("documents").display()))?;
        // Fetching is opt-in: without a directory or an allowlist, sbom.uri references stay references.
        if settings.fetch.dir.is_some() || !settings.fetch.allow.is_empty() {
            dossier_server::fetch::start(log.clone(), documents.clone(), settings.fetch, &settings.data.join("fetch.cursor"));
        }
        let mut api = settings.api;
        api.documents = Some(documents.clone());
        if let Some(bus) = settings.bus {
            dossier_server::publish::start(log.clone(), bus, settings.data.join("nats.cursor"));
        }
        let tools = Arc::new(settings.tools);
        let policies = settings.policies.map(|dir| {
            dossier_server::actions::start(
                log.clone(),
                tools.clone(),
                Some(documents),
                settings.data.join("actions.cursor"),
                settings.action_workers,
            );
            dossier_server::policy::start(log.clone(), dir, settings.data.join("policy.cursor"), tools)
        });
        dossier_server::serve(log, api, policies, listener, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dossier.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nmax_batch = 50\ndata = \"/from/file\"\n").unwrap();
        let s = resolve(ServeArgs { config: Some(path), data: Some("/from/flag".into()), ..Default::default() }).unwrap();
        assert_eq!(s.data, PathBuf::from("/from/flag"));
        assert_eq!(s.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(s.api.limits.max_batch, 50);
        assert_eq!(s.api.max_body, 16 * 1024 * 1024);
    }

    #[test]
    fn an_unknown_setting_in_the_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dossier.toml");
        std::fs::write(&path, "listn = \"127.0.0.1:9000\"\n").unwrap();
        let err = resolve(ServeArgs { config: Some(path), ..Default::default() }).unwrap_err();
        assert!(format!("{err:#}").contains("unknown field `listn`"), "{err:#}");
    }
}
