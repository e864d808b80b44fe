//! Ingest (through the one submit path) and the queries over stored events.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use dossier_connectors::submit::{Item, ItemStatus, SubmitError};
use dossier_core::EventKey;
use dossier_ingest::{BodyError, CeHeaders};
use dossier_log::render::{b64, EventView, InclusionView};
use dossier_store::{AppendOutcome, EventQuery, StoreError};
use serde_json::{json, Value};

use dossier_access::Caller;

use crate::body::{self, Encodings};
use crate::error::{blocking, error, ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/events", post(ingest).get(list_events))
        .route("/api/v1/events/{seq}", get(get_event))
        .route("/api/v1/events/{seq}/raw", get(get_raw))
        .route("/api/v1/event", get(get_event_by_key))
        .route("/api/v1/artifact", get(artifact_timeline))
        .route("/api/v1/conflicts", get(conflicts))
}

async fn ingest(State(s): State<AppState>, caller: Caller, headers: HeaderMap, body: Body) -> ApiResult {
    // gzip is inflated under the same limit; any other encoding is refused by name (a
    // compressed body would otherwise be read as garbled JSON). The budget's share is held
    // until the answer, while the body is in memory.
    let advice = "; split it into smaller batches";
    let (body, _held) = body::read(&s.bodies, &headers, body, s.config.max_body, Encodings::IdentityOrGzip, advice).await?;
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let ce = CeHeaders { specversion: text("ce-specversion"), id: text("ce-id"), source: text("ce-source"), ty: text("ce-type") };
    let submitted = s.submit.submit(&caller.principal, text("content-type"), ce, body).await.map_err(|e| match e {
        SubmitError::Body(e) => {
            let status = match e {
                BodyError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                BodyError::TooMany { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            error(status, e.to_string())
        }
        SubmitError::Store(e) => ApiError::from(e),
        SubmitError::Internal(m) => error(StatusCode::INTERNAL_SERVER_ERROR, m),
    })?;
    let rendered: Vec<(ItemStatus, StatusCode, Value)> = submitted.items.into_iter().map(render).collect();
    if !submitted.list {
        let (_, status, body) =
            rendered.into_iter().next().unwrap_or((ItemStatus::Rejected, StatusCode::BAD_REQUEST, json!({"error": "no event"})));
        return Ok((status, Json(body)).into_response());
    }
    let count = |wanted: ItemStatus| rendered.iter().filter(|(s, _, _)| *s == wanted).count();
    let summary = json!({
        "accepted": count(ItemStatus::Accepted),
        "duplicates": count(ItemStatus::Duplicate),
        "conflicts": count(ItemStatus::Conflict),
        "rejected": count(ItemStatus::Rejected),
        "forbidden": count(ItemStatus::Forbidden),
        "results": rendered.into_iter().map(|(_, _, v)| v).collect::<Vec<_>>(),
    });
    Ok((StatusCode::OK, Json(summary)).into_response())
}

/// One event's answer: its status, the HTTP status it would have alone, and the JSON.
fn render(item: Item) -> (ItemStatus, StatusCode, Value) {
    let status = item.status();
    let (code, body) = match item {
        Item::Stored { index, key: EventKey { source, id }, outcome } => match outcome {
            AppendOutcome::Accepted { seq } => {
                (StatusCode::CREATED, json!({"index": index, "status": status, "seq": seq, "source": source, "id": id}))
            }
            AppendOutcome::Duplicate { seq } => (
                StatusCode::OK,
                json!({"index": index, "status": status, "seq": seq, "source": source, "id": id,
                       "message": "an identical event is already stored; nothing was added"}),
            ),
            AppendOutcome::Conflict { seq, conflict } => (
                StatusCode::CONFLICT,
                json!({"index": index, "status": status, "seq": seq, "conflict": conflict, "source": source, "id": id,
                       "error": format!("entry {seq} already holds a different event with source {source:?} and id {id:?}; this one was not stored (see /api/v1/conflicts)")}),
            ),
        },
        Item::Rejected(err) => {
            let message = match &err.event_id {
                Some(id) => format!("event {id:?} is invalid"),
                None => "event is invalid".to_owned(),
            };
            let details: Vec<String> = err.violations.iter().map(|v| v.to_string()).collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "index": err.index,
                    "status": status,
                    "id": err.event_id,
                    "error": format!("{message}: {}", details.join("; ")),
                    "violations": err.violations.iter().map(|v| v.to_json()).collect::<Vec<_>>(),
                }),
            )
        }
        Item::Forbidden { index, key: EventKey { source, id }, why } => (
            StatusCode::FORBIDDEN,
            json!({"index": index, "status": status, "source": source, "id": id, "error": format!("{why}; nothing of this event was stored")}),
        ),
        Item::Lost { index } => (StatusCode::INTERNAL_SERVER_ERROR, json!({"index": index, "status": status})),
    };
    (status, code, body)
}

