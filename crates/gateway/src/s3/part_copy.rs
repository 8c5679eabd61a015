//! UploadPartCopy: a part of a multipart upload made from (a byte range of)
//! an existing object, its current version or the one `versionId` names.
//! The source is named and checked like CopyObject's (`x-amz-copy-source`,
//! `x-amz-copy-source-if-*`); its bytes are read through the data path and
//! written again under the part's own fresh data version, exactly as an
//! UploadPart of the same bytes would be, so the part's ETag is their MD5
//! and Complete treats it like any other part. For an upload with a
//! checksum algorithm the part's checksum is computed from the copied bytes.

use super::checksum::{ChecksumVerifier, checksum_dto, set_checksum};
use super::common::{check_key, etag_of, timestamp};
use super::copy::{SourceConditions, check_source_conditions, copy_source};
use super::multipart::{parse_upload_id, part_number_of};
use super::versioning::{Found, MarkerRule, find_version, version_string};
use crate::errors::{internal, meta_error};
use crate::gateway::Gateway;
use cairn_rpc::MetaCommand;
use cairn_types::limits::MAX_PART_BYTES;
use cairn_types::{ChecksumAlgorithm, PartRecord, VersionId, now_millis};
use futures::StreamExt;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

/// An `x-amz-copy-source-range`: `bytes=first-last`, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyRange {
    pub first: u64,
    pub last: u64,
}

/// Parses `bytes=first-last` (no suffix or open ranges, unlike GET's Range);
/// anything else is AWS's 400 InvalidArgument.
pub fn parse_copy_range(s: &str) -> S3Result<CopyRange> {
    let bad = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let spec = s.trim().strip_prefix("bytes=").ok_or_else(bad)?;
    let (first, last) = spec.split_once('-').ok_or_else(bad)?;
    let digits = |v: &str| {
        (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .then(|| v.parse::<u64>().ok())
            .flatten()
    };
    match (digits(first), digits(last)) {
        (Some(first), Some(last)) if first <= last => Ok(CopyRange { first, last }),
        _ => Err(bad()),
    }
}

/// The bytes (start, end exclusive) a copy takes from a source of `size` bytes.
fn resolve(range: Option<CopyRange>, size: u64) -> S3Result<(u64, u64)> {
    match range {
        None => Ok((0, size)),
        Some(r) if r.last < size => Ok((r.first, r.last + 1)),
        Some(_) => {
            let mut e = S3Error::with_message(
                S3ErrorCode::InvalidRange,
                format!("Range specified is not valid for source object of size: {size}"),
            );
            e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
            Err(e)
        }
    }
}

pub async fn upload_part_copy(
    gw: &Gateway,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let i = req.input;
    check_key(&i.key)?;
    let upload_id = parse_upload_id(&i.upload_id)?;
    let part_number = part_number_of(i.part_number)?;
    let range = i
        .copy_source_range
        .as_deref()
        .map(parse_copy_range)
        .transpose()?;
    let source = copy_source(&i.copy_source)?;
    let bucket = super::common::existing_bucket(gw, &i.bucket).await?;
    let (_, upload_extras) =
        super::common::existing_upload(gw, &i.bucket, &i.key, upload_id).await?;
    let Found {
        manifest: src,
        version_id: src_version,
        ..
    } = find_version(
        gw,
        &source.bucket,
        &source.key,
        source.version_id.as_deref(),
        MarkerRule::CopySource,
    )
    .await?;
    check_source_conditions(
        &src,
        &SourceConditions {
            if_match: i.copy_source_if_match.as_ref(),
            if_none_match: i.copy_source_if_none_match.as_ref(),
            if_modified_since: i.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: i.copy_source_if_unmodified_since.as_ref(),
        },
    )?;
    let (start, end) = resolve(range, src.size)?;
    if end - start > MAX_PART_BYTES {
        return Err(s3_error!(
            InvalidRequest,
            "The specified copy source is larger than the maximum allowable size for a copy source: {MAX_PART_BYTES}"
        ));
    }
    let data_version = VersionId::new_random();
    // An upload with a checksum algorithm needs every part's checksum; a
    // copied part's is computed here, as S3 does (a CRC64NVME for uploads
    // without an algorithm, as for their uploaded parts).
    let algorithm = upload_extras.checksum_algorithm;
    let mut hasher = ChecksumVerifier::computing(algorithm.unwrap_or(ChecksumAlgorithm::Crc64Nvme));
    let body = gw.data().read_stream(&src, start, end).inspect(|r| {
        if let Ok(b) = r {
            hasher.update(b);
        }
    });
    let stored = gw
        .data()
        .store_stream(body, data_version, part_number, bucket.redundancy, false)
        .await?;
    let checksum = hasher.verify(None)?;
    if stored.size != end - start {
        return Err(internal(format!(
            "part copy read {} of {} bytes",
            stored.size,
            end - start
        )));
    }
    let etag = hex::encode(stored.md5);
    let last_modified = now_millis();
    let part = PartRecord {
        part_number,
        etag: etag.clone(),
        size: stored.size,
        last_modified,
        data_version,
        chunks: stored.chunks(),
    };
    gw.meta()
        .write(&MetaCommand::PutPartWithChecksum {
            bucket: i.bucket,
            key: i.key,
            upload_id,
            part,
            checksum: checksum.clone(),
        })
        .await
        .map_err(meta_error)?;
    let mut result = CopyPartResult {
        e_tag: Some(etag_of(&etag)),
        last_modified: Some(timestamp(last_modified)),
        ..Default::default()
    };
    if algorithm.is_some() {
        set_checksum!(result, checksum.as_ref().map(checksum_dto));
    }
    Ok(S3Response::new(UploadPartCopyOutput {
        copy_part_result: Some(result),
        copy_source_version_id: version_string(src_version),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges_are_first_last_only() {
        assert_eq!(
            parse_copy_range("bytes=0-9").ok(),
            Some(CopyRange { first: 0, last: 9 })
        );
        assert_eq!(
            parse_copy_range("bytes=5-5").ok(),
            Some(CopyRange { first: 5, last: 5 })
        );
        for bad in [
            "bytes=-1",
            "bytes=2-",
            "bytes=",
            "bytes=2--1",
            "bytes=9-3",
            "0-9",
            "bytes=a-b",
            "bytes=1-2,4-5",
            "bytes=+1-2",
        ] {
            let e = parse_copy_range(bad).expect_err(bad);
            assert_eq!(e.code(), &S3ErrorCode::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn ranges_must_lie_inside_the_source() {
        let r = |first, last| Some(CopyRange { first, last });
        assert_eq!(resolve(None, 10).ok(), Some((0, 10)));
        assert_eq!(resolve(r(0, 9), 10).ok(), Some((0, 10)));
        assert_eq!(resolve(r(3, 4), 10).ok(), Some((3, 5)));
        let e = resolve(r(5, 10), 10).expect_err("past the end");
        assert_eq!(e.code(), &S3ErrorCode::InvalidRange);
        assert_eq!(
            e.status_code(),
            Some(http::StatusCode::RANGE_NOT_SATISFIABLE)
        );
        assert!(resolve(r(0, 0), 0).is_err());
    }
}
