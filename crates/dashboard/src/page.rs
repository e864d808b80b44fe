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

/// The first entry Dossier received at or after `t`: entries are received in log order, so a
/// binary search over the log finds it in a few lookups, without an index on time.
pub fn first_received_at(store: &dyn dossier_store::Store, size: u64, t: i64) -> Result<u64, dossier_store::StoreError> {
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
