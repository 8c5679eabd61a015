//! The gateway's HTTP front: the s3s service (authenticated with access keys
//! from meta, each request checked against its key's grants by `access`) mounted in axum beside a bare `/health` for load balancers
//! (`health`; `/metrics` and the detailed health are on the admin address,
//! `health::admin_router`). `/health` is served only to unsigned GETs, so a
//! bucket named `health` stays reachable to signed S3 requests. Every
//! response carries an `x-amz-request-id`, which error documents repeat in
//! `<RequestId>`. CORS preflights (`OPTIONS`) are answered before s3s, and
//! responses to requests with an `Origin` get their `Access-Control-*` grant
//! (`cors`). Before s3s sees a request, its body gets the client read
//! timeout (`body_timeout`) and a form upload passes its front door
//! (`post_form`: unsigned forms refused unread); s3s's own limits on forms
//! and XML bodies are set here.

use crate::body_timeout::IdleTimeoutBody;
use crate::gateway::Gateway;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use cairn_rpc::meta_reads as reads;
use http::StatusCode;
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::S3ServiceBuilder;
use s3s::{S3Result, s3_error};
use std::convert::Infallible;
use std::sync::Arc;

/// Checks SigV4 signatures against the secret keys stored in meta.
struct MetaAuth {
    gateway: Gateway,
}

#[async_trait::async_trait]
impl S3Auth for MetaAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self
            .gateway
            .meta()
            .read(reads::GetAccessKey {
                access_key_id: access_key.to_string(),
            })
            .await
        {
            Ok(Some(k)) => open_secret(&self.gateway, &k.secret_key).map(SecretKey::from),
            Ok(None) => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
            Err(e) => Err(crate::errors::meta_error(e)),
        }
    }
}

/// The secret a stored key holds: sealed ones opened with the cluster key.
fn open_secret(gateway: &Gateway, stored: &str) -> S3Result<String> {
    match &gateway.opts().cluster_key {
        Some(key) => key.open(stored).map_err(|e| {
            tracing::error!(error = %e, "an access key's secret does not open");
            s3_error!(InternalError, "the access key cannot be checked")
        }),
        None if cairn_rpc::sealed::is_sealed(stored) => {
            tracing::error!(
                "an access key's secret is sealed and this gateway has no cluster.key_file"
            );
            Err(s3_error!(InternalError, "the access key cannot be checked"))
        }
        None => Ok(stored.to_string()),
    }
}

fn is_unsigned(req: &Request) -> bool {
    let query_signed = req
        .uri()
        .query()
        .is_some_and(|q| q.contains("X-Amz-Signature") || q.contains("Signature="));
    !req.headers().contains_key(http::header::AUTHORIZATION) && !query_signed
}

/// s3s's limits: form uploads (POST object) within the gateway's POST
/// limit and the form bounds; XML bodies capped at `MAX_XML_BODY_BYTES`
/// (also enforced in front of s3s, by `xml_cap`).
fn s3s_config(gateway: &Gateway) -> s3s::config::S3Config {
    use cairn_types::config::{MAX_POST_FORM_FIELDS_BYTES, MAX_POST_FORM_PARTS};
    let mut c = s3s::config::S3Config::default();
    c.post_object_max_file_size = gateway.opts().post_object_max_bytes;
    c.form_max_field_size = MAX_POST_FORM_FIELDS_BYTES;
    c.form_max_fields_size = MAX_POST_FORM_FIELDS_BYTES;
    c.form_max_parts = MAX_POST_FORM_PARTS;
    c.xml_max_body_size = cairn_types::limits::MAX_XML_BODY_BYTES;
    c
}

