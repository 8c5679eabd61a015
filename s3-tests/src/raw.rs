//! Raw HTTP against a [`Target`], for what the SDK cannot express: unsigned
//! requests, hand-built aws-chunked bodies, skewed clocks, and exact status
//! codes and headers; [`send_raw`] and [`assert_raw_error`] are the
//! one-line forms the tests use against the shared target.

use std::borrow::Cow;
use std::time::SystemTime;

use anyhow::Context as _;
use aws_sdk_s3::config::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;

use crate::server::Target;

/// The `x-amz-content-sha256` mode of a signed raw request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// The hex SHA-256 of the body.
    Sha256,
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: the body must already be aws-chunked
    /// (see [`aws_chunked_body`]) and the caller sets `content-encoding`,
    /// `x-amz-decoded-content-length` and `x-amz-trailer`.
    StreamingUnsignedTrailer,
}

/// A request to send with [`Target::send_signed`] or [`Target::send_unsigned`].
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub method: String,
    /// Path and query, already percent-encoded, e.g. `/bucket/my%20key?uploads`.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub payload: Payload,
    /// Signing time; `None` means now.
    pub signed_at: Option<SystemTime>,
    /// When set, this is transmitted instead of `body`, which is still what gets
    /// signed: a payload altered in flight.
    pub tampered_body: Option<Vec<u8>>,
}

impl RawRequest {
    pub fn new(method: &str, path_and_query: impl Into<String>) -> Self {
        Self {
            method: method.to_owned(),
            path_and_query: path_and_query.into(),
            headers: Vec::new(),
            body: Vec::new(),
            payload: Payload::Sha256,
            signed_at: None,
            tampered_body: None,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn payload(mut self, payload: Payload) -> Self {
        self.payload = payload;
        self
    }

    pub fn signed_at(mut self, time: SystemTime) -> Self {
        self.signed_at = Some(time);
        self
    }

    /// Sends `sent` on the wire while signing the original body.
    pub fn tampered_body(mut self, sent: impl Into<Vec<u8>>) -> Self {
        self.tampered_body = Some(sent.into());
        self
    }
}

/// What came back.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl RawResponse {
    /// A header as text, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `<Code>` of an S3 XML error body.
    pub fn error_code(&self) -> Option<String> {
        xml_tag_values(&self.text(), "Code").into_iter().next()
    }
}

impl Target {
    /// Sends `request` without any authentication.
    pub async fn send_unsigned(&self, request: RawRequest) -> anyhow::Result<RawResponse> {
        let http_request = self.http_request(&request)?;
        execute(http_request).await
    }

    /// Sends `request` signed with SigV4 (header auth) with this target's keys.
    pub async fn send_signed(&self, request: RawRequest) -> anyhow::Result<RawResponse> {
        self.send_signed_with_keys(request, &self.access_key, &self.secret_key)
            .await
    }

    /// Sends `request` signed with SigV4 (header auth) with the given keys.
    pub async fn send_signed_with_keys(
        &self,
        request: RawRequest,
        access_key: &str,
        secret_key: &str,
    ) -> anyhow::Result<RawResponse> {
        let mut http_request = self.http_request(&request)?;
        let identity: Identity =
            Credentials::new(access_key, secret_key, None, None, "cairn-s3-tests-raw").into();
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params: aws_sigv4::http_request::SigningParams<'_> = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(request.signed_at.unwrap_or_else(SystemTime::now))
            .settings(settings)
            .build()
            .context("signing params")?
            .into();
        let body = match request.payload {
            Payload::Sha256 => SignableBody::Bytes(&request.body),
            Payload::Unsigned => SignableBody::UnsignedPayload,
            Payload::StreamingUnsignedTrailer => SignableBody::StreamingUnsignedPayloadTrailer,
        };
        let uri = http_request.uri().to_string();
        let signable = SignableRequest::new(
            &request.method,
            Cow::Owned(uri),
            request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
            body,
        )
        .context("signable request")?;
        let (instructions, _signature) = sign(signable, &params).context("signing")?.into_parts();
        instructions.apply_to_request_http1x(&mut http_request);
        execute(http_request).await
    }

    fn http_request(&self, request: &RawRequest) -> anyhow::Result<http::Request<Vec<u8>>> {
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(format!("{}{}", self.endpoint, request.path_and_query));
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let body = request
            .tampered_body
            .as_ref()
            .unwrap_or(&request.body)
            .clone();
        builder.body(body).context("building the raw request")
    }
}

/// Sends `request` to the shared target signed with its keys; panics when
/// no answer comes back (any status is an answer).
pub async fn send_raw(request: RawRequest) -> RawResponse {
    let what = format!("raw {} {}", request.method, request.path_and_query);
    let answer = crate::server::target().send_signed(request).await;
    answer.unwrap_or_else(|e| panic!("{what}: {e:#}"))
}

/// A signed raw request without headers or body to the shared target.
pub async fn raw_signed(method: &str, path_and_query: impl Into<String>) -> RawResponse {
    send_raw(RawRequest::new(method, path_and_query)).await
}

/// Asserts that a raw answer is the S3 error `code` with HTTP `status`.
#[track_caller]
pub fn assert_raw_error(response: &RawResponse, code: &str, status: u16) {
    let text = response.text();
    assert_eq!(response.status, status, "expected {code}: {text}");
    assert_eq!(response.error_code().as_deref(), Some(code), "{text}");
}

/// Sends a request to an absolute URL (e.g. a presigned one) with the given headers.
pub async fn send_to_url<'a>(
    method: &str,
    url: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: Vec<u8>,
) -> anyhow::Result<RawResponse> {
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    execute(builder.body(body).context("building the request")?).await
}

async fn execute(request: http::Request<Vec<u8>>) -> anyhow::Result<RawResponse> {
    let request = reqwest::Request::try_from(request).context("converting to a reqwest request")?;
    let response = reqwest::Client::new()
        .execute(request)
        .await
        .context("sending the raw request")?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .context("reading the raw response body")?;
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

/// Encodes `data` as an aws-chunked body with chunks of `chunk_size` bytes, a
/// final zero-length chunk, and the given trailer headers (unsigned variant, no
/// chunk signatures).
pub fn aws_chunked_body(data: &[u8], chunk_size: usize, trailers: &[(&str, &str)]) -> Vec<u8> {
    assert!(chunk_size > 0, "chunk_size must be positive");
    let mut out = Vec::with_capacity(data.len() + 256);
    for chunk in data.chunks(chunk_size) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Percent-encodes an object key for use in a path, keeping `/` separators.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() * 3);
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The text of every `<tag>…</tag>` element in `xml` (no nesting, no entities
/// decoded except the five predefined ones).
pub fn xml_tag_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut values = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        values.push(
            after[..end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &after[end + close.len()..];
    }
    values
}
