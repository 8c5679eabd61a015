//! Serving a router on a listener with the bounds every endpoint needs
//! against slow or hostile clients: at most `max_connections` connections at
//! once (further ones wait in the listen backlog), a deadline for each
//! request's head that also closes idle keep-alive connections (hyper's
//! header timeout, on a real timer), and a write timeout that closes a
//! connection whose client stops reading (`timeout_io`). On stop, idle
//! connections close at once and busy ones get `DRAIN_TIMEOUT` to finish.

use crate::timeout_io::WriteTimeoutIo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long connections still busy when the server stops may take to finish
/// their request before they are dropped.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after an accept that failed for lack of resources (say, file
/// descriptors), before accepting again.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The bounds of one listener's connections.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time to receive a request's head; also the keep-alive idle timeout.
    pub header_read_timeout: Duration,
    /// Time a write to the client may make no progress.
    pub write_timeout: Duration,
}

/// Serves `router` on `listener` within `limits` until `stop` is cancelled;
/// the task ends once every connection is closed (or dropped after
/// `DRAIN_TIMEOUT`).
pub fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ServeLimits,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        let connections = TaskTracker::new();
        loop {
            // A free slot first: beyond the cap, clients wait in the backlog.
            let slot = tokio::select! {
                _ = stop.cancelled() => break,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            let stream = tokio::select! {
                _ = stop.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        if !is_connection_error(&e) {
                            tracing::warn!(error = %e, "accept failed; pausing");
                            tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                        }
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let router = router.clone();
            let stop = stop.clone();
            connections.spawn(async move {
                serve_connection(stream, router, limits, stop).await;
                drop(slot);
            });
        }
        drop(listener);
        connections.close();
        connections.wait().await;
    })
}

/// One connection: HTTP/1.1 with keep-alive, until the client closes it, a
/// timeout fires, or `stop` (then the request in progress may finish).
async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: axum::Router,
    limits: ServeLimits,
    stop: CancellationToken,
) {
    let io = TokioIo::new(WriteTimeoutIo::new(stream, limits.write_timeout));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, TowerToHyperService::new(router));
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            match tokio::time::timeout(DRAIN_TIMEOUT, conn.as_mut()).await {
                Ok(r) => r,
                Err(_) => return,
            }
        }
    };
    if let Err(e) = result {
        // Timeouts and clients going away are routine; nothing to report.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Errors of one incoming connection (it went away before it was accepted),
/// as opposed to the listener's own (out of file descriptors).
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset | Interrupted
    )
}
