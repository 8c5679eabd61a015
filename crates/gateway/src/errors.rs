//! How internal failures become S3 errors: meta's typed errors map to their S3
//! codes; an unreachable quorum or meta majority is 503 ServiceUnavailable;
//! anything else is logged and answered as InternalError.

use cairn_rpc::{MetaError, ShardError};
use s3s::{S3Error, S3ErrorCode, s3_error};

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
        MetaError::NotLeader { .. } | MetaError::Unavailable(_) => {
            tracing::warn!(error = %e, "metadata service unavailable");
            S3Error::with_message(
                S3ErrorCode::ServiceUnavailable,
                "the metadata service has no majority; retry later",
            )
        }
        MetaError::Internal(msg) => internal(msg),
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
