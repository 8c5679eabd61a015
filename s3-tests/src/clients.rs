//! Building `aws-sdk-s3` clients for a [`Target`], and recording what they send.

use std::sync::{Arc, Mutex};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RequestChecksumCalculation,
    ResponseChecksumValidation, RuntimeComponents,
};
use aws_sdk_s3::error::BoxError;

use crate::server::Target;

/// Which checksum behaviour a client has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumBehaviour {
    /// The SDK default: checksum every upload that supports it, validate responses that carry one.
    WhenSupported,
    /// Only when the operation requires it (older SDKs, many third-party tools).
    WhenRequired,
}

impl Target {
    /// A default-behaviour client signing with this target's keys.
    pub fn client(&self) -> Client {
        self.build_client(
            &self.access_key,
            &self.secret_key,
            ChecksumBehaviour::WhenSupported,
            None,
        )
    }

    /// A client computing/validating checksums only when required.
    pub fn client_when_required(&self) -> Client {
        self.build_client(
            &self.access_key,
            &self.secret_key,
            ChecksumBehaviour::WhenRequired,
            None,
        )
    }

    /// A default-behaviour client signing with other keys.
    pub fn client_with_keys(&self, access_key: &str, secret_key: &str) -> Client {
        self.build_client(
            access_key,
            secret_key,
            ChecksumBehaviour::WhenSupported,
            None,
        )
    }

    /// A client whose every request is recorded in `capture` just before it is sent.
    pub fn client_capturing(
        &self,
        behaviour: ChecksumBehaviour,
        capture: &HeaderCapture,
    ) -> Client {
        self.build_client(
            &self.access_key,
            &self.secret_key,
            behaviour,
            Some(capture.clone()),
        )
    }

    /// The general constructor: path-style, static credentials, no retries (a
    /// retried 5xx would hide a server bug), the target's region.
    pub fn build_client(
        &self,
        access_key: &str,
        secret_key: &str,
        behaviour: ChecksumBehaviour,
        capture: Option<HeaderCapture>,
    ) -> Client {
        let credentials = Credentials::new(access_key, secret_key, None, None, "cairn-s3-tests");
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(self.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(true)
            .retry_config(RetryConfig::disabled());
        if behaviour == ChecksumBehaviour::WhenRequired {
            builder = builder
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        if let Some(capture) = capture {
            builder = builder.interceptor(capture);
        }
        Client::from_conf(builder.build())
    }
}

/// One request as it left the SDK (after signing).
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub uri: String,
    /// Header names are lowercase.
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An SDK interceptor recording every request a client transmits, so a test can
/// assert which wire format (e.g. aws-chunked with a trailer) it really exercised.
#[derive(Clone, Debug, Default)]
pub struct HeaderCapture {
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl HeaderCapture {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything recorded so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The most recent request.
    pub fn last(&self) -> Option<RecordedRequest> {
        self.requests().pop()
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        if let Ok(mut r) = self.requests.lock() {
            r.clear();
        }
    }
}

impl Intercept for HeaderCapture {
    fn name(&self) -> &'static str {
        "cairn-s3-tests::HeaderCapture"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let recorded = RecordedRequest {
            method: request.method().to_owned(),
            uri: request.uri().to_owned(),
            headers: request
                .headers()
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
                .collect(),
        };
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(recorded);
        }
        Ok(())
    }
}
