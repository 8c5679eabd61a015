//! Multipart uploads: Create, UploadPart, Complete, Abort, ListParts and
//! ListMultipartUploads. Each upload of a part writes its chunks under a fresh
//! data version, so re-uploading a part number never overwrites shards a
//! concurrent Complete may still reference; meta validates the part list and
//! assembles the manifest atomically. Checksums: an upload's algorithm and
//! type (COMPOSITE / FULL_OBJECT) are fixed at Create; parts must then carry
//! that checksum, and meta derives the object's checksum at Complete (see
//! `docs/architecture.md`, "Checksums").

use super::checksum::{checksum_dto, set_checksum};
use super::common::{
    check_content_md5, check_key, etag_of, given_checksums, http_headers, timestamp,
    write_condition,
};
use super::list::url_encode;
use super::object::store_verified;
use crate::errors::{internal, meta_error};
use crate::gateway::Gateway;
use cairn_rpc::meta_reads as reads;
use cairn_rpc::{CompletedPart as MetaPart, MetaCommand, MetaResponse};
use cairn_types::limits::{MAX_COMPLETE_PARTS, MAX_PART_BYTES, MAX_PART_NUMBER};
use cairn_types::{
    ChecksumAlgorithm, PartRecord, StoredChecksum, UploadExtras, UploadRecord, VersionId,
    now_millis,
};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

/// Parts ListParts returns when the client does not say (S3's default and maximum).
pub const DEFAULT_MAX_PARTS: i32 = 1000;

pub(crate) fn parse_upload_id(s: &str) -> S3Result<VersionId> {
    VersionId::parse(s).ok_or_else(|| s3_error!(NoSuchUpload))
}

/// A part number as S3 allows it: 1 to 10000.
pub(crate) fn part_number_of(n: i32) -> S3Result<u32> {
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive"
            )
        })
}

/// The checksum algorithm and type (FULL_OBJECT: true) CreateMultipartUpload
/// asks for, by AWS's rules: CRC64NVME is FULL_OBJECT only, SHA1/SHA256
/// COMPOSITE only, CRC32/CRC32C either (COMPOSITE by default).
fn upload_checksum(
    algorithm: Option<&s3s::dto::ChecksumAlgorithm>,
    kind: Option<&ChecksumType>,
) -> S3Result<Option<(ChecksumAlgorithm, bool)>> {
    let Some(algorithm) = algorithm else {
        if kind.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
            ));
        }
        return Ok(None);
    };
    let algorithm = super::checksum::algorithm_named(algorithm)?;
    let full_object = match kind.map(ChecksumType::as_str) {
        None => algorithm == ChecksumAlgorithm::Crc64Nvme,
        Some(ChecksumType::FULL_OBJECT) => true,
        Some(ChecksumType::COMPOSITE) => false,
        Some(other) => {
            return Err(s3_error!(
                InvalidRequest,
                "Value for x-amz-checksum-type header is invalid: {other}"
            ));
        }
    };
    let name = algorithm.name().to_ascii_lowercase();
    if full_object && !algorithm.is_crc() {
        return Err(s3_error!(
            InvalidRequest,
            "The FULL_OBJECT checksum type cannot be used with the {name} checksum algorithm."
        ));
    }
    if !full_object && algorithm == ChecksumAlgorithm::Crc64Nvme {
        return Err(s3_error!(
            InvalidRequest,
            "The COMPOSITE checksum type cannot be used with the {name} checksum algorithm."
        ));
    }
    Ok(Some((algorithm, full_object)))
}

/// FULL_OBJECT or COMPOSITE.
fn checksum_type_of(full_object: bool) -> ChecksumType {
    ChecksumType::from_static(if full_object {
        ChecksumType::FULL_OBJECT
    } else {
        ChecksumType::COMPOSITE
    })
}

/// The first set of S3's five checksum fields (CRC32, CRC32C, CRC64NVME,
/// SHA1, SHA256, in `ChecksumAlgorithm::ALL` order), as a checksum.
fn first_checksum(fields: [&Option<String>; 5]) -> Option<StoredChecksum> {
    ChecksumAlgorithm::ALL
        .into_iter()
        .zip(fields)
        .find_map(|(algorithm, v)| {
            v.as_ref().map(|value| StoredChecksum {
                algorithm,
                value: value.trim().to_string(),
                parts: None,
            })
        })
}

