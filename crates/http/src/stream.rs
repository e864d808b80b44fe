//! Server-Sent Events: the live feed of the log, and the helper every live stream uses.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use dossier_log::render::EventView;
use futures_util::StreamExt;
use serde_json::json;
use tokio_stream::wrappers::BroadcastStream;

use crate::error::ApiResult;
use crate::events_api::parse_query;
use crate::state::AppState;

pub async fn stream(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    let q = parse_query(&params)?;
    Ok(sse_feed(s.log.subscribe(), "fetch the gap from /api/v1/events with after=", move |appended| {
        q.matches(&appended.event).then(|| {
            let data = serde_json::to_string(&EventView::of_appended(&appended)).unwrap_or_default();
            SseEvent::default().event("event").id(appended.seq.to_string()).data(data)
        })
    }))
}

/// A Server-Sent Events answer fed by a broadcast channel: `render` turns an item into an event
/// or skips it; a reader that falls behind gets a `lagged` event saying how to catch up.
pub fn sse_feed<T: Clone + Send + 'static>(
    receiver: tokio::sync::broadcast::Receiver<T>,
    hint: &'static str,
    mut render: impl FnMut(T) -> Option<SseEvent> + Send + 'static,
) -> Response {
    let events = BroadcastStream::new(receiver).filter_map(move |item| {
        let out = match item {
            Ok(x) => render(x).map(Ok::<_, Infallible>),
            Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
                Some(Ok(SseEvent::default().event("lagged").data(json!({"missed": n, "hint": hint}).to_string())))
            }
        };
        std::future::ready(out)
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response()
}
