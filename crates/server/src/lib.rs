//! Dossier's composition root: the store (by configuration), the views, the evidence log, the
//! engine, the connectors, the HTTP API and the dashboard, wired together once — by `dossier
//! serve`, the benchmarks and the tests alike.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = dossier_server::Server::builder("./dossier-data").policies("./policies").start()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7340").await?;
//! server.serve(listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! Architecture invariant: this is the only crate that knows every other; nothing depends on it
//! but the binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use dossier_connectors::fetch::FetchRules;
use dossier_connectors::publish::BusConfig;
use dossier_connectors::witnessing::{WitnessConfig, WitnessStatus, Witnessing};
use dossier_engine::tools::Tools;
use dossier_engine::{Context, PolicyService};
use dossier_http::{ApiConfig, AppState};
use dossier_log::documents::Documents;
use dossier_log::signer::{CommandSigner, NoteSigner};
use dossier_log::{EvidenceLog, LogError};
use dossier_stores::Location;
use dossier_views::Views;

pub use dossier_auth::limit::Rate;
pub use dossier_http::ApiConfig as Api;
pub use dossier_net::{Connections, TlsFiles};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("opening the store {location}: {source}")]
    Store { location: String, source: dossier_stores::OpenError },
    #[error("loading the views from the store: {0}")]
    Views(#[from] dossier_store::StoreError),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("opening the document directory {path}: {source}")]
    Documents { path: String, source: std::io::Error },
    #[error("loading the TLS certificate: {0}")]
    Tls(#[from] dossier_net::TlsError),
    #[error("the admin token: {0}")]
    AdminToken(String),
    #[error(transparent)]
    Oidc(#[from] dossier_access::oidc::OidcError),
    #[error("[[oidc]] issuer {issuer:?}: jwks {url}: {reason}")]
    OidcKeysNotAllowed { issuer: String, url: String, reason: String },
    #[error(transparent)]
    VerifierKey(#[from] dossier_gate::vsa::VsaError),
    #[error("trusting the gate's verifier key: {0}")]
    VerifierTrust(#[from] dossier_sigstore::keys::KeyError),
}

/// Everything `start` needs; defaults are the embedded setup in a data directory.
#[derive(Debug)]
pub struct Builder {
    data: PathBuf,
    store: Option<Location>,
    log_name: Option<String>,
    log_key: Option<PathBuf>,
    log_signer: Option<ExternalSigner>,
    checkpoint_dir: Option<PathBuf>,
    api: ApiConfig,
    policies: Option<PathBuf>,
    policy_on_error: dossier_engine::OnError,
    tools: Tools,
    action_workers: usize,
    bus: Option<BusConfig>,
    ingest: Option<dossier_connectors::consume::IngestConfig>,
    witnesses: Vec<WitnessConfig>,
    witness_quorum: usize,
    max_document: u64,
    fetch: FetchRules,
    exceptions: dossier_exceptions::Rules,
    connections: Connections,
    tls: Option<TlsFiles>,
    insecure: bool,
    admin_token: Option<String>,
    rate: dossier_auth::limit::Rate,
    oidc: Vec<dossier_auth::oidc::IssuerConfig>,
    trust: dossier_evidence::signatures::Trust,
}

/// An external signer of checkpoints (see [`CommandSigner`]).
#[derive(Debug, Clone)]
pub struct ExternalSigner {
    /// Reads the message on stdin, prints the Ed25519 signature (64 bytes or base64).
    pub program: PathBuf,
    /// The log's public key (`<name>+<id>+<base64>`), whose name is the log's origin.
    pub public_key: PathBuf,
    pub timeout: Duration,
}

/// Largest document accepted by default, in bytes.
pub const DEFAULT_MAX_DOCUMENT: u64 = 256 * 1024 * 1024;

impl Builder {
    /// The API's limits, as configured.
    pub fn api_config(&self) -> &ApiConfig {
        &self.api
    }

    /// Where the store is (default: `DATA/dossier.db`, SQLite; or a PostgreSQL database).
    pub fn store(mut self, location: Location) -> Builder {
        self.store = Some(location);
        self
    }

    /// The log's name (its checkpoints' origin), used when its key is first created.
    pub fn log_name(mut self, name: Option<String>) -> Builder {
        self.log_name = name;
        self
    }

    /// Where the log's signing key is (default: `DATA/log.key`). Keeping it outside the data
    /// directory means that whoever can rewrite the database cannot re-sign it.
    pub fn log_key(mut self, path: Option<PathBuf>) -> Builder {
        self.log_key = path;
        self
    }

    /// Sign checkpoints with an external signer (a KMS or an HSM behind a program) instead of a
    /// key file: Dossier then never holds the private key.
    pub fn log_signer(mut self, signer: Option<ExternalSigner>) -> Builder {
        self.log_signer = signer;
        self
    }

    /// Also write every saved checkpoint to this directory (`<size>.note`), for others to keep.
    pub fn checkpoint_dir(mut self, dir: Option<PathBuf>) -> Builder {
        self.checkpoint_dir = dir;
        self
    }

    /// The bounds on connections, as configured.
    pub fn connections_config(&self) -> Connections {
        self.connections
    }

    /// Bounds on connections: the header timeout, and how many are served at once.
    pub fn connections(mut self, connections: Connections) -> Builder {
        self.connections = Connections { max: connections.max.max(1), ..connections };
        self
    }

    /// The TLS certificate and key files, as configured.
    pub fn tls_config(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// Serve HTTPS with this certificate and key (PEM files), read at `start` and again when
    /// they change (see [`dossier_net::serve_tls`]); plain HTTP without them.
    pub fn tls(mut self, files: Option<TlsFiles>) -> Builder {
        self.tls = files;
        self
    }

    /// Whether plain HTTP on a non-loopback address was accepted on purpose, as configured.
    pub fn insecure_config(&self) -> bool {
        self.insecure
    }

    /// Plain HTTP is served on a non-loopback address on purpose (`--insecure`): the server
    /// says so ([`Server::insecure`]) to whoever shows its state.
    pub fn insecure(mut self, insecure: bool) -> Builder {
        self.insecure = insecure;
        self
    }

    /// The first admin token (`dst_…`), recorded when the log does not hold it yet; without
    /// one, a log with no token at all gets a new one written to `DATA/admin.token` (mode 0600).
    pub fn admin_token(mut self, token: Option<String>) -> Builder {
        self.admin_token = token;
        self
    }

    /// Accept JWTs of these OIDC issuers (CI jobs, Kubernetes service accounts) as credentials;
    /// a `jwks` URL must be on the fetch allowlist.
    pub fn oidc(mut self, issuers: Vec<dossier_auth::oidc::IssuerConfig>) -> Builder {
        self.oidc = issuers;
        self
    }

    /// Requests each principal may make: a token bucket per principal (429 past it).
    pub fn rate_limit(mut self, rate: dossier_auth::limit::Rate) -> Builder {
        self.rate = rate;
        self
    }

    pub fn api(mut self, api: ApiConfig) -> Builder {
        self.api = api;
        self
    }

    /// Evaluate the Rego policies of this directory on every event (and run the action workers).
    pub fn policies(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.policies = Some(dir.into());
        self
    }

    pub fn policies_opt(mut self, dir: Option<PathBuf>) -> Builder {
        self.policies = dir;
        self
    }

    /// What an evaluation error means for policies that do not declare `on_error` (default
    /// `deny`: a policy that cannot decide denies).
    pub fn policy_on_error(mut self, on_error: dossier_engine::OnError) -> Builder {
        self.policy_on_error = on_error;
        self
    }

    /// How the deployment gate treats artifacts it has no evidence about, per environment
    /// (default: denied everywhere).
    pub fn gate(mut self, config: dossier_engine::gate::GateConfig) -> Builder {
        self.api.gate = config;
        self
    }

    /// Which environment a workload sent to the admission webhook goes to.
    pub fn admission(mut self, environments: dossier_admission::Environments) -> Builder {
        self.api.admission = environments;
        self
    }

    pub fn tools(mut self, tools: Tools) -> Builder {
        self.tools = tools;
        self
    }

    pub fn action_workers(mut self, n: usize) -> Builder {
        self.action_workers = n.max(1);
        self
    }

    /// Consume CDEvents from a NATS JetStream stream, through the submit path.
    pub fn ingest_nats(mut self, ingest: Option<dossier_connectors::consume::IngestConfig>) -> Builder {
        self.ingest = ingest;
        self
    }

    /// Publish what policies emit onto NATS JetStream.
    pub fn bus(mut self, bus: Option<BusConfig>) -> Builder {
        self.bus = bus;
        self
    }

    /// Send every saved checkpoint to these witnesses (C2SP tlog-witness) and keep their
    /// cosignatures with it; `quorum` of them make a checkpoint witnessed (0: all of them).
    pub fn witnesses(mut self, witnesses: Vec<WitnessConfig>, quorum: usize) -> Builder {
        self.witness_quorum = if quorum == 0 { witnesses.len() } else { quorum };
        self.witnesses = witnesses;
        self
    }

    pub fn max_document(mut self, bytes: u64) -> Builder {
        self.max_document = bytes;
        self
    }

    /// Fetch the SBOMs artifact events point at (off unless a directory or an allowlist is set).
    pub fn fetch(mut self, rules: FetchRules) -> Builder {
        self.fetch = rules;
        self
    }

    /// What signatures are checked against (default: the Sigstore public-good root, no keys).
    pub fn trust(mut self, trust: dossier_evidence::signatures::Trust) -> Builder {
        self.trust = trust;
        self
    }

    pub fn exceptions(mut self, rules: dossier_exceptions::Rules) -> Builder {
        self.exceptions = rules;
        self
    }

    /// Opens the store, loads the views from it, starts the log's writer with the views as its
    /// projections, then the followers: the document fetcher, the NATS publisher, the action
    /// workers and the policy engine.
    pub fn start(self) -> Result<Server, StartError> {
        // First, so that a wrong certificate or issuer leaves nothing created or opened.
        let tls = self.tls.map(dossier_net::Tls::load).transpose()?;
        let oidc = if self.oidc.is_empty() {
            None
        } else {
            for issuer in &self.oidc {
                if let dossier_auth::oidc::JwksSource::Url(url) = issuer.jwks_source() {
                    self.fetch.allows_url(url).map_err(|e| StartError::OidcKeysNotAllowed {
                        issuer: issuer.issuer.clone(),
                        url: url.to_owned(),
                        reason: format!("{e}; add its prefix with --fetch-allow"),
                    })?;
                }
            }
            let rules = self.fetch.clone();
            let fetch: dossier_access::oidc::Fetch =
                Box::new(move |url| rules.fetch_small(url, dossier_auth::oidc::MAX_JWKS_BYTES as u64).map_err(|e| e.to_string()));
            let oidc = Arc::new(dossier_access::oidc::Oidc::load(self.oidc, fetch)?);
            oidc.refresh_periodically();
            Some(oidc)
        };
        std::fs::create_dir_all(&self.data).map_err(|source| LogError::Io { path: self.data.display().to_string(), source })?;
        let location = self.store.unwrap_or_else(|| Location::in_data_dir(&self.data));
        let store = dossier_stores::open(&location).map_err(|source| StartError::Store { location: location.describe(), source })?;
        let signer: Arc<dyn NoteSigner> = match (&self.log_signer, &self.log_key) {
            (Some(external), _) => {
                let key = dossier_log::external_key(&external.public_key, &self.data)?;
                Arc::new(CommandSigner::new(external.program.clone(), key, external.timeout))
            }
            (None, Some(path)) => Arc::new(dossier_log::load_or_create_key_at(path, &self.data, self.log_name.as_deref())?),
            (None, None) => Arc::new(dossier_log::load_or_create_key(&self.data, self.log_name.as_deref())?),
        };
        // Views first, from the log as it is; then the writer, which feeds them every commit.
        let views = Views::load(store.as_ref())?;
        views.set_exception_rules(self.exceptions);
        let log = EvidenceLog::with_signer(store, signer, views.projections());
        bootstrap_admin(&log, &views, &self.data, self.admin_token.as_deref())?;
        if let Some(dir) = self.checkpoint_dir {
            log.publish_checkpoints_to(dir.clone()).map_err(|source| LogError::Io { path: dir.display().to_string(), source })?;
        }
        let docs_dir = self.data.join("documents");
        let documents = Documents::open(&docs_dir, self.max_document)
            .map_err(|source| StartError::Documents { path: docs_dir.display().to_string(), source })?;
        // The gate's verifier key, and its own trust set: the summaries it signs read as verified.
        let vsa_key = Arc::new(dossier_gate::vsa::VerifierKey::load_or_create(&self.data.join("vsa.key"))?);
        let trust = Arc::new(self.trust);
        // Only the summaries' intake trusts the verifier key: an artifact's own signatures are
        // judged by the operator's trust alone.
        let mut summaries_trust = (*trust).clone();
        summaries_trust
            .sets
            .push(dossier_evidence::signatures::TrustSet::of_key(dossier_connectors::vsa::TRUST_SET, &vsa_key.public_pem())?);
        let summaries = dossier_connectors::vsa::Summaries {
            log: log.clone(),
            lineage: views.lineage.clone(),
            documents: documents.clone(),
            trust: Arc::new(summaries_trust),
            key: vsa_key,
            verifier: dossier_connectors::vsa::Summaries::verifier_of(log.verifier().name()),
        };
        dossier_connectors::vsa::start(summaries.clone(), &self.data.join("vsa.cursor"));
        let checker =
            dossier_connectors::signatures::Checker { log: log.clone(), documents: Some(documents.clone()), trust: trust.clone() };
        dossier_connectors::signatures::start(checker, &self.data.join("signatures.cursor"));
        if self.fetch.dir.is_some() || !self.fetch.allow.is_empty() {
            dossier_connectors::fetch::start(
                log.clone(),
                views.lineage.clone(),
                documents.clone(),
                trust.clone(),
                self.fetch,
                &self.data.join("fetch.cursor"),
            );
        }
        if let Some(bus) = self.bus {
            dossier_connectors::publish::start_checkpoints(log.clone(), bus.clone());
            dossier_connectors::publish::start(log.clone(), bus, self.data.join("nats.cursor"));
        }
        let witnessing = (!self.witnesses.is_empty()).then(|| {
            let w = Arc::new(Witnessing::new(log.clone(), self.witnesses, self.witness_quorum));
            w.clone().start();
            w
        });
        let tools = Arc::new(self.tools);
        let policies = self.policies.map(|dir| {
            dossier_engine::actions::start(
                log.clone(),
                tools.clone(),
                Some(documents.clone()),
                self.data.join("actions.cursor"),
                self.action_workers,
            );
            let cx = Context { log: log.clone(), views: views.clone() };
            dossier_engine::policy::start(cx, dir, self.data.join("policy.cursor"), tools, self.policy_on_error)
        });
        let mut api = self.api;
        api.summaries = Some(summaries);
        api.documents = Some(documents);
        api.trust = trust;
        api.witnessing = witnessing.as_ref().map(|w| w.status.clone());
        let mut access = dossier_access::Access::new(views.tokens.clone(), oidc, self.rate);
        access.insecure = self.insecure;
        access.secure_cookies = tls.is_some();
        Ok(Server {
            log,
            views,
            policies,
            api,
            witnessing,
            connections: self.connections,
            tls,
            insecure: self.insecure,
            access: Arc::new(access),
            ingest: self.ingest,
        })
    }
}

/// A started Dossier: the log and its views, the policy engine, ready to serve.
pub struct Server {
    log: Arc<EvidenceLog>,
    views: Views,
    policies: Option<Arc<PolicyService>>,
    api: ApiConfig,
    witnessing: Option<Arc<Witnessing>>,
    connections: Connections,
    tls: Option<dossier_net::Tls>,
    insecure: bool,
    access: Arc<dossier_access::Access>,
    ingest: Option<dossier_connectors::consume::IngestConfig>,
}

/// The access rule of every route: the API's table and the dashboard's.
pub fn access_rules() -> dossier_access::Rules {
    dossier_access::Rules::of(&[dossier_http::access::ACCESS, dossier_dashboard::ACCESS])
}

/// The sender of what Dossier records on its own behalf with a principal's weight (the first
/// admin token, token expiries); no token may be named so.
const DOSSIER: &str = "dossier";

/// The file the first admin token is written to, in the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";

/// Makes sure someone can administer the log: records `given` as the admin token if the log
/// lacks it; with none given, a log without any token gets a new one, written to
/// `DATA/admin.token` (mode 0600) for the operator.
fn bootstrap_admin(log: &EvidenceLog, views: &Views, data: &Path, given: Option<&str>) -> Result<(), StartError> {
    use dossier_auth::token;
    let fail = |m: String| StartError::AdminToken(m);
    let (id, secret, written) = match given {
        Some(text) => {
            let presented = token::parse(text).map_err(|e| fail(format!("{e}; make one with `dossier token generate`")))?;
            if let Some(existing) = views.tokens.read().get(presented.id) {
                if existing.grant.hash != token::hash(text) {
                    return Err(fail(format!("the log holds another token with id {}", presented.id)));
                }
                return Ok(());
            }
            (presented.id.to_owned(), text.to_owned(), None)
        }
        None if views.tokens.read().is_empty() => {
            let (id, secret) = token::generate();
            let path = data.join(ADMIN_TOKEN_FILE);
            write_secret(&path, &secret).map_err(|e| fail(format!("writing {}: {e}", path.display())))?;
            (id, secret, Some(path))
        }
        None => return Ok(()),
    };
    let name = |n: &str| dossier_auth::PrincipalName::new(n).expect("a valid name");
    let grant = token::Grant {
        id,
        name: name("admin"),
        scopes: dossier_auth::Scopes::all(),
        sources: dossier_auth::Patterns::any(),
        artifacts: dossier_auth::Patterns::any(),
        expires: None,
        hash: token::hash(&secret),
        by: name("dossier"),
    };
    let event = dossier_http::tokens_api::created_entry(&grant, Some(DOSSIER)).map_err(|e| fail(e.to_string()))?;
    log.append_blocking(vec![event]).map_err(|e| fail(e.to_string()))?;
    if let Some(path) = written {
        tracing::warn!(
            "the log had no token: an admin token (every scope) was written to {}; use it as DOSSIER_TOKEN, create tokens for each producer and person, then revoke it",
            path.display()
        );
    }
    Ok(())
}

fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    // A new file, never one already there (a link planted in the data directory is not followed).
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(secret.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

impl Server {
    /// The embedded default in data directory `data`: SQLite, the key beside it, no policies.
    pub fn builder(data: impl AsRef<Path>) -> Builder {
        Builder {
            data: data.as_ref().to_owned(),
            store: None,
            log_name: None,
            log_key: None,
            log_signer: None,
            checkpoint_dir: None,
            api: ApiConfig::default(),
            policies: None,
            policy_on_error: dossier_engine::OnError::Deny,
            tools: Tools::default(),
            action_workers: 4,
            bus: None,
            ingest: None,
            witnesses: Vec::new(),
            witness_quorum: 0,
            max_document: DEFAULT_MAX_DOCUMENT,
            fetch: FetchRules::default(),
            exceptions: dossier_exceptions::Rules::default(),
            connections: Connections::default(),
            tls: None,
            insecure: false,
            admin_token: None,
            rate: dossier_auth::limit::Rate::default(),
            oidc: Vec::new(),
            trust: dossier_evidence::signatures::Trust::default(),
        }
    }

    pub fn log(&self) -> &Arc<EvidenceLog> {
        &self.log
    }

    pub fn views(&self) -> &Views {
        &self.views
    }

    pub fn policies(&self) -> Option<&Arc<PolicyService>> {
        self.policies.as_ref()
    }

    /// `https` when it serves TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// Whether it serves plain HTTP on a non-loopback address, accepted on purpose
    /// (`--insecure`): whoever shows the server's state should say so.
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// Where witnessing stands, when witnesses are configured.
    pub fn witnessing(&self) -> Option<&Arc<WitnessStatus>> {
        self.witnessing.as_ref().map(|w| &w.status)
    }

    /// The API and the dashboard, one router; every request body must arrive within the API's
    /// `body_timeout`.
    pub fn router(&self) -> axum::Router {
        let state = AppState::new(self.log.clone(), self.views.clone(), self.api.clone(), self.policies.clone());
        let pages = dossier_dashboard::Pages {
            log: self.log.clone(),
            views: self.views.clone(),
            policies: self.policies.clone(),
            access: self.access.clone(),
        };
        let rules = Arc::new(access_rules());
        let router = dossier_http::router(state)
            .merge(dossier_dashboard::routes(pages))
            .route_layer(axum::middleware::from_fn_with_state((self.access.clone(), rules), dossier_access::authorize))
            .fallback(|| async { axum::response::IntoResponse::into_response(dossier_http::not_found()) })
            .method_not_allowed_fallback(|| async { axum::response::IntoResponse::into_response(dossier_http::method_not_allowed()) });
        dossier_http::body::with_deadline(router, self.api.body_timeout)
    }

    /// Serves on `listener` until `shutdown` resolves, then commits what is queued and signs a
    /// final checkpoint. Signed checkpoints are kept every second; exception expiries announced.
    /// At most `Connections::max` connections are served at once, and a request's headers must
    /// arrive within `Connections::header_timeout` (and a TLS handshake finish within it too).
    /// With TLS, the certificate is served as its files change (see [`Builder::tls`]).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let persist = tokio::spawn(dossier_log::persist_checkpoints(self.log.clone()));
        let expiries = tokio::spawn(dossier_engine::expiry::announce_expiries(self.log.clone(), self.views.clone()));
        // NATS ingest stops taking messages when serving stops; what it did not acknowledge is
        // delivered again (and is a duplicate if it was stored).
        let consuming = self.ingest.clone().map(|config| {
            let submit = dossier_http::state::submit_path(self.log.clone(), &self.api);
            tokio::spawn(dossier_connectors::consume::run(submit, config, self.api.max_body))
        });
        let app = self.router();
        // Live streams end as soon as the server is asked to stop; answers in progress still
        // get their grace.
        let closing = self.api.closing.clone();
        let shutdown = async move {
            shutdown.await;
            closing.cancel();
        };
        match self.tls.clone() {
            Some(tls) => dossier_net::serve_tls(listener, app, self.connections, tls, shutdown).await,
            None => dossier_net::serve(listener, app, self.connections, shutdown).await,
        }
        persist.abort();
        expiries.abort();
        if let Some(consuming) = consuming {
            consuming.abort();
        }
        let closing = self.log.clone();
        let witnessing = self.witnessing.clone();
        tokio::task::spawn_blocking(move || {
            closing.close();
            // The final checkpoint is witnessed too, so that a stopped log is vouched for whole.
            if let Some(w) = witnessing {
                if let Err(e) = w.round() {
                    tracing::warn!("witnessing the final checkpoint: {e}");
                }
            }
        })
        .await
        .ok();
        Ok(())
    }
}
