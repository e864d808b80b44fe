//! The report of a period for auditors: `GET /api/v1/audit/report?since=&until=` — deployments
//! per environment, the gate's decisions, exceptions, policy changes, violations, tool runs —
//! every section counted in full, each line naming its entry, and the signed checkpoint they
//! are all in, so that each line can be proved against it.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use dossier_engine::report::{period, ReportError};
use dossier_log::own::now_nanos;

use crate::error::{check_params, error, parse_time, ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit/report", get(report))
}

/// A week, the period when `since` is not given.
const WEEK: i64 = 7 * 86_400 * 1_000_000_000;

async fn report(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["since", "until"])?;
    let until = match params.get("until") {
        Some(t) => parse_time("until", t)?,
        None => now_nanos(),
    };
    let since = match params.get("since") {
        Some(t) => parse_time("since", t)?,
        None => until - WEEK,
    };
    let log = s.log.clone();
    let (report, checkpoint) = tokio::task::spawn_blocking(move || {
        // The checkpoint first: every line read after it is in the tree it signs, or after it.
        let checkpoint = log.checkpoint().map_err(ReportError::Store)?;
        let report = period(log.store().as_ref(), since, until)?;
        Ok::<_, ReportError>((report, checkpoint))
    })
    .await
    .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))?
    .map_err(|e| match e {
        ReportError::Inverted { .. } => error(StatusCode::BAD_REQUEST, e.to_string()),
        ReportError::Store(e) => ApiError::from(e),
    })?;
    let mut v = serde_json::to_value(&report).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    v["checkpoint"] = json!({"size": checkpoint.size, "note": checkpoint.note});
    Ok(Json(v).into_response())
}
