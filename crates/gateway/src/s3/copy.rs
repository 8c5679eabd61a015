//! CopyObject, and what UploadPartCopy shares with it: naming the source
//! (`x-amz-copy-source`), its conditional headers
//! (`x-amz-copy-source-if-*`), and the destination's write condition. A copy
//! reads the source through the data path and writes it again under a new
//! version; the metadata (headers, tags) is copied or replaced as the
//! directives say. The source's checksum holds for the copy, unless the
//! request names another algorithm (or the source has none), which is then
//! computed from the copied bytes. A source may name a version
//! (`?versionId=`); a delete marker is never a source.

use super::checksum::{ChecksumVerifier, algorithm_named, checksum_dto, set_checksum};
use super::common::{check_key, etag_of, http_headers, timestamp};
use super::tagging::header_tags;
use super::versioning::{Found, MarkerRule, find_version, version_string};
use crate::errors::{internal, meta_error};
use crate::gateway::Gateway;
use cairn_rpc::{MetaCommand, MetaResponse, WriteCondition};
use cairn_types::{
    ChecksumAlgorithm, ObjectData, ObjectExtras, ObjectManifest, Redundancy, VersionId, now_millis,
};
use futures::StreamExt;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

/// What an `x-amz-copy-source` names.
pub(crate) struct SourceRef {
    pub bucket: String,
    pub key: String,
    /// The `versionId` given (None: the current version).
    pub version_id: Option<String>,
}

/// The bucket, key and version an `x-amz-copy-source` names.
pub(crate) fn copy_source(source: &CopySource) -> S3Result<SourceRef> {
    match source {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => Ok(SourceRef {
            bucket: bucket.to_string(),
            key: key.to_string(),
            version_id: version_id.as_deref().map(str::to_string),
        }),
        CopySource::AccessPoint { .. } | CopySource::Outpost { .. } => Err(s3_error!(
            NotImplemented,
            "access point and outpost copy sources are not supported"
        )),
    }
}

/// The `x-amz-copy-source-if-*` headers of a copy.
pub(crate) struct SourceConditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
    pub if_unmodified_since: Option<&'a Timestamp>,
}

/// Checks the copy-source conditions against the source: any that fails is
/// 412 PreconditionFailed.
pub(crate) fn check_source_conditions(src: &ObjectManifest, c: &SourceConditions) -> S3Result<()> {
    let cond_etag = |c: &ETagCondition| match c {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == src.etag,
    };
    let secs = |t: &Timestamp| time::OffsetDateTime::from(t.clone()).unix_timestamp();
    let src_secs = src.last_modified.div_euclid(1000);
    if c.if_match.is_some_and(|c| !cond_etag(c))
        || c.if_none_match.is_some_and(cond_etag)
        || c.if_unmodified_since.is_some_and(|t| src_secs > secs(t))
        || c.if_modified_since.is_some_and(|t| src_secs <= secs(t))
    {
        return Err(s3_error!(PreconditionFailed));
    }
    Ok(())
}

/// `If-None-Match: *` / `If-Match` on a CopyObject apply to the destination.
/// s3s does not parse them for this operation, so they are read here.
fn copy_destination_condition(headers: &http::HeaderMap) -> S3Result<WriteCondition> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    match (get("if-match"), get("if-none-match")) {
        (None, None) => Ok(WriteCondition::Always),
        (None, Some("*")) => Ok(WriteCondition::IfNoneMatchAny),
        (Some(etag), None) if etag != "*" => {
            Ok(WriteCondition::IfMatch(etag.trim_matches('"').to_string()))
        }
        _ => Err(s3_error!(
            NotImplemented,
            "CopyObject supports If-None-Match: * or one If-Match ETag"
        )),
    }
}

/// Whether a `COPY`/`REPLACE` directive says REPLACE (absent: COPY).
fn replaces(directive: Option<&str>, header: &str) -> S3Result<bool> {
    match directive {
        None | Some("COPY") => Ok(false),
        Some("REPLACE") => Ok(true),
        Some(other) => Err(s3_error!(
            InvalidArgument,
            "Unknown {header} value {other}; expected COPY or REPLACE"
        )),
    }
}

