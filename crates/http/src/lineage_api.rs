//! Lineage, vulnerability impact, the vulnerabilities, cluster risk and what runs where; each
//! answered from the live graph, or for `as_of=<RFC 3339>` from the log replayed up to that
//! moment.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::Event as SseEvent;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use dossier_core::Severity;
use dossier_lineage::Graph;
use dossier_log::own::now_nanos;
use serde_json::{json, Value};

use crate::error::{blocking, check_params, error, parse_time, ApiError, ApiResult};
use crate::state::AppState;
use crate::stream::sse_feed;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/lineage", get(lineage))
        .route("/api/v1/lineage/stats", get(stats))
        .route("/api/v1/impact", get(impact))
        .route("/api/v1/impact/stream", get(impact_stream))
        .route("/api/v1/vulnerabilities", get(vulnerabilities))
        .route("/api/v1/vulnerabilities/{id}", get(vulnerability))
        .route("/api/v1/risk", get(risk))
        .route("/api/v1/environments", get(environments))
}

/// Answers `f` over the live graph, or over the log replayed to `as_of`.
async fn answer(
    s: &AppState,
    params: &HashMap<String, String>,
    f: impl FnOnce(&Graph) -> Result<Value, ApiError> + Send + 'static,
) -> ApiResult {
    match params.get("as_of") {
        None => {
            let graph = s.views.lineage.read();
            Ok(Json(f(&graph)?).into_response())
        }
        Some(t) => {
            let until = parse_time("as_of", t)?;
            let _turn = s.replays.acquire().await.map_err(|_| error(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down"))?;
            let (log, rules) = (s.log.clone(), s.views.exceptions.rules());
            let graph = blocking(move || dossier_views::lineage::replay_with_rules(log.store().as_ref(), Some(until), rules)).await?;
            let mut body = f(&graph)?;
            body["as_of"] = json!(t);
            Ok(Json(body).into_response())
        }
    }
}

async fn lineage(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["purl", "as_of"])?;
    let purl = params.get("purl").cloned().ok_or_else(|| error(StatusCode::BAD_REQUEST, "parameter purl is required"))?;
    answer(&s, &params, move |g| {
        let l = g.lineage(&purl).ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no lineage is known for artifact {purl:?}")))?;
        Ok(serde_json::to_value(l).unwrap_or(Value::Null))
    })
    .await
}

async fn impact(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["vulnerability", "as_of"])?;
    let id = params.get("vulnerability").cloned().ok_or_else(|| error(StatusCode::BAD_REQUEST, "parameter vulnerability is required"))?;
    answer(&s, &params, move |g| {
        let i = g
            .impact(&id)
            .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("vulnerability {id:?} is not known (or was withdrawn or fixed)")))?;
        Ok(serde_json::to_value(i).unwrap_or(Value::Null))
    })
    .await
}

/// The vulnerabilities, newest report first: `q` matches any of their ids (a part of one,
/// in any case), `severity` their worst severity, `limit` (default 100, at most 1000) cuts the
/// list; `total` counts every match.
async fn vulnerabilities(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["q", "severity", "limit", "as_of"])?;
    let q = params.get("q").map(|q| q.trim().to_ascii_lowercase()).filter(|q| !q.is_empty());
    let severity =
        match params.get("severity") {
            None => None,
            Some(v) => Some(Severity::parse(v).ok_or_else(|| {
                error(StatusCode::BAD_REQUEST, format!("severity {v:?} is not one of critical, high, medium, low, unknown"))
            })?),
        };
    let limit = match params.get("limit") {
        None => 100,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("limit {v:?} is not a number from 1 to 1000")))?,
    };
    answer(&s, &params, move |g| {
        let mut all = g.vulnerabilities();
        all.retain(|v| {
            severity.is_none_or(|s| v.severity == s)
                && q.as_ref().is_none_or(|q| {
                    std::iter::once(&v.vulnerability).chain(&v.aliases).any(|id| id.to_ascii_lowercase().contains(q.as_str()))
                })
        });
        let total = all.len();
        all.truncate(limit);
        Ok(json!({"vulnerabilities": all, "total": total}))
    })
    .await
}

/// One vulnerability, named by any of its ids: its impact, the documents' findings of it, the
/// VEX statements and the exceptions about it.
async fn vulnerability(State(s): State<AppState>, Path(id): Path<String>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &[])?;
    let (log, views) = (s.log.clone(), s.views.clone());
    let found = blocking(move || {
        dossier_views::vulnerabilities::details(log.store().as_ref(), &views.lineage, &views.exceptions, &id, now_nanos())
            .map(|d| d.ok_or(id))
    })
    .await?;
    match found {
        Ok(d) => Ok(Json(d).into_response()),
        Err(id) => Err(error(StatusCode::NOT_FOUND, format!("no report of vulnerability {id:?} is known (or it was withdrawn or fixed)"))),
    }
}

async fn risk(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["as_of"])?;
    answer(&s, &params, |g| Ok(json!({"clusters": g.risk()}))).await
}

async fn environments(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["as_of"])?;
    answer(&s, &params, |g| Ok(json!({"environments": g.what_runs_where()}))).await
}

async fn stats(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["as_of"])?;
    answer(&s, &params, |g| Ok(g.stats())).await
}

async fn impact_stream(
    State(s): State<AppState>,
    caller: dossier_access::Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    check_params(&params, &["vulnerability", "cluster"])?;
    let (vuln, cluster) = (params.get("vulnerability").cloned(), params.get("cluster").cloned());
    sse_feed(&s, caller, s.views.lineage.subscribe(), "read /api/v1/risk for the current state", move |c| {
        // A vulnerability asked for by any of its ids.
        let named = |v: &String| *v == c.vulnerability || c.aliases.contains(v);
        let wanted = vuln.as_ref().is_none_or(named) && cluster.as_ref().is_none_or(|k| *k == c.cluster);
        wanted.then(|| {
            let data = serde_json::to_string(&*c).unwrap_or_default();
            SseEvent::default().event(if c.affected { "affected" } else { "unaffected" }).data(data)
        })
    })
}
