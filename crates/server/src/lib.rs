//! Dossier's server: the evidence log service and its HTTP API.
//!
//! * [`log`]: the evidence log as a service — a [`dossier_store::Store`] behind one group-commit
//!   writer, the signing key, signed checkpoints and the feed of newly appended events.
//! * [`lineage`]: the lineage graph as a live view of the log.
//! * [`policy`]: the policy engine, evaluating Rego policies on committed events and logging
//!   policy versions, decisions and emitted events; [`actions`] runs the webhooks and tools
//!   they ask for, each run as evidence; [`publish`] puts what they emit onto NATS JetStream.
//! * [`api`]: the HTTP routes (axum) over it: ingest, queries, proofs, checkpoints, the live
//!   stream and the OpenAPI document; `lineage_api` adds lineage, impact and risk; `dashboard`
//!   serves the pages people read.

pub mod actions;
mod actions_api;
pub mod api;
mod dashboard;
pub mod documents;
mod documents_api;
pub mod exceptions;
mod exceptions_api;
pub mod fetch;
mod follow;
pub mod lineage;
mod lineage_api;
pub mod log;
mod own;
pub mod policy;
pub mod publish;
mod render;
pub mod replay;
pub mod tools;

pub use api::{router, ApiConfig};
pub use log::{EvidenceLog, LogError};

use std::net::SocketAddr;
use std::sync::Arc;

/// Serves `log` on `listener` until `shutdown` resolves, then commits what is queued and
/// signs a final checkpoint.
pub async fn serve(
    log: Arc<EvidenceLog>,
    config: ApiConfig,
    policies: Option<Arc<policy::PolicyService>>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let persist = tokio::spawn(log::persist_checkpoints(log.clone()));
    let expiries = tokio::spawn(exceptions::announce_expiries(log.clone()));
    let app = router(log.clone(), config, policies);
    let result = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await;
    persist.abort();
    expiries.abort();
    let closing = log.clone();
    tokio::task::spawn_blocking(move || closing.close()).await.ok();
    result
}
