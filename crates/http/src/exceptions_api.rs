//! Exceptions over HTTP: request, approve, revoke, list, and import from a VEX document.
//! Who requests, approves and revokes is the authenticated principal, never a name the body
//! states (a body that names someone else is refused); every change is a log entry saying who,
//! when and why, with the principal as its sender. Approving needs `exceptions:approve` and,
//! unless the operator allows self-approval, a principal other than the requester.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use dossier_exceptions::{ExceptionError, Request, Scope};
use dossier_store::AppendOutcome;
use serde::Deserialize;
use serde_json::{json, Value};

use dossier_core::own::{OwnType, EXCEPTIONS_SOURCE as SOURCE};
use dossier_log::own::{hex, now_nanos, own_event};
use dossier_views::exceptions::view;

use dossier_access::Caller;

use crate::body::{parse as body, JsonBody};
use crate::error::{check_params, error, parse_time, ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/exceptions", get(list).post(request))
        .route("/api/v1/exceptions/from-vex", post(from_vex))
        .route("/api/v1/exceptions/{id}", get(show))
        .route("/api/v1/exceptions/{id}/approve", post(approve))
        .route("/api/v1/exceptions/{id}/revoke", post(revoke))
}

impl From<ExceptionError> for ApiError {
    fn from(e: ExceptionError) -> ApiError {
        let status = match e {
            ExceptionError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ExceptionError::Unknown(_) => StatusCode::NOT_FOUND,
            ExceptionError::WrongState { .. } => StatusCode::CONFLICT,
        };
        error(status, e.to_string())
    }
}

/// The body with `field` set to the caller's name: a body naming someone else is refused.
fn as_caller(bytes: &[u8], field: &str, caller: &Caller) -> Result<Vec<u8>, ApiError> {
    let mut v: Value =
        serde_json::from_slice(bytes).map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, format!("the body is not JSON: {e}")))?;
    let me = caller.principal.name.as_str();
    let Some(object) = v.as_object_mut() else {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, "the body must be a JSON object"));
    };
    match object.get(field) {
        Some(Value::String(named)) if named == me => {}
        None | Some(Value::Null) => {}
        Some(named) => {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{field}: {named} is not who asks; it is taken from the credential ({me}); omit the field"),
            ))
        }
    }
    object.insert(field.to_owned(), json!(me));
    Ok(serde_json::to_vec(&v).expect("JSON serializes"))
}

/// Appends one entry of Dossier's own, sent by `by`, and waits for it to be durable.
async fn append(s: &AppState, by: &Caller, id: String, ty: OwnType, subject: &str, content: Value) -> Result<AppendOutcome, ApiError> {
    let mut event =
        own_event(id, SOURCE, ty, subject, content, None).map_err(|m| error(StatusCode::UNPROCESSABLE_ENTITY, m.to_string()))?;
    event.sender = Some(by.principal.name.to_string());
    let outcomes = s.log.append(vec![event]).await?;
    outcomes.into_iter().next().ok_or_else(|| error(StatusCode::SERVICE_UNAVAILABLE, "the log answered nothing; retry"))
}

fn current(s: &AppState, id: &str) -> Result<Value, ApiError> {
    let rules = s.views.exceptions.rules();
    let book = s.views.exceptions.read();
    let e = book.get(id).ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no exception {id:?}")))?;
    let mut v = view(e);
    v["state"] = json!(e.state(now_nanos(), &rules));
    Ok(v)
}

/// Records a request; the same request under the same id again is answered with the first.
async fn record_request(s: &AppState, caller: &Caller, mut r: Request) -> Result<(StatusCode, Value), ApiError> {
    let rules = s.views.exceptions.rules();
    rules.check_request(&r, now_nanos())?;
    let id = match &r.id {
        Some(id) => id.clone(),
        None => {
            let mut random = [0u8; 6];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
            format!("exc-{}", hex(&random))
        }
    };
    r.id = Some(id.clone());
    let content = serde_json::to_value(&r).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if let Some(existing) = s.views.exceptions.read().get(&id) {
        let same = existing.requested.by == r.requester
            && existing.expires == r.expires
            && existing.scope == r.scope
            && existing.reason == r.reason;
        return if same {
            Ok((StatusCode::OK, view(existing)))
        } else {
            Err(error(StatusCode::CONFLICT, format!("exception {id:?} exists with other terms; choose another id")))
        };
    }
    append(s, caller, format!("requested-{id}"), OwnType::ExceptionRequested, &id, content).await?;
    Ok((StatusCode::CREATED, current(s, &id)?))
}

