//! The log itself: signed checkpoints, the key, inclusion and consistency proofs.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dossier_log::render::{b64, ConsistencyView, InclusionView};
use dossier_store::StoreError;

use crate::error::{blocking, error, ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/log/checkpoint", get(checkpoint))
        .route("/api/v1/log/key", get(key))
        .route("/api/v1/log/proof/inclusion", get(inclusion))
        .route("/api/v1/log/proof/consistency", get(consistency))
}

async fn checkpoint(State(s): State<AppState>) -> ApiResult {
    let log = s.log.clone();
    let c = blocking(move || log.checkpoint()).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], c.note).into_response())
}

async fn key(State(s): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}\n", s.log.verifier())).into_response()
}

fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>, ApiError> {
    params
        .get(name)
        .map(|v| v.parse().map_err(|_| error(StatusCode::BAD_REQUEST, format!("parameter {name}: {v:?} is not a non-negative integer"))))
        .transpose()
}

async fn inclusion(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    let seq = number(&params, "seq")?.ok_or_else(|| error(StatusCode::BAD_REQUEST, "parameter seq is required"))?;
    let size = number(&params, "size")?;
    let log = s.log.clone();
    let result = blocking(move || {
        // Without a size, prove against the current signed checkpoint.
        let (size, note) = match size {
            Some(n) => (n, None),
            None => {
                let c = log.checkpoint()?;
                (c.size, Some(c.note))
            }
        };
        let hashes = log.store().inclusion_proof(seq, size)?;
        let leaf = log.store().leaves(seq, 1)?.into_iter().next().ok_or_else(|| StoreError::Corrupt(format!("no leaf {seq}")))?;
        Ok(InclusionView { seq, tree_size: size, leaf_hash: b64(&leaf), hashes: hashes.iter().map(b64).collect(), checkpoint: note })
    })
    .await?;
    Ok(Json(result).into_response())
}

async fn consistency(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    let old = number(&params, "old")?.ok_or_else(|| error(StatusCode::BAD_REQUEST, "parameter old is required (the smaller tree size)"))?;
    let new = number(&params, "new")?;
    let log = s.log.clone();
    let result = blocking(move || {
        let new = match new {
            Some(n) => n,
            None => log.store().size()?,
        };
        let hashes = log.store().consistency_proof(old, new)?;
        Ok(ConsistencyView {
            old_size: old,
            new_size: new,
            old_root: b64(&log.store().root(old)?),
            new_root: b64(&log.store().root(new)?),
            hashes: hashes.iter().map(b64).collect(),
        })
    })
    .await?;
    Ok(Json(result).into_response())
}