/// The object checksum a CompleteMultipartUpload sends (`x-amz-checksum-*`), if any.
fn sent_object_checksum(i: &CompleteMultipartUploadInput) -> Option<StoredChecksum> {
    first_checksum([
        &i.checksum_crc32,
        &i.checksum_crc32c,
        &i.checksum_crc64nvme,
        &i.checksum_sha1,
        &i.checksum_sha256,
    ])
}

/// Refuses, before any data is stored, a part whose promised checksum is not
/// the upload's algorithm (meta decides again when the part is recorded).
fn check_part_checksum(
    upload: Option<ChecksumAlgorithm>,
    promised: Option<ChecksumAlgorithm>,
) -> S3Result<()> {
    match (upload, promised) {
        (None, _) => Ok(()),
        (Some(a), Some(p)) if a == p => Ok(()),
        (Some(a), Some(p)) => Err(s3_error!(
            InvalidRequest,
            "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
            a.name().to_ascii_lowercase(),
            p.name().to_ascii_lowercase()
        )),
        (Some(a), None) => {
            let a = a.name().to_ascii_lowercase();
            Err(s3_error!(
                InvalidRequest,
                "The upload was created using a {a} checksum. The part upload request must include a {a} checksum."
            ))
        }
    }
}

/// The checksum a CompleteMultipartUpload lists for a part, if any.
fn listed_checksum(p: &CompletedPart) -> Option<StoredChecksum> {
    first_checksum([
        &p.checksum_crc32,
        &p.checksum_crc32c,
        &p.checksum_crc64nvme,
        &p.checksum_sha1,
        &p.checksum_sha256,
    ])
}

fn strip_quotes(etag: &str) -> String {
    etag.trim().trim_matches('"').to_string()
}

