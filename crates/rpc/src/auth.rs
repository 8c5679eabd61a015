//! Peer authentication on the internal transport: every internal request
//! carries the cluster secret in a header, and every internal endpoint (Raft,
//! meta API, shard API) refuses requests without it. It keeps strangers on the
//! network away from the data and the Raft group; it is not encryption (TLS
//! comes later), so the transport belongs on a trusted network.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Header carrying the cluster secret.
pub const CLUSTER_TOKEN_HEADER: &str = "x-cairn-cluster-token";
/// Shortest cluster secret accepted.
pub const MIN_SECRET_LEN: usize = 16;

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

/// axum middleware: 401 unless the request carries the cluster secret.
pub async fn require_cluster_token(
    State(secret): State<ClusterSecret>,
    req: Request,
    next: Next,
) -> Response {
    let given = req
        .headers()
        .get(CLUSTER_TOKEN_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !constant_time_eq(given, secret.0.as_bytes()) {
        return (StatusCode::UNAUTHORIZED, "missing or wrong cluster token").into_response();
    }
    next.run(req).await
}

/// Wraps `router` so that all its routes require the cluster secret.
pub fn protect(router: axum::Router, secret: &str) -> axum::Router {
    router.route_layer(axum::middleware::from_fn_with_state(
        ClusterSecret(Arc::from(secret)),
        require_cluster_token,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    fn app() -> axum::Router {
        protect(
            axum::Router::new().route("/x", axum::routing::get(|| async { "secret stuff" })),
            "right-secret-0123",
        )
    }

    async fn status(token: Option<&str>) -> StatusCode {
        let mut req = axum::http::Request::builder().uri("/x");
        if let Some(t) = token {
            req = req.header(CLUSTER_TOKEN_HEADER, t);
        }
        app()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("response")
            .status()
    }

    #[tokio::test]
    async fn only_the_right_token_passes() {
        assert_eq!(status(Some("right-secret-0123")).await, StatusCode::OK);
        assert_eq!(
            status(Some("wrong-secret-0123")).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(status(Some("right")).await, StatusCode::UNAUTHORIZED);
        assert_eq!(status(None).await, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
