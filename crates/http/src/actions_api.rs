//! Action runs over HTTP: which webhooks and tools ran, about which artifact, when, with what
//! result, asked for by which policy — `GET /api/v1/actions`, one query.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use dossier_store::{parse_time_param, EventQuery, Order, TypePattern, MAX_PAGE};
use serde_json::{json, Value};

use crate::error::{blocking, check_params, error, ApiResult};
use crate::state::AppState;
use dossier_core::own::Family;
use dossier_engine::actions::{fold, RunState};

/// Action entries read for one answer at most, newest first (three per run).
const MAX_SCANNED: usize = 30_000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/actions", get(list))
}

/// `artifact`, `policy`, `status`, `since`, `until` (when queued), `limit` (newest first).
async fn list(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["artifact", "policy", "status", "since", "until", "limit"])?;
    let bad = |m: String| error(StatusCode::BAD_REQUEST, m);
    let time = |name: &str| params.get(name).map(|v| parse_time_param(name, v)).transpose().map_err(bad);
    let (since, until) = (time("since")?, time("until")?);
    let limit = match params.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| bad(format!("parameter limit: {l:?} is not a number from 1 to {MAX_PAGE}")))?,
    };
    let status = match params.get("status") {
        None => None,
        Some(st) => Some(RunState::named(st).ok_or_else(|| {
            let names: Vec<&str> = RunState::ALL.iter().map(|s| s.as_str()).collect();
            bad(format!("parameter status: {st:?} is not one of {}", names.join(", ")))
        })?),
    };
    let policy = params.get("policy").cloned();
    let artifact = params.get("artifact").cloned();
    let log = s.log.clone();
    let runs = blocking(move || {
        // The newest entries, at most MAX_SCANNED: memory stays bounded however long the history.
        let mut entries: Vec<(u64, String, String, Value)> = Vec::new();
        let mut q = EventQuery {
            types: vec![TypePattern(Family::Action.glob())],
            artifact,
            since,
            until,
            order: Order::NewestFirst,
            limit: MAX_PAGE,
            ..Default::default()
        };
        while entries.len() < MAX_SCANNED {
            let page = log.store().query(&q)?;
            for e in &page.events {
                let Ok(mut v) = serde_json::from_slice::<Value>(&e.raw) else { continue };
                let time = dossier_core::event::format_timestamp(e.time_unix_nanos);
                entries.push((e.seq, e.event_type.as_str().to_owned(), time, v["subject"]["content"].take()));
            }
            match page.next {
                Some(next) => q.after = Some(next),
                None => break,
            }
        }
        entries.reverse();
        Ok(fold(entries.iter().map(|(seq, ty, time, content)| (*seq, ty.as_str(), time.as_str(), content))))
    })
    .await?;
    let mut runs: Vec<_> =
        runs.into_iter().filter(|r| policy.as_deref().is_none_or(|p| r.policy == p) && status.is_none_or(|st| r.status == st)).collect();
    runs.reverse();
    runs.truncate(limit);
    Ok(Json(json!({"runs": runs})).into_response())
}