/// The S3 endpoint, with a bare `/health` for load balancers.
pub fn router(gateway: Gateway) -> Router {
    let mut builder = S3ServiceBuilder::new(gateway.clone());
    builder.set_auth(MetaAuth {
        gateway: gateway.clone(),
    });
    builder.set_access(super::access::Tenants {
        gateway: gateway.clone(),
    });
    builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(
        s3s_config(&gateway),
    ))));
    let s3 = builder.build();
    let service = tower::service_fn(move |req: Request| {
        let s3 = s3.clone();
        let gateway = gateway.clone();
        async move {
            if req.method() == http::Method::GET
                && is_unsigned(&req)
                && req.uri().path() == "/health"
            {
                return Ok::<Response, Infallible>(super::health::public_health(&gateway).await);
            }
            let read_timeout = gateway.opts().client_read_timeout;
            let req = req.map(|b| Body::new(IdleTimeoutBody::new(b, read_timeout)));
            let request_id = next_request_id();
            let (req, _post_permit) = match super::post_form::form_boundary(&req) {
                Some(boundary) => match super::post_form::admit(&gateway, req, &boundary).await {
                    Ok((req, permit)) => (req, Some(permit)),
                    Err(refused) => {
                        let (parts, body) = refused.into_parts();
                        let refused =
                            http::Response::from_parts(parts, s3s::Body::http_body_unsync(body));
                        return Ok(with_request_id(refused, &request_id).await);
                    }
                },
                None => (req, None),
            };
            let origin = crate::s3::cors::origin_of(req.headers());
            let method = req.method().clone();
            let path = req.uri().path().to_string();
            if method == http::Method::OPTIONS {
                let resp = crate::s3::cors::preflight(&gateway, &path, req.headers()).await;
                return Ok(with_request_id(resp, &request_id).await);
            }
            let is_head = req.method() == http::Method::HEAD;
            let is_attributes = is_get_object_attributes(&req);
            let mut xml_cap = None;
            let req = if super::xml_cap::is_xml_body(&req) {
                match super::xml_cap::cap(req) {
                    super::xml_cap::Capped::Refuse => {
                        let resp = super::xml_cap::too_long();
                        return Ok(with_request_id(resp, &request_id).await);
                    }
                    super::xml_cap::Capped::Pass(req, tripped) => {
                        xml_cap = Some(tripped);
                        req
                    }
                }
            } else {
                req
            };
            let req = merge_repeated_content_encoding(req);
            let mut resp = match s3.call(req.map(s3s::Body::http_body_unsync)).await {
                Ok(resp) => resp,
                Err(e) => {
                    tracing::error!(error = ?e, "s3 service failed");
                    let mut resp =
                        http::Response::new(s3s::Body::from("internal error".to_string()));
                    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    resp
                }
            };
            if xml_cap.as_deref().is_some_and(super::xml_cap::was_cut) {
                resp = super::xml_cap::too_long();
            }
            // s3s answers every successful HEAD 200; S3 answers a HEAD of a
            // Range or partNumber 206, like the GET.
            if is_head
                && resp.status() == StatusCode::OK
                && resp.headers().contains_key(http::header::CONTENT_RANGE)
            {
                *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
            }
            if is_attributes && resp.status() == StatusCode::OK {
                resp = unquote_attributes_etag(resp).await;
            }
            let mut resp = with_request_id(resp, &request_id).await;
            if let Some(origin) = origin {
                crate::s3::cors::decorate(&gateway, &path, &method, &origin, &mut resp).await;
            }
            Ok(resp)
        }
    });
    Router::new().fallback_service(service)
}

/// Whether a request is a GetObjectAttributes (`GET /bucket/key?attributes`).
fn is_get_object_attributes(req: &Request) -> bool {
    req.method() == http::Method::GET
        && req.uri().query().is_some_and(|q| {
            q.split('&')
                .any(|p| p == "attributes" || p.starts_with("attributes="))
        })
}

/// Largest GetObjectAttributes document rewritten (it is small: parts are
/// paged at 1000).
const MAX_ATTRIBUTES_BODY_BYTES: usize = 1024 * 1024;

/// s3s quotes every ETag it writes in XML; AWS's GetObjectAttributes answer
/// carries it bare (`<ETag>hex</ETag>`), so the quotes are taken off there.
async fn unquote_attributes_etag(resp: http::Response<s3s::Body>) -> http::Response<s3s::Body> {
    use http_body_util::BodyExt;
    let (mut parts, body) = resp.into_parts();
    let bytes = match http_body_util::Limited::new(body, MAX_ATTRIBUTES_BODY_BYTES)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read a GetObjectAttributes answer");
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            return http::Response::from_parts(parts, s3s::Body::empty());
        }
    };
    let text = unquote_etag_element(&String::from_utf8_lossy(&bytes));
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(text.len()),
    );
    http::Response::from_parts(parts, s3s::Body::from(text))
}

/// `<ETag>"v"</ETag>` (also with `&quot;`) becomes `<ETag>v</ETag>`.
fn unquote_etag_element(xml: &str) -> String {
    xml.replace("<ETag>\"", "<ETag>")
        .replace("\"</ETag>", "</ETag>")
        .replace("<ETag>&quot;", "<ETag>")
        .replace("&quot;</ETag>", "</ETag>")
}

/// Largest error document rewritten to carry its request id.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// A request id unique within this gateway process: start time and a counter.
fn next_request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static EPOCH: OnceLock<u64> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(|| cairn_types::now_millis() as u64);
    format!(
        "{:010X}{:08X}",
        epoch & 0xFF_FFFF_FFFF,
        NEXT.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF
    )
}

