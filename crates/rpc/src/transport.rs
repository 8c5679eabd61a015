//! The HTTP client every role uses to reach another, and the postcard helpers
//! both sides use to encode message bodies.

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;
use thiserror::Error;

/// Content type of postcard-encoded bodies.
pub const POSTCARD_CONTENT_TYPE: &str = "application/x-postcard";
/// How long to wait for a TCP connection to another role.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Idle pooled connections kept per peer.
pub const POOL_IDLE_PER_HOST: usize = 64;

#[derive(Debug, Error)]
pub enum RpcError {
    /// The request never reached the peer (no connection).
    #[error("cannot reach {addr}: {message}")]
    Unreachable { addr: String, message: String },
    /// The connection failed after the request may have reached the peer:
    /// whether it acted is unknown.
    #[error("connection to {addr} failed: {message}")]
    Broken { addr: String, message: String },
    #[error("request to {addr} timed out")]
    Timeout { addr: String },
    #[error("{addr} answered {status}: {message}")]
    Status {
        addr: String,
        status: u16,
        message: String,
    },
    #[error("bad message from {addr}: {message}")]
    Decode { addr: String, message: String },
    /// The message is larger than the route it was sent to accepts (the
    /// peer answered 413, or the sender saw it before sending). Sending it
    /// again as it is cannot succeed.
    #[error("message to {addr} too large: {message}")]
    TooLarge { addr: String, message: String },
}

impl RpcError {
    pub(crate) fn from_reqwest(addr: &str, e: reqwest::Error) -> Self {
        if e.is_timeout() {
            RpcError::Timeout {
                addr: addr.to_string(),
            }
        } else if e.is_connect() {
            RpcError::Unreachable {
                addr: addr.to_string(),
                message: e.to_string(),
            }
        } else {
            RpcError::Broken {
                addr: addr.to_string(),
                message: e.to_string(),
            }
        }
    }
}

/// How a client proves itself to the roles it calls.
#[derive(Clone, Debug)]
pub enum ClientAuth {
    /// Mutual TLS with this process's role certificate (the default).
    Tls(crate::tls::InternalTls),
    /// Plaintext, carrying the cluster secret (`tls.internal = false`).
    Token(String),
}

/// A pooled HTTP client with the cluster's timeouts.
#[derive(Clone, Debug)]
pub struct RpcClient {
    pub(crate) http: reqwest::Client,
    /// `http` or `https`.
    scheme: &'static str,
}

impl RpcClient {
    /// `request_timeout` bounds one whole request (headers and body);
    /// `auth` is how peers accept it.
    pub fn new(request_timeout: Duration, auth: &ClientAuth) -> Result<Self, RpcError> {
        let setup = |message: String| RpcError::Unreachable {
            addr: "-".into(),
            message,
        };
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(request_timeout)
            .pool_max_idle_per_host(POOL_IDLE_PER_HOST)
            .tcp_nodelay(true);
        let scheme = match auth {
            ClientAuth::Tls(tls) => {
                builder = builder
                    .use_preconfigured_tls((*tls.client).clone())
                    .https_only(true);
                "https"
            }
            ClientAuth::Token(secret) => {
                let mut headers = http::HeaderMap::new();
                let token = http::HeaderValue::from_str(secret)
                    .map_err(|_| setup("the cluster secret must be printable ASCII".into()))?;
                headers.insert(crate::auth::CLUSTER_TOKEN_HEADER, token);
                builder = builder.default_headers(headers);
                "http"
            }
        };
        let http = builder.build().map_err(|e| setup(e.to_string()))?;
        Ok(Self { http, scheme })
    }

    /// `SCHEME://{addr}{path}`.
    pub(crate) fn url(&self, addr: &str, path: &str) -> String {
        format!("{}://{addr}{path}", self.scheme)
    }

    /// POSTs a postcard message to `http://{addr}{path}` and decodes the answer.
    pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        addr: &str,
        path: &str,
        req: &Req,
    ) -> Result<Resp, RpcError> {
        self.call_bounded(addr, path, req, usize::MAX).await
    }

    /// `call`, refusing with `RpcError::TooLarge` before sending when the
    /// encoded message is over `max_body` (the limit of the route called).
    pub async fn call_bounded<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        addr: &str,
        path: &str,
        req: &Req,
        max_body: usize,
    ) -> Result<Resp, RpcError> {
        let body = postcard::to_stdvec(req).map_err(|e| RpcError::Decode {
            addr: addr.to_string(),
            message: e.to_string(),
        })?;
        if body.len() > max_body {
            return Err(RpcError::TooLarge {
                addr: addr.to_string(),
                message: format!("{} bytes for {path}, which takes {max_body}", body.len()),
            });
        }
        let request = self
            .http
            .post(self.url(addr, path))
            .header(http::header::CONTENT_TYPE, POSTCARD_CONTENT_TYPE)
            .body(body);
        let bytes = success_body(addr, request).await?;
        decode_postcard(&bytes).map_err(|message| RpcError::Decode {
            addr: addr.to_string(),
            message,
        })
    }
}

impl RpcClient {
    /// GETs `http://{addr}{path}` and returns the body text of a 2xx answer.
    pub async fn get_text(&self, addr: &str, path: &str) -> Result<String, RpcError> {
        let bytes = success_body(addr, self.http.get(self.url(addr, path))).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Sends a request and returns its body when the answer is a 2xx; 413
/// becomes `RpcError::TooLarge`, any other status `RpcError::Status`, with
/// the body as the message.
async fn success_body(addr: &str, request: reqwest::RequestBuilder) -> Result<Bytes, RpcError> {
    let resp = request
        .send()
        .await
        .map_err(|e| RpcError::from_reqwest(addr, e))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| RpcError::from_reqwest(addr, e))?;
    if status == http::StatusCode::PAYLOAD_TOO_LARGE {
        return Err(RpcError::TooLarge {
            addr: addr.to_string(),
            message: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    if !status.is_success() {
        return Err(RpcError::Status {
            addr: addr.to_string(),
            status: status.as_u16(),
            message: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    Ok(bytes)
}

pub fn decode_postcard<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| e.to_string())
}

/// A 200 response carrying `value` postcard-encoded.
pub fn postcard_response<T: Serialize>(value: &T) -> Response {
    match postcard::to_stdvec(value) {
        Ok(body) => ([(http::header::CONTENT_TYPE, POSTCARD_CONTENT_TYPE)], body).into_response(),
        Err(e) => (
            http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("encode: {e}"),
        )
            .into_response(),
    }
}
