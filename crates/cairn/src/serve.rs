//! Serving a router on a listener with the bounds every endpoint needs
//! against slow or hostile clients: at most `max_connections` connections at
//! once (further ones wait in the listen backlog), a deadline for each
//! request's head that also closes idle keep-alive connections (hyper's
//! header timeout, on a real timer), and a write timeout that closes a
//! connection whose client stops reading (`timeout_io`). On stop, idle
//! connections close at once and busy ones get `DRAIN_TIMEOUT` to finish.
//! A listener speaks plain HTTP, HTTPS (the S3 endpoint with a
//! certificate), or mutual TLS (internal listeners): then the handshake,
//! bounded by the header timeout, must present a certificate of the
//! cluster CA naming one role, and that role rides on every request of the
//! connection as a `cairn_rpc::auth::Peer`.

use crate::timeout_io::WriteTimeoutIo;
use cairn_rpc::auth::Peer;
use cairn_rpc::tls::PeerRole;
use cairn_types::policy_condition::ClientConnection;
use hyper::body::Incoming;
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

/// Counter of TLS handshakes that failed (no or a wrong certificate, not TLS).
pub const HANDSHAKE_FAILURES_METRIC: &str = "cairn_tls_handshake_failures_total";

/// What a listener speaks.
#[derive(Clone)]
pub enum Transport {
    Plain,
    /// HTTPS without client certificates (the S3 endpoint).
    Https(Arc<rustls::ServerConfig>),
    /// Mutual TLS between roles; the caller's role goes into each request.
    Mutual(Arc<rustls::ServerConfig>),
}

/// Serves `router` on `listener` within `limits` until `stop` is cancelled;
/// the task ends once every connection is closed (or dropped after
/// `DRAIN_TIMEOUT`).
pub fn serve(
    listener: TcpListener,
    router: axum::Router,
    transport: Transport,
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
            let (stream, peer_addr) = tokio::select! {
                _ = stop.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
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
            let transport = transport.clone();
            connections.spawn(async move {
                accept_connection(stream, peer_addr, router, transport, limits, stop).await;
                drop(slot);
            });
        }
        drop(listener);
        connections.close();
        connections.wait().await;
    })
}

/// One accepted connection: the TLS handshake if the listener has one
/// (bounded by the header timeout), then HTTP.
async fn accept_connection(
    stream: tokio::net::TcpStream,
    peer_addr: std::net::SocketAddr,
    router: axum::Router,
    transport: Transport,
    limits: ServeLimits,
    stop: CancellationToken,
) {
    let io = WriteTimeoutIo::new(stream, limits.write_timeout);
    let (config, mutual) = match transport {
        Transport::Plain => {
            let conn = ClientConnection {
                peer: peer_addr,
                tls: false,
            };
            return serve_connection(io, router, conn, None, limits, stop).await;
        }
        Transport::Https(c) => (c, false),
        Transport::Mutual(c) => (c, true),
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let tls = match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(io)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return handshake_failed(mutual, &e.to_string()),
        Err(_) => return handshake_failed(mutual, "timed out"),
    };
    let peer = if mutual {
        let roles = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map(PeerRole::of_certificate)
            .unwrap_or_default();
        match roles[..] {
            [role] => Some(Peer::Role(role)),
            _ => return handshake_failed(mutual, "the certificate names no single cairn role"),
        }
    } else {
        None
    };
    let conn = ClientConnection {
        peer: peer_addr,
        tls: true,
    };
    serve_connection(tls, router, conn, peer, limits, stop).await
}

fn handshake_failed(mutual: bool, why: &str) {
    let listener = if mutual { "internal" } else { "s3" };
    tracing::debug!(listener, why, "TLS handshake failed");
    metrics::counter!(HANDSHAKE_FAILURES_METRIC, "listener" => listener).increment(1);
}

/// One connection: HTTP/1.1 with keep-alive, until the client closes it, a
/// timeout fires, or `stop` (then the request in progress may finish).
/// `conn` (the client's address, whether it is TLS) and `peer` (its role,
/// under mutual TLS) are put into every request.
async fn serve_connection<I>(
    io: I,
    router: axum::Router,
    conn: ClientConnection,
    peer: Option<Peer>,
    limits: ServeLimits,
    stop: CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let service =
        tower::ServiceExt::map_request(router, move |mut req: http::Request<Incoming>| {
            req.extensions_mut().insert(conn);
            if let Some(p) = peer {
                req.extensions_mut().insert(p);
            }
            req
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(io, TowerToHyperService::new(service));
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
