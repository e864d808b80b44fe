//! Policies: what is loaded, upload and removal, and replay over stored history.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use dossier_engine::policy::UploadError;
use dossier_engine::replay::ReplayError;
use dossier_engine::PolicyService;

use dossier_access::Caller;

use crate::error::{check_params, error, parse_time, ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/policies", get(policy_status))
        .route("/api/v1/policies/{name}", axum::routing::put(upload_policy).delete(remove_policy))
        .route("/api/v1/policies/{name}/replay", get(replay_policy))
}

fn policy_service(s: &AppState) -> Result<Arc<PolicyService>, ApiError> {
    s.policies
        .clone()
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "no policy directory is configured; start the server with --policies DIR"))
}

/// What is loaded, and how far evaluation is behind the log (`lag`).
async fn policy_status(State(s): State<AppState>) -> ApiResult {
    let service = policy_service(&s)?;
    // Blocking: the lag may read an entry of the store.
    let status = tokio::task::spawn_blocking(move || service.status())
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))?;
    Ok(Json(status).into_response())
}

/// What a loaded policy would have decided over the entries of a period (`since`, `until`),
/// without acting.
async fn replay_policy(State(s): State<AppState>, Path(name): Path<String>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["since", "until"])?;
    let replayed = run_replay(&s, &name, params.get("since").map(String::as_str), params.get("until").map(String::as_str)).await?;
    Ok(Json(replayed).into_response())
}

/// Replays loaded policy `name` over a period given as RFC 3339 bounds.
async fn run_replay(
    s: &AppState,
    name: &str,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<dossier_engine::replay::Replay, ApiError> {
    let service = policy_service(s)?;
    let since = since.filter(|t| !t.is_empty()).map(|t| parse_time("since", t)).transpose()?;
    let until = until.filter(|t| !t.is_empty()).map(|t| parse_time("until", t)).transpose()?;
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || service.replay(&name, since, until))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))?
        .map_err(|e| match e {
            ReplayError::NotLoaded(_) => error(StatusCode::NOT_FOUND, e.to_string()),
            ReplayError::Store(e) => ApiError::from(e),
        })
}

/// PUT a Rego module as policy `name`: refused with its line and message if it does not
/// compile; otherwise written to the policy directory and active within a second.
async fn upload_policy(
    State(s): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult {
    let service = policy_service(&s)?;
    let (body, _held) = crate::body::read(&s.bodies, &headers, body, crate::body::SMALL_BODY, crate::body::Encodings::Identity, "").await?;
    let source = std::str::from_utf8(&body).map_err(|_| error(StatusCode::BAD_REQUEST, "a policy is UTF-8 Rego text"))?.to_owned();
    let by = caller.principal.name.to_string();
    let uploaded = tokio::task::spawn_blocking(move || service.upload(&name, &source, &by))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))?;
    match uploaded {
        Ok(policy) => Ok((StatusCode::CREATED, Json(policy)).into_response()),
        Err(e @ UploadError::Io(_)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
        Err(e) => Err(error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())),
    }
}

async fn remove_policy(State(s): State<AppState>, caller: Caller, Path(name): Path<String>) -> ApiResult {
    let service = policy_service(&s)?;
    // Blocking: the removal is recorded in the log before the answer.
    let (removing, name_) = (service.clone(), name.clone());
    let by = caller.principal.name.to_string();
    let removed = tokio::task::spawn_blocking(move || removing.remove(&name_, &by))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))?;
    match removed {
        Ok(true) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(false) => Err(error(StatusCode::NOT_FOUND, format!("no policy {name:?}"))),
        Err(e) => Err(error(StatusCode::BAD_REQUEST, e.to_string())),
    }
}
