//! The dashboard: server-rendered pages over the same store, graph and views the API answers
//! from (never through the API: this crate does not depend on `dossier-http`), with a small script for what only a browser can do (local times, sorting and paging,
//! live updates, forms that call the API). Every asset is served from the binary: no build
//! step, nothing fetched from the internet.
//!
//! * [`html`]: escaping, the layout, tables.
//! * [`overview`], [`events`], [`artifact`], [`vulnerabilities`], [`impact`], [`environments`],
//!   [`policies`], [`exceptions`], [`audit`]: the pages.
//! * [`search`]: the header's search, to a vulnerability's page or an artifact's dossier.
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
mod search;
mod signin;
mod state;
mod vulnerabilities;

use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

pub use state::{Pages, Viewer};

use dossier_access::Rule::{self, Public, Scope as S};
use dossier_auth::Scope::Read;

/// Who may open each page: read access for every page; the sign-in page and the assets it
/// needs are public. Read by the access layer with the API's table.
pub const ACCESS: &[(&str, &str, Rule)] = &[
    ("GET", "/", Public),
    ("GET", "/ui/signin", Public),
    ("POST", "/ui/signin", Public),
    ("POST", "/ui/signout", dossier_access::Rule::Authenticated),
    ("GET", "/ui/assets/dossier.css", Public),
    ("GET", "/ui/assets/dossier.js", Public),
    ("GET", "/favicon.ico", Public),
    ("GET", "/ui/assets/favicon.svg", Public),
    ("GET", "/ui", S(Read)),
    ("GET", "/ui/events", S(Read)),
    ("GET", "/ui/artifact", S(Read)),
    ("GET", "/ui/search", S(Read)),
    ("GET", "/ui/impact", S(Read)),
    ("GET", "/ui/vulnerabilities", S(Read)),
    ("GET", "/ui/vulnerabilities/{id}", S(Read)),
    ("GET", "/ui/environments", S(Read)),
    ("GET", "/ui/policies", S(Read)),
    ("GET", "/ui/exceptions", S(Read)),
    ("GET", "/ui/audit", S(Read)),
    // A page that does not exist is a page saying so, to anyone; `/ui/` is the overview.
    ("GET", "/ui/", Public),
    ("GET", "/ui/{*rest}", Public),
];

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
        .route("/ui/search", get(search::search))
        .route("/ui/impact", get(impact::page))
        .route("/ui/vulnerabilities", get(vulnerabilities::index))
        .route("/ui/vulnerabilities/{id}", get(vulnerabilities::page))
        .route("/ui/environments", get(environments::page))
        .route("/ui/policies", get(policies::page))
        .route("/ui/exceptions", get(exceptions::page))
        .route("/ui/audit", get(audit::page))
        .route("/ui/", get(|| async { Redirect::to("/ui") }))
        .route("/ui/{*rest}", get(page::not_found))
        .route("/ui/signin", get(signin::page).post(signin::sign_in))
        .route("/ui/signout", axum::routing::post(signin::sign_out))
        .route("/ui/assets/dossier.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/ui/assets/dossier.js", get(|| async { asset("text/javascript; charset=utf-8", JS) }))
        .route("/favicon.ico", get(|| async { asset("image/svg+xml", ICON) }))
        .route("/ui/assets/favicon.svg", get(|| async { asset("image/svg+xml", ICON) }))
        .layer(axum::middleware::from_fn_with_state(pages.clone(), with_viewer))
        .with_state(pages)
        .layer(axum::middleware::map_response(security_headers))
}

/// What a page may load and run: its own script, styles and images, nothing inline and nothing
/// from elsewhere — so markup that slipped into a page could not run, and no other site may
/// frame it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Renders the page with its viewer known to the layout (who is signed in, the CSRF token, and
/// whether the server is without TLS on purpose).
async fn with_viewer(
    axum::extract::State(pages): axum::extract::State<Pages>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let caller = req.extensions().get::<dossier_access::Caller>().cloned();
    let viewer = Viewer {
        who: caller.as_ref().map(|c| (c.principal.name.to_string(), c.principal.scopes.to_string())),
        csrf: caller.and_then(|c| c.csrf),
        insecure: pages.access.insecure,
    };
    state::VIEWER.scope(viewer, next.run(req)).await
}

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
