//! Bucket versioning as S3 clients see it: Put/GetBucketVersioning, the
//! `versionId` of object requests, and how a request that lands on a delete
//! marker or on a version that does not exist is answered. Meta decides
//! everything stateful (which version is current, the `null` version,
//! promotion on delete); this module only translates ids and answers.
//!
//! A delete marker answers differently by operation, as at AWS: GET, HEAD,
//! GetObjectAttributes and the object ACLs answer a current marker 404
//! NoSuchKey and a marker named by `versionId` 405 MethodNotAllowed, both
//! with `x-amz-delete-marker: true` and the marker's `x-amz-version-id` (the
//! 405 also with `Last-Modified`); tagging answers 405 either way; a copy
//! source answers 404 NoSuchKey, or 400 InvalidRequest when it named the
//! marker. Versions S3 clients name are `null` or 32 hex digits; anything
//! else is 400 InvalidArgument.

use super::common::{format_http_date, timestamp};
use crate::errors::meta_error;
use crate::gateway::Gateway;
use cairn_rpc::meta_reads as reads;
use cairn_rpc::{MetaCommand, VersionLookup};
use cairn_types::{ObjectExtras, ObjectManifest, ObjectVersionId, UnixMillis, VersioningStatus};
use http::{HeaderMap, HeaderValue};
use s3s::dto::{
    BucketVersioningStatus, GetBucketVersioningInput, GetBucketVersioningOutput, MFADelete,
    PutBucketVersioningInput, PutBucketVersioningOutput,
};
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

/// S3's message for a `versionId` that is no version id.
pub const INVALID_VERSION_ID: &str = "Invalid version id specified";
pub use crate::errors::NO_SUCH_VERSION;
/// S3's message for an operation on a delete marker.
pub const METHOD_NOT_ALLOWED: &str = "The specified method is not allowed against this resource.";
/// Response header saying the version concerned is a delete marker.
pub const DELETE_MARKER_HEADER: &str = "x-amz-delete-marker";
/// Response header naming the version concerned.
pub const VERSION_ID_HEADER: &str = "x-amz-version-id";

/// Parses a client's `versionId` (absent: None).
pub(crate) fn parse_version(v: Option<&str>) -> S3Result<Option<ObjectVersionId>> {
    v.map(|s| {
        ObjectVersionId::parse(s)
            .ok_or_else(|| S3Error::with_message(S3ErrorCode::InvalidArgument, INVALID_VERSION_ID))
    })
    .transpose()
}

/// A version id as S3 spells it (`null` included).
pub(crate) fn version_string(v: Option<ObjectVersionId>) -> Option<String> {
    v.map(|v| v.to_string())
}

/// How an operation answers a delete marker it lands on (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkerRule {
    /// GET, HEAD, GetObjectAttributes, the object ACLs.
    Read,
    /// The tagging operations: 405 whether or not the marker was named.
    Refuse,
    /// The source of CopyObject and UploadPartCopy.
    CopySource,
}

/// An object version found for a request.
pub(crate) struct Found {
    pub manifest: ObjectManifest,
    pub extras: ObjectExtras,
    /// None in a bucket that never had versioning (no `x-amz-version-id`).
    pub version_id: Option<ObjectVersionId>,
}

/// The version `version_id` names (absent: the current one) of a key, or
/// the S3 error the operation answers instead (see `MarkerRule`).
pub(crate) async fn find_version(
    gw: &Gateway,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    rule: MarkerRule,
) -> S3Result<Found> {
    let named = parse_version(version_id)?;
    let lookup = gw
        .meta()
        .read(reads::GetObjectVersion {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version: named,
        })
        .await
        .map_err(meta_error)?;
    match lookup {
        VersionLookup::Object {
            manifest,
            extras,
            version_id,
        } => Ok(Found {
            manifest,
            extras,
            version_id,
        }),
        VersionLookup::NotFound => Err(not_found(named.is_some())),
        VersionLookup::DeleteMarker {
            version_id,
            last_modified,
        } => Err(on_delete_marker(
            rule,
            named.is_some(),
            version_id,
            last_modified,
        )),
    }
}

