//! `dossier serve`: configuration from flags, environment variables and a TOML file, in that
//! order of precedence, then the server.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use dossier_server::{Api, Builder, Connections, Server, TlsFiles};
use serde::{Deserialize, Serialize};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7340";
pub const DEFAULT_DATA: &str = "./dossier-data";

/// Every setting of `dossier serve`, written once: as a flag (with its environment variable)
/// and as a key of the TOML file (snake_case). Flags and environment override the file.
#[derive(clap::Args, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeArgs {
    /// Data directory (created if missing) [default: ./dossier-data]
    #[arg(long, env = "DOSSIER_DATA")]
    pub data: Option<PathBuf>,
    /// Where the store is: sqlite:PATH or postgresql://user@host:port/database [default: sqlite:DATA/dossier.db]
    #[arg(long, env = "DOSSIER_STORE")]
    pub store: Option<String>,
    /// The log's signing key, best kept outside the data directory [default: DATA/log.key]
    #[arg(long, env = "DOSSIER_LOG_KEY")]
    pub log_key: Option<PathBuf>,
    /// A program that signs checkpoints with a key Dossier never holds (a KMS, an HSM): it
    /// reads the message on stdin and prints the Ed25519 signature (64 bytes or base64)
    #[arg(long, env = "DOSSIER_LOG_SIGNER")]
    pub log_signer: Option<PathBuf>,
    /// The log's public key for --log-signer (a file: `<name>+<id>+<base64>`, e.g. from
    /// `dossier log vkey`); its name is the log's origin
    #[arg(long, env = "DOSSIER_LOG_PUBLIC_KEY")]
    pub log_public_key: Option<PathBuf>,
    /// Also write every saved signed checkpoint to this directory as <size>.note
    #[arg(long, env = "DOSSIER_CHECKPOINT_DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// A witness to send every checkpoint to, as `<url> <key>` (its submission URL and its
    /// public key); repeat for several
    #[arg(long = "witness", env = "DOSSIER_WITNESSES", value_delimiter = ',')]
    #[serde(default)]
    pub witness: Vec<String>,
    /// How many witnesses' cosignatures make a checkpoint witnessed [default: all of them]
    #[arg(long, env = "DOSSIER_WITNESS_QUORUM")]
    pub witness_quorum: Option<usize>,
    /// Address to listen on [default: 127.0.0.1:7340]
    #[arg(long, env = "DOSSIER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM, the server's own certificate first) to serve HTTPS with;
    /// read again when it changes. With --tls-key
    #[arg(long, env = "DOSSIER_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM); read again when it changes
    #[arg(long, env = "DOSSIER_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a --listen address that is not loopback, on purpose (without it,
    /// such an address needs --tls-cert and --tls-key)
    #[arg(long, env = "DOSSIER_INSECURE")]
    #[serde(default)]
    pub insecure: bool,
    /// The first admin token (dst_…, from `dossier token generate`), recorded if the log lacks
    /// it; without it, a log with no token gets one written to DATA/admin.token
    #[arg(long, env = "DOSSIER_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Requests a second each principal may make on average; past it, 429 with Retry-After
    /// [default: 1000]
    #[arg(long, env = "DOSSIER_RATE_LIMIT")]
    pub rate_limit: Option<f64>,
    /// Requests a principal may make in a burst [default: 2000]
    #[arg(long, env = "DOSSIER_RATE_BURST")]
    pub rate_burst: Option<f64>,
    /// OIDC issuers whose JWTs are accepted (TOML `[[oidc]]` tables only; docs/oidc.md)
    #[arg(skip)]
    #[serde(default)]
    pub oidc: Vec<dossier_auth::oidc::IssuerConfig>,
    /// Sigstore trusted root (JSON, as `cosign`/`sigstore-*` clients read it) that signatures
    /// are checked against, in the trust named `default` [default: the Sigstore public-good
    /// root shipped with Dossier]
    #[arg(long, env = "DOSSIER_TRUSTED_ROOT")]
    pub trusted_root: Option<PathBuf>,
    /// A public key (PEM, e.g. cosign.pub) that verifies cosign key signatures, DSSE envelopes
    /// and managed-key bundles, as NAME=FILE, in the trust named `default`; repeat for several
    #[arg(long = "trusted-key", env = "DOSSIER_TRUSTED_KEYS", value_delimiter = ',')]
    #[serde(default)]
    pub trusted_key: Vec<String>,
    /// Named trust sets: a trusted root, keys, the identities and issuers accepted (TOML
    /// `[[trust]]` tables only; README "Signatures")
    #[arg(skip)]
    #[serde(default)]
    pub trust: Vec<dossier_evidence::signatures::TrustConfig>,
    /// TOML configuration file; flags and environment variables override it
    #[arg(long, env = "DOSSIER_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Largest request body, in bytes [default: 16777216]
    #[arg(long, env = "DOSSIER_MAX_BODY")]
    pub max_body: Option<usize>,
    /// Live streams (Server-Sent Events) open at once; one more gets 503 [default: 256]
    #[arg(long, env = "DOSSIER_MAX_STREAMS")]
    pub max_streams: Option<usize>,
    /// Seconds a client may take to send a request's headers (also the longest an idle
    /// connection is kept) before the connection is closed [default: 10]
    #[arg(long, env = "DOSSIER_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,
    /// Seconds a request body may take to arrive in full before the request gets 408
    /// [default: 60]
    #[arg(long, env = "DOSSIER_BODY_TIMEOUT")]
    pub body_timeout: Option<u64>,
    /// Connections served at once; more wait to be accepted [default: 1024]
    #[arg(long, env = "DOSSIER_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Bytes of request bodies held in memory at once across all requests, at least max_body
    /// [default: 67108864]
    #[arg(long, env = "DOSSIER_BODY_BUDGET")]
    pub body_budget: Option<usize>,
    /// Seconds a request waits for its share of body_budget before it gets 503 [default: 5]
    #[arg(long, env = "DOSSIER_BODY_BUDGET_WAIT")]
    pub body_budget_wait: Option<u64>,
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
    /// Rego policies to evaluate on every event: a directory (with subdirectories and data.json /
    /// data.yaml documents) or an OPA bundle .tar.gz; reloaded when it changes
    #[arg(long, env = "DOSSIER_POLICIES")]
    pub policies: Option<PathBuf>,
    /// What an evaluation error means for policies that do not declare `on_error`: deny (fail
    /// closed) or allow [default: deny]
    #[arg(long, env = "DOSSIER_POLICY_ON_ERROR", value_parser = ["deny", "allow"])]
    pub policy_on_error: Option<String>,
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
    /// Subject every saved signed checkpoint is published on [default: dossier.checkpoints]
    #[arg(long, env = "DOSSIER_NATS_CHECKPOINT_SUBJECT")]
    pub nats_checkpoint_subject: Option<String>,
    /// NATS server to consume CDEvents from, e.g. nats://127.0.0.1:4222 (JetStream): each
    /// message is acknowledged once its events are stored
    #[arg(long, env = "DOSSIER_INGEST_NATS")]
    pub ingest_nats: Option<String>,
    /// JetStream stream to consume, created if missing [default: CDEVENTS]
    #[arg(long, env = "DOSSIER_INGEST_STREAM")]
    pub ingest_stream: Option<String>,
    /// Subjects to consume [default: cdevents.>]
    #[arg(long, env = "DOSSIER_INGEST_SUBJECT")]
    pub ingest_subject: Option<String>,
    /// Durable consumer name, shared by the Dossiers that split the work [default: dossier]
    #[arg(long, env = "DOSSIER_INGEST_DURABLE")]
    pub ingest_durable: Option<String>,
    /// Messages handed out and not acknowledged yet, at most (MaxAckPending) [default: 1000]
    #[arg(long, env = "DOSSIER_INGEST_MAX_ACK_PENDING")]
    pub ingest_max_ack_pending: Option<i64>,
    /// Sources messages may carry, like a token's --source patterns (repeatable) [default: all]
    #[arg(long = "ingest-source", env = "DOSSIER_INGEST_SOURCES", value_delimiter = ',')]
    #[serde(default)]
    pub ingest_sources: Vec<String>,
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
    #[serde(default)]
    pub fetch_allow: Vec<String>,
    /// Longest an exception may last, in days [default: 90]
    #[arg(long, env = "DOSSIER_EXCEPTION_MAX_DAYS")]
    pub exception_max_days: Option<u32>,
    /// Exceptions are in force as soon as they are requested (no approval step)
    #[arg(long, env = "DOSSIER_EXCEPTIONS_WITHOUT_APPROVAL")]
    #[serde(default)]
    pub exceptions_without_approval: bool,
    /// The requester of an exception may approve it
    #[arg(long, env = "DOSSIER_EXCEPTIONS_SELF_APPROVAL")]
    #[serde(default)]
    pub exceptions_self_approval: bool,
    /// An environment where the deployment gate lets an artifact Dossier has no evidence about
    /// through to the policies, with a warning (elsewhere it is denied); repeat for several
    #[arg(long = "gate-allow-unknown", env = "DOSSIER_GATE_ALLOW_UNKNOWN", value_delimiter = ',')]
    #[serde(default)]
    pub gate_allow_unknown: Vec<String>,
    /// The label on a workload (or its pod template) that names the environment it goes to,
    /// for the admission webhook, e.g. dossier.dev/environment; it wins over the namespace
    #[arg(long, env = "DOSSIER_ADMISSION_ENVIRONMENT_LABEL")]
    pub admission_environment_label: Option<String>,
    /// A namespace's environment for the admission webhook, as NAMESPACE=ENVIRONMENT; repeat
    /// for several (a namespace not named is its own environment)
    #[arg(long = "admission-namespace", env = "DOSSIER_ADMISSION_NAMESPACES", value_delimiter = ',')]
    #[serde(default)]
    pub admission_namespace: Vec<String>,
}