/// Writes the source's bytes again under `version` with the destination's
/// redundancy (inline data stays inline), feeding them to `hasher` on the way.
async fn copy_data(
    gw: &Gateway,
    src: &ObjectManifest,
    version: VersionId,
    redundancy: Redundancy,
    mut hasher: Option<&mut ChecksumVerifier>,
) -> S3Result<ObjectData> {
    match &src.data {
        ObjectData::Inline(d) => {
            if let Some(h) = hasher.as_mut() {
                h.update(d);
            }
            Ok(ObjectData::Inline(d.clone()))
        }
        ObjectData::Chunked { .. } | ObjectData::Placed { .. } => {
            let body = gw.data().read_stream(src, 0, src.size).inspect(|r| {
                if let (Some(h), Ok(b)) = (hasher.as_mut(), r) {
                    h.update(b);
                }
            });
            let stored = gw
                .data()
                .store_stream(body, version, 0, redundancy, false)
                .await?;
            if stored.size != src.size {
                return Err(internal(format!(
                    "copy read {} of {} bytes",
                    stored.size, src.size
                )));
            }
            Ok(stored.data)
        }
    }
}

pub async fn copy_object(
    gw: &Gateway,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    let dest_condition = copy_destination_condition(&req.headers)?;
    let i = req.input;
    check_key(&i.key)?;
    super::acl::check_object_write_acl(i.acl.as_ref(), super::acl::object_grants!(i))?;
    let source = copy_source(&i.copy_source)?;
    let replace = replaces(
        i.metadata_directive.as_ref().map(|d| d.as_str()),
        "x-amz-metadata-directive",
    )?;
    let replace_tags = replaces(
        i.tagging_directive.as_ref().map(|d| d.as_str()),
        "x-amz-tagging-directive",
    )?;
    let new_tags = if replace_tags {
        Some(header_tags(i.tagging.as_deref())?)
    } else {
        None
    };
    let Found {
        manifest: src,
        extras: src_extras,
        version_id: src_version,
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
    // Copying a named version onto its own key is how S3 restores an old
    // version, so only an unversioned self-copy must change something.
    if !replace && source.version_id.is_none() && source.bucket == i.bucket && source.key == i.key {
        return Err(s3_error!(
            InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata"
        ));
    }
    let headers = if replace {
        http_headers(
            i.content_type,
            i.content_disposition,
            i.content_encoding,
            i.content_language,
            i.cache_control,
            i.expires.as_ref(),
            i.metadata,
        )?
    } else {
        src.headers.clone()
    };
    let dest = super::common::existing_bucket(gw, &i.bucket).await?;
    let version = VersionId::new_random();
    // A new checksum is computed while copying when the request names an
    // algorithm, or when the source has none (S3's default CRC64NVME);
    // otherwise the source's holds for the same bytes.
    let recompute = match i.checksum_algorithm.as_ref() {
        Some(a) => Some(algorithm_named(a)?),
        None => src_extras
            .checksum
            .is_none()
            .then_some(ChecksumAlgorithm::Crc64Nvme),
    };
    let mut hasher = recompute.map(ChecksumVerifier::computing);
    let data = copy_data(gw, &src, version, dest.redundancy, hasher.as_mut()).await?;
    let last_modified = now_millis();
    let manifest = ObjectManifest {
        bucket: i.bucket,
        key: i.key,
        version,
        size: src.size,
        etag: src.etag.clone(),
        last_modified,
        headers,
        data,
        part_sizes: src.part_sizes.clone(),
    };
    let extras = match hasher {
        Some(h) => ObjectExtras {
            tags: new_tags.unwrap_or(src_extras.tags),
            checksum: h.verify(None)?,
            part_checksums: Vec::new(),
        },
        None => ObjectExtras {
            tags: new_tags.unwrap_or(src_extras.tags),
            ..src_extras
        },
    };
    let mut result = CopyObjectResult {
        e_tag: Some(etag_of(&src.etag)),
        last_modified: Some(timestamp(last_modified)),
        ..Default::default()
    };
    set_checksum!(result, extras.checksum.as_ref().map(checksum_dto), type);
    let written = gw
        .meta()
        .write(&MetaCommand::PutObjectWithExtras {
            manifest,
            condition: dest_condition,
            extras,
        })
        .await
        .map_err(meta_error)?;
    let MetaResponse::Written { version_id, .. } = written else {
        return Err(internal(format!("unexpected meta answer {written:?}")));
    };
    let output = CopyObjectOutput {
        copy_object_result: Some(result),
        version_id: version_string(version_id),
        copy_source_version_id: version_string(src_version),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}
