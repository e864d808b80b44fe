//! What every handler is given: the log, its views, the submit path, the policy service and
//! the documents.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use dossier_connectors::submit::Submit;
use dossier_engine::PolicyService;
use dossier_ingest::Limits;
use dossier_log::documents::Documents;
use dossier_log::EvidenceLog;
use dossier_views::Views;

/// Request limits of the API, and where documents are kept.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes (documents have their own limit).
    pub max_body: usize,
    /// Longest the whole of a request body may take to arrive, from the end of its headers;
    /// past it the request gets 408 (a client trickling bytes holds nothing for long).
    pub body_timeout: Duration,
    /// Request body bytes held in memory at once, across all requests; a request waits up to
    /// `budget_wait` for its share, then gets 503 with Retry-After.
    pub body_budget: usize,
    pub budget_wait: Duration,
    pub limits: Limits,
    /// The document directory; without one, document uploads are refused.
    pub documents: Option<Arc<Documents>>,
    /// What the signatures of received documents are checked against.
    pub trust: Arc<dossier_evidence::signatures::Trust>,
    /// Live streams (Server-Sent Events) open at once; one more gets 503. Each holds a
    /// connection for as long as it is open, so they must not fill the connection cap.
    pub max_streams: usize,
    /// Where witnessing stands, when witnesses are configured (for `/metrics`).
    pub witnessing: Option<Arc<dossier_connectors::witnessing::WitnessStatus>>,
    /// Cancelled when the server stops: every live stream then ends at once, with a `closing`
    /// event, rather than holding the shutdown for its whole grace period.
    pub closing: tokio_util::sync::CancellationToken,
    /// How the deployment gate treats what it does not know.
    pub gate: dossier_engine::gate::GateConfig,
    /// Which environment a workload sent to the admission webhook goes to.
    pub admission: dossier_admission::Environments,
    /// Who signs the gate's verification summaries (set by the server).
    pub summaries: Option<dossier_connectors::vsa::Summaries>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body: 16 * 1024 * 1024,
            body_timeout: Duration::from_secs(60),
            body_budget: 64 * 1024 * 1024,
            budget_wait: Duration::from_secs(5),
            limits: Limits::default(),
            documents: None,
            trust: Arc::new(dossier_evidence::signatures::Trust::default()),
            max_streams: 256,
            witnessing: None,
            closing: tokio_util::sync::CancellationToken::new(),
            gate: dossier_engine::gate::GateConfig::default(),
            admission: dossier_admission::Environments::default(),
            summaries: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub log: Arc<EvidenceLog>,
    pub views: Views,
    pub submit: Submit,
    pub config: Arc<ApiConfig>,
    /// Replays of the log (`as_of` questions, policy replays) cost a scan each: one at a time.
    pub replays: Arc<tokio::sync::Semaphore>,
    pub policies: Option<Arc<PolicyService>>,
    pub documents: Option<Arc<Documents>>,
    /// The budget of body bytes in memory (`ApiConfig::body_budget`), shared by all requests.
    pub bodies: Budget,
    /// One permit per live stream open (`ApiConfig::max_streams`).
    pub streams: Arc<tokio::sync::Semaphore>,
    /// The deployment gate: there is one when policies are loaded.
    pub gate: Option<Arc<dossier_engine::gate::Gate>>,
}

/// The one submit path of `log` as `config` sets it up: HTTP ingest's, and NATS ingest's.
pub fn submit_path(log: Arc<EvidenceLog>, config: &ApiConfig) -> Submit {
    let checker =
        dossier_connectors::signatures::Checker { log: log.clone(), documents: config.documents.clone(), trust: config.trust.clone() };
    Submit::new(log, config.limits.clone()).checking_signatures(checker)
}

impl AppState {
    pub fn new(log: Arc<EvidenceLog>, views: Views, config: ApiConfig, policies: Option<Arc<PolicyService>>) -> AppState {
        let documents = config.documents.clone();
        let submit = submit_path(log.clone(), &config);
        let bodies = Budget::new(config.body_budget, config.budget_wait);
        let streams = Arc::new(tokio::sync::Semaphore::new(config.max_streams));
        let gate = policies.as_ref().map(|p| Arc::new(dossier_engine::gate::Gate::new(p.clone(), config.gate.clone())));
        AppState {
            log,
            views,
            submit,
            config: Arc::new(config),
            replays: Arc::new(tokio::sync::Semaphore::new(1)),
            policies,
            documents,
            bodies,
            streams,
            gate,
        }
    }
}

/// The body bytes all requests may hold in memory at once, as semaphore permits (one a byte,
/// so at most 4 GiB), and how long a request waits for its share.
#[derive(Clone, Debug)]
pub struct Budget {
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) total: usize,
    pub(crate) wait: Duration,
}

impl Budget {
    pub fn new(total: usize, wait: Duration) -> Budget {
        let total = total.min(u32::MAX as usize).min(Semaphore::MAX_PERMITS);
        Budget { permits: Arc::new(Semaphore::new(total)), total, wait }
    }

    /// Bytes of the budget not held by any request now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}
