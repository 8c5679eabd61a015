//! What several S3 handlers share: key checks, the bucket or upload a
//! request names (or its 404), the time and ETag forms S3 answers with, the stored headers of a new object, write conditions,
//! Content-MD5, the checksum fields of an upload, and the one owner every
//! bucket and object reports.

use crate::errors::meta_error;
use crate::gateway::Gateway;
use base64::Engine;
use cairn_rpc::WriteCondition;
use cairn_rpc::meta_reads as reads;
use cairn_types::limits::MAX_USER_METADATA_BYTES;
use cairn_types::{
    Bucket, HttpHeaders, UnixMillis, UploadExtras, UploadRecord, VersionId, validate_object_key,
};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

/// The bucket named `name`; 404 NoSuchBucket when there is none.
pub(crate) async fn existing_bucket(gw: &Gateway, name: &str) -> S3Result<Bucket> {
    gw.meta()
        .read(reads::GetBucket {
            name: name.to_string(),
        })
        .await
        .map_err(meta_error)?
        .ok_or_else(|| s3_error!(NoSuchBucket))
}

/// The multipart upload `upload_id` of `bucket`/`key` with its extras; 404
/// NoSuchUpload when there is none.
pub(crate) async fn existing_upload(
    gw: &Gateway,
    bucket: &str,
    key: &str,
    upload_id: VersionId,
) -> S3Result<(UploadRecord, UploadExtras)> {
    gw.meta()
        .read(reads::GetUploadWithExtras {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id,
        })
        .await
        .map_err(meta_error)?
        .ok_or_else(|| s3_error!(NoSuchUpload))
}

/// Owner reported for every bucket: a cluster has one account.
pub const OWNER_ID: &str = "cairn";

pub(crate) fn owner() -> Owner {
    Owner {
        display_name: Some(OWNER_ID.to_string()),
        id: Some(OWNER_ID.to_string()),
    }
}

/// 400 KeyTooLongError for a key S3 would refuse.
pub(crate) fn check_key(key: &str) -> S3Result<()> {
    validate_object_key(key)
        .map_err(|e| S3Error::with_message(S3ErrorCode::KeyTooLongError, e.to_string()))
}

pub(crate) fn timestamp(ms: UnixMillis) -> Timestamp {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Timestamp::from(t)
}

pub(crate) fn format_http_date(t: &Timestamp) -> Option<String> {
    let mut buf = Vec::new();
    t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
    String::from_utf8(buf).ok()
}

pub(crate) fn parse_http_date(s: &str) -> Option<Timestamp> {
    Timestamp::parse(TimestampFormat::HttpDate, s).ok()
}

pub(crate) fn etag_of(value: &str) -> ETag {
    ETag::Strong(value.to_string())
}

/// 400 MetadataTooLarge when the user metadata (names without the
/// `x-amz-meta-` prefix, and values, in bytes) is over S3's 2 KB.
pub(crate) fn check_metadata_size(metadata: Option<&Metadata>) -> S3Result<()> {
    let size: usize = metadata
        .into_iter()
        .flatten()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if size > MAX_USER_METADATA_BYTES {
        return Err(s3_error!(
            MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size ({size} bytes; at most {MAX_USER_METADATA_BYTES})."
        ));
    }
    Ok(())
}

/// The stored headers of a new object, from the request's headers; 400
/// MetadataTooLarge when its user metadata is over S3's limit.
#[allow(clippy::too_many_arguments)]
pub(crate) fn http_headers(
    content_type: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<&Timestamp>,
    metadata: Option<Metadata>,
) -> S3Result<HttpHeaders> {
    check_metadata_size(metadata.as_ref())?;
    let content_encoding = content_encoding.and_then(stored_content_encoding);
    Ok(HttpHeaders {
        content_type,
        content_disposition,
        content_encoding,
        content_language,
        cache_control,
        expires: expires.and_then(format_http_date),
        user_metadata: metadata
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
    })
}

/// The Content-Encoding an object keeps: the value byte for byte, except
/// that `aws-chunked` — the upload's framing, not the object's — is dropped
/// from the list (and nothing is kept when it was all there was).
fn stored_content_encoding(value: String) -> Option<String> {
    let framing = |e: &str| e.trim().eq_ignore_ascii_case("aws-chunked");
    if !value.split(',').any(framing) {
        return Some(value);
    }
    let kept: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !framing(e))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

/// `If-Match` / `If-None-Match: *` of a write, as a condition meta decides.
pub(crate) fn write_condition(
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<WriteCondition> {
    match (if_match, if_none_match) {
        (Some(_), Some(_)) => Err(s3_error!(
            NotImplemented,
            "If-Match together with If-None-Match is not supported"
        )),
        (Some(ETagCondition::ETag(e)), None) => Ok(WriteCondition::IfMatch(e.value().to_string())),
        (Some(ETagCondition::Any), None) => Err(s3_error!(
            NotImplemented,
            "If-Match: * is not supported on writes"
        )),
        (None, Some(ETagCondition::Any)) => Ok(WriteCondition::IfNoneMatchAny),
        (None, Some(ETagCondition::ETag(_))) => Err(s3_error!(
            NotImplemented,
            "If-None-Match on writes supports only *"
        )),
        (None, None) => Ok(WriteCondition::Always),
    }
}

/// Checks a client's Content-MD5 (base64) against what was received.
pub(crate) fn check_content_md5(content_md5: Option<&str>, md5: &[u8; 16]) -> S3Result<()> {
    let Some(given) = content_md5 else {
        return Ok(());
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(given.trim())
        .ok()
        .filter(|d| d.len() == 16)
        .ok_or_else(|| s3_error!(InvalidDigest, "the Content-MD5 you specified was invalid"))?;
    if decoded != md5 {
        return Err(s3_error!(
            BadDigest,
            "the Content-MD5 you specified did not match what we received"
        ));
    }
    Ok(())
}

/// The checksum fields of an upload request, as s3s parsed them.
macro_rules! given_checksums {
    ($input:expr) => {
        s3s::dto::Checksum {
            checksum_crc32: $input.checksum_crc32.clone(),
            checksum_crc32c: $input.checksum_crc32c.clone(),
            checksum_crc64nvme: $input.checksum_crc64nvme.clone(),
            checksum_sha1: $input.checksum_sha1.clone(),
            checksum_sha256: $input.checksum_sha256.clone(),
            ..Default::default()
        }
    };
}
pub(crate) use given_checksums;

#[cfg(test)]
mod tests {
    use super::stored_content_encoding as kept;

    #[test]
    fn content_encoding_is_kept_byte_for_byte_but_for_aws_chunked() {
        assert_eq!(
            kept("gzip,  deflate ".into()).as_deref(),
            Some("gzip,  deflate ")
        );
        assert_eq!(kept("x-custom".into()).as_deref(), Some("x-custom"));
        assert_eq!(kept("aws-chunked".into()), None);
        assert_eq!(kept("aws-chunked,gzip".into()).as_deref(), Some("gzip"));
        assert_eq!(kept("gzip, AWS-Chunked".into()).as_deref(), Some("gzip"));
    }
}
