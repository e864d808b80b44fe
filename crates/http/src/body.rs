//! Request bodies under the server's bounds: a deadline for the whole body (every route, as a
//! layer), and, for the bodies read into memory, the size limit, a budget of body bytes held at
//! once across all requests, and gzip (on ingest) inflated under the same limit.

use std::error::Error as StdError;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Router;
use futures_util::StreamExt;
use http_body::{Body as _, Frame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use crate::error::{error, ApiError};
use crate::state::{AppState, Budget};

/// Largest body of the routes other than ingest (exceptions, policies): axum's default limit,
/// which they had before they were read here.
pub const SMALL_BODY: usize = 2 * 1024 * 1024;

/// Compressed input is fed to the inflater this much at a time, so that a request takes its
/// share of the budget before it holds much more than it: deflate inflates at most ~1032:1, so
/// one slice is at most about 1 MiB out.
const INFLATE_SLICE: usize = 1024;

/// Every request body of `router` must arrive in full within `timeout` of the request's
/// headers; past it, reading the body fails with [`TimedOut`] (the API answers 408).
pub fn with_deadline(router: Router, timeout: Duration) -> Router {
    router.layer(axum::middleware::map_request(move |req: Request| async move {
        if req.body().is_end_stream() {
            return req;
        }
        let deadline = Instant::now() + timeout;
        req.map(|inner| Body::new(Deadline { inner, deadline, timeout, sleep: None }))
    }))
}

/// A body that had not arrived in full by its deadline.
#[derive(Debug)]
pub struct TimedOut(pub Duration);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the body did not arrive within {} s", self.0.as_secs_f64())
    }
}

impl StdError for TimedOut {}

struct Deadline {
    inner: Body,
    deadline: Instant,
    timeout: Duration,
    /// Made the first time the body is waited for: a body that is already there costs no timer.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = self.deadline;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(TimedOut(self.timeout))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The answer to a body that could not be read: 408 when it came too slowly, else 400.
pub fn read_error(e: axum::Error) -> ApiError {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(&e);
    while let Some(c) = cause {
        if let Some(TimedOut(limit)) = c.downcast_ref::<TimedOut>() {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                format!("the body did not arrive within {} s; send it faster, or in smaller requests", limit.as_secs_f64()),
            );
        }
        cause = c.source();
    }
    error(StatusCode::BAD_REQUEST, format!("reading the body: {e}"))
}

/// A request's share of the budget; given back when dropped, so a handler keeps it for as long
/// as it holds the body.
#[derive(Debug, Default)]
pub struct Held(Option<OwnedSemaphorePermit>);

impl Held {
    /// Takes `n` more bytes of `budget`, waiting for them at most the budget's wait.
    async fn take(&mut self, budget: &Budget, n: usize) -> Result<(), ApiError> {
        if n == 0 {
            return Ok(());
        }
        let held = self.0.as_ref().map_or(0, OwnedSemaphorePermit::num_permits);
        if held + n > budget.total {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than the {} bytes the server holds of all bodies at once (body_budget)", budget.total),
            ));
        }
        let n = n as u32; // n <= total <= u32::MAX
        let permit = match budget.permits.clone().try_acquire_many_owned(n) {
            Ok(p) => p,
            Err(_) => match tokio::time::timeout(budget.wait, budget.permits.clone().acquire_many_owned(n)).await {
                Ok(Ok(p)) => p,
                _ => {
                    let secs = budget.wait.as_secs().max(1);
                    return Err(error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("the server is holding as many request bodies as it may ({} bytes); retry in {secs} s", budget.total),
                    )
                    .retry_after(secs));
                }
            },
        };
        match &mut self.0 {
            Some(p) => p.merge(permit),
            none => *none = Some(permit),
        }
        Ok(())
    }
}

/// How a body may be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encodings {
    Identity,
    IdentityOrGzip,
}