async fn request(State(s): State<AppState>, caller: Caller, JsonBody(bytes): JsonBody) -> ApiResult {
    let r: Request = body(&as_caller(&bytes, "requester", &caller)?)?;
    let (status, v) = record_request(&s, &caller, r).await?;
    Ok((status, Json(v)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Approval {
    approver: String,
    #[serde(default)]
    comment: Option<String>,
}

async fn approve(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, JsonBody(bytes): JsonBody) -> ApiResult {
    let a: Approval = body(&as_caller(&bytes, "approver", &caller)?)?;
    let rules = s.views.exceptions.rules();
    s.views.exceptions.read().check_approval(&id, &a.approver, now_nanos(), &rules)?;
    append(&s, &caller, format!("approved-{id}"), OwnType::ExceptionApproved, &id, json!({"approver": a.approver, "comment": a.comment}))
        .await?;
    Ok(Json(current(&s, &id)?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Revocation {
    by: String,
    reason: String,
}

async fn revoke(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, JsonBody(bytes): JsonBody) -> ApiResult {
    let r: Revocation = body(&as_caller(&bytes, "by", &caller)?)?;
    let rules = s.views.exceptions.rules();
    s.views.exceptions.read().check_revocation(&id, &r.by, &r.reason, now_nanos(), &rules)?;
    append(&s, &caller, format!("revoked-{id}"), OwnType::ExceptionRevoked, &id, json!({"by": r.by, "reason": r.reason})).await?;
    Ok(Json(current(&s, &id)?).into_response())
}

async fn show(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    Ok(Json(current(&s, &id)?).into_response())
}

/// `state`, `artifact`, `vulnerability`, `environment`, `policy` filters; `at` asks for the
/// states at a past (or future) moment.
async fn list(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["state", "artifact", "vulnerability", "environment", "policy", "at"])?;
    let at = match params.get("at") {
        Some(t) => parse_time("at", t)?,
        None => now_nanos(),
    };
    let wanted = match params.get("state").map(String::as_str) {
        None | Some("all") => None,
        Some(name @ ("requested" | "active" | "revoked" | "expired")) => Some(name.to_owned()),
        Some(other) => {
            return Err(error(StatusCode::BAD_REQUEST, format!("state {other:?} is not one of requested, active, revoked, expired, all")))
        }
    };
    let rules = s.views.exceptions.rules();
    let book = s.views.exceptions.read();
    let p = |name: &str| params.get(name).map(String::as_str);
    let list: Vec<Value> = book
        .all()
        .filter(|e| e.covers(p("artifact"), p("vulnerability"), p("environment"), p("policy")))
        .filter_map(|e| {
            let e = e.as_of(at)?;
            let state = e.state(at, &rules);
            if wanted.as_deref().is_some_and(|w| w != state.to_string()) {
                return None;
            }
            let mut v = view(&e);
            v["state"] = json!(state);
            Some(v)
        })
        .collect();
    Ok(Json(json!({"at": dossier_core::event::format_timestamp(at), "rules": rules, "exceptions": list})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FromVex {
    /// The VEX document's digest, `sha256:<hex>`, as recorded about `artifact`.
    document: String,
    artifact: String,
    requester: String,
    expires: String,
    #[serde(default)]
    ticket: Option<String>,
}

/// One requested exception per waiving statement (`not_affected`, `false_positive`) of a VEX
/// document recorded about the artifact, each keeping the document as its justification.
async fn from_vex(State(s): State<AppState>, caller: Caller, JsonBody(bytes): JsonBody) -> ApiResult {
    let f: FromVex = body(&as_caller(&bytes, "requester", &caller)?)?;
    let docs = crate::documents_api::received(&s, &f.artifact).await?;
    let doc = docs.iter().find(|d| d.digest == f.document).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            format!("no document {} is recorded about {}; send it first (POST /api/v1/documents)", f.document, f.artifact),
        )
    })?;
    // Only statements whose products name the artifact speak for it.
    let artifact = dossier_evidence::binding::Artifact::new(&f.artifact);
    let waiving: Vec<_> = doc.extract.vex.iter().filter(|v| v.waives()).collect();
    if waiving.is_empty() {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, format!("{} has no not_affected or false_positive statement", f.document)));
    }
    let statements: Vec<_> =
        waiving.iter().filter(|v| dossier_evidence::binding::names_artifact(v, &artifact)).map(|v| (*v).clone()).collect();
    if statements.is_empty() {
        let mut products: Vec<&str> = waiving.iter().flat_map(|v| &v.products).map(|p| p.id.as_str()).collect();
        products.sort();
        products.dedup();
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "no not_affected or false_positive statement of {} names {} (their products: {}): it waives nothing for it",
                f.document,
                f.artifact,
                products.join(", ")
            ),
        ));
    }
    let short = &doc.digest.trim_start_matches("sha256:")[..16];
    let mut created = Vec::new();
    for (n, st) in statements.into_iter().enumerate() {
        let reason = [Some(format!("VEX {}", st.status)), st.justification.clone(), st.detail.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        let r = Request {
            id: Some(format!("vex-{short}-{n}")),
            scope: Scope {
                vulnerabilities: std::iter::once(st.vulnerability.clone()).chain(st.aliases.clone()).collect(),
                artifacts: vec![f.artifact.clone()],
                environments: Vec::new(),
                policies: Vec::new(),
            },
            reason,
            requester: f.requester.clone(),
            expires: f.expires.clone(),
            ticket: f.ticket.clone(),
            justification: Some(f.document.clone()),
        };
        created.push(record_request(&s, &caller, r).await?.1);
    }
    Ok((StatusCode::CREATED, Json(json!({"exceptions": created}))).into_response())
}
