//! What every handler is given: the log, its views, the submit path, the policy service and
//! the documents.

use std::sync::Arc;

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
    pub limits: Limits,
    /// The document directory; without one, document uploads are refused.
    pub documents: Option<Arc<Documents>>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { max_body: 16 * 1024 * 1024, limits: Limits::default(), documents: None }
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
}

impl AppState {
    pub fn new(log: Arc<EvidenceLog>, views: Views, config: ApiConfig, policies: Option<Arc<PolicyService>>) -> AppState {
        let documents = config.documents.clone();
        let submit = Submit::new(log.clone(), config.limits.clone());
        AppState { log, views, submit, config: Arc::new(config), replays: Arc::new(tokio::sync::Semaphore::new(1)), policies, documents }
    }
}
