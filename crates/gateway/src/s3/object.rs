//! Object operations: PutObject, GetObject and HeadObject, the latter two of
//! the current version or of the one `versionId` names (DeleteObject and
//! DeleteObjects are in `delete`, CopyObject in `copy`, what a `versionId`
//! means in `versioning`).

use super::checksum::{checksum_dto, response_checksum, set_checksum};
use super::common::{
    check_content_md5, check_key, etag_of, given_checksums, http_headers, parse_http_date,
    timestamp, write_condition,
};
use super::versioning::{Found, MarkerRule, find_version, version_string};
use crate::errors::{internal, meta_error};
use crate::gateway::Gateway;
use cairn_rpc::{MetaCommand, MetaResponse};
use cairn_types::limits::{MAX_PART_NUMBER, MAX_SINGLE_PUT_BYTES};
use cairn_types::{HttpHeaders, ObjectExtras, ObjectManifest, VersionId, now_millis};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

/// Evaluates GET/HEAD preconditions in the order RFC 9110 gives them.
fn check_read_conditions(
    m: &ObjectManifest,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let matches = |c: &ETagCondition| match c {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == m.etag,
    };
    let last_modified_secs = m.last_modified.div_euclid(1000);
    let secs = |t: &Timestamp| time::OffsetDateTime::from(t.clone()).unix_timestamp();
    if let Some(c) = if_match {
        if !matches(c) {
            return Err(s3_error!(PreconditionFailed));
        }
    } else if let Some(t) = if_unmodified_since
        && last_modified_secs > secs(t)
    {
        return Err(s3_error!(PreconditionFailed));
    }
    if let Some(c) = if_none_match {
        if matches(c) {
            return Err(s3_error!(NotModified));
        }
    } else if let Some(t) = if_modified_since
        && last_modified_secs <= secs(t)
    {
        return Err(s3_error!(NotModified));
    }
    Ok(())
}

/// The answer to a partNumber the object does not have: 400
/// InvalidPartNumber (what the S3 conformance suite checks; the part
/// number is a bad argument, not a bad range).
fn invalid_part_number() -> S3Error {
    let mut e = S3Error::with_message(
        S3ErrorCode::Custom("InvalidPartNumber".into()),
        "The requested partnumber is not satisfiable",
    );
    e.set_status_code(http::StatusCode::BAD_REQUEST);
    e
}

/// The byte range (start, end exclusive) and Content-Range a read serves.
pub(super) fn read_range(
    m: &ObjectManifest,
    range: Option<&Range>,
    part_number: Option<i32>,
) -> S3Result<(u64, u64, Option<String>)> {
    if let Some(n) = part_number {
        if range.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "cannot specify both Range and partNumber"
            ));
        }
        let sizes: Vec<u64> = if m.part_sizes.is_empty() {
            vec![m.size]
        } else {
            m.part_sizes.clone()
        };
        if !(1..=MAX_PART_NUMBER as i32).contains(&n) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            ));
        }
        let idx = usize::try_from(n)
            .ok()
            .filter(|&n| n <= sizes.len())
            .ok_or_else(invalid_part_number)?;
        let start: u64 = sizes[..idx - 1].iter().sum();
        let end = start + sizes[idx - 1];
        let cr =
            (m.size > 0).then(|| format!("bytes {start}-{}/{}", end.saturating_sub(1), m.size));
        return Ok((start, end, cr));
    }
    match range {
        None => Ok((0, m.size, None)),
        Some(r) => {
            // A suffix range of a 0-byte object selects nothing: unsatisfiable
            // (RFC 9110 14.1.1), and there is no last byte to name.
            let r = r
                .check(m.size)
                .ok()
                .filter(|r| !r.is_empty())
                .ok_or_else(|| s3_error!(InvalidRange, "the requested range is not satisfiable"))?;
            let cr = format!("bytes {}-{}/{}", r.start, r.end - 1, m.size);
            Ok((r.start, r.end, Some(cr)))
        }
    }
}

