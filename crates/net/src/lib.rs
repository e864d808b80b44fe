//! Serving HTTP with bounds on what clients can hold: at most `max` connections at once, a
//! deadline for each request's headers, and a bounded grace at shutdown. The accept loop the
//! server and the witness share (hyper's HTTP/1, axum routers), over plain TCP ([`serve`]) or
//! TLS ([`serve_tls`], with the certificate reloaded when its files change).
//!
//! Architecture invariant: this crate knows HTTP and nothing of Dossier.

use std::sync::Arc;
use std::time::Duration;

mod tls;

pub use tls::{Tls, TlsError, TlsFiles, RELOAD_EVERY};

/// Bounds on connections, kept by [`serve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// Longest a client may take to send a request's headers (the first request's from the
    /// connection's start, or from the end of its TLS handshake, which must itself be done
    /// within this; later ones' from the end of the answer before); then the connection is
    /// closed.
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
    accept_loop(listener, app, limits, None, shutdown).await;
}

/// [`serve`] over TLS: each connection's handshake must be done within
/// `limits.header_timeout` (then the connection is closed, and its place freed), and the
/// request headers are awaited as in [`serve`] from then on. The certificate and key files are
/// read again every [`RELOAD_EVERY`], and a new pair that loads is served to new connections; one
/// that does not (it does not parse, or the key does not match) is logged and the current one
/// kept. A client speaking plain HTTP gets a TLS alert, not an HTTP answer, and is closed.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: Connections,
    tls: Tls,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let acceptor = tls.acceptor();
    let reload = tokio::spawn(tls.keep_current());
    accept_loop(listener, app, limits, Some(acceptor), shutdown).await;
    reload.abort();
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: Connections,
    tls: Option<tokio_rustls::TlsAcceptor>,
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
        // Watched from now on: a shutdown waits (within its grace) for a handshake under way too.
        let watcher = graceful.watcher();
        let (http, tls) = (http.clone(), tls.clone());
        tokio::spawn(async move {
            let served = match tls {
                None => watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await,
                Some(tls) => match tokio::time::timeout(limits.header_timeout, tls.accept(stream)).await {
                    Ok(Ok(stream)) => watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await,
                    Ok(Err(e)) => {
                        tracing::debug!("TLS handshake with {remote}: {e}");
                        Ok(())
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake with {remote}: not done within {:?}", limits.header_timeout);
                        Ok(())
                    }
                },
            };
            if let Err(e) = served {
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