impl ServeArgs {
    /// The file's settings with those given as flags or environment variables laid over them:
    /// a setting counts as given when it is set (an option), on (a switch) or not empty (a list).
    fn over(self, file: ServeArgs) -> anyhow::Result<ServeArgs> {
        let (serde_json::Value::Object(given), serde_json::Value::Object(mut merged)) =
            (serde_json::to_value(&self)?, serde_json::to_value(&file)?)
        else {
            bail!("settings are not a table");
        };
        for (name, value) in given {
            let set = match &value {
                serde_json::Value::Null | serde_json::Value::Bool(false) => false,
                serde_json::Value::Array(a) => !a.is_empty(),
                _ => true,
            };
            if set {
                merged.insert(name, value);
            }
        }
        let mut out: ServeArgs = serde_json::from_value(serde_json::Value::Object(merged))?;
        out.config = self.config;
        Ok(out)
    }

    /// Reads the TOML file named by `config` (if any) and lays these settings over it.
    pub fn merged(self) -> anyhow::Result<ServeArgs> {
        let file: ServeArgs = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("{}", path.display()))?
            }
            None => ServeArgs::default(),
        };
        self.over(file)
    }
}

/// Where to listen, and the server to start.
#[derive(Debug)]
pub struct Settings {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub server: Builder,
}