/// Whether a read asked for the stored checksum (`x-amz-checksum-mode: ENABLED`).
fn checksum_wanted(mode: Option<&ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED))
}

/// `x-amz-tagging-count`: present when the object has tags.
fn tag_count(extras: &ObjectExtras) -> Option<i32> {
    (!extras.tags.is_empty()).then_some(extras.tags.len() as i32)
}

/// Stores an upload body while verifying its `x-amz-checksum-*`; answers
/// what was stored and the checksums found (see `checksum::Verified`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn store_verified(
    gw: &Gateway,
    body: Option<StreamingBlob>,
    verifier: super::checksum::ChecksumVerifier,
    trailers: Option<&s3s::TrailingHeaders>,
    version: VersionId,
    part: u32,
    redundancy: cairn_types::Redundancy,
    allow_inline: bool,
) -> S3Result<(crate::data::Stored, super::checksum::Verified)> {
    use futures::StreamExt;
    let mut verifier = verifier;
    let body: futures::stream::BoxStream<'_, Result<bytes::Bytes, String>> = match body {
        Some(b) => b.map(|r| r.map_err(|e| e.to_string())).boxed(),
        None => futures::stream::empty().boxed(),
    };
    let observed = body.inspect(|r| {
        if let Ok(b) = r {
            verifier.update(b);
        }
    });
    let stored = gw
        .data()
        .store_stream(observed, version, part, redundancy, allow_inline)
        .await?;
    let checksums = verifier.verify_all(trailers)?;
    Ok((stored, checksums))
}

pub async fn put_object(
    gw: &Gateway,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let verifier =
        super::checksum::ChecksumVerifier::new(&req.headers, &given_checksums!(req.input))?
            .or_default_crc64nvme();
    let trailers = req.trailing_headers;
    let input = req.input;
    check_key(&input.key)?;
    if input
        .content_length
        .is_some_and(|l| l as u64 > MAX_SINGLE_PUT_BYTES)
    {
        return Err(s3_error!(
            EntityTooLarge,
            "a single PUT may be at most 5 GiB; use multipart upload"
        ));
    }
    let condition = write_condition(input.if_match.as_ref(), input.if_none_match.as_ref())?;
    let tags = super::tagging::header_tags(input.tagging.as_deref())?;
    super::acl::check_object_write_acl(input.acl.as_ref(), super::acl::object_grants!(input))?;
    let bucket = super::common::existing_bucket(gw, &input.bucket).await?;
    let headers = http_headers(
        input.content_type,
        input.content_disposition,
        input.content_encoding,
        input.content_language,
        input.cache_control,
        input.expires.as_ref(),
        input.metadata,
    )?;
    let version = VersionId::new_random();
    let (stored, super::checksum::Verified { checksum, .. }) = store_verified(
        gw,
        input.body,
        verifier,
        trailers.as_ref(),
        version,
        0,
        bucket.redundancy,
        true,
    )
    .await?;
    if let Some(expected) = input.content_length
        && expected as u64 != stored.size
    {
        return Err(s3_error!(
            IncompleteBody,
            "the body was shorter or longer than Content-Length"
        ));
    }
    if stored.size > MAX_SINGLE_PUT_BYTES {
        return Err(s3_error!(
            EntityTooLarge,
            "a single PUT may be at most 5 GiB; use multipart upload"
        ));
    }
    check_content_md5(input.content_md5.as_deref(), &stored.md5)?;
    let etag = hex::encode(stored.md5);
    let manifest = ObjectManifest {
        bucket: input.bucket,
        key: input.key,
        version,
        size: stored.size,
        etag: etag.clone(),
        last_modified: now_millis(),
        headers,
        data: stored.data,
        part_sizes: Vec::new(),
    };
    let version_id = match gw
        .meta()
        .write(&MetaCommand::PutObjectWithExtras {
            manifest,
            condition,
            extras: ObjectExtras {
                tags,
                checksum: checksum.clone(),
                part_checksums: Vec::new(),
            },
        })
        .await
        .map_err(meta_error)?
    {
        MetaResponse::Written { version_id, .. } => version_id,
        other => return Err(internal(format!("unexpected meta answer {other:?}"))),
    };
    let mut output = PutObjectOutput {
        e_tag: Some(etag_of(&etag)),
        size: Some(stored.size as i64),
        version_id: version_string(version_id),
        ..Default::default()
    };
    set_checksum!(output, checksum.as_ref().map(checksum_dto), type);
    Ok(S3Response::new(output))
}

