//! The log itself: signed checkpoints, the key, inclusion and consistency proofs.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dossier_log::render::{b64, ConsistencyView, InclusionView};
use dossier_store::StoreError;

use serde::Deserialize;

use crate::error::{blocking, ApiResult, Params};
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

/// `?seq=N[&size=M]`: entry `seq` in the tree of size `size` (default: the current checkpoint).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionParams {
    seq: u64,
    size: Option<u64>,
}

/// `?old=N[&new=M]`: the tree of size `old` is a prefix of the tree of size `new` (default: now).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyParams {
    old: u64,
    new: Option<u64>,
}

async fn inclusion(State(s): State<AppState>, Params(InclusionParams { seq, size }): Params<InclusionParams>) -> ApiResult {
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

async fn consistency(State(s): State<AppState>, Params(ConsistencyParams { old, new }): Params<ConsistencyParams>) -> ApiResult {
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
