//! GetObjectAttributes: an object's ETag, size, storage class, stored
//! checksum and, for multipart objects, its parts (paged with `max-parts` and
//! `part-number-marker`), each only when asked for in `x-amz-object-attributes`.
//! Of the current version or the one `versionId` names. One metadata read;
//! no object data is touched.

use super::checksum::{checksum_dto, part_checksum_dto};
use super::common::{check_key, etag_of, timestamp};
use super::versioning::{Found, MarkerRule, find_version, version_string};
use crate::gateway::Gateway;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

/// Parts one answer lists when the client does not say (S3's default and maximum).
pub const DEFAULT_MAX_PARTS: usize = 1000;

/// Which attributes were asked for.
#[derive(Default)]
struct Wanted {
    etag: bool,
    size: bool,
    storage_class: bool,
    checksum: bool,
    parts: bool,
}

/// Reads `x-amz-object-attributes` (repeated or comma-separated); an unknown
/// name is InvalidArgument, as at AWS.
fn wanted(list: &[ObjectAttributes]) -> S3Result<Wanted> {
    let mut w = Wanted::default();
    for name in list.iter().flat_map(|a| a.as_str().split(',')) {
        match name.trim() {
            ObjectAttributes::ETAG => w.etag = true,
            ObjectAttributes::OBJECT_SIZE => w.size = true,
            ObjectAttributes::STORAGE_CLASS => w.storage_class = true,
            ObjectAttributes::CHECKSUM => w.checksum = true,
            ObjectAttributes::OBJECT_PARTS => w.parts = true,
            "" => {}
            other => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Invalid attribute name specified: {other}"
                ));
            }
        }
    }
    Ok(w)
}

/// One page of a multipart object's parts: sizes (and checksums) in object
/// order, numbered from 1.
fn parts_page(
    sizes: &[u64],
    checksums: &[String],
    algorithm: Option<cairn_types::ChecksumAlgorithm>,
    marker: usize,
    max: usize,
) -> GetObjectAttributesParts {
    let total = sizes.len();
    let page: Vec<ObjectPart> = sizes
        .iter()
        .enumerate()
        .skip(marker)
        .take(max)
        .map(|(i, &size)| {
            let mut part = ObjectPart {
                part_number: Some(i as i32 + 1),
                size: Some(size as i64),
                ..Default::default()
            };
            if let (Some(alg), Some(sum)) = (algorithm, checksums.get(i)) {
                part_checksum_dto(&mut part, alg, sum);
            }
            part
        })
        .collect();
    let last = marker + page.len();
    let truncated = last < total;
    GetObjectAttributesParts {
        is_truncated: Some(truncated),
        max_parts: Some(max as i32),
        next_part_number_marker: truncated.then_some(last as i32),
        part_number_marker: Some(marker as i32),
        parts: Some(page),
        total_parts_count: Some(total as i32),
    }
}

pub async fn get_object_attributes(
    gw: &Gateway,
    req: S3Request<GetObjectAttributesInput>,
) -> S3Result<S3Response<GetObjectAttributesOutput>> {
    let i = req.input;
    check_key(&i.key)?;
    let w = wanted(&i.object_attributes)?;
    let max = match i.max_parts {
        None => DEFAULT_MAX_PARTS,
        Some(n) => usize::try_from(n)
            .map_err(|_| s3_error!(InvalidArgument, "max-parts must be a non-negative integer"))?
            .min(DEFAULT_MAX_PARTS),
    };
    let marker = usize::try_from(i.part_number_marker.unwrap_or(0)).map_err(|_| {
        s3_error!(
            InvalidArgument,
            "part-number-marker must be a non-negative integer"
        )
    })?;
    let Found {
        manifest: m,
        extras,
        version_id,
    } = find_version(
        gw,
        &i.bucket,
        &i.key,
        i.version_id.as_deref(),
        MarkerRule::Read,
    )
    .await?;
    let multipart = !m.part_sizes.is_empty();
    let algorithm = extras.checksum.as_ref().map(|c| c.algorithm);
    let output = GetObjectAttributesOutput {
        e_tag: w.etag.then(|| etag_of(&m.etag)),
        object_size: w.size.then_some(m.size as i64),
        storage_class: w
            .storage_class
            .then(|| StorageClass::from_static(StorageClass::STANDARD)),
        checksum: if w.checksum {
            extras.checksum.as_ref().map(checksum_dto)
        } else {
            None
        },
        object_parts: (w.parts && multipart).then(|| {
            parts_page(
                &m.part_sizes,
                &extras.part_checksums,
                algorithm,
                marker,
                max,
            )
        }),
        last_modified: Some(timestamp(m.last_modified)),
        version_id: version_string(version_id),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_paged_from_the_marker() {
        let sizes = [5, 5, 5, 1];
        let p = parts_page(&sizes, &[], None, 0, 3);
        assert_eq!(p.total_parts_count, Some(4));
        assert_eq!(p.is_truncated, Some(true));
        assert_eq!(p.next_part_number_marker, Some(3));
        let numbers: Vec<_> = p
            .parts
            .unwrap_or_default()
            .iter()
            .map(|p| p.part_number)
            .collect();
        assert_eq!(numbers, vec![Some(1), Some(2), Some(3)]);
        let p = parts_page(&sizes, &[], None, 3, 3);
        assert_eq!(p.is_truncated, Some(false));
        assert_eq!(p.next_part_number_marker, None);
        let last = p.parts.unwrap_or_default();
        assert_eq!(last.len(), 1);
        assert_eq!((last[0].part_number, last[0].size), (Some(4), Some(1)));
        assert!(
            parts_page(&sizes, &[], None, 9, 3)
                .parts
                .unwrap_or_default()
                .is_empty()
        );
    }

    #[test]
    fn attribute_names_are_checked() {
        let w = wanted(&[ObjectAttributes::from("ETag,ObjectSize".to_string())]).expect("ok");
        assert!(w.etag && w.size && !w.parts);
        assert!(wanted(&[ObjectAttributes::from("Colour".to_string())]).is_err());
    }
}
