//! The gateway's HTTP front: the s3s service (authenticated with access keys
//! from meta) mounted in axum beside `/health` and `/metrics`. Those two paths
//! are served only to unsigned GETs, so a bucket named `health` or `metrics`
//! stays reachable to signed S3 requests.

use crate::state::Gateway;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::S3ServiceBuilder;
use s3s::{S3Result, s3_error};
use std::convert::Infallible;

/// Checks SigV4 signatures against the secret keys stored in meta.
struct MetaAuth {
    gateway: Gateway,
}

#[async_trait::async_trait]
impl S3Auth for MetaAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.gateway.meta().get_access_key(access_key).await {
            Ok(Some(k)) => Ok(SecretKey::from(k.secret_key)),
            Ok(None) => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
            Err(e) => Err(crate::errors::meta_error(e)),
        }
    }
}

fn is_unsigned(req: &Request) -> bool {
    let query_signed = req
        .uri()
        .query()
        .is_some_and(|q| q.contains("X-Amz-Signature") || q.contains("Signature="));
    !req.headers().contains_key(http::header::AUTHORIZATION) && !query_signed
}

/// The S3 endpoint with `/health` and `/metrics`; `render_metrics` renders
/// the process's Prometheus metrics.
pub fn router(
    gateway: Gateway,
    render_metrics: impl Fn() -> String + Clone + Send + Sync + 'static,
) -> Router {
    let mut builder = S3ServiceBuilder::new(gateway.clone());
    builder.set_auth(MetaAuth {
        gateway: gateway.clone(),
    });
    let s3 = builder.build();
    let service = tower::service_fn(move |req: Request| {
        let s3 = s3.clone();
        let render_metrics = render_metrics.clone();
        let gateway = gateway.clone();
        async move {
            if req.method() == http::Method::GET && is_unsigned(&req) {
                match req.uri().path() {
                    "/health" => return Ok::<Response, Infallible>(health(&gateway).await),
                    "/metrics" => return Ok(render_metrics().into_response()),
                    _ => {}
                }
            }
            let req = req.map(|b: Body| b);
            match s3.call(req.map(s3s::Body::http_body_unsync)).await {
                Ok(resp) => Ok(resp.map(Body::new)),
                Err(e) => {
                    tracing::error!(error = ?e, "s3 service failed");
                    Ok((StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response())
                }
            }
        }
    });
    Router::new().fallback_service(service)
}

/// Healthy when meta answers a linearizable read.
async fn health(gateway: &Gateway) -> Response {
    match gateway.meta().list_nodes().await {
        Ok(nodes) => format!("ok: {} storage node(s)\n", nodes.len()).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unavailable: {e}\n"),
        )
            .into_response(),
    }
}
