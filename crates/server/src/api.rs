//! The HTTP API. Every error is JSON: `{"error": "..."}` plus details where there are some.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dossier_core::{Event, EventKey};
use dossier_ingest::{decode, BodyError, CeHeaders, ItemError, Limits};
use dossier_store::{AppendOutcome, EventQuery, StoreError};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_stream::wrappers::BroadcastStream;

use crate::log::EvidenceLog;
use crate::render::{b64, ConsistencyView, EventView, InclusionView};

/// Request limits of the API, and where documents are kept.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes (documents have their own limit).
    pub max_body: usize,
    pub limits: Limits,
    /// The document directory; without one, document uploads are refused.
    pub documents: Option<Arc<crate::documents::Documents>>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { max_body: 16 * 1024 * 1024, limits: Limits::default(), documents: None }
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) log: Arc<EvidenceLog>,
    config: Arc<ApiConfig>,
    /// Replays of the log for `as_of` questions cost a scan of the log each: one at a time.
    pub(crate) replays: Arc<tokio::sync::Semaphore>,
    pub(crate) policies: Option<Arc<crate::policy::PolicyService>>,
    pub(crate) documents: Option<Arc<crate::documents::Documents>>,
}

const OPENAPI: &str = include_str!("../openapi.json");

pub fn router(log: Arc<EvidenceLog>, config: ApiConfig, policies: Option<Arc<crate::policy::PolicyService>>) -> Router {
    let documents = config.documents.clone();
    let state = AppState { log, config: Arc::new(config), replays: Arc::new(tokio::sync::Semaphore::new(1)), policies, documents };
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }))
        .route("/api/v1/events", post(ingest).get(list_events))
        .route("/api/v1/events/{seq}", get(get_event))
        .route("/api/v1/events/{seq}/raw", get(get_raw))
        .route("/api/v1/event", get(get_event_by_key))
        .route("/api/v1/artifact", get(artifact_timeline))
        .route("/api/v1/stream", get(stream))
        .route("/api/v1/conflicts", get(conflicts))
        .route("/api/v1/policies", get(policy_status))
        .route("/api/v1/policies/{name}", axum::routing::put(upload_policy).delete(remove_policy))
        .route("/api/v1/policies/{name}/replay", get(replay_policy))
        .route("/api/v1/log/checkpoint", get(checkpoint))
        .route("/api/v1/log/key", get(key))
        .route("/api/v1/log/proof/inclusion", get(inclusion))
        .route("/api/v1/log/proof/consistency", get(consistency))
        .merge(crate::lineage_api::routes())
        .merge(crate::documents_api::routes())
        .merge(crate::exceptions_api::routes())
        .merge(crate::actions_api::routes())
        .merge(crate::dashboard::routes())
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint; see /openapi.json") })
        .with_state(state)
}

/// An error answer: a status and a message saying what is wrong and what is accepted.
#[derive(Debug)]
pub(crate) struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

impl ApiError {
    pub(crate) fn status(&self) -> StatusCode {
        self.0
    }

    pub(crate) fn message(&self) -> &str {
        &self.1
    }
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError(status, message.into())
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::OutOfRange(m) => error(StatusCode::BAD_REQUEST, m),
            StoreError::Closed => error(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down; retry"),
            other => error(StatusCode::SERVICE_UNAVAILABLE, format!("{other}; nothing was stored, retry")),
        }
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

/// Runs blocking store work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, StoreError> + Send + 'static) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}"))),
    }
}

// ---------------------------------------------------------------- ingest

