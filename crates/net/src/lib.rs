//! Serving HTTP with bounds on what clients can hold: at most `max` connections at once, a
//! deadline for each request's headers, and a bounded grace at shutdown. The accept loop the
//! server and the witness share (hyper's HTTP/1, axum routers).
//!
//! Architecture invariant: this crate knows HTTP and nothing of Dossier.

use std::sync::Arc;
use std::time::Duration;

/// Bounds on connections, kept by [`serve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// Longest a client may take to send a request's headers (the first request's from the
    /// connection's start, later ones' from the end of the answer before); then the connection
    /// is closed.
    pub header_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max: usize,
}

impl Default for Connections {
    fn default() -> Self {
        Connections { header_timeout: Duration::from_secs(10), max: 1024 }
    }
}

/// The accept loop: each connection served by hyper with a deadline for request headers, at
/// most `limits.max` at a time; at `shutdown`, no more are accepted and those open finish the
/// request they are on.
///
/// Past the cap, connections wait rather than being refused: the loop stops accepting until one
/// closes, so new ones queue in the kernel's listen backlog (and past that their SYNs are
/// dropped, which clients retry with backoff). Accepting only to refuse would cost as much as
/// serving a small request, and would tell every client at once to come back, while a wait
/// spreads them out; an idle or slow connection cannot hold its place for long, since the header
/// timeout closes it.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: Connections,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = shutdown.as_mut() => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, as axum's own loop does.
                    if !matches!(e.kind(), std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset) {
                        tracing::warn!("accepting a connection: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = shutdown.as_mut() => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(axum::extract::ConnectInfo(remote));
            tower_service::Service::call(&mut app.clone(), req.map(axum::body::Body::new))
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection from {remote}: {e}");
            }
            drop(slot);
        });
    }
    // Answers in progress get a while to finish; a live stream (the dashboard's SSE) never
    // does, and must not keep the log from closing and keeping its final checkpoint.
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::info!("connections still open after {SHUTDOWN_GRACE:?} (live streams): closing them");
    }
}

/// How long open connections may take to finish once the server is asked to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
