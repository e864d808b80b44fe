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
mod page;
mod policies;
mod state;

use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
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
        .layer(axum::middleware::map_response(security_headers))
}

/// What a page may load and run: its own script, styles and images, nothing inline and nothing
/// from elsewhere — so markup that slipped into a page could not run, and no other site may
/// frame it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}