async fn ingest(State(s): State<AppState>, headers: HeaderMap, body: Body) -> ApiResult {
    let body = axum::body::to_bytes(body, s.config.max_body).await.map_err(|_| {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than the limit of {} bytes; split it into smaller batches", s.config.max_body),
        )
    })?;
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = text("content-type");
    let ce = CeHeaders { specversion: text("ce-specversion"), id: text("ce-id"), source: text("ce-source"), ty: text("ce-type") };
    let limits = s.config.limits.clone();
    let decoded = if body.len() > 64 * 1024 {
        tokio::task::spawn_blocking(move || decode(content_type.as_deref(), &ce, &body, &limits))
            .await
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))?
    } else {
        decode(content_type.as_deref(), &ce, &body, &limits)
    };
    let decoded = decoded.map_err(|e| {
        let status = match e {
            BodyError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            BodyError::TooMany { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        error(status, e.to_string())
    })?;
    let mut results: Vec<Option<Result<AppendOutcome, ItemError>>> = Vec::with_capacity(decoded.items.len());
    let mut events: Vec<Event> = Vec::new();
    let mut positions = Vec::new();
    for (i, item) in decoded.items.into_iter().enumerate() {
        match item {
            Ok(e) => {
                positions.push(i);
                events.push(e);
                results.push(None);
            }
            Err(err) => results.push(Some(Err(err))),
        }
    }
    let keys: Vec<EventKey> = events.iter().map(|e| e.key.clone()).collect();
    if !events.is_empty() {
        let outcomes = s.log.append(events).await?;
        for (pos, outcome) in positions.iter().zip(outcomes) {
            results[*pos] = Some(Ok(outcome));
        }
    }
    let mut keys = keys.into_iter();
    let rendered: Vec<(StatusCode, Value)> = results
        .into_iter()
        .enumerate()
        .map(|(index, r)| match r {
            Some(Ok(outcome)) => render_outcome(index, outcome, keys.next()),
            Some(Err(err)) => render_rejection(err),
            None => (StatusCode::INTERNAL_SERVER_ERROR, json!({"index": index, "status": "lost"})),
        })
        .collect();
    if !decoded.list {
        let (status, body) = rendered.into_iter().next().unwrap_or((StatusCode::BAD_REQUEST, json!({"error": "no event"})));
        return Ok((status, Json(body)).into_response());
    }
    let count = |status: &str| rendered.iter().filter(|(_, v)| v["status"] == status).count();
    let summary = json!({
        "accepted": count("accepted"),
        "duplicates": count("duplicate"),
        "conflicts": count("conflict"),
        "rejected": count("rejected"),
        "results": rendered.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    });
    Ok((StatusCode::OK, Json(summary)).into_response())
}

fn render_outcome(index: usize, outcome: AppendOutcome, key: Option<EventKey>) -> (StatusCode, Value) {
    let (source, id) = key.map(|k| (k.source, k.id)).unwrap_or_default();
    match outcome {
        AppendOutcome::Accepted { seq } => {
            (StatusCode::CREATED, json!({"index": index, "status": "accepted", "seq": seq, "source": source, "id": id}))
        }
        AppendOutcome::Duplicate { seq } => (
            StatusCode::OK,
            json!({"index": index, "status": "duplicate", "seq": seq, "source": source, "id": id,
                   "message": "an identical event is already stored; nothing was added"}),
        ),
        AppendOutcome::Conflict { seq, conflict } => (
            StatusCode::CONFLICT,
            json!({"index": index, "status": "conflict", "seq": seq, "conflict": conflict, "source": source, "id": id,
                   "error": format!("entry {seq} already holds a different event with source {source:?} and id {id:?}; this one was not stored (see /api/v1/conflicts)")}),
        ),
    }
}

fn render_rejection(err: ItemError) -> (StatusCode, Value) {
    let message = match &err.event_id {
        Some(id) => format!("event {id:?} is invalid"),
        None => "event is invalid".to_owned(),
    };
    let details: Vec<String> = err.violations.iter().map(|v| v.to_string()).collect();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({
            "index": err.index,
            "status": "rejected",
            "id": err.event_id,
            "error": format!("{message}: {}", details.join("; ")),
            "violations": err.violations.iter().map(|v| v.to_json()).collect::<Vec<_>>(),
        }),
    )
}

// ---------------------------------------------------------------- queries

const MAX_LIMIT: usize = dossier_store::MAX_PAGE;

pub(crate) fn parse_time(name: &str, value: &str) -> Result<i64, ApiError> {
    dossier_store::parse_time_param(name, value).map_err(|e| error(StatusCode::BAD_REQUEST, e))
}