pub async fn create(
    gw: &Gateway,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let i = req.input;
    check_key(&i.key)?;
    super::acl::check_object_write_acl(i.acl.as_ref(), super::acl::object_grants!(i))?;
    let upload_id = VersionId::new_random();
    let headers = http_headers(
        i.content_type,
        i.content_disposition,
        i.content_encoding,
        i.content_language,
        i.cache_control,
        i.expires.as_ref(),
        i.metadata,
    )?;
    let record = UploadRecord {
        upload_id,
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        initiated: now_millis(),
        headers,
    };
    let checksum = upload_checksum(i.checksum_algorithm.as_ref(), i.checksum_type.as_ref())?;
    let extras = UploadExtras {
        tags: super::tagging::header_tags(i.tagging.as_deref())?,
        checksum_algorithm: checksum.map(|(a, _)| a),
        full_object: checksum.is_some_and(|(_, full)| full),
    };
    gw.meta()
        .write(&MetaCommand::CreateUploadWithExtras {
            upload: record,
            extras,
        })
        .await
        .map_err(meta_error)?;
    let output = CreateMultipartUploadOutput {
        bucket: Some(i.bucket),
        key: Some(i.key),
        upload_id: Some(upload_id.to_string()),
        checksum_algorithm: checksum
            .map(|(a, _)| s3s::dto::ChecksumAlgorithm::from(a.name().to_string())),
        checksum_type: checksum.map(|(_, full)| checksum_type_of(full)),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

pub async fn upload_part(
    gw: &Gateway,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let verifier =
        super::checksum::ChecksumVerifier::new(&req.headers, &given_checksums!(req.input))?;
    let trailers = req.trailing_headers;
    let i = req.input;
    let upload_id = parse_upload_id(&i.upload_id)?;
    let part_number = part_number_of(i.part_number)?;
    if i.content_length.is_some_and(|l| l as u64 > MAX_PART_BYTES) {
        return Err(s3_error!(EntityTooLarge, "a part may be at most 5 GiB"));
    }
    let bucket = super::common::existing_bucket(gw, &i.bucket).await?;
    // Refuse parts of unknown uploads, or without the upload's checksum,
    // before storing any data.
    let (_, upload_extras) =
        super::common::existing_upload(gw, &i.bucket, &i.key, upload_id).await?;
    check_part_checksum(upload_extras.checksum_algorithm, verifier.promised())?;
    // Without an upload algorithm, the part keeps a CRC64NVME of its own
    // (the object gets their FULL_OBJECT combination, as at AWS).
    let default_crc = upload_extras.checksum_algorithm.is_none();
    let verifier = if default_crc {
        verifier.also_crc64nvme()
    } else {
        verifier
    };
    let data_version = VersionId::new_random();
    let (stored, checksums) = store_verified(
        gw,
        i.body,
        verifier,
        trailers.as_ref(),
        data_version,
        part_number,
        bucket.redundancy,
        false,
    )
    .await?;
    if let Some(expected) = i.content_length
        && expected as u64 != stored.size
    {
        return Err(s3_error!(
            IncompleteBody,
            "the body was shorter or longer than Content-Length"
        ));
    }
    check_content_md5(i.content_md5.as_deref(), &stored.md5)?;
    let etag = hex::encode(stored.md5);
    let part = PartRecord {
        part_number,
        etag: etag.clone(),
        size: stored.size,
        last_modified: now_millis(),
        data_version,
        chunks: stored.chunks(),
    };
    let cmd = MetaCommand::PutPartWithChecksum {
        bucket: i.bucket,
        key: i.key,
        upload_id,
        part,
        checksum: if default_crc {
            checksums.crc64nvme
        } else {
            checksums.checksum.clone()
        },
    };
    gw.meta().write(&cmd).await.map_err(meta_error)?;
    let mut output = UploadPartOutput {
        e_tag: Some(etag_of(&etag)),
        ..Default::default()
    };
    // The answer echoes the checksum the client sent.
    set_checksum!(output, checksums.checksum.as_ref().map(checksum_dto));
    Ok(S3Response::new(output))
}

pub async fn complete(
    gw: &Gateway,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let i = req.input;
    let upload_id = parse_upload_id(&i.upload_id)?;
    let condition = write_condition(i.if_match.as_ref(), i.if_none_match.as_ref())?;
    let object_checksum = sent_object_checksum(&i);
    let requested = i.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
    if requested.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "the XML you provided did not list any parts"
        ));
    }
    if requested.len() > MAX_COMPLETE_PARTS {
        return Err(s3_error!(
            InvalidArgument,
            "a multipart upload has at most {MAX_COMPLETE_PARTS} parts; the list names {}",
            requested.len()
        ));
    }
    let mut parts = Vec::with_capacity(requested.len());
    let mut part_checksums: Vec<Option<StoredChecksum>> =
        requested.iter().map(listed_checksum).collect();
    for p in requested {
        let number = p
            .part_number
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| s3_error!(InvalidPart, "a part has no valid PartNumber"))?;
        let etag = p
            .e_tag
            .map(|e| strip_quotes(e.value()))
            .ok_or_else(|| s3_error!(InvalidPart, "part {number} has no ETag"))?;
        parts.push(MetaPart {
            part_number: number,
            etag,
        });
    }
    last_of_each_number(&mut parts, &mut part_checksums);
    let cmd = MetaCommand::CompleteUploadWithChecksums {
        bucket: i.bucket.clone(),
        key: i.key.clone(),
        upload_id,
        parts,
        part_checksums,
        object_checksum,
        version: VersionId::new_random(),
        last_modified: now_millis(),
        condition,
    };
    let (manifest, extras, version_id) = match gw.meta().write(&cmd).await.map_err(meta_error)? {
        MetaResponse::CompletedWithExtras {
            manifest,
            extras,
            version_id,
            ..
        } => (manifest, extras, version_id),
        other => return Err(internal(format!("unexpected meta answer {other:?}"))),
    };
    let mut output = CompleteMultipartUploadOutput {
        bucket: Some(i.bucket.clone()),
        key: Some(i.key.clone()),
        e_tag: Some(etag_of(&manifest.etag)),
        location: Some(format!("/{}/{}", i.bucket, url_encode(&i.key))),
        version_id: super::versioning::version_string(version_id),
        ..Default::default()
    };
    set_checksum!(output, extras.checksum.as_ref().map(checksum_dto), type);
    Ok(S3Response::new(output))
}

