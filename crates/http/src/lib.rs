//! Dossier's HTTP API (axum). Every error is JSON: `{"error": "..."}` plus details where there
//! are some (`error`). Routes are grouped by what they serve, each group a module with its own
//! `routes()`; [`router`] puts them together with the state they share (`state`).
//!
//! Architecture invariant: handlers reach the log, the views, the engine and the connectors;
//! nothing here is reached by them, and the dashboard does not depend on this crate.

mod actions_api;
mod documents_api;
pub mod error;
mod events_api;
mod exceptions_api;
mod lineage_api;
mod log_api;
mod policies_api;
pub mod state;
mod stream;

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
        .merge(events_api::routes())
        .merge(log_api::routes())
        .merge(policies_api::routes())
        .merge(lineage_api::routes())
        .merge(documents_api::routes())
        .merge(exceptions_api::routes())
        .merge(actions_api::routes())
        .with_state(state)
}

/// The answer to a path no route serves.
pub fn not_found() -> error::ApiError {
    error::error(StatusCode::NOT_FOUND, "no such endpoint; see /openapi.json")
}