/// Reads a whole body into memory: at most `max` bytes (after inflating, for gzip), holding its
/// share of `budget` (returned: keep it while the bytes are in use). `advice` ends the 413.
/// One chunk is returned as it came; several are copied once, into a buffer of the announced
/// length.
pub async fn read(
    budget: &Budget,
    headers: &HeaderMap,
    body: Body,
    max: usize,
    accepted: Encodings,
    advice: &str,
) -> Result<(Bytes, Held), ApiError> {
    let gzip = match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim()) {
        None => false,
        Some(e) if e.is_empty() || e.eq_ignore_ascii_case("identity") => false,
        Some(e) if accepted == Encodings::IdentityOrGzip && (e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip")) => true,
        Some(e) => {
            let offer = match accepted {
                Encodings::Identity => "send the body uncompressed (Content-Encoding: identity, or none)",
                Encodings::IdentityOrGzip => {
                    "send the body uncompressed (Content-Encoding: identity, or none) or gzip-compressed (Content-Encoding: gzip)"
                }
            };
            return Err(error(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("Content-Encoding {e:?} is not accepted; {offer}")));
        }
    };
    let too_large = |what: &str| error(StatusCode::PAYLOAD_TOO_LARGE, format!("{what} is larger than the limit of {max} bytes{advice}"));
    let hint = body.size_hint();
    if hint.lower() as usize > max {
        // Announced too large. The body is read (and dropped, holding no memory) before the
        // answer — all of it when it is at most twice the limit, else as much as the limit: a
        // client that sends its whole body before reading (as most do) would otherwise meet a
        // closed connection instead of the 413.
        let announced = hint.lower() as usize;
        drain(&mut body.into_data_stream(), if announced <= max.saturating_mul(2) { announced } else { max }).await;
        return Err(too_large("the body"));
    }
    let mut held = Held::default();
    let mut stream = body.into_data_stream();
    if gzip {
        let mut inflater = flate2::write::GzDecoder::new(Capped { out: Vec::new(), max, over: false });
        let mut received = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(read_error)?;
            received += chunk.len();
            if received > max {
                return Err(too_large("the body"));
            }
            for slice in chunk.chunks(INFLATE_SLICE) {
                let before = inflater.get_ref().out.len();
                if let Err(e) = inflater.write_all(slice) {
                    return Err(inflate_error(&inflater, e, &too_large));
                }
                held.take(budget, inflater.get_ref().out.len() - before).await?;
            }
        }
        let before = inflater.get_ref().out.len();
        if let Err(e) = inflater.try_finish() {
            return Err(inflate_error(&inflater, e, &too_large));
        }
        held.take(budget, inflater.get_ref().out.len() - before).await?;
        let out = inflater.finish().map_err(|e| error(StatusCode::BAD_REQUEST, format!("the body is not valid gzip: {e}")))?;
        return Ok((Bytes::from(out.out), held));
    }
    let announced = hint.exact().map(|n| n as usize);
    if let Some(n) = announced {
        if let Err(e) = held.take(budget, n).await {
            drain(&mut stream, max).await;
            return Err(e);
        }
    }
    let (mut first, mut rest): (Option<Bytes>, Vec<u8>) = (None, Vec::new());
    let mut received = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(read_error)?;
        received += chunk.len();
        if received > max {
            return Err(too_large("the body"));
        }
        if announced.is_none() {
            if let Err(e) = held.take(budget, chunk.len()).await {
                drop((first, rest, held)); // what was read is not kept while the rest is dropped
                drain(&mut stream, max - received).await;
                return Err(e);
            }
        }
        match first.take() {
            None if rest.is_empty() => first = Some(chunk),
            None => rest.extend_from_slice(&chunk),
            Some(one) => {
                rest.reserve_exact(announced.unwrap_or(0).max(one.len() + chunk.len()));
                rest.extend_from_slice(&one);
                rest.extend_from_slice(&chunk);
            }
        }
    }
    let bytes = first.unwrap_or_else(|| Bytes::from(rest));
    Ok((bytes, held))
}

/// Reads and drops up to `max` more bytes of a refused body, holding one chunk at a time, so
/// that a client that sends its whole body before reading sees the answer rather than a closed
/// connection (the body deadline bounds how long this takes).
async fn drain(stream: &mut axum::body::BodyDataStream, max: usize) {
    let mut seen = 0;
    while seen <= max {
        match stream.next().await {
            Some(Ok(chunk)) => seen += chunk.len(),
            _ => break,
        }
    }
}

fn inflate_error(inflater: &flate2::write::GzDecoder<Capped>, e: std::io::Error, too_large: &dyn Fn(&str) -> ApiError) -> ApiError {
    if inflater.get_ref().over {
        too_large("the decompressed body")
    } else {
        error(StatusCode::BAD_REQUEST, format!("the body is not valid gzip: {e}"))
    }
}

