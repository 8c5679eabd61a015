//! Who may call an internal endpoint. With mutual TLS (the default) the
//! serving transport puts the caller's role, proved by its certificate from
//! the cluster CA, into each request as a `Peer`, and every internal route
//! states the roles it serves (`allow`): a request from another role gets
//! 403, is logged and is counted in `cairn_internal_forbidden_total`. With
//! TLS turned off (`tls.internal = false`, a trusted network only) every
//! request must instead carry the cluster secret in a header (`protect`),
//! and such a caller may act as any role: there is no least privilege
//! without certificates.

use crate::tls::PeerRole;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Header carrying the cluster secret (plaintext mode only).
pub const CLUSTER_TOKEN_HEADER: &str = "x-cairn-cluster-token";
/// Shortest cluster secret accepted.
pub const MIN_SECRET_LEN: usize = 16;
/// Counter of internal requests refused for their caller's role.
pub const FORBIDDEN_METRIC: &str = "cairn_internal_forbidden_total";

/// The caller of an internal request, as the transport established it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A certificate of the cluster CA naming this role.
    Role(PeerRole),
    /// The cluster secret over plaintext: allowed to act as any role.
    Token,
}

impl Peer {
    /// Whether this caller may act as one of `roles`.
    pub fn is_one_of(self, roles: &[PeerRole]) -> bool {
        match self {
            Peer::Role(r) => roles.contains(&r),
            Peer::Token => true,
        }
    }

    /// The role's name, or `token`.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Role(r) => r.as_str(),
            Peer::Token => "token",
        }
    }
}

/// The caller of `req`, if the transport established one.
pub fn peer_of<B>(req: &http::Request<B>) -> Option<Peer> {
    req.extensions().get::<Peer>().copied()
}

/// 403 for `peer` asking for `what`; logged and counted.
pub fn forbidden(peer: Peer, what: &str) -> Response {
    tracing::warn!(
        role = peer.name(),
        what,
        "internal request refused for its role"
    );
    metrics::counter!(FORBIDDEN_METRIC, "role" => peer.name()).increment(1);
    (
        StatusCode::FORBIDDEN,
        format!("a {} certificate may not {what}", peer.name()),
    )
        .into_response()
}

/// Ok when `peer` may act (`Peer::Token` always may; a role when `ok`
/// says so); else the 403 (or 401 without a caller) to answer.
pub fn check(
    peer: Option<Peer>,
    ok: impl FnOnce(PeerRole) -> bool,
    what: impl FnOnce() -> String,
) -> Result<(), Response> {
    match peer {
        None => Err(unauthenticated()),
        Some(Peer::Token) => Ok(()),
        Some(p @ Peer::Role(role)) => {
            if ok(role) {
                Ok(())
            } else {
                Err(forbidden(p, &what()))
            }
        }
    }
}

/// 401 for a request that reached a route without an established caller.
fn unauthenticated() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        "missing or wrong cluster credentials",
    )
        .into_response()
}

/// axum middleware: the route's roles (its state) or 403.
async fn require_roles(
    State(roles): State<&'static [PeerRole]>,
    req: Request,
    next: Next,
) -> Response {
    match peer_of(&req) {
        Some(p) if p.is_one_of(roles) => next.run(req).await,
        Some(p) => {
            let what = format!("call {}", req.uri().path());
            forbidden(p, &what)
        }
        None => unauthenticated(),
    }
}

/// The middleware `allow` builds: a plain function pointer, so the layer
/// type can be named.
pub type RoleGuard = fn(
    State<&'static [PeerRole]>,
    Request,
    Next,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;

/// The layer `allow` returns.
pub type AllowLayer = axum::middleware::FromFnLayer<
    RoleGuard,
    &'static [PeerRole],
    (State<&'static [PeerRole]>, Request),
>;

/// A route layer letting only `roles` through (`post(h).route_layer(allow(..))`).
pub fn allow(roles: &'static [PeerRole]) -> AllowLayer {
    let guard: RoleGuard = |s, r, n| Box::pin(require_roles(s, r, n));
    axum::middleware::from_fn_with_state(roles, guard)
}

/// The secret a server expects, shared by its request handlers.
#[derive(Clone)]
pub struct ClusterSecret(pub Arc<str>);

/// Compares in time independent of where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// axum middleware (plaintext mode): 401 unless the request carries the
/// cluster secret; with it, the caller is `Peer::Token`.
pub async fn require_cluster_token(
    State(secret): State<ClusterSecret>,
    mut req: Request,
    next: Next,
) -> Response {
    let given = req
        .headers()
        .get(CLUSTER_TOKEN_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !constant_time_eq(given, secret.0.as_bytes()) {
        return unauthenticated();
    }
    req.extensions_mut().insert(Peer::Token);
    next.run(req).await
}

/// Wraps `router` so that all its routes require the cluster secret
/// (plaintext mode).
pub fn protect(router: axum::Router, secret: &str) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(
        ClusterSecret(Arc::from(secret)),
        require_cluster_token,
    ))
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
