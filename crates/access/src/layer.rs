//! The access rule of every route, and the one layer that applies them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dossier_auth::{Principal, Scope};
use serde_json::json;

use crate::{now_nanos, session, Access, Unauthenticated};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, without a credential.
    Public,
    /// A principal whose credential grants the scope (some routes check more in their handler:
    /// the source of each event, the artifact of a document, who requested an exception).
    Scope(Scope),
    /// Any authenticated principal, whatever its scopes (who am I; signing out).
    Authenticated,
}

/// Every route's rule, by path template, then method (looked up on every request without
/// allocating).
#[derive(Debug, Default)]
pub struct Rules(HashMap<String, Vec<(Method, Rule)>>);

impl Rules {
    /// The rules of several tables of `(method, path template, rule)`.
    pub fn of(tables: &[&[(&str, &str, Rule)]]) -> Rules {
        let mut map: HashMap<String, Vec<(Method, Rule)>> = HashMap::new();
        for table in tables {
            for (method, path, rule) in table.iter() {
                let method = Method::from_bytes(method.as_bytes()).expect("a method");
                let methods = map.entry((*path).to_owned()).or_default();
                assert!(methods.iter().all(|(m, _)| *m != method), "two rules for {method} {path}");
                methods.push((method, *rule));
            }
        }
        Rules(map)
    }

    pub fn get(&self, method: &Method, path: &str) -> Option<Rule> {
        // HEAD is answered as GET.
        let method = if method == Method::HEAD { &Method::GET } else { method };
        self.0.get(path)?.iter().find(|(m, _)| m == method).map(|(_, r)| *r)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Method, &str, Rule)> {
        self.0.iter().flat_map(|(p, methods)| methods.iter().map(move |(m, r)| (m, p.as_str(), *r)))
    }
}

/// Who is asking: set by [`authorize`] on every route that is not public.
#[derive(Clone)]
pub struct Caller {
    pub principal: Arc<Principal>,
    /// The session's CSRF token, when the request came through the dashboard's session.
    pub csrf: Option<String>,
    recheck: Recheck,
}

/// The credential a request came with, to check again while a long answer (a live stream)
/// lasts: revoking a token, or a JWT expiring, ends what it opened.
#[derive(Clone)]
struct Recheck {
    access: Arc<Access>,
    credential: Arc<str>,
}

impl Caller {
    /// Whether the credential the request came with still stands for the same principal now.
    pub fn still_valid(&self) -> bool {
        let r = &self.recheck;
        r.access.authenticate(&r.credential, now_nanos()).is_ok_and(|p| p.name == self.principal.name)
    }
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller").field("principal", &self.principal.name).finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, Response> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "this route reads its caller but has no access rule that authenticates".into())
        })
    }
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

fn unauthenticated(path: &str, why: Unauthenticated) -> Response {
    let mut response = if path.starts_with("/ui") {
        // A browser: the way to the sign-in page, which brings it back here.
        let next = percent_encode(path);
        let target = format!("/ui/signin?next={next}");
        let body = format!(
            "<!doctype html><meta charset=utf-8><title>Sign in</title><p>{}</p><p><a href=\"{target}\">Sign in to Dossier</a></p>",
            html_escape(&why.to_string())
        );
        let mut r = (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("0; url={target}")) {
            r.headers_mut().insert("refresh", v);
        }
        r
    } else {
        refuse(StatusCode::UNAUTHORIZED, why.to_string())
    };
    let challenge = match why {
        Unauthenticated::Missing => "Bearer realm=\"dossier\"",
        _ => "Bearer realm=\"dossier\", error=\"invalid_token\"",
    };
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

fn percent_encode(path: &str) -> String {
    path.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Where a request's credential came from.
enum Presented {
    Bearer(String),
    Session { credential: String, csrf: String },
}

fn presented(access: &Access, parts: &axum::http::HeaderMap, now: i64) -> Result<Presented, Unauthenticated> {
    if let Some(value) = parts.get(header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| Unauthenticated::NotBearer)?;
        let (scheme, credential) = text.split_once(' ').ok_or(Unauthenticated::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") || credential.trim().is_empty() {
            return Err(Unauthenticated::NotBearer);
        }
        return Ok(Presented::Bearer(credential.trim().to_owned()));
    }
    match session::from_headers(parts, access.secure_cookies) {
        Some(id) => {
            let (credential, csrf) = access.sessions.get(id, now).ok_or(Unauthenticated::Session)?;
            Ok(Presented::Session { credential, csrf })
        }
        None => Err(Unauthenticated::Missing),
    }
}

/// The layer every route goes through (as a `route_layer`, after routing, so that the route's
/// path template is known): its rule decides. A route without a rule is refused to everyone.
pub async fn authorize(State((access, rules)): State<(Arc<Access>, Arc<Rules>)>, mut req: Request, next: Next) -> Response {
    let template = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let rule = match rules.get(req.method(), &template) {
        Some(rule) => rule,
        None => {
            tracing::error!("{} {template} has no access rule: refused", req.method());
            return refuse(StatusCode::FORBIDDEN, format!("{} {template} has no access rule; it is refused to everyone", req.method()));
        }
    };
    if rule == Rule::Public {
        return next.run(req).await;
    }
    let now = now_nanos();
    let path = req.uri().path().to_owned();
    let (credential, csrf) = match presented(&access, req.headers(), now) {
        Ok(Presented::Bearer(c)) => (c, None),
        Ok(Presented::Session { credential, csrf }) => (credential, Some(csrf)),
        Err(why) => return unauthenticated(&path, why),
    };
    let principal = match access.authenticate(&credential, now) {
        Ok(p) => p,
        Err(why) => return unauthenticated(&path, why),
    };
    if let Err(wait) = access.take(principal.name.as_str(), now) {
        let rate = access.rate();
        let mut r = refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "{} is over its rate limit ({} requests a second, bursts of {}); retry after {wait} s",
                principal.name, rate.per_second, rate.burst
            ),
        );
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    if let Rule::Scope(scope) = rule {
        if let Err(denied) = principal.require(scope) {
            return refuse(StatusCode::FORBIDDEN, denied.to_string());
        }
    }
    // A change made through a session must carry the session's CSRF token (signing out checks
    // its form field itself).
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(expected) = &csrf {
        if unsafe_method && template != "/ui/signout" {
            let given = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            let same: bool = subtle_eq(given.as_bytes(), expected.as_bytes());
            if !same {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "this change comes through the dashboard's session without its CSRF token (X-CSRF-Token); reload the page".into(),
                );
            }
        }
    }
    let recheck = Recheck { access: access.clone(), credential: Arc::from(credential.as_str()) };
    req.extensions_mut().insert(Caller { principal: Arc::new(principal), csrf, recheck });
    next.run(req).await
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
