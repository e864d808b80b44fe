//! The deployment gate over HTTP: `POST /api/v1/gate` asks "may this artifact go to that
//! environment?" before the deployment happens; `GET /api/v1/gate/{decision}` shows a decision
//! recorded. Who asks is the authenticated principal; every decision is an entry in the log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use dossier_access::Caller;
use dossier_engine::gate::{Answer, Ask, Gate, GateDecided, GateError};

use crate::body::{parse, JsonBody};
use crate::error::{error, ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/gate", post(ask))
        .route("/api/v1/gate/key", get(key))
        .route("/api/v1/gate/{decision}", get(show))
        .route("/api/v1/gate/{decision}/vsa", get(vsa))
}

impl From<GateError> for ApiError {
    fn from(e: GateError) -> ApiError {
        let status = match e {
            GateError::Purl(_)
            | GateError::Image(_)
            | GateError::TagOnly { .. }
            | GateError::Environment(_)
            | GateError::RequestId(_)
            | GateError::ContextTooLarge(_) => StatusCode::UNPROCESSABLE_ENTITY,
            GateError::Conflict { .. } => StatusCode::CONFLICT,
            GateError::Deployment(_) => StatusCode::INTERNAL_SERVER_ERROR,
            GateError::Log(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        error(status, e.to_string())
    }
}

/// The gate, or 503 when no policies are loaded: a gate without its policies cannot say yes.
pub(crate) fn gate(s: &AppState) -> Result<std::sync::Arc<Gate>, ApiError> {
    s.gate.clone().ok_or_else(|| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the gate decides with the policy engine, and this server runs none (start it with --policies DIR)",
        )
    })
}

/// The answer to a question: the decision, where it is in the log, and whether it was asked before.
pub fn answer_json(a: &Answer) -> Value {
    let mut v = decided_json(&a.decided);
    v["seq"] = json!(a.seq);
    v["repeated"] = json!(a.repeated);
    v
}

fn decided_json(d: &GateDecided) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
    v["vsa"] = json!(format!("/api/v1/gate/{}/vsa", d.decision_id));
    v
}

async fn ask(State(s): State<AppState>, caller: Caller, JsonBody(bytes): JsonBody) -> ApiResult {
    let ask: Ask = parse(&bytes)?;
    let gate = gate(&s)?;
    let requester = caller.principal.name.to_string();
    let answer = tokio::task::spawn_blocking(move || gate.ask(ask, &requester))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))??;
    Ok(Json(answer_json(&answer)).into_response())
}

/// The decision recorded under `decision`, with its entry's seq; 404 when there is none.
async fn recorded(s: &AppState, decision: &str) -> Result<(u64, GateDecided), ApiError> {
    let gate = gate(s)?;
    let id = decision.to_owned();
    let found = tokio::task::spawn_blocking(move || gate.get(&id))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))??;
    found.ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no gate decision {decision:?}")))
}

async fn show(State(s): State<AppState>, Path(decision): Path<String>) -> ApiResult {
    let (seq, d) = recorded(&s, &decision).await?;
    let mut v = decided_json(&d);
    v["seq"] = json!(seq);
    Ok(Json(v).into_response())
}

/// The decision's verification summary: a DSSE envelope of an in-toto statement, signed by the
/// verifier key (`GET /api/v1/gate/key`); the same bytes as the document kept about the artifact.
async fn vsa(State(s): State<AppState>, Path(decision): Path<String>) -> ApiResult {
    let summaries =
        s.config.summaries.clone().ok_or_else(|| error(StatusCode::SERVICE_UNAVAILABLE, "this server signs no verification summaries"))?;
    let (_, d) = recorded(&s, &decision).await?;
    let envelope = tokio::task::spawn_blocking(move || summaries.envelope(&d))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))?
        .map_err(|e| match e {
            dossier_connectors::vsa::SummaryError::Vsa(e @ dossier_gate::vsa::VsaError::NoDigest(_)) => {
                error(StatusCode::NOT_FOUND, e.to_string())
            }
            e => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        })?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/vnd.dsse.envelope.v1+json")], Json(envelope)).into_response())
}

/// The verifier's public key (SubjectPublicKeyInfo PEM), to verify summaries with.
async fn key(State(s): State<AppState>) -> ApiResult {
    let summaries =
        s.config.summaries.as_ref().ok_or_else(|| error(StatusCode::SERVICE_UNAVAILABLE, "this server signs no verification summaries"))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/x-pem-file")], summaries.key.public_pem()).into_response())
}
