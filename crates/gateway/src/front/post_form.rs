//! The front door of browser-form uploads (POST object, a
//! `multipart/form-data` body). s3s reads a form's whole file into memory
//! before it checks access, so the gateway looks first: it reads the form
//! fields (at most `MAX_POST_FORM_FIELDS_BYTES`) up to the file, refuses a
//! form that carries no signature field (`x-amz-signature` or `signature`)
//! with 403 AccessDenied before a byte of the file is read (cairn has no
//! anonymous access), refuses a declared body above the POST limit with 400
//! EntityTooLarge, and admits a signed one only within the gateway's POST
//! memory budget. The bytes read are replayed to s3s ahead of the rest.
//! On the way out, s3s's 400 for a form that fails a condition of its
//! policy becomes AWS's 403 AccessDenied (`denied_document`, applied where
//! the front completes error documents).

use crate::body_timeout::REQUEST_TIMEOUT_MARKER;
use crate::errors::REQUEST_TIMEOUT_MESSAGE;
use crate::gateway::{Gateway, POST_BUDGET_UNIT};
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use cairn_types::config::MAX_POST_FORM_FIELDS_BYTES;
use futures::StreamExt;
use http::StatusCode;
use http_body_util::BodyExt;
use tokio::sync::OwnedSemaphorePermit;

/// Bytes of part headers and delimiters read beyond the fields' bound
/// before a form counts as having no signature.
const FORM_HEAD_SLACK: usize = 16 * 1024;
/// New bytes of a form's head between two scans of it.
const RESCAN_BYTES: usize = 1024;

/// The boundary of a `multipart/form-data` POST, None for any other request.
pub fn form_boundary(req: &Request) -> Option<String> {
    if req.method() != http::Method::POST {
        return None;
    }
    let ct = req
        .headers()
        .get(http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?;
    let mut params = ct.split(';').map(str::trim);
    if !params.next()?.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// What the head of a form says so far.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// More bytes are needed to reach the file (or the end of the form).
    NeedMore,
    /// The file part (or the form's end) was reached; whether a signature
    /// field came before it.
    Done { signed: bool },
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The `name` parameter of a part's `Content-Disposition` header.
fn part_name(headers: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(headers);
    let line = text.split("\r\n").find(|l| {
        l.split_once(':')
            .is_some_and(|(h, _)| h.trim().eq_ignore_ascii_case("content-disposition"))
    })?;
    let (_, value) = line.split_once(':')?;
    value.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("name")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Reads the form's parts in `buf` (delimited by `--boundary`) up to the
/// file part or the closing delimiter.
fn scan(buf: &[u8], boundary: &str) -> Scan {
    let delim = format!("--{boundary}");
    let next_delim = format!("\r\n{delim}");
    let mut signed = false;
    let Some(mut pos) = find(buf, delim.as_bytes()) else {
        return Scan::NeedMore;
    };
    loop {
        let after = pos + delim.len();
        let Some(tail) = buf.get(after..after + 2) else {
            return Scan::NeedMore;
        };
        if tail == b"--" {
            return Scan::Done { signed };
        }
        let headers_start = after + 2;
        let Some(end) = find(&buf[headers_start..], b"\r\n\r\n") else {
            return Scan::NeedMore;
        };
        let name = part_name(&buf[headers_start..headers_start + end]).unwrap_or_default();
        if name.eq_ignore_ascii_case("file") {
            return Scan::Done { signed };
        }
        if name.eq_ignore_ascii_case("x-amz-signature") || name.eq_ignore_ascii_case("signature") {
            signed = true;
        }
        let value_start = headers_start + end + 4;
        let Some(next) = find(&buf[value_start..], next_delim.as_bytes()) else {
            return Scan::NeedMore;
        };
        pos = value_start + next + 2;
    }
}

/// An S3 error answer (its request id is added by the front) that also closes the connection (the rest of the
/// body is never read).
fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut resp = Response::new(Body::from(xml));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    h.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    resp
}

/// s3s answers a form that breaks a condition of its policy (a field not
/// as the policy says, the bucket, the signing date, credential or
/// algorithm) 400 InvalidPolicyDocument; AWS answers 403 AccessDenied,
/// "Invalid according to Policy: Policy Condition failed". This is the
/// AccessDenied document for such an error document, None for any other
/// (a policy that does not parse included). Only POST forms have policies,
/// so the front applies it to every 400 error document it completes.
pub(super) fn denied_document(text: &str) -> Option<String> {
    if !text.contains("<Code>InvalidPolicyDocument</Code>") {
        return None;
    }
    let message = text
        .split_once("<Message>")
        .and_then(|(_, rest)| rest.split_once("</Message>"))
        .map(|(m, _)| m)?;
    let failed_condition =
        message.starts_with("Policy condition") || message.contains("does not match");
    failed_condition.then(|| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy Condition failed: {message}</Message></Error>"
        )
    })
}

