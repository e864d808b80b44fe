//! API tokens (scope `admin`): create (the secret is shown once; the log keeps its hash),
//! list, show, revoke — each change a log entry with the admin as its sender — and `whoami`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use dossier_access::Caller;
use dossier_auth::token::{self, Grant, Revocation, State as TokenState};
use dossier_auth::{Patterns, PrincipalName, Scope, Scopes};
use dossier_core::own::{OwnType, TOKENS_SOURCE};
use dossier_core::Event;
use dossier_log::own::{now_nanos, own_event};
use serde::Deserialize;
use serde_json::json;

use crate::body::JsonBody;
use crate::error::{error, ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/whoami", get(whoami))
        .route("/api/v1/tokens", get(list).post(create))
        .route("/api/v1/tokens/{id}", get(show))
        .route("/api/v1/tokens/{id}/revoke", post(revoke))
}

/// The entry that creates a token.
pub fn created_entry(grant: &Grant, sender: Option<&str>) -> Result<Event, dossier_log::own::OwnEventError> {
    let content = serde_json::to_value(grant).expect("a grant serializes");
    let mut event = own_event(format!("created-{}", grant.id), TOKENS_SOURCE, OwnType::TokenCreated, &grant.id, content, None)?;
    event.sender = sender.map(str::to_owned);
    Ok(event)
}

async fn whoami(caller: Caller) -> ApiResult {
    let p = &caller.principal;
    Ok(Json(
        json!({"name": p.name, "credential": p.credential.to_string(), "scopes": p.scopes, "sources": p.sources, "artifacts": p.artifacts}),
    )
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: PrincipalName,
    scopes: Scopes,
    #[serde(default)]
    sources: Patterns,
    #[serde(default)]
    artifacts: Patterns,
    /// RFC 3339; none: until revoked.
    #[serde(default)]
    expires: Option<String>,
}

fn unprocessable(message: impl Into<String>) -> ApiError {
    error(StatusCode::UNPROCESSABLE_ENTITY, message)
}

async fn create(State(s): State<AppState>, caller: Caller, JsonBody(bytes): JsonBody) -> ApiResult {
    let mut de = serde_json::Deserializer::from_slice(&bytes);
    let t: NewToken = serde_path_to_error::deserialize(&mut de).map_err(|e| unprocessable(format!("{}: {}", e.path(), e.inner())))?;
    if t.name.as_str().starts_with("dossier") {
        return Err(unprocessable(format!("name: {:?} is reserved: names starting with dossier are Dossier's own acts", t.name.as_str())));
    }
    if t.scopes.is_empty() {
        return Err(unprocessable(format!("scopes: give at least one of {}", Scope::ALL.map(Scope::as_str).join(", "))));
    }
    if t.scopes.contains(Scope::EventsWrite) && t.sources.is_empty() {
        return Err(unprocessable(
            "sources: a token with events:write names the context.source patterns it may send from (e.g. /ci/jenkins/**)",
        ));
    }
    if t.scopes.contains(Scope::DocumentsWrite) && t.artifacts.is_empty() {
        return Err(unprocessable(
            "artifacts: a token with documents:write names the artifact patterns it may send documents about (e.g. pkg:oci/app*)",
        ));
    }
    if let Some(expires) = &t.expires {
        let at = dossier_core::event::parse_timestamp(expires)
            .ok_or_else(|| unprocessable(format!("expires: {expires:?} is not an RFC 3339 time")))?;
        if at <= now_nanos() {
            return Err(unprocessable(format!("expires: {expires} is in the past")));
        }
    }
    let (id, secret) = token::generate();
    let grant = Grant {
        id: id.clone(),
        name: t.name,
        scopes: t.scopes,
        sources: t.sources,
        artifacts: t.artifacts,
        expires: t.expires,
        hash: token::hash(&secret),
        by: caller.principal.name.clone(),
    };
    let event = created_entry(&grant, Some(caller.principal.name.as_str())).map_err(|e| unprocessable(e.to_string()))?;
    let outcome = s.log.append(vec![event]).await?;
    if !matches!(outcome.first(), Some(dossier_store::AppendOutcome::Accepted { .. })) {
        return Err(error(StatusCode::CONFLICT, "a token with this id exists already (a one in 2^48 chance); retry"));
    }
    let book = s.views.tokens.read();
    let mut view = book
        .get(&id)
        .map(|t| t.view(now_nanos()))
        .ok_or_else(|| error(StatusCode::SERVICE_UNAVAILABLE, "the token was not recorded; retry"))?;
    view["token"] = json!(secret);
    view["note"] = json!("the token is shown once; Dossier keeps only its hash");
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn list(State(s): State<AppState>) -> ApiResult {
    let now = now_nanos();
    let book = s.views.tokens.read();
    let tokens: Vec<_> = book.all().into_iter().map(|t| t.view(now)).collect();
    Ok(Json(json!({"tokens": tokens})).into_response())
}

async fn show(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let book = s.views.tokens.read();
    let t = book.get(&id).ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no token {id:?}")))?;
    Ok(Json(t.view(now_nanos())).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Revoke {
    #[serde(default)]
    reason: Option<String>,
}

async fn revoke(State(s): State<AppState>, caller: Caller, Path(id): Path<String>, JsonBody(bytes): JsonBody) -> ApiResult {
    let r: Revoke = if bytes.is_empty() {
        Revoke::default()
    } else {
        serde_json::from_slice(&bytes).map_err(|e| unprocessable(format!("the body: {e}; accepted: {{\"reason\": \"…\"}}")))?
    };
    {
        let book = s.views.tokens.read();
        let t = book.get(&id).ok_or_else(|| error(StatusCode::NOT_FOUND, format!("no token {id:?}")))?;
        if t.state(now_nanos()) == TokenState::Revoked {
            return Err(error(StatusCode::CONFLICT, format!("token {id} is revoked already")));
        }
    }
    let content =
        serde_json::to_value(Revocation { id: id.clone(), by: caller.principal.name.clone(), reason: r.reason }).expect("serializes");
    let mut event = own_event(format!("revoked-{id}"), TOKENS_SOURCE, OwnType::TokenRevoked, &id, content, None)
        .map_err(|e| unprocessable(e.to_string()))?;
    event.sender = Some(caller.principal.name.to_string());
    s.log.append(vec![event]).await?;
    let book = s.views.tokens.read();
    Ok(Json(book.get(&id).map(|t| t.view(now_nanos()))).into_response())
}
