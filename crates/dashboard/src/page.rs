//! What every page shares: the result type, error pages, blocking store work, time ranges.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::html;

/// A page, or the layout around an error that says what went wrong.
pub type PageResult = Result<Html<String>, Response>;

pub fn problem(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(r#"<h1>{}</h1><p class="error">{}</p>"#, html::esc(title), html::esc(message));
    (status, Html(html::page(title, "", &body))).into_response()
}

/// `/ui/…` that is no page: a 404 page in the layout, with the navigation to the pages there are.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    let message = format!("{} is not a page of Dossier's dashboard; the pages are in the navigation above.", uri.path());
    problem(StatusCode::NOT_FOUND, "No such page", &message)
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
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, dossier_store::StoreError> + Send + 'static) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(from_store),
        Err(e) => Err(problem(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", &format!("internal error: {e}"))),
    }
}
