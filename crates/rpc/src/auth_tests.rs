use super::*;
use axum::body::Body;
use tower::ServiceExt;

fn routes() -> axum::Router {
    axum::Router::new()
        .route(
            "/meta-only",
            axum::routing::get(|| async { "raft" }).route_layer(allow(&[PeerRole::Meta])),
        )
        .route("/x", axum::routing::get(|| async { "secret stuff" }))
}

async fn status(
    app: axum::Router,
    path: &str,
    token: Option<&str>,
    peer: Option<Peer>,
) -> StatusCode {
    let mut req = axum::http::Request::builder().uri(path);
    if let Some(t) = token {
        req = req.header(CLUSTER_TOKEN_HEADER, t);
    }
    let mut req = req.body(Body::empty()).expect("request");
    if let Some(p) = peer {
        req.extensions_mut().insert(p);
    }
    app.oneshot(req).await.expect("response").status()
}

#[tokio::test]
async fn only_the_right_token_passes_in_plaintext_mode() {
    let app = || protect(routes(), "right-secret-0123");
    assert_eq!(
        status(app(), "/x", Some("right-secret-0123"), None).await,
        StatusCode::OK
    );
    assert_eq!(
        status(app(), "/x", Some("wrong-secret-0123"), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(app(), "/x", Some("right"), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(app(), "/x", None, None).await,
        StatusCode::UNAUTHORIZED
    );
    // The token stands for every role.
    assert_eq!(
        status(app(), "/meta-only", Some("right-secret-0123"), None).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn routes_serve_only_their_roles() {
    let as_role = |r| Some(Peer::Role(r));
    assert_eq!(
        status(routes(), "/meta-only", None, as_role(PeerRole::Meta)).await,
        StatusCode::OK
    );
    for r in [PeerRole::Node, PeerRole::Gateway, PeerRole::Admin] {
        assert_eq!(
            status(routes(), "/meta-only", None, as_role(r)).await,
            StatusCode::FORBIDDEN
        );
    }
    // No caller established (a misconfigured server): refused.
    assert_eq!(
        status(routes(), "/meta-only", None, None).await,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn comparison() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"abcd"));
}
