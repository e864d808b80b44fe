//! What every page is given: the log, its views, the policy service and access (sign-in).

use std::sync::Arc;

use dossier_access::Access;
use dossier_engine::PolicyService;
use dossier_log::EvidenceLog;
use dossier_views::Views;

#[derive(Clone)]
pub struct Pages {
    pub log: Arc<EvidenceLog>,
    pub views: Views,
    pub policies: Option<Arc<PolicyService>>,
    pub access: Arc<Access>,
}

/// Who is looking at a page, for the layout: set around every page's handler.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    /// The signed-in principal's name and scopes (none on the sign-in page).
    pub who: Option<(String, String)>,
    /// The session's CSRF token, which the page's script sends with every change.
    pub csrf: Option<String>,
    /// Served without TLS on a non-loopback address on purpose.
    pub insecure: bool,
}

tokio::task_local! {
    pub static VIEWER: Viewer;
}

/// The viewer of the page being rendered (the default outside a request).
pub fn viewer() -> Viewer {
    VIEWER.try_with(Viewer::clone).unwrap_or_default()
}
