//! The dashboard: server-rendered pages over the same store, graph and views the API answers
//! from (never through the API: this crate does not depend on `dossier-http`), with a small script for what only a browser can do (local times, sorting and paging,
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
mod state;

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

pub use state::Pages;

const CSS: &str = include_str!("assets/dossier.css");
const JS: &str = include_str!("assets/dossier.js");
const ICON: &str = include_str!("assets/favicon.svg");

/// Every page and asset, over `pages`.
pub fn routes(pages: Pages) -> Router {
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
        .with_state(pages)
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

/// A store failure (or a bad parameter the store refused) as a page.
fn from_store(e: dossier_store::StoreError) -> Response {
    let status = match e {
        dossier_store::StoreError::OutOfRange(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    problem(status, "Something went wrong", &e.to_string())
}

/// Runs blocking store work off the async threads; a failure is a page saying what went wrong.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, dossier_store::StoreError> + Send + 'static) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(from_store),
        Err(e) => Err(problem(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", &format!("internal error: {e}"))),
    }
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
