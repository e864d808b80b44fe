//! What every page is given: the log, its views and the policy service.

use std::sync::Arc;

use dossier_engine::PolicyService;
use dossier_log::EvidenceLog;
use dossier_views::Views;

#[derive(Clone)]
pub struct Pages {
    pub log: Arc<EvidenceLog>,
    pub views: Views,
    pub policies: Option<Arc<PolicyService>>,
}
