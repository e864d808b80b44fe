//! Server-Sent Events: the live feed of the log, and the helper every live stream uses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::IntoResponse;
use dossier_log::render::EventView;
use futures_util::StreamExt;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;

use axum::http::StatusCode;

use crate::error::{error, ApiResult};
use crate::events_api::parse_query;
use crate::state::AppState;

pub async fn stream(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    let q = parse_query(&params)?;
    sse_feed(&s, s.log.subscribe(), "fetch the gap from /api/v1/events with after=", move |appended| {
        q.matches(&appended.event).then(|| {
            let data = serde_json::to_string(&EventView::of_appended(&appended)).unwrap_or_default();
            SseEvent::default().event("event").id(appended.seq.to_string()).data(data)
        })
    })
}

/// A Server-Sent Events answer fed by a broadcast channel: `render` turns an item into an event
/// or skips it; a reader that falls behind gets a `lagged` event saying how to catch up. At
/// most `ApiConfig::max_streams` are open at once (each holds a connection for as long as it
/// lasts); past that, 503 with Retry-After.
pub fn sse_feed<T: Clone + Send + 'static>(
    s: &AppState,
    receiver: tokio::sync::broadcast::Receiver<T>,
    hint: &'static str,
    mut render: impl FnMut(T) -> Option<SseEvent> + Send + 'static,
) -> ApiResult {
    let permit = s.streams.clone().try_acquire_owned().map_err(|_| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{} live streams are open, the most this server keeps; retry later, or poll /api/v1/events", s.config.max_streams),
        )
        .retry_after(STREAM_RETRY_SECS)
    })?;
    let events = BroadcastStream::new(receiver).filter_map(move |item| {
        let _held = &permit; // given back when the stream ends
        let out = match item {
            Ok(x) => render(x).map(Ok::<_, Infallible>),
            Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
                Some(Ok(SseEvent::default().event("lagged").data(json!({"missed": n, "hint": hint}).to_string())))
            }
        };
        std::future::ready(out)
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// What a client refused a live stream is told to wait, in seconds.
const STREAM_RETRY_SECS: u64 = 5;
