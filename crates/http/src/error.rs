//! Errors in one place: every error answer is JSON, `{"error": "..."}`, with a status that says
//! whose fault it is; and the helpers every handler shares.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dossier_store::StoreError;
use serde_json::json;

/// An error answer: a status and a message saying what is wrong and what is accepted; when
/// retrying later may work, after how many seconds (as `Retry-After` and `retry_after`).
#[derive(Debug)]
pub struct ApiError(StatusCode, String, Option<u64>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.2 {
            None => (self.0, Json(json!({"error": self.1}))).into_response(),
            Some(secs) => {
                (self.0, [(axum::http::header::RETRY_AFTER, secs.to_string())], Json(json!({"error": self.1, "retry_after": secs})))
                    .into_response()
            }
        }
    }
}

impl ApiError {
    /// The same error, saying to retry after `secs` seconds.
    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.2 = Some(secs);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0
    }

    pub fn message(&self) -> &str {
        &self.1
    }
}

pub fn error(status: StatusCode, message: impl Into<String>) -> ApiError {
    ApiError(status, message.into(), None)
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::OutOfRange(m) => error(StatusCode::BAD_REQUEST, m),
            StoreError::Closed => error(StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down; retry"),
            other => error(StatusCode::SERVICE_UNAVAILABLE, format!("{other}; nothing was stored, retry")),
        }
    }
}

impl From<dossier_log::documents::BlobError> for ApiError {
    fn from(e: dossier_log::documents::BlobError) -> ApiError {
        match e {
            dossier_log::documents::BlobError::TooLarge(_) => error(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
            dossier_log::documents::BlobError::Io(_) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        }
    }
}

pub type ApiResult = Result<Response, ApiError>;

/// Runs blocking store work off the async threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, StoreError> + Send + 'static) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}"))),
    }
}

pub fn parse_time(name: &str, value: &str) -> Result<i64, ApiError> {
    dossier_store::parse_time_param(name, value).map_err(|e| error(StatusCode::BAD_REQUEST, e))
}

/// Refuses a parameter that is not one of `accepted`, naming those that are.
pub fn check_params(params: &HashMap<String, String>, accepted: &[&str]) -> Result<(), ApiError> {
    for name in params.keys() {
        if !accepted.contains(&name.as_str()) {
            return Err(error(StatusCode::BAD_REQUEST, format!("unknown parameter {name:?}; accepted: {}", accepted.join(", "))));
        }
    }
    Ok(())
}

/// Query parameters read into a type (`#[serde(deny_unknown_fields)]` on it refuses the ones it
/// does not name); a parameter that is missing, unknown or of the wrong kind is a 400 in the API's
/// JSON form, naming it and saying what is accepted.
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(pairs).map(Params).map_err(|e| {
            let message = e.inner().to_string().replace("field", "parameter");
            let name = e.path().to_string();
            // Unknown and missing parameters name themselves already.
            if name == "." || message.contains(&format!("`{name}`")) {
                error(StatusCode::BAD_REQUEST, message)
            } else {
                error(StatusCode::BAD_REQUEST, format!("parameter {name}: {message}"))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::FromRequestParts;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Proof {
        seq: u64,
        #[allow(dead_code)]
        size: Option<u64>,
    }

    async fn read(query: &str) -> Result<u64, String> {
        let (mut parts, ()) = axum::http::Request::builder().uri(format!("/x?{query}")).body(()).unwrap().into_parts();
        Params::<Proof>::from_request_parts(&mut parts, &()).await.map(|Params(p)| p.seq).map_err(|e| e.message().to_owned())
    }

    #[tokio::test]
    async fn parameters_are_typed_and_a_wrong_one_is_named() {
        assert_eq!(read("seq=4&size=9").await, Ok(4));
        assert_eq!(read("size=9").await, Err("missing parameter `seq`".to_owned()));
        assert_eq!(read("seq=4&colour=red").await, Err("unknown parameter `colour`, expected `seq` or `size`".to_owned()));
        assert_eq!(read("seq=four").await, Err("parameter seq: invalid digit found in string".to_owned()));
    }
}
