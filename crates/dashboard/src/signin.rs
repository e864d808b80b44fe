//! Signing in and out: a token becomes a session (see `dossier_access::session`).

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use crate::html::{self, esc};
use crate::state::Pages;
use dossier_access::session;

#[derive(Deserialize, Default)]
pub struct Next {
    #[serde(default)]
    next: Option<String>,
}

/// Only a dashboard path is a place to go back to (no open redirect).
fn local(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/ui") && !n.starts_with("//") && !n.contains("://") && !n.contains('\\') => n,
        _ => "/ui",
    }
}

fn form(next: &str, message: Option<&str>) -> String {
    let message = message.map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m))).unwrap_or_default();
    html::page(
        "Sign in",
        "",
        &format!(
            r#"<section class="panel signin" aria-labelledby="h-signin"><h1 id="h-signin">Sign in</h1>{message}
<p>Paste a Dossier token (<code>dossier token create --name you --scope read …</code>, or the admin token the server wrote to its data directory).</p>
<form class="stack" action="/ui/signin" method="post">
<input type="hidden" name="next" value="{next}">
<div><label for="token">Token</label><input id="token" name="token" type="password" autocomplete="off" required></div>
<div><button class="primary" type="submit">Sign in</button></div>
</form></section>"#,
            next = esc(next)
        ),
    )
}

pub async fn page(Query(q): Query<Next>) -> Html<String> {
    Html(form(local(q.next.as_deref()), None))
}

#[derive(Deserialize)]
pub struct SignIn {
    token: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn sign_in(State(p): State<Pages>, Form(f): Form<SignIn>) -> Response {
    let next = local(f.next.as_deref()).to_owned();
    let now = dossier_access::now_nanos();
    let token = f.token.trim().to_owned();
    let allowed = p.access.authenticate(&token, now).and_then(|principal| {
        principal.require(dossier_auth::Scope::Read).map_err(|d| dossier_access::Unauthenticated::NotForSignIn(d.to_string()))?;
        p.access.take(principal.name.as_str(), now).map_err(|wait| {
            dossier_access::Unauthenticated::NotForSignIn(format!("{} is over its rate limit; retry after {wait} s", principal.name))
        })?;
        Ok(principal)
    });
    match allowed {
        Ok(principal) => {
            tracing::info!("{} signed in to the dashboard", principal.name);
            let opened = p.access.sessions.open(token, now);
            (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, next), (header::SET_COOKIE, session::set_cookie(Some(&opened.id), p.access.secure_cookies))],
            )
                .into_response()
        }
        Err(why) => (StatusCode::UNAUTHORIZED, Html(form(&next, Some(&why.to_string())))).into_response(),
    }
}

#[derive(Deserialize)]
pub struct SignOut {
    #[serde(default)]
    csrf: String,
}

/// Ends the session — only with the session's own CSRF token, so another site cannot sign
/// anyone out.
pub async fn sign_out(State(p): State<Pages>, headers: axum::http::HeaderMap, Form(f): Form<SignOut>) -> Response {
    let now = dossier_access::now_nanos();
    if let Some(id) = session::from_headers(&headers, p.access.secure_cookies) {
        match p.access.sessions.get(id, now) {
            Some((_, csrf)) if csrf == f.csrf => p.access.sessions.close(id),
            Some(_) => {
                return crate::page::problem(
                    StatusCode::FORBIDDEN,
                    "Not signed out",
                    "the form did not carry this session's CSRF token; reload the page",
                )
            }
            None => {}
        }
    }
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/ui/signin".to_owned()), (header::SET_COOKIE, session::set_cookie(None, p.access.secure_cookies))],
    )
        .into_response()
}