/// The response headers of an object, with `response-*` overrides applied.
struct Presented {
    content_type: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<Timestamp>,
    metadata: Option<Metadata>,
}

#[allow(clippy::too_many_arguments)]
fn present(
    h: &HttpHeaders,
    rct: Option<String>,
    rcd: Option<String>,
    rce: Option<String>,
    rcl: Option<String>,
    rcc: Option<String>,
    rexp: Option<Timestamp>,
) -> Presented {
    let metadata: Metadata = h
        .user_metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Presented {
        content_type: rct
            .or_else(|| h.content_type.clone())
            .or_else(|| Some("binary/octet-stream".to_string())),
        content_disposition: rcd.or_else(|| h.content_disposition.clone()),
        content_encoding: rce.or_else(|| h.content_encoding.clone()),
        content_language: rcl.or_else(|| h.content_language.clone()),
        cache_control: rcc.or_else(|| h.cache_control.clone()),
        expires: rexp.or_else(|| h.expires.as_deref().and_then(parse_http_date)),
        metadata: (!metadata.is_empty()).then_some(metadata),
    }
}

/// `x-amz-mp-parts-count`: AWS sends it only when a part was asked for and
/// the object is a multipart one (never for a single PUT, even with partNumber=1).
fn parts_count(m: &ObjectManifest, part_number: Option<i32>) -> Option<i32> {
    (part_number.is_some() && !m.part_sizes.is_empty()).then_some(m.part_sizes.len() as i32)
}

/// What GET and HEAD share: the version read, its preconditions checked,
/// the range served, the checksum to answer and the headers to present.
struct ReadPlan {
    manifest: ObjectManifest,
    extras: ObjectExtras,
    version_id: Option<cairn_types::ObjectVersionId>,
    start: u64,
    end: u64,
    content_range: Option<String>,
    checksum: Option<Checksum>,
    presented: Presented,
}

/// Builds a `ReadPlan` from a GetObject or HeadObject input (the fields
/// they share have the same names).
macro_rules! plan_read {
    ($gw:expr, $i:expr) => {{
        let i = $i;
        let Found {
            manifest,
            extras,
            version_id,
        } = find_version(
            $gw,
            &i.bucket,
            &i.key,
            i.version_id.as_deref(),
            MarkerRule::Read,
        )
        .await?;
        check_read_conditions(
            &manifest,
            i.if_match.as_ref(),
            i.if_none_match.as_ref(),
            i.if_modified_since.as_ref(),
            i.if_unmodified_since.as_ref(),
        )?;
        let (start, end, content_range) = read_range(&manifest, i.range.as_ref(), i.part_number)?;
        let checksum = checksum_wanted(i.checksum_mode.as_ref())
            .then(|| response_checksum(&manifest, &extras, i.range.is_some(), i.part_number))
            .flatten();
        let presented = present(
            &manifest.headers,
            i.response_content_type,
            i.response_content_disposition,
            i.response_content_encoding,
            i.response_content_language,
            i.response_cache_control,
            i.response_expires,
        );
        ReadPlan {
            manifest,
            extras,
            version_id,
            start,
            end,
            content_range,
            checksum,
            presented,
        }
    }};
}

