//! The dashboard: server-rendered pages over the same store, graph and views the API answers
//! from, with a small script for what only a browser can do (local times, sorting and paging,
//! live updates, forms that call the API). Every asset is served from the binary: no build
//! step, nothing fetched from the internet.
//!
//! * [`html`]: escaping, the layout, tables.
//! * [`overview`], [`events`], [`artifact`], [`impact`], [`environments`], [`policies`],
//!   [`exceptions`], [`audit`]: the pages.
//! * [`lineage_svg`]: an artifact's lineage as a picture.

mod artifact;
mod audit;
mod environments;
mod events;
mod exceptions;
mod html;
mod impact;
mod lineage_svg;
mod overview;
mod policies;

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::api::AppState;

const CSS: &str = include_str!("assets/dossier.css");
const JS: &str = include_str!("assets/dossier.js");
const ICON: &str = include_str!("assets/favicon.svg");

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui") }))
        .route("/ui", get(overview::page))
        .route("/ui/events", get(events::page))
        .route("/ui/artifact", get(artifact::page))
        .route("/ui/impact", get(impact::page))
        .route("/ui/environments", get(environments::page))
        .route("/ui/policies", get(policies::page))
        .route("/ui/exceptions", get(exceptions::page))
        .route("/ui/audit", get(audit::page))
        .route("/ui/assets/dossier.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/ui/assets/dossier.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .route("/favicon.ico", get(|| async { asset("image/svg+xml", ICON) }))
        .route("/ui/assets/favicon.svg", get(|| async { asset("image/svg+xml", ICON) }))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// A page, or the layout around an error that says what went wrong.
pub(crate) type PageResult = Result<Html<String>, Response>;

fn problem(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(r#"<h1>{}</h1><p class="error">{}</p>"#, html::esc(title), html::esc(message));
    (status, Html(html::page(title, "", &body))).into_response()
}

/// An API error (a store failure, a bad parameter) as a page.
fn from_api(e: crate::api::ApiError) -> Response {
    let status = e.status();
    problem(status, "Something went wrong", e.message())
}

/// The first entry Dossier received at or after `t`: entries are received in log order, so a
/// binary search over the log finds it in a few lookups, without an index on time.
pub(crate) fn first_received_at(store: &dyn dossier_store::Store, size: u64, t: i64) -> Result<u64, dossier_store::StoreError> {
    let (mut low, mut high) = (0, size);
    while low < high {
        let mid = low + (high - low) / 2;
        match store.get(mid)? {
            Some(e) if e.received_unix_nanos < t => low = mid + 1,
            _ => high = mid,
        }
    }
    Ok(low)
}
