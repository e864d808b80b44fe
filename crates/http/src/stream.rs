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

use dossier_access::Caller;

use crate::error::{error, ApiResult};
use crate::events_api::parse_query;
use crate::state::AppState;

pub async fn stream(State(s): State<AppState>, caller: Caller, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    let q = parse_query(&params)?;
    sse_feed(&s, caller, s.log.subscribe(), "fetch the gap from /api/v1/events with after=", move |appended| {
        q.matches(&appended.event).then(|| {
            let data = serde_json::to_string(&EventView::of_appended(&appended)).unwrap_or_default();
            SseEvent::default().event("event").id(appended.seq.to_string()).data(data)
        })
    })
}

/// A Server-Sent Events answer fed by a broadcast channel: `render` turns an item into an event
/// or skips it; a reader that falls behind gets a `lagged` event saying how to catch up. At
/// most `ApiConfig::max_streams` are open at once (each holds a connection for as long as it
/// lasts); past that, 503 with Retry-After. The caller's credential is checked again every
/// [`RECHECK_EVERY`]: a stream ends when the token that opened it is revoked or expires. When
/// the server stops, every stream ends at once with a `closing` event.
pub fn sse_feed<T: Clone + Send + 'static>(
    s: &AppState,
    caller: Caller,
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
    enum Next<T> {
        Item(Result<T, tokio_stream::wrappers::errors::BroadcastStreamRecvError>),
        Recheck,
    }
    let items = BroadcastStream::new(receiver).map(Next::Item);
    let rechecks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(RECHECK_EVERY)).map(|_| Next::Recheck);
    let closing = s.config.closing.clone();
    let stopped = closing.clone();
    let events = futures_util::stream::select(items, rechecks)
        .take_until(closing.cancelled_owned())
        .take_while(move |next| std::future::ready(!matches!(next, Next::Recheck) || caller.still_valid()))
        .filter_map(move |next| {
            let _held = &permit; // given back when the stream ends
            let out = match next {
                Next::Recheck => None,
                Next::Item(Ok(x)) => render(x).map(Ok::<_, Infallible>),
                Next::Item(Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n))) => {
                    Some(Ok(SseEvent::default().event("lagged").data(json!({"missed": n, "hint": hint}).to_string())))
                }
            };
            std::future::ready(out)
        })
        // A stream ended by the server stopping says so last: a page shows "disconnected".
        .chain(
            futures_util::stream::once(async move {
                stopped.is_cancelled().then(|| Ok(SseEvent::default().event("closing").data("the server is stopping")))
            })
            .filter_map(std::future::ready),
        );
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// How often a live stream checks that its caller's credential still stands.
pub const RECHECK_EVERY: Duration = Duration::from_secs(5);

/// What a client refused a live stream is told to wait, in seconds.
const STREAM_RETRY_SECS: u64 = 5;
