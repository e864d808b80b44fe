//! Dossier's HTTP API (axum). Every error is JSON: `{"error": "..."}` plus details where there
//! are some (`error`). Routes are grouped by what they serve, each group a module with its own
//! `routes()`; [`router`] puts them together with the state they share (`state`).
//!
//! Architecture invariant: handlers reach the log, the views, the engine and the connectors;
//! nothing here is reached by them, and the dashboard does not depend on this crate.

pub mod access;
mod actions_api;
mod admission_api;
mod audit_api;
pub mod body;
mod documents_api;
pub mod error;
mod events_api;
mod exceptions_api;
pub mod gate_api;
mod lineage_api;
mod log_api;
mod policies_api;
mod report_api;
pub mod state;
mod stream;
pub mod tokens_api;

use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;

pub use state::{ApiConfig, AppState};

/// The OpenAPI document of every route (a test checks both ways).
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every API route over `state`. Unknown paths answer 404 with a pointer to `/openapi.json`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
        .route("/api/v1/stream", get(stream::stream))
        .route("/metrics", get(metrics))
        .merge(events_api::routes())
        .merge(log_api::routes())
        .merge(policies_api::routes())
        .merge(lineage_api::routes())
        .merge(documents_api::routes())
        .merge(exceptions_api::routes())
        .merge(actions_api::routes())
        .merge(tokens_api::routes())
        .merge(gate_api::routes())
        .merge(admission_api::routes())
        .merge(report_api::routes())
        .merge(audit_api::routes())
        .with_state(state)
}

/// Prometheus text exposition: the log's size, the stored rows that could not be read back
/// (each also logged; `dossier verify` names them) and, with witnesses, where witnessing stands.
async fn metrics(axum::extract::State(s): axum::extract::State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let log = s.log.clone();
    let size = tokio::task::spawn_blocking(move || log.store().size()).await.ok().and_then(Result::ok);
    let mut text = String::new();
    if let Some(size) = size {
        text.push_str(&format!(
            "# HELP dossier_log_entries Entries in the evidence log.\n# TYPE dossier_log_entries gauge\ndossier_log_entries {size}\n"
        ));
    }
    text.push_str(&format!(
        "# HELP dossier_unreadable_rows_total Stored rows that could not be read back as events since the start.\n# TYPE dossier_unreadable_rows_total counter\ndossier_unreadable_rows_total {}\n",
        dossier_log::unreadable_rows()
    ));
    if let Some(w) = &s.config.witnessing {
        use std::sync::atomic::Ordering::Relaxed;
        text.push_str(&format!(
            "# HELP dossier_witnessed_size The largest checkpoint cosigned by the witness quorum (0: none yet).\n# TYPE dossier_witnessed_size gauge\ndossier_witnessed_size {}\n\
             # HELP dossier_witness_quorum Cosignatures that make a checkpoint witnessed.\n# TYPE dossier_witness_quorum gauge\ndossier_witness_quorum {}\n\
             # HELP dossier_witness_failures_total Requests to witnesses that gave no cosignature.\n# TYPE dossier_witness_failures_total counter\ndossier_witness_failures_total {}\n",
            w.witnessed_size.load(Relaxed),
            w.quorum.load(Relaxed),
            w.failures.load(Relaxed)
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The answer to a method a route does not serve (errors are JSON everywhere).
pub fn method_not_allowed() -> error::ApiError {
    error::error(StatusCode::METHOD_NOT_ALLOWED, "this path does not take that method; see /openapi.json")
}

/// The answer to a path no route serves.
pub fn not_found() -> error::ApiError {
    error::error(StatusCode::NOT_FOUND, "no such endpoint; see /openapi.json")
}
