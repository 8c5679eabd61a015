//! How internal failures become S3 errors: meta's typed errors map to their S3
//! codes; an unreachable quorum or meta majority is 503 ServiceUnavailable;
//! anything else is logged and answered as InternalError.

use cairn_rpc::{MetaError, ShardError};
use s3s::{S3Error, S3ErrorCode, s3_error};

/// AWS's message for NoSuchVersion.
pub const NO_SUCH_VERSION: &str = "The specified version does not exist.";

pub fn meta_error(e: MetaError) -> S3Error {
    match e {
        MetaError::NoSuchBucket => s3_error!(NoSuchBucket),
        MetaError::BucketAlreadyExists => s3_error!(BucketAlreadyExists),
        MetaError::BucketAlreadyOwnedByYou => s3_error!(BucketAlreadyOwnedByYou),
        MetaError::BucketNotEmpty => s3_error!(BucketNotEmpty),
        MetaError::NoSuchKey => s3_error!(NoSuchKey),
        MetaError::NoSuchUpload => s3_error!(NoSuchUpload),
        MetaError::InvalidPart(n) => s3_error!(
            InvalidPart,
            "part {n} was not found or its ETag does not match"
        ),
        MetaError::InvalidPartOrder => s3_error!(
            InvalidPartOrder,
            "the list of parts was not in ascending order"
        ),
        MetaError::EntityTooSmall(n) => {
            s3_error!(
                EntityTooSmall,
                "part {n} is smaller than the minimum allowed size of 5 MiB"
            )
        }
        MetaError::PreconditionFailed => s3_error!(PreconditionFailed),
        MetaError::InvalidRequest(msg) => S3Error::with_message(S3ErrorCode::InvalidRequest, msg),
        MetaError::BadDigest(msg) => S3Error::with_message(S3ErrorCode::BadDigest, msg),
        MetaError::NoSuchVersion => {
            S3Error::with_message(S3ErrorCode::NoSuchVersion, NO_SUCH_VERSION)
        }
        MetaError::MethodNotAllowed(msg) => {
            S3Error::with_message(S3ErrorCode::MethodNotAllowed, msg)
        }
        MetaError::NotLeader { .. } | MetaError::Unavailable(_) => {
            tracing::warn!(error = %e, "metadata service unavailable");
            S3Error::with_message(
                S3ErrorCode::ServiceUnavailable,
                "the metadata service has no majority; retry later",
            )
        }
        MetaError::Internal(msg) => internal(msg),
        // Only the admin commands change layouts.
        MetaError::InvalidLayout(msg) | MetaError::LayoutChangeRefused(msg) => internal(msg),
        // An object (or part) whose metadata record would be over meta's
        // limit: its chunk list is too long for its layout and chunk size.
        MetaError::TooLarge(msg) => {
            tracing::warn!(error = %msg, "metadata record over meta's limit; refused");
            S3Error::with_message(
                S3ErrorCode::EntityTooLarge,
                format!(
                    "the object's metadata record would exceed {} MiB; \
                     use a larger chunk size or fewer erasure-coded pieces, or smaller parts",
                    cairn_types::limits::MAX_META_COMMAND_BYTES / (1024 * 1024)
                ),
            )
        }
        MetaError::SlowDown(msg) => {
            tracing::warn!(error = %msg, "metadata service overloaded");
            S3Error::with_message(S3ErrorCode::SlowDown, "Please reduce your request rate.")
        }
        MetaError::DataVersionExpired(version) => {
            tracing::warn!(%version, "upload outlived the garbage-collection grace; refused");
            S3Error::with_message(
                S3ErrorCode::ServiceUnavailable,
                "the upload took longer than the garbage-collection grace period; upload it again",
            )
        }
    }
}

pub fn internal(msg: impl std::fmt::Display) -> S3Error {
    tracing::error!(error = %msg, "internal error");
    S3Error::with_message(
        S3ErrorCode::InternalError,
        "we encountered an internal error; please try again",
    )
}

pub fn unavailable(msg: impl std::fmt::Display) -> S3Error {
    tracing::warn!(error = %msg, "storage unavailable");
    S3Error::with_message(
        S3ErrorCode::ServiceUnavailable,
        "not enough storage nodes answered; retry later",
    )
}

pub fn shard_error(e: ShardError) -> S3Error {
    unavailable(e)
}

/// AWS's message for RequestTimeout (a request body that stalled).
pub const REQUEST_TIMEOUT_MESSAGE: &str = "Your socket connection to the server was not read from or written to within the timeout period.";

/// Maps a failure of the request body stream to its S3 error. s3s keeps its
/// stream error types private, so they are told apart by their messages.
pub fn body_error(message: String) -> S3Error {
    if message.contains("Sha256Mismatch") {
        // Not among s3s's named codes, so spelled out; S3 answers it with 400.
        let mut e = S3Error::with_message(
            S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
        e.set_status_code(http::StatusCode::BAD_REQUEST);
        e
    } else if message.contains(crate::body_timeout::REQUEST_TIMEOUT_MARKER) {
        S3Error::with_message(S3ErrorCode::RequestTimeout, REQUEST_TIMEOUT_MESSAGE)
    } else if message.contains("SignatureMismatch") {
        S3Error::with_message(
            S3ErrorCode::SignatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided.",
        )
    } else {
        S3Error::with_message(
            S3ErrorCode::IncompleteBody,
            format!("reading the request body failed: {message}"),
        )
    }
}

/// AWS's wording for an error code, used when an error carries no message
/// of its own; S3 error documents always have a `<Message>`.
pub fn default_message(code: &str) -> &'static str {
    match code {
        "NoSuchKey" => "The specified key does not exist.",
        "NoSuchBucket" => "The specified bucket does not exist",
        "NoSuchUpload" => {
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
        }
        "BucketNotEmpty" => "The bucket you tried to delete is not empty",
        "BucketAlreadyOwnedByYou" => {
            "Your previous request to create the named bucket succeeded and you already own it."
        }
        "BucketAlreadyExists" => "The requested bucket name is not available.",
        "InvalidBucketName" => "The specified bucket is not valid.",
        "KeyTooLongError" => "Your key is too long",
        "PreconditionFailed" => "At least one of the pre-conditions you specified did not hold",
        "NotModified" => "Not Modified",
        "InvalidRange" => "The requested range is not satisfiable",
        "NotImplemented" => "A header you provided implies functionality that is not implemented",
        "MalformedXML" => {
            "The XML you provided was not well-formed or did not validate against our published schema"
        }
        "EntityTooSmall" => "Your proposed upload is smaller than the minimum allowed object size.",
        "EntityTooLarge" => "Your proposed upload exceeds the maximum allowed object size.",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "InvalidArgument" => "Invalid Argument",
        "InvalidRequest" => "Invalid Request",
        "AccessDenied" => "Access Denied",
        "SignatureDoesNotMatch" => {
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        }
        "InvalidAccessKeyId" => "The AWS Access Key Id you provided does not exist in our records.",
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "NoSuchVersion" => "The specified version does not exist.",
        _ => "The request failed.",
    }
}

/// Gives an error without a message its code's default message.
pub fn with_default_message(mut e: S3Error) -> S3Error {
    if e.message().is_none() {
        let text = default_message(e.code().as_str());
        e.set_message(text);
    }
    e
}