/// The store location of `--store`, or the embedded default in `data`.
pub fn store_location(store: Option<&str>, data: &std::path::Path) -> anyhow::Result<dossier_stores::Location> {
    match store {
        // Named without a password it may hold.
        Some(text) => text.parse().with_context(|| format!("--store {:?}", dossier_stores::redacted(text))),
        None => Ok(dossier_stores::Location::in_data_dir(data)),
    }
}

pub fn resolve(args: ServeArgs) -> anyhow::Result<Settings> {
    let args = args.merged()?;
    let mut api = Api::default();
    if let Some(n) = args.max_body {
        api.max_body = n;
    }
    match args.max_streams {
        Some(0) => bail!("max_streams must be at least 1"),
        Some(n) => api.max_streams = n,
        None => {}
    }
    if let Some(n) = args.max_batch {
        api.limits.max_batch = n;
    }
    let seconds = |name: &str, value: Option<u64>| match value {
        Some(0) => bail!("{name} must be at least 1 second"),
        Some(n) => Ok(Some(Duration::from_secs(n))),
        None => Ok(None),
    };
    if let Some(d) = seconds("body_timeout", args.body_timeout)? {
        api.body_timeout = d;
    }
    if let Some(d) = seconds("body_budget_wait", args.body_budget_wait)? {
        api.budget_wait = d;
    }
    if let Some(n) = args.body_budget {
        api.body_budget = n;
    }
    if api.body_budget < api.max_body {
        bail!("body_budget {} is smaller than max_body {}: a body of the largest size could never be read", api.body_budget, api.max_body);
    }
    if api.body_budget > u32::MAX as usize {
        bail!("body_budget {} is over the most it can be, {} bytes", api.body_budget, u32::MAX);
    }
    let mut connections = Connections::default();
    if let Some(d) = seconds("header_timeout", args.header_timeout)? {
        connections.header_timeout = d;
    }
    match args.max_connections {
        Some(0) => bail!("max_connections must be at least 1"),
        Some(n) => connections.max = n,
        None => {}
    }
    if let Some(n) = args.max_depth {
        if n < 4 {
            bail!("max_depth {n} is too small: a CDEvent nests at least 4 levels");
        }
        api.limits.max_depth = n;
    }
    let listen = args.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address"));
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        (Some(_), None) => bail!("tls_cert needs tls_key: the private key of the certificate"),
        (None, Some(_)) => bail!("tls_key needs tls_cert: the certificate chain of the key"),
    };
    if tls.is_some() && args.insecure {
        bail!("insecure and tls_cert exclude each other: with a certificate, the API is served over TLS");
    }
    let insecure = tls.is_none() && !is_loopback(listen.ip());
    if insecure && !args.insecure {
        bail!(
            "refusing to serve plain HTTP on {listen}, which is not a loopback address: give --tls-cert and --tls-key \
             (a certificate and its private key, PEM) to serve HTTPS, or --insecure to serve plain HTTP there on purpose \
             (behind a proxy that terminates TLS, say)"
        );
    }
    let data = args.data.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
    let action_workers = match args.action_workers.unwrap_or(4) {
        0 => bail!("action_workers must be at least 1"),
        n => n,
    };
    let tools = match args.tools {
        Some(path) => dossier_engine::tools::load(&path).map_err(anyhow::Error::msg)?,
        None => Default::default(),
    };
    let ingest = match args.ingest_nats {
        Some(url) => {
            let sources = if args.ingest_sources.is_empty() {
                dossier_auth::Patterns::any()
            } else {
                dossier_auth::Patterns::parse(&args.ingest_sources).map_err(|e| anyhow::anyhow!("ingest_sources: {e}"))?
            };
            let max_ack_pending = match args.ingest_max_ack_pending.unwrap_or(1000) {
                n if n >= 1 => n,
                n => bail!("ingest_max_ack_pending must be at least 1, got {n}"),
            };
            Some(dossier_connectors::consume::IngestConfig {
                url,
                stream: args.ingest_stream.unwrap_or_else(|| "CDEVENTS".into()),
                subject: args.ingest_subject.unwrap_or_else(|| "cdevents.>".into()),
                durable: args.ingest_durable.unwrap_or_else(|| "dossier".into()),
                max_ack_pending,
                sources,
            })
        }
        None => None,
    };
    let fetch = dossier_connectors::fetch::FetchRules { dir: args.fetch_dir, allow: args.fetch_allow };
    fetch.check()?;
    let witnesses = args
        .witness
        .iter()
        .map(|w| w.parse::<dossier_connectors::witnessing::WitnessConfig>())
        .collect::<Result<Vec<_>, _>>()
        .context("--witness")?;
    if let Some(k) = args.witness_quorum {
        if k == 0 || k > witnesses.len() {
            bail!("witness_quorum {k}: it must be between 1 and the number of witnesses ({})", witnesses.len());
        }
    }
    let log_signer = match (args.log_signer, args.log_public_key, &args.log_key) {
        (Some(_), _, Some(_)) => bail!("log_signer and log_key exclude each other: the key is in the signer or in the file"),
        (Some(program), Some(public_key), None) => {
            Some(dossier_server::ExternalSigner { program, public_key, timeout: std::time::Duration::from_secs(10) })
        }
        (Some(_), None, None) => bail!("log_signer needs log_public_key: the log's public key, to check every signature it makes"),
        (None, Some(_), _) => bail!("log_public_key is for log_signer; with a key file, the public key is derived from it"),
        (None, None, _) => None,
    };
    let mut rate = dossier_auth::limit::Rate::default();
    if let Some(r) = args.rate_limit {
        if !(r > 0.0 && r.is_finite()) {
            bail!("rate_limit must be a positive number of requests a second");
        }
        rate.per_second = r;
    }
    if let Some(b) = args.rate_burst {
        if !(b >= 1.0 && b.is_finite()) {
            bail!("rate_burst must be at least 1 request");
        }
        rate.burst = b;
    }
    let trust = trust(args.trusted_root, &args.trusted_key, args.trust)?;
    let gate = dossier_engine::gate::GateConfig {
        unknown: args.gate_allow_unknown.iter().map(|env| (env.clone(), dossier_engine::gate::Unknown::Allow)).collect(),
    };
    let mut admission = dossier_admission::Environments { label: args.admission_environment_label, ..Default::default() };
    for pair in &args.admission_namespace {
        let Some((namespace, environment)) = pair.split_once('=').filter(|(n, e)| !n.is_empty() && !e.is_empty()) else {
            bail!("--admission-namespace {pair:?}: give NAMESPACE=ENVIRONMENT, e.g. shop-prod=production");
        };
        if admission.namespaces.insert(namespace.to_owned(), environment.to_owned()).is_some() {
            bail!("--admission-namespace: namespace {namespace:?} is given twice");
        }
    }
    let server = Server::builder(&data)
        .gate(gate)
        .admission(admission)
        .trust(trust)
        .admin_token(args.admin_token)
        .oidc(args.oidc)
        .rate_limit(rate)
        .log_signer(log_signer)
        .witnesses(witnesses, args.witness_quorum.unwrap_or(0))
        .store(store_location(args.store.as_deref(), &data)?)
        .api(api)
        .connections(connections)
        .tls(tls)
        .insecure(insecure)
        .log_name(args.log_name)
        .log_key(args.log_key)
        .checkpoint_dir(args.checkpoint_dir)
        .policies_opt(args.policies)
        .policy_on_error(match args.policy_on_error.as_deref() {
            Some("allow") => dossier_policy::OnError::Allow,
            _ => dossier_policy::OnError::Deny,
        })
        .max_document(args.max_document.unwrap_or(dossier_server::DEFAULT_MAX_DOCUMENT))
        .exceptions(dossier_exceptions::Rules {
            approval_required: !args.exceptions_without_approval,
            distinct_approver: !args.exceptions_self_approval,
            max_days: args.exception_max_days.unwrap_or(90),
        })
        .fetch(fetch)
        .action_workers(action_workers)
        .bus(args.nats.map(|url| dossier_connectors::publish::BusConfig {
            url,
            stream: args.nats_stream.unwrap_or_else(|| "DOSSIER".into()),
            subject: args.nats_subject.unwrap_or_else(|| "dossier.events".into()),
            checkpoints: args.nats_checkpoint_subject.unwrap_or_else(|| "dossier.checkpoints".into()),
        }))
        .ingest_nats(ingest)
        .tools(tools);
    Ok(Settings { data, listen, server })
}