const MAX_LIMIT: usize = dossier_store::MAX_PAGE;

pub fn parse_query(params: &HashMap<String, String>) -> Result<EventQuery, ApiError> {
    EventQuery::from_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(|e| error(StatusCode::BAD_REQUEST, e))
}

async fn run_query(s: AppState, q: EventQuery) -> ApiResult {
    let log = s.log.clone();
    let page = blocking(move || log.store().query(&q)).await?;
    let events: Vec<EventView> = page.events.iter().map(EventView::of).collect();
    Ok(Json(json!({"events": events, "next": page.next.map(|n| n.to_string())})).into_response())
}

async fn list_events(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    run_query(s, parse_query(&params)?).await
}

async fn artifact_timeline(State(s): State<AppState>, Query(mut params): Query<HashMap<String, String>>) -> ApiResult {
    let purl = params.remove("purl").ok_or_else(|| {
        error(StatusCode::BAD_REQUEST, "parameter purl is required: the artifact's package URL, e.g. pkg:oci/app@sha256:... (any spelling)")
    })?;
    let mut q = parse_query(&params)?;
    q.artifact = Some(purl);
    run_query(s, q).await
}

fn parse_seq(value: &str) -> Result<u64, ApiError> {
    value.parse().map_err(|_| error(StatusCode::BAD_REQUEST, format!("{value:?} is not a sequence number")))
}

async fn event_response(s: AppState, found: Option<dossier_store::StoredEvent>, with_proof: bool, what: String) -> ApiResult {
    let e = found.ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no event {what}")))?;
    let mut body = serde_json::to_value(EventView::of(&e)).unwrap_or(Value::Null);
    if with_proof {
        let log = s.log.clone();
        let seq = e.seq;
        let proof = blocking(move || {
            let cp = log.checkpoint()?;
            let hashes = log.store().inclusion_proof(seq, cp.size)?;
            let leaf = log.store().leaves(seq, 1)?.into_iter().next().ok_or_else(|| StoreError::Corrupt(format!("no leaf {seq}")))?;
            Ok(InclusionView {
                seq,
                tree_size: cp.size,
                leaf_hash: b64(&leaf),
                hashes: hashes.iter().map(b64).collect(),
                checkpoint: Some(cp.note),
            })
        })
        .await?;
        body["proof"] = serde_json::to_value(proof).unwrap_or(Value::Null);
    }
    Ok(Json(body).into_response())
}

fn wants_proof(params: &HashMap<String, String>) -> Result<bool, ApiError> {
    for name in params.keys() {
        if !["proof", "source", "id"].contains(&name.as_str()) {
            return Err(error(StatusCode::BAD_REQUEST, format!("unknown parameter {name:?}; accepted: proof")));
        }
    }
    match params.get("proof").map(String::as_str) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(v) => Err(error(StatusCode::BAD_REQUEST, format!("parameter proof: {v:?} is not true or false"))),
    }
}

async fn get_event(State(s): State<AppState>, Path(seq): Path<String>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    let (seq, proof) = (parse_seq(&seq)?, wants_proof(&params)?);
    let log = s.log.clone();
    let found = blocking(move || log.store().get(seq)).await?;
    event_response(s, found, proof, format!("with seq {seq}")).await
}

async fn get_raw(State(s): State<AppState>, Path(seq): Path<String>) -> ApiResult {
    let seq = parse_seq(&seq)?;
    let log = s.log.clone();
    let e =
        blocking(move || log.store().get(seq)).await?.ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no event with seq {seq}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], e.raw).into_response())
}

async fn get_event_by_key(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    let proof = wants_proof(&params)?;
    let (Some(source), Some(id)) = (params.get("source"), params.get("id")) else {
        return Err(error(StatusCode::BAD_REQUEST, "parameters source and id are required (the event's context.source and context.id)"));
    };
    let key = EventKey { source: source.clone(), id: id.clone() };
    let what = format!("with source {:?} and id {:?}", key.source, key.id);
    let log = s.log.clone();
    let found = blocking(move || log.store().get_by_key(&key)).await?;
    event_response(s, found, proof, what).await
}

async fn conflicts(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    let limit = match params.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => return Err(error(StatusCode::BAD_REQUEST, format!("parameter limit: not a number from 1 to {MAX_LIMIT}"))),
    };
    let log = s.log.clone();
    let list = blocking(move || log.store().conflicts(limit)).await?;
    let items: Vec<Value> = list
        .iter()
        .map(|c| {
            json!({
                "conflict": c.conflict,
                "existing_seq": c.existing_seq,
                "source": c.key.source,
                "id": c.key.id,
                "received": dossier_log::render::rfc3339(c.received_unix_nanos),
                "event": String::from_utf8_lossy(&c.raw),
            })
        })
        .collect();
    Ok(Json(json!({"conflicts": items})).into_response())
}