/// NoSuchVersion when a version was named, else NoSuchKey.
fn not_found(named: bool) -> S3Error {
    if named {
        S3Error::with_message(S3ErrorCode::NoSuchVersion, NO_SUCH_VERSION)
    } else {
        s3_error!(NoSuchKey)
    }
}

/// The answer to a request that found a delete marker.
fn on_delete_marker(
    rule: MarkerRule,
    named: bool,
    version: ObjectVersionId,
    last_modified: UnixMillis,
) -> S3Error {
    let mut e = match (rule, named) {
        (MarkerRule::CopySource, true) => {
            return s3_error!(
                InvalidRequest,
                "The source of a copy request may not specifically refer to a delete marker by version id."
            );
        }
        (MarkerRule::CopySource, false) => return s3_error!(NoSuchKey),
        (MarkerRule::Read, false) => s3_error!(NoSuchKey),
        (MarkerRule::Read, true) | (MarkerRule::Refuse, _) => {
            S3Error::with_message(S3ErrorCode::MethodNotAllowed, METHOD_NOT_ALLOWED)
        }
    };
    let with_date = *e.code() == S3ErrorCode::MethodNotAllowed;
    e.set_headers(marker_headers(version, with_date.then_some(last_modified)));
    e
}

/// The headers of an error about a delete marker. s3s sends an error's own
/// headers *instead of* the ones it sets while writing the error document,
/// so the XML Content-Type is repeated here (the HTTP layer adds the
/// request id afterwards, as for every response).
fn marker_headers(version: ObjectVersionId, last_modified: Option<UnixMillis>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    h.insert(DELETE_MARKER_HEADER, HeaderValue::from_static("true"));
    if let Ok(v) = HeaderValue::from_str(&version.to_string()) {
        h.insert(VERSION_ID_HEADER, v);
    }
    if let Some(date) = last_modified.and_then(|ms| format_http_date(&timestamp(ms)))
        && let Ok(v) = HeaderValue::from_str(&date)
    {
        h.insert(http::header::LAST_MODIFIED, v);
    }
    h
}

/// The versioning state a `<VersioningConfiguration>` asks for.
fn requested_status(
    status: Option<&BucketVersioningStatus>,
    mfa_delete: Option<&MFADelete>,
) -> S3Result<VersioningStatus> {
    match mfa_delete.map(MFADelete::as_str) {
        None | Some(MFADelete::DISABLED) => {}
        Some(MFADelete::ENABLED) => {
            return Err(s3_error!(
                NotImplemented,
                "MFA delete is not supported; set MfaDelete to Disabled or leave it out"
            ));
        }
        Some(_) => {
            return Err(s3_error!(
                MalformedXML,
                "MfaDelete must be Enabled or Disabled"
            ));
        }
    }
    status
        .and_then(|s| VersioningStatus::from_name(s.as_str()))
        .ok_or_else(|| {
            s3_error!(
                MalformedXML,
                "The VersioningConfiguration must have a Status of Enabled or Suspended"
            )
        })
}

pub async fn put_bucket_versioning(
    gw: &Gateway,
    req: S3Request<PutBucketVersioningInput>,
) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    let i = req.input;
    let status = requested_status(
        i.versioning_configuration.status.as_ref(),
        i.versioning_configuration.mfa_delete.as_ref(),
    )?;
    gw.meta()
        .write(&MetaCommand::SetBucketVersioning {
            bucket: i.bucket,
            status,
        })
        .await
        .map_err(meta_error)?;
    Ok(S3Response::new(PutBucketVersioningOutput::default()))
}