/// The trust signatures are checked against: the `default` set (the shipped public-good root,
/// or --trusted-root, with the --trusted-key keys) unless only `[[trust]]` tables are given and
/// no flag, then the tables' sets.
fn trust(
    root: Option<PathBuf>,
    keys: &[String],
    tables: Vec<dossier_evidence::signatures::TrustConfig>,
) -> anyhow::Result<dossier_evidence::signatures::Trust> {
    use dossier_evidence::signatures::{Trust, TrustConfig, DEFAULT};
    let mut configs = Vec::new();
    if root.is_some() || !keys.is_empty() || tables.is_empty() {
        let mut keyed = std::collections::BTreeMap::new();
        for k in keys {
            let Some((name, file)) = k.split_once('=').filter(|(n, f)| !n.is_empty() && !f.is_empty()) else {
                bail!("--trusted-key {k:?}: give NAME=FILE, the key's name (as checks will name it) and its PEM file");
            };
            if keyed.insert(name.to_owned(), PathBuf::from(file)).is_some() {
                bail!("--trusted-key {name:?} is given twice");
            }
        }
        configs.push(TrustConfig { name: DEFAULT.into(), trusted_root: root, keys: keyed, ..TrustConfig::default() });
    }
    configs.extend(tables);
    Ok(Trust::configured(&configs, |path| std::fs::read(path))?)
}