pub async fn get_object(
    gw: &Gateway,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let partial = req.input.range.is_some() || req.input.part_number.is_some();
    let part_number = req.input.part_number;
    let ReadPlan {
        manifest: m,
        extras,
        version_id,
        start,
        end,
        content_range,
        checksum,
        presented: p,
    } = plan_read!(gw, req.input);
    let body = gw.data().read_stream(&m, start, end);
    let mut output = GetObjectOutput {
        body: Some(body),
        accept_ranges: Some("bytes".to_string()),
        content_length: Some((end - start) as i64),
        content_range,
        e_tag: Some(etag_of(&m.etag)),
        last_modified: Some(timestamp(m.last_modified)),
        content_type: p.content_type,
        content_disposition: p.content_disposition,
        content_encoding: p.content_encoding,
        content_language: p.content_language,
        cache_control: p.cache_control,
        expires: p.expires,
        metadata: p.metadata,
        parts_count: parts_count(&m, part_number),
        tag_count: tag_count(&extras),
        version_id: version_string(version_id),
        ..Default::default()
    };
    set_checksum!(output, checksum, type);
    let mut resp = S3Response::new(output);
    if partial {
        resp.status = Some(http::StatusCode::PARTIAL_CONTENT);
    }
    Ok(resp)
}

pub async fn head_object(
    gw: &Gateway,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let part_number = req.input.part_number;
    let ReadPlan {
        manifest: m,
        extras,
        version_id,
        start,
        end,
        content_range,
        checksum,
        presented: p,
    } = plan_read!(gw, req.input);
    let mut output = HeadObjectOutput {
        accept_ranges: Some("bytes".to_string()),
        content_length: Some((end - start) as i64),
        content_range,
        e_tag: Some(etag_of(&m.etag)),
        last_modified: Some(timestamp(m.last_modified)),
        content_type: p.content_type,
        content_disposition: p.content_disposition,
        content_encoding: p.content_encoding,
        content_language: p.content_language,
        cache_control: p.cache_control,
        expires: p.expires,
        metadata: p.metadata,
        parts_count: parts_count(&m, part_number),
        version_id: version_string(version_id),
        ..Default::default()
    };
    set_checksum!(output, checksum, type);
    // (A HEAD with Content-Range becomes 206 in `http::router`: s3s ignores
    // the status of a HeadObject answer.)
    let mut resp = S3Response::new(output);
    // HeadObjectOutput has no field for it; S3 sends it on HEAD as on GET.
    if let Some(n) = tag_count(&extras) {
        resp.headers
            .insert("x-amz-tagging-count", http::HeaderValue::from(n));
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_types::ObjectData;

    fn manifest(size: u64) -> ObjectManifest {
        ObjectManifest {
            bucket: "b".into(),
            key: "k".into(),
            version: VersionId::new_random(),
            size,
            etag: String::new(),
            last_modified: 0,
            headers: HttpHeaders::default(),
            data: ObjectData::Inline(vec![0; size as usize]),
            part_sizes: Vec::new(),
        }
    }

    /// `bytes=-N` of a 0-byte object selected 0..0 and then named its last
    /// byte as `end - 1`, which underflowed (a panic in debug builds, a reset
    /// connection for the client); it is 416 InvalidRange.
    #[test]
    fn a_range_of_an_empty_object_is_unsatisfiable() {
        let empty = manifest(0);
        for range in [
            Range::Suffix { length: 5 },
            Range::Int {
                first: 0,
                last: None,
            },
        ] {
            let e = read_range(&empty, Some(&range), None).expect_err("unsatisfiable");
            assert_eq!(e.code(), &S3ErrorCode::InvalidRange);
        }
        assert_eq!(read_range(&empty, None, None).expect("whole").0, 0);
        let (start, end, cr) =
            read_range(&manifest(10), Some(&Range::Suffix { length: 5 }), None).expect("suffix");
        assert_eq!((start, end, cr.as_deref()), (5, 10, Some("bytes 5-9/10")));
    }
}
