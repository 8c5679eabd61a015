//! XML request bodies (configurations, DeleteObjects, CompleteMultipartUpload)
//! are capped at `MAX_XML_BODY_BYTES` before s3s reads them, and a body over
//! the cap is answered `400 MaxMessageLengthExceeded`. A declared
//! Content-Length over the cap is refused before a byte of the body is read;
//! a body of unknown length is cut off at the cap. (s3s caps these bodies
//! too, but answers a streamed body over its cap with a 500 InternalError.)
//! Object data (PutObject, UploadPart, POST uploads) is not an XML body and
//! is never capped here.

use axum::body::Body;
use axum::extract::Request;
use cairn_types::limits::MAX_XML_BODY_BYTES;
use http::{Method, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Subresources whose PUT carries an XML document (not object data).
const XML_PUT_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "retention",
    "tagging",
    "versioning",
    "website",
];

/// Subresources whose POST carries an XML document: DeleteObjects,
/// CompleteMultipartUpload (`uploadId`), RestoreObject, SelectObjectContent.
const XML_POST_SUBRESOURCES: &[&str] = &["delete", "uploadId", "restore", "select"];

/// The names of a query string's parameters.
fn query_keys(req: &Request) -> impl Iterator<Item = &str> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(k, _)| k))
}

/// Whether the request's body is an XML document s3s parses.
pub(crate) fn is_xml_body(req: &Request) -> bool {
    let method = req.method();
    if method == Method::PUT {
        // UploadPart (`?partNumber&uploadId`) and PutObject carry data.
        let mut keys = query_keys(req);
        keys.any(|k| XML_PUT_SUBRESOURCES.contains(&k))
    } else if method == Method::POST {
        let keys: Vec<&str> = query_keys(req).collect();
        keys.iter().any(|k| XML_POST_SUBRESOURCES.contains(k))
    } else {
        false
    }
}

/// The Content-Length a request declares, if any.
fn declared_length(req: &Request) -> Option<u64> {
    req.headers()
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// What the front does with an XML-bodied request.
pub(crate) enum Capped {
    /// Its declared length is over the cap: answer `too_long()` unread.
    Refuse,
    /// Pass it on; its body errors at the cap and sets `tripped`.
    Pass(Request, Arc<AtomicBool>),
}

/// Caps an XML-bodied request's body at `MAX_XML_BODY_BYTES`.
pub(crate) fn cap(req: Request) -> Capped {
    if declared_length(&req).is_some_and(|n| n > MAX_XML_BODY_BYTES as u64) {
        return Capped::Refuse;
    }
    let tripped = Arc::new(AtomicBool::new(false));
    let flag = tripped.clone();
    let req = req.map(|body| {
        let limited = http_body_util::Limited::new(body, MAX_XML_BODY_BYTES);
        Body::new(http_body_util::BodyExt::map_err(limited, move |e| {
            if e.is::<http_body_util::LengthLimitError>() {
                flag.store(true, Ordering::Release);
            }
            e
        }))
    });
    Capped::Pass(req, tripped)
}

/// Whether a body passed on by `cap` went over the cap while s3s read it.
pub(crate) fn was_cut(tripped: &AtomicBool) -> bool {
    tripped.load(Ordering::Acquire)
}

/// `400 MaxMessageLengthExceeded` (the request id is added by the front).
pub(crate) fn too_long() -> http::Response<s3s::Body> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>MaxMessageLengthExceeded</Code>\
         <Message>Your request was too big: an XML body may be at most {MAX_XML_BODY_BYTES} bytes.</Message></Error>"
    );
    let mut resp = http::Response::new(s3s::Body::from(xml));
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, uri: &str) -> Request {
        http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("request")
    }

    #[test]
    fn xml_bodies_are_told_from_object_data() {
        assert!(is_xml_body(&request("PUT", "/b?tagging")));
        assert!(is_xml_body(&request("PUT", "/b/k?tagging&versionId=x")));
        assert!(is_xml_body(&request("PUT", "/b?cors")));
        assert!(is_xml_body(&request("POST", "/b?delete")));
        assert!(is_xml_body(&request("POST", "/b/k?uploadId=abc")));
        assert!(!is_xml_body(&request("PUT", "/b/k")));
        assert!(!is_xml_body(&request(
            "PUT",
            "/b/k?partNumber=1&uploadId=abc"
        )));
        assert!(!is_xml_body(&request("POST", "/b/k?uploads")));
        assert!(!is_xml_body(&request("POST", "/b")));
        assert!(!is_xml_body(&request("GET", "/b?tagging")));
        // A key that merely contains a subresource's name is data.
        assert!(!is_xml_body(&request("PUT", "/b/tagging")));
    }

    #[test]
    fn a_declared_length_over_the_cap_is_refused_unread() {
        let mut req = request("PUT", "/b?tagging");
        req.headers_mut().insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(MAX_XML_BODY_BYTES as u64 + 1),
        );
        assert!(matches!(cap(req), Capped::Refuse));
    }

    #[tokio::test]
    async fn a_streamed_body_over_the_cap_trips_the_flag() {
        use http_body_util::BodyExt;
        let big = vec![b' '; MAX_XML_BODY_BYTES + 1];
        let req = http::Request::builder()
            .method("PUT")
            .uri("/b?tagging")
            .body(Body::from(big))
            .expect("request");
        let Capped::Pass(req, tripped) = cap(req) else {
            panic!("no declared length: passed on");
        };
        assert!(req.into_body().collect().await.is_err());
        assert!(was_cut(&tripped));
    }
}