/// The inflater's output, refusing to grow past `max`: a gzip bomb stops there.
struct Capped {
    out: Vec<u8>,
    max: usize,
    over: bool,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.out.len() + buf.len() > self.max {
            self.over = true;
            return Err(std::io::Error::other("over the limit"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A JSON body read into `T`; a body that does not fit says which field and why (422).
pub fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = if path == "." { String::new() } else { format!("{path}: ") };
        error(StatusCode::UNPROCESSABLE_ENTITY, format!("{at}{inner}"))
    })
}

/// A body that must be JSON: a state-changing endpoint refuses `text/plain` and form bodies,
/// which any web page can make a browser send cross-site, with 415. At most
/// [`SMALL_BODY`] bytes, uncompressed, read under the body budget.
pub struct JsonBody(pub axum::body::Bytes);

impl axum::extract::FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, ApiError> {
        let given = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let essence = given.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" && !(essence.starts_with("application/") && essence.ends_with("+json")) {
            let shown = if given.is_empty() { "none".to_owned() } else { format!("{given:?}") };
            return Err(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Type {shown} is not accepted here; send application/json (forms and text/plain are refused: another site could make a browser send them)"),
            ));
        }
        let (parts, body) = req.into_parts();
        // The bodies read here are small and parsed at once: the budget is held while reading.
        let (bytes, _held) = read(&state.bodies, &parts.headers, body, SMALL_BODY, Encodings::Identity, "").await?;
        Ok(JsonBody(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(chunks: &[&'static [u8]]) -> Body {
        let chunks: Vec<Result<Bytes, std::io::Error>> = chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn one_chunk_is_not_copied_and_the_budget_is_held_until_dropped() {
        let budget = Budget::new(100, Duration::from_millis(10));
        let sent = Bytes::from(vec![b'x'; 60]);
        let (got, held) = read(&budget, &HeaderMap::new(), Body::from(sent.clone()), 100, Encodings::Identity, "").await.unwrap();
        assert_eq!(got.as_ptr(), sent.as_ptr(), "the chunk as it came");
        assert_eq!(budget.available(), 40);
        // A second body of 60 bytes does not fit beside the first: 503 after the wait.
        let e = read(&budget, &HeaderMap::new(), Body::from(vec![b'y'; 60]), 100, Encodings::Identity, "").await.unwrap_err();
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        drop(held);
        assert_eq!(budget.available(), 100);
    }

    #[tokio::test]
    async fn chunks_of_an_unannounced_length_take_the_budget_as_they_come() {
        let budget = Budget::new(100, Duration::from_millis(10));
        let (got, held) = read(&budget, &HeaderMap::new(), chunked(&[b"ab", b"cde", b"f"]), 100, Encodings::Identity, "").await.unwrap();
        assert_eq!((&got[..], budget.available()), (&b"abcdef"[..], 94));
        drop(held);
        let e =
            read(&budget, &HeaderMap::new(), chunked(&[&[b'z'; 60], &[b'z'; 60]]), 100, Encodings::Identity, "; advice").await.unwrap_err();
        assert_eq!((e.status(), e.message()), (StatusCode::PAYLOAD_TOO_LARGE, "the body is larger than the limit of 100 bytes; advice"));
        assert_eq!(budget.available(), 100, "a refused body gives its share back");
    }

    #[tokio::test]
    async fn a_gzip_bomb_is_inflated_no_further_than_the_limit() {
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 64 * 1024 * 1024]).unwrap();
        let bomb = z.finish().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        let budget = Budget::new(1 << 20, Duration::from_millis(10));
        let e = read(&budget, &headers, Body::from(bomb), 1 << 20, Encodings::IdentityOrGzip, "").await.unwrap_err();
        assert_eq!(
            (e.status(), e.message()),
            (StatusCode::PAYLOAD_TOO_LARGE, "the decompressed body is larger than the limit of 1048576 bytes")
        );
        let e = read(&budget, &headers, Body::from("{}"), 1 << 20, Encodings::Identity, "").await.unwrap_err();
        assert_eq!(
            (e.status(), e.message()),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Encoding \"gzip\" is not accepted; send the body uncompressed (Content-Encoding: identity, or none)"
            )
        );
    }
}