/// Joins repeated `Content-Encoding` headers into one, the way SigV4
/// canonicalises them (SDKs send `gzip` and `aws-chunked` separately, and
/// s3s refuses a header given twice).
fn merge_repeated_content_encoding(mut req: Request) -> Request {
    let values: Vec<_> = req
        .headers()
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .cloned()
        .collect();
    if values.len() > 1 {
        let joined: Vec<&str> = values
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::trim)
            .collect();
        if let Ok(v) = http::HeaderValue::from_str(&joined.join(",")) {
            req.headers_mut().insert(http::header::CONTENT_ENCODING, v);
        }
    }
    req
}

/// Adds the request id header, and `<RequestId>` to an error document
/// (turning a POST form's failed policy condition into 403 on the way).
async fn with_request_id(resp: http::Response<s3s::Body>, request_id: &str) -> Response {
    use http_body_util::BodyExt;
    let (mut parts, body) = resp.into_parts();
    if let Ok(v) = http::HeaderValue::from_str(request_id) {
        parts.headers.insert("x-amz-request-id", v.clone());
        parts.headers.insert("x-amz-id-2", v);
    }
    let is_xml = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("xml"));
    if !(parts.status.is_client_error() || parts.status.is_server_error()) || !is_xml {
        return Response::from_parts(parts, Body::new(body));
    }
    let bytes = match http_body_util::Limited::new(body, MAX_ERROR_BODY_BYTES)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read an error document");
            return Response::from_parts(parts, Body::empty());
        }
    };
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if parts.status == StatusCode::BAD_REQUEST
        && let Some(denied) = super::post_form::denied_document(&text)
    {
        parts.status = StatusCode::FORBIDDEN;
        text = denied;
    }
    let body = complete_error_document(&text, request_id);
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(body.len()),
    );
    Response::from_parts(parts, Body::from(body))
}

/// Adds what an S3 error document must hold and s3s may leave out: a
/// `<Message>` (s3s's own validation errors have none) and the `<RequestId>`.
fn complete_error_document(text: &str, request_id: &str) -> String {
    let Some(end) = text.rfind("</Error>") else {
        return text.to_string();
    };
    let mut extra = String::new();
    if !text.contains("<Message>") {
        let code = text
            .split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map(|(c, _)| c)
            .unwrap_or("");
        extra.push_str(&format!(
            "<Message>{}</Message>",
            crate::errors::default_message(code)
        ));
    }
    if !text.contains("<RequestId>") {
        extra.push_str(&format!("<RequestId>{request_id}</RequestId>"));
    }
    format!("{}{extra}{}", &text[..end], &text[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_etags_lose_their_quotes() {
        assert_eq!(
            unquote_etag_element("<R><ETag>\"abc-2\"</ETag><ObjectSize>3</ObjectSize></R>"),
            "<R><ETag>abc-2</ETag><ObjectSize>3</ObjectSize></R>"
        );
        assert_eq!(
            unquote_etag_element("<ETag>&quot;abc&quot;</ETag>"),
            "<ETag>abc</ETag>"
        );
        assert_eq!(unquote_etag_element("<ETag>abc</ETag>"), "<ETag>abc</ETag>");
    }

    proptest::proptest! {
        /// The error and attributes documents rewritten on the way out take
        /// any text (s3s's, or a client's key echoed in it) without panicking.
        #[test]
        fn rewritten_documents_take_any_text(text in "\\PC{0,200}", id in "[A-Z0-9]{0,20}") {
            let _ = unquote_etag_element(&text);
            let _ = complete_error_document(&text, &id);
            let with_error = format!("<Error><Code>{text}</Code></Error>");
            let done = complete_error_document(&with_error, &id);
            proptest::prop_assert!(done.contains("<Code>"));
        }
    }

    #[test]
    fn error_documents_get_message_and_request_id() {
        let bare = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidBucketName</Code></Error>";
        let done = complete_error_document(bare, "ABC");
        assert!(
            done.contains("<Message>The specified bucket is not valid.</Message>"),
            "{done}"
        );
        assert!(
            done.ends_with("<RequestId>ABC</RequestId></Error>"),
            "{done}"
        );
        let full = "<Error><Code>X</Code><Message>m</Message><RequestId>R</RequestId></Error>";
        assert_eq!(complete_error_document(full, "ABC"), full);
        assert_eq!(complete_error_document("not xml", "ABC"), "not xml");
    }
}