fn parse_query(params: &HashMap<String, String>) -> Result<EventQuery, ApiError> {
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
        error(StatusCode::BAD_REQUEST, "parameter purl is required: the artifact's package URL, e.g. pkg:oci/app@sha256%3A...")
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
                "received": crate::render::rfc3339(c.received_unix_nanos),
                "event": String::from_utf8_lossy(&c.raw),
            })
        })
        .collect();
    Ok(Json(json!({"conflicts": items})).into_response())
}

fn policy_service(s: &AppState) -> Result<Arc<crate::policy::PolicyService>, ApiError> {
    s.policies
        .clone()
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "no policy directory is configured; start the server with --policies DIR"))
}

async fn policy_status(State(s): State<AppState>) -> ApiResult {
    Ok(Json(policy_service(&s)?.status()).into_response())
}

/// What a loaded policy would have decided over the entries of a period (`since`, `until`),
/// without acting.
async fn replay_policy(State(s): State<AppState>, Path(name): Path<String>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    crate::lineage_api::check_params(&params, &["since", "until"])?;
    let replayed = run_replay(&s, &name, params.get("since").map(String::as_str), params.get("until").map(String::as_str)).await?;
    Ok(Json(replayed).into_response())
}

/// Replays loaded policy `name` over a period given as RFC 3339 bounds, one replay at a time.
pub(crate) async fn run_replay(
    s: &AppState,
    name: &str,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<crate::replay::Replay, ApiError> {
    let policy = policy_service(s)?
        .status()
        .policies
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no policy {name:?} is loaded")))?;
    let since = since.filter(|t| !t.is_empty()).map(|t| parse_time("since", t)).transpose()?;
    let until = until.filter(|t| !t.is_empty()).map(|t| parse_time("until", t)).transpose()?;
    let _turn = s.replays.acquire().await.map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down"))?;
    let log = s.log.clone();
    tokio::task::spawn_blocking(move || crate::replay::replay(&log, &policy, since, until))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))?
        .map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, e))
}

/// PUT a Rego module as policy `name`: refused with its line and message if it does not
/// compile; otherwise written to the policy directory and active within a second.
async fn upload_policy(State(s): State<AppState>, Path(name): Path<String>, body: axum::body::Bytes) -> ApiResult {
    let service = policy_service(&s)?;
    let source = std::str::from_utf8(&body).map_err(|_| error(StatusCode::BAD_REQUEST, "a policy is UTF-8 Rego text"))?.to_owned();
    let uploaded = tokio::task::spawn_blocking(move || service.upload(&name, &source))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))?;
    match uploaded {
        Ok(policy) => Ok((StatusCode::CREATED, Json(policy)).into_response()),
        Err(e @ crate::policy::UploadError::Io(_)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
        Err(e) => Err(error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())),
    }
}

async fn remove_policy(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult {
    let service = policy_service(&s)?;
    match service.remove(&name) {
        Ok(true) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(false) => Err(error(StatusCode::NOT_FOUND, format!("no policy {name:?}"))),
        Err(e) => Err(error(StatusCode::BAD_REQUEST, e.to_string())),
    }
}

// ---------------------------------------------------------------- the live stream

async fn stream(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    let q = parse_query(&params)?;
    Ok(sse_feed(s.log.subscribe(), "fetch the gap from /api/v1/events with after=", move |appended| {
        q.matches(&appended.event).then(|| {
            let data = serde_json::to_string(&EventView::of_appended(&appended)).unwrap_or_default();
            SseEvent::default().event("event").id(appended.seq.to_string()).data(data)
        })
    }))
}

/// A Server-Sent Events answer fed by a broadcast channel: `render` turns an item into an event
/// or skips it; a reader that falls behind gets a `lagged` event saying how to catch up.
pub(crate) fn sse_feed<T: Clone + Send + 'static>(
    receiver: tokio::sync::broadcast::Receiver<T>,
    hint: &'static str,
    mut render: impl FnMut(T) -> Option<SseEvent> + Send + 'static,
) -> Response {
    let events = BroadcastStream::new(receiver).filter_map(move |item| {
        let out = match item {
            Ok(x) => render(x).map(Ok::<_, Infallible>),
            Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
                Some(Ok(SseEvent::default().event("lagged").data(json!({"missed": n, "hint": hint}).to_string())))
            }
        };
        std::future::ready(out)
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}

// ---------------------------------------------------------------- the log

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
