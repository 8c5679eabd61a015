//! The S3 client of a run: aws-sdk-s3 with path-style addressing, static
//! credentials, no retries (a retried failure would hide in the latency) and
//! checksums only where an operation requires them (so the client spends its
//! CPU on moving bytes, as most S3 clients do). Also names a failure by its S3
//! error code, or by the transport step that failed.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

/// Region used when none is given (what most S3 endpoints accept).
pub const DEFAULT_REGION: &str = "us-east-1";
/// How long opening a TCP connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An S3 endpoint and how to sign for it.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http(s)://HOST:PORT`.
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

/// Builds the client every worker of a run shares (one connection pool).
/// `op_timeout` bounds each request, body included.
pub fn build(target: &Target, op_timeout: Duration) -> Client {
    let credentials = Credentials::new(
        &target.access_key,
        &target.secret_key,
        None,
        None,
        "cairn-bench",
    );
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(op_timeout)
        .build();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(target.endpoint.trim_end_matches('/'))
        .region(Region::new(target.region.clone()))
        .credentials_provider(credentials)
        .force_path_style(true)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .build();
    Client::from_conf(config)
}

/// The name under which a failed request is counted: the S3 error code
/// (`NoSuchKey`, `SlowDown`), `HTTP <status>` for an error without a code,
/// or the transport step that failed (`Timeout`, `DispatchFailure`, ...).
pub fn error_code<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) => code.to_owned(),
            None => format!("HTTP {}", service.raw().status().as_u16()),
        },
        SdkError::TimeoutError(_) => "Timeout".to_owned(),
        SdkError::DispatchFailure(_) => "DispatchFailure".to_owned(),
        SdkError::ResponseError(_) => "ResponseError".to_owned(),
        SdkError::ConstructionFailure(_) => "ConstructionFailure".to_owned(),
        _ => "Unknown".to_owned(),
    }
}