/// GetBucketVersioning: a bucket whose versioning was never set answers a
/// configuration without a Status, as S3 does (clients such as rclone's
/// purge ask before deleting, to know whether old versions need removing).
pub async fn get_bucket_versioning(
    gw: &Gateway,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    let status = gw
        .meta()
        .read(reads::GetBucketVersioning {
            bucket: req.input.bucket.to_string(),
        })
        .await
        .map_err(meta_error)?;
    Ok(S3Response::new(GetBucketVersioningOutput {
        status: status.map(|s| BucketVersioningStatus::from_static(s.name())),
        mfa_delete: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_types::VersionId;

    #[test]
    fn version_ids_are_null_or_hex() {
        let v = VersionId::new_random();
        assert_eq!(
            parse_version(Some(&v.to_string())).ok(),
            Some(Some(ObjectVersionId::Id(v)))
        );
        assert_eq!(
            parse_version(Some("null")).ok(),
            Some(Some(ObjectVersionId::Null))
        );
        assert_eq!(parse_version(None).ok(), Some(None));
        for bad in ["", "NULL", "xyz", "123"] {
            let e = parse_version(Some(bad)).expect_err(bad);
            assert_eq!(e.code(), &S3ErrorCode::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn delete_markers_answer_by_operation() {
        let v = ObjectVersionId::Id(VersionId::new_random());
        let header = |e: &S3Error, name: &str| {
            e.headers()
                .and_then(|h| h.get(name))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let current = on_delete_marker(MarkerRule::Read, false, v, 0);
        assert_eq!(current.code(), &S3ErrorCode::NoSuchKey);
        assert_eq!(
            header(&current, DELETE_MARKER_HEADER).as_deref(),
            Some("true")
        );
        assert_eq!(header(&current, VERSION_ID_HEADER), Some(v.to_string()));
        assert_eq!(header(&current, "last-modified"), None);
        assert_eq!(
            header(&current, "content-type").as_deref(),
            Some("application/xml")
        );
        let named = on_delete_marker(MarkerRule::Read, true, v, 0);
        assert_eq!(named.code(), &S3ErrorCode::MethodNotAllowed);
        assert_eq!(
            named.status_code(),
            Some(http::StatusCode::METHOD_NOT_ALLOWED)
        );
        assert_eq!(
            header(&named, "last-modified").as_deref(),
            Some("Thu, 01 Jan 1970 00:00:00 GMT")
        );
        let tagging = on_delete_marker(MarkerRule::Refuse, false, v, 0);
        assert_eq!(tagging.code(), &S3ErrorCode::MethodNotAllowed);
        let copy = on_delete_marker(MarkerRule::CopySource, true, v, 0);
        assert_eq!(copy.code(), &S3ErrorCode::InvalidRequest);
        assert!(copy.headers().is_none());
        let copy = on_delete_marker(MarkerRule::CopySource, false, v, 0);
        assert_eq!(copy.code(), &S3ErrorCode::NoSuchKey);
        assert_eq!(not_found(true).code(), &S3ErrorCode::NoSuchVersion);
        assert_eq!(not_found(false).code(), &S3ErrorCode::NoSuchKey);
    }

    #[test]
    fn configurations_are_checked() {
        let status = |s: &str| BucketVersioningStatus::from(s.to_string());
        let mfa = |s: &str| MFADelete::from(s.to_string());
        let code = |r: S3Result<VersioningStatus>| r.map_err(|e| e.code().as_str().to_string());
        assert_eq!(
            code(requested_status(Some(&status("Enabled")), None)),
            Ok(VersioningStatus::Enabled)
        );
        assert_eq!(
            code(requested_status(
                Some(&status("Suspended")),
                Some(&mfa("Disabled"))
            )),
            Ok(VersioningStatus::Suspended)
        );
        assert_eq!(
            code(requested_status(None, None)),
            Err("MalformedXML".into())
        );
        assert_eq!(
            code(requested_status(Some(&status("enabled")), None)),
            Err("MalformedXML".into())
        );
        assert_eq!(
            code(requested_status(
                Some(&status("Enabled")),
                Some(&mfa("Enabled"))
            )),
            Err("NotImplemented".into())
        );
        assert_eq!(
            code(requested_status(Some(&status("Enabled")), Some(&mfa("On")))),
            Err("MalformedXML".into())
        );
    }
}