/// A part number listed several times in a row (a part sent again while
/// its first upload was still running, each answer listed): the last entry
/// stands for it, as the last upload of a part is the one stored. Numbers
/// that go down are left for meta to refuse as InvalidPartOrder.
fn last_of_each_number(parts: &mut Vec<MetaPart>, checksums: &mut Vec<Option<StoredChecksum>>) {
    debug_assert_eq!(parts.len(), checksums.len());
    let keep: Vec<bool> = (0..parts.len())
        .map(|i| {
            parts
                .get(i + 1)
                .is_none_or(|next| next.part_number != parts[i].part_number)
        })
        .collect();
    let mut flags = keep.iter();
    parts.retain(|_| flags.next().copied().unwrap_or(true));
    let mut flags = keep.iter();
    checksums.retain(|_| flags.next().copied().unwrap_or(true));
}

pub async fn abort(
    gw: &Gateway,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let i = req.input;
    let upload_id = parse_upload_id(&i.upload_id)?;
    gw.meta()
        .write(&MetaCommand::AbortUpload {
            bucket: i.bucket,
            key: i.key,
            upload_id,
        })
        .await
        .map_err(meta_error)?;
    let mut resp = S3Response::new(AbortMultipartUploadOutput::default());
    resp.status = Some(http::StatusCode::NO_CONTENT);
    Ok(resp)
}

pub async fn list_parts(
    gw: &Gateway,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let i = req.input;
    let upload_id = parse_upload_id(&i.upload_id)?;
    let max = i.max_parts.unwrap_or(DEFAULT_MAX_PARTS);
    if max < 0 {
        return Err(s3_error!(
            InvalidArgument,
            "max-parts must be a non-negative integer"
        ));
    }
    let max = max.min(DEFAULT_MAX_PARTS) as usize;
    let marker = u32::try_from(i.part_number_marker.unwrap_or(0)).map_err(|_| {
        s3_error!(
            InvalidArgument,
            "part-number-marker must be a non-negative integer"
        )
    })?;
    let (all, extras) = gw
        .meta()
        .read(reads::ListPartsWithChecksums {
            bucket: i.bucket.to_string(),
            key: i.key.to_string(),
            upload_id: upload_id,
        })
        .await
        .map_err(meta_error)?;
    let mut rest = all.into_iter().filter(|(p, _)| p.part_number > marker);
    let page: Vec<_> = rest.by_ref().take(max).collect();
    let truncated = rest.next().is_some();
    let next_marker = page.last().map(|(p, _)| p.part_number as i32);
    let parts = page
        .into_iter()
        .map(|(p, checksum)| {
            let mut part = Part {
                part_number: Some(p.part_number as i32),
                e_tag: Some(etag_of(&p.etag)),
                size: Some(p.size as i64),
                last_modified: Some(timestamp(p.last_modified)),
                ..Default::default()
            };
            // Only an upload's own algorithm is reported (not the
            // CRC64NVME kept for uploads without one).
            if extras.checksum_algorithm.is_some() {
                set_checksum!(part, checksum.as_ref().map(checksum_dto));
            }
            part
        })
        .collect();
    let output = ListPartsOutput {
        checksum_algorithm: extras
            .checksum_algorithm
            .map(|a| s3s::dto::ChecksumAlgorithm::from(a.name().to_string())),
        checksum_type: extras
            .checksum_algorithm
            .map(|_| checksum_type_of(extras.full_object)),
        bucket: Some(i.bucket),
        key: Some(i.key),
        upload_id: Some(i.upload_id),
        max_parts: Some(max as i32),
        part_number_marker: i.part_number_marker,
        next_part_number_marker: next_marker,
        is_truncated: Some(truncated),
        parts: Some(parts),
        owner: Some(super::common::owner()),
        initiator: Some(Initiator {
            display_name: Some(super::common::OWNER_ID.into()),
            id: Some(super::common::OWNER_ID.into()),
        }),
        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_listed_again_in_a_row_keeps_its_last_entry() {
        let part = |n, e: &str| MetaPart {
            part_number: n,
            etag: e.into(),
        };
        let mut parts = vec![part(1, "b"), part(1, "a"), part(2, "c"), part(1, "d")];
        let mut sums = vec![None, None, None, None];
        last_of_each_number(&mut parts, &mut sums);
        // The run of 1s keeps its last; a 1 after the 2 stays (meta refuses it).
        assert_eq!(parts, vec![part(1, "a"), part(2, "c"), part(1, "d")]);
        assert_eq!(sums.len(), 3);
    }
}
