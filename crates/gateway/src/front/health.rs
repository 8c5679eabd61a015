//! Health answers. The public one, on the S3 port for load balancers, says
//! only "ok" (200) or "unavailable" (503) from the cached outcome of the
//! gateway's last meta check (`health_cache`): no meta call per request, no
//! addresses, no error text. The detailed one, on the admin address, asks
//! meta's leader for the node list each time and says how many storage nodes
//! are down (or why meta did not answer). `admin_router` serves it with
//! `/metrics`.

use crate::gateway::Gateway;
use axum::Router;
use axum::response::{IntoResponse, Response};
use cairn_rpc::NodeStatusRequest;
use http::StatusCode;
use std::time::{Duration, Instant};

/// How long a public `/health` request waits for the check it started when
/// the cached answer is "unavailable" (so a single prober sees a recovery at
/// once); others never wait.
pub const HEALTH_CHECK_WAIT: Duration = Duration::from_secs(2);

/// Asks meta's leader for the node list and records the outcome.
async fn check(gw: &Gateway) -> Result<Vec<cairn_rpc::NodeStatus>, cairn_rpc::MetaError> {
    let result = gw.meta().call(&NodeStatusRequest).await;
    gw.health().finish(Instant::now(), result.is_ok());
    result
}

/// The public `/health`: 200 "ok" or 503 "unavailable", from the cache.
pub async fn public_health(gw: &Gateway) -> Response {
    let now = Instant::now();
    if gw.health().begin(now) {
        let checker = gw.clone();
        let task = tokio::spawn(async move {
            let _ = check(&checker).await;
        });
        if !gw.health().healthy(now) {
            let _ = tokio::time::timeout(HEALTH_CHECK_WAIT, task).await;
        }
    }
    if gw.health().healthy(Instant::now()) {
        "ok\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable\n").into_response()
    }
}

/// The detailed `/health`: healthy when meta's leader answers the node list;
/// says how many nodes are down.
pub async fn detailed_health(gw: &Gateway) -> Response {
    match check(gw).await {
        Ok(nodes) => {
            let down = nodes
                .iter()
                .filter(|n| n.liveness == cairn_rpc::Liveness::Down)
                .count();
            format!("ok: {} storage node(s), {down} down\n", nodes.len()).into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unavailable: {e}\n"),
        )
            .into_response(),
    }
}

/// The admin address: `GET /health` (detailed) and `GET /metrics`, where
/// `render_metrics` renders the process's Prometheus metrics.
pub fn admin_router(
    gateway: Gateway,
    render_metrics: impl Fn() -> String + Clone + Send + Sync + 'static,
) -> Router {
    Router::new()
        .route(
            "/health",
            axum::routing::get(move || {
                let gateway = gateway.clone();
                async move { detailed_health(&gateway).await }
            }),
        )
        .route(
            "/metrics",
            axum::routing::get(move || {
                let render = render_metrics.clone();
                async move { render() }
            }),
        )
}