/// Admits a form POST: the request to hand to s3s (its body replayed from
/// the start) and the POST budget it holds until answered; or the refusal.
pub async fn admit(
    gw: &Gateway,
    req: Request,
    boundary: &str,
) -> Result<(Request, OwnedSemaphorePermit), Response> {
    let largest = gw.opts().post_object_max_bytes + MAX_POST_FORM_FIELDS_BYTES as u64;
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > largest) {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed object size.",
        ));
    }
    let (parts, mut body) = req.into_parts();
    let mut head = BytesMut::new();
    let limit = MAX_POST_FORM_FIELDS_BYTES + FORM_HEAD_SLACK;
    // Scanned again only every RESCAN_BYTES, so a client trickling bytes
    // one at a time cannot make the scan quadratic.
    let mut scanned = 0;
    let signed = loop {
        if head.len() >= scanned + RESCAN_BYTES || (scanned == 0 && !head.is_empty()) {
            scanned = head.len();
            if let Scan::Done { signed } = scan(&head, boundary) {
                break signed;
            }
        }
        if head.len() > limit {
            break false;
        }
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    head.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => {
                let e = e.to_string();
                return Err(if e.contains(REQUEST_TIMEOUT_MARKER) {
                    refusal(
                        StatusCode::BAD_REQUEST,
                        "RequestTimeout",
                        REQUEST_TIMEOUT_MESSAGE,
                    )
                } else {
                    refusal(
                        StatusCode::BAD_REQUEST,
                        "IncompleteBody",
                        "reading the form failed",
                    )
                });
            }
            // The whole form is here: s3s reports what is wrong with it.
            None => {
                break match scan(&head, boundary) {
                    Scan::Done { signed } => signed,
                    Scan::NeedMore => true,
                };
            }
        }
    };
    if !signed {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Access Denied: a POST upload must be signed (x-amz-signature)",
        ));
    }
    let units = declared
        .unwrap_or(largest)
        .min(largest)
        .div_ceil(POST_BUDGET_UNIT);
    let permit = gw
        .post_budget()
        .clone()
        .acquire_many_owned(u32::try_from(units).unwrap_or(u32::MAX))
        .await
        .map_err(|_| {
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "the gateway is shutting down",
            )
        })?;
    let head: Bytes = head.freeze();
    let replay = futures::stream::once(async move { Ok::<_, axum::Error>(head) })
        .chain(body.into_data_stream());
    Ok((
        Request::from_parts(parts, Body::from_stream(replay)),
        permit,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_conditions_are_access_denied_and_parse_errors_are_not() {
        let doc = |code: &str, msg: &str| {
            format!(
                "<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{msg}</Message></Error>"
            )
        };
        let failed = doc(
            "InvalidPolicyDocument",
            "Policy condition &apos;starts-with&apos; for field &apos;key&apos; failed",
        );
        let denied = denied_document(&failed).expect("a failed condition");
        assert!(denied.contains("<Code>AccessDenied</Code>"), "{denied}");
        assert!(denied.contains("starts-with"), "{denied}");
        let date = doc("InvalidPolicyDocument", "x-amz-date does not match policy");
        assert!(denied_document(&date).is_some());
        let unparsed = doc("InvalidPolicyDocument", "failed to parse POST policy");
        assert_eq!(denied_document(&unparsed), None);
        assert_eq!(
            denied_document(&doc("EntityTooLarge", "Policy condition x")),
            None
        );
    }

    fn form(fields: &[(&str, &str)], file: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in fields {
            out.extend_from_slice(
                format!(
                    "--XB\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        if file {
            out.extend_from_slice(
                b"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\nContent-Type: text/plain\r\n\r\nDATA",
            );
        } else {
            out.extend_from_slice(b"--XB--\r\n");
        }
        out
    }

    #[test]
    fn a_signature_field_before_the_file_is_found() {
        let signed = form(&[("key", "k"), ("X-Amz-Signature", "abc")], true);
        assert_eq!(scan(&signed, "XB"), Scan::Done { signed: true });
        let v2 = form(&[("key", "k"), ("signature", "abc")], true);
        assert_eq!(scan(&v2, "XB"), Scan::Done { signed: true });
        let unsigned = form(&[("key", "k"), ("policy", "name=\"signature\"")], true);
        assert_eq!(scan(&unsigned, "XB"), Scan::Done { signed: false });
        let no_file = form(&[("key", "k")], false);
        assert_eq!(scan(&no_file, "XB"), Scan::Done { signed: false });
    }

    #[test]
    fn a_form_cut_anywhere_before_the_file_needs_more() {
        let full = form(&[("key", "k"), ("x-amz-signature", "abc")], true);
        let file_at = find(&full, b"name=\"file\"").expect("file part");
        for cut in 0..file_at {
            assert_eq!(scan(&full[..cut], "XB"), Scan::NeedMore, "cut at {cut}");
        }
    }

    #[test]
    fn only_form_posts_have_a_boundary() {
        let req = |method: &str, ct: &str| {
            http::Request::builder()
                .method(method)
                .header("content-type", ct)
                .body(Body::empty())
                .expect("request")
        };
        assert_eq!(
            form_boundary(&req("POST", "multipart/form-data; boundary=\"a b\"")).as_deref(),
            Some("a b")
        );
        assert_eq!(
            form_boundary(&req("POST", "Multipart/Form-Data;boundary=XB")).as_deref(),
            Some("XB")
        );
        assert_eq!(
            form_boundary(&req("PUT", "multipart/form-data; boundary=XB")),
            None
        );
        assert_eq!(form_boundary(&req("POST", "application/xml")), None);
    }
}