/// 127.0.0.0/8 and ::1 (and ::ffff:127.0.0.0/104): only this machine reaches them.
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|ip| ip.is_loopback()),
    }
}

/// The log of a long-running command (`serve`, `witness`) on stderr, filtered by `DOSSIER_LOG`.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("DOSSIER_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none())
        .init();
}

pub fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    let settings = resolve(args)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let server = settings.server.start().map_err(|e| match e {
            // Not the data directory's fault: the message names the file.
            e @ dossier_server::StartError::Tls(_) => anyhow::Error::new(e),
            e => anyhow::Error::new(e).context(format!("opening the data directory {}", settings.data.display())),
        })?;
        let listener = tokio::net::TcpListener::bind(settings.listen).await.with_context(|| format!("listening on {}", settings.listen))?;
        if server.insecure() {
            tracing::warn!(
                "the API is served without TLS on {}, not a loopback address (--insecure): what clients send and receive crosses \
                 the network in clear",
                listener.local_addr()?
            );
        }
        let size = {
            let l = server.log().clone();
            tokio::task::spawn_blocking(move || l.store().size()).await??
        };
        tracing::info!(
            "Dossier serving {}://{} (data {}, {} events, log {})",
            server.scheme(),
            listener.local_addr()?,
            settings.data.display(),
            size,
            server.log().verifier().name()
        );
        server.serve(listener, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}

pub async fn shutdown_signal() {
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
        assert_eq!(s.server.api_config().limits.max_batch, 50);
        assert_eq!(s.server.api_config().max_body, 16 * 1024 * 1024);
    }

    #[test]
    fn the_bounds_on_slow_and_many_clients_are_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dossier.toml");
        std::fs::write(&path, "header_timeout = 3\nbody_timeout = 30\nmax_connections = 8\nbody_budget = 33554432\n").unwrap();
        let s = resolve(ServeArgs { config: Some(path.clone()), body_budget_wait: Some(2), ..Default::default() }).unwrap();
        let api = s.server.api_config();
        assert_eq!((api.body_timeout, api.body_budget, api.budget_wait), (Duration::from_secs(30), 32 << 20, Duration::from_secs(2)));
        assert_eq!(s.server.connections_config(), Connections { header_timeout: Duration::from_secs(3), max: 8 });
        let s = resolve(ServeArgs::default()).unwrap();
        let api = s.server.api_config();
        assert_eq!((api.body_timeout, api.body_budget, api.budget_wait), (Duration::from_secs(60), 64 << 20, Duration::from_secs(5)));
        assert_eq!(s.server.connections_config(), Connections { header_timeout: Duration::from_secs(10), max: 1024 });
        let err = resolve(ServeArgs { body_budget: Some(1 << 20), ..Default::default() }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "body_budget 1048576 is smaller than max_body 16777216: a body of the largest size could never be read"
        );
        let err = resolve(ServeArgs { header_timeout: Some(0), ..Default::default() }).unwrap_err();
        assert_eq!(err.to_string(), "header_timeout must be at least 1 second");
    }

    #[test]
    fn a_non_loopback_address_needs_tls_or_insecure() {
        let listen = |addr: &str| Some(addr.parse().unwrap());
        let err = resolve(ServeArgs { listen: listen("0.0.0.0:7340"), ..Default::default() }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "refusing to serve plain HTTP on 0.0.0.0:7340, which is not a loopback address: give --tls-cert and --tls-key \
             (a certificate and its private key, PEM) to serve HTTPS, or --insecure to serve plain HTTP there on purpose \
             (behind a proxy that terminates TLS, say)"
        );
        assert!(resolve(ServeArgs { listen: listen("[::]:7340"), ..Default::default() }).is_err());
        assert!(resolve(ServeArgs { listen: listen("192.0.2.1:7340"), ..Default::default() }).is_err());
        for loopback in ["127.0.0.1:7340", "127.1.2.3:0", "[::1]:7340", "[::ffff:127.0.0.1]:7340"] {
            let s = resolve(ServeArgs { listen: listen(loopback), ..Default::default() }).unwrap();
            assert_eq!((s.server.tls_config(), s.server.insecure_config()), (None, false), "{loopback}");
        }
        let s = resolve(ServeArgs { listen: listen("0.0.0.0:7340"), insecure: true, ..Default::default() }).unwrap();
        assert_eq!((s.server.tls_config(), s.server.insecure_config()), (None, true));
        // On loopback, --insecure changes nothing: it is not insecure there.
        let s = resolve(ServeArgs { insecure: true, ..Default::default() }).unwrap();
        assert!(!s.server.insecure_config());
    }

    #[test]
    fn tls_is_a_certificate_and_its_key_from_flags_or_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dossier.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:7340\"\ntls_cert = \"/etc/dossier/tls.crt\"\ntls_key = \"/etc/dossier/tls.key\"\n")
            .unwrap();
        let s = resolve(ServeArgs { config: Some(path.clone()), ..Default::default() }).unwrap();
        let files = TlsFiles { cert: "/etc/dossier/tls.crt".into(), key: "/etc/dossier/tls.key".into() };
        assert_eq!((s.server.tls_config(), s.server.insecure_config()), (Some(&files), false));
        let s = resolve(ServeArgs { config: Some(path), tls_key: Some("/run/tls.key".into()), ..Default::default() }).unwrap();
        assert_eq!(s.server.tls_config().unwrap().key, PathBuf::from("/run/tls.key"));
        let err = resolve(ServeArgs { tls_cert: Some("tls.crt".into()), ..Default::default() }).unwrap_err();
        assert_eq!(err.to_string(), "tls_cert needs tls_key: the private key of the certificate");
        let err = resolve(ServeArgs { tls_key: Some("tls.key".into()), ..Default::default() }).unwrap_err();
        assert_eq!(err.to_string(), "tls_key needs tls_cert: the certificate chain of the key");
        let both = ServeArgs { tls_cert: Some("tls.crt".into()), tls_key: Some("tls.key".into()), insecure: true, ..Default::default() };
        let err = resolve(both).unwrap_err();
        assert_eq!(err.to_string(), "insecure and tls_cert exclude each other: with a certificate, the API is served over TLS");
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
