//! ListObjectVersions: every object version and delete marker of a bucket,
//! keys in byte order and the versions of a key newest first, with prefix,
//! delimiter, `key-marker` / `version-id-marker` paging and
//! `encoding-type=url`. Meta does the scan; this module checks the
//! parameters and encodes the answer. s3s writes object versions and delete
//! markers as two lists (`<Version>`s, then `<DeleteMarker>`s) where AWS
//! interleaves them in listing order; clients read either, since each entry
//! carries its key, version id and `IsLatest`.

use super::common::owner;
use super::common::{etag_of, timestamp};
use super::list::{max_keys, url_encode, wants_url};
use super::versioning::{INVALID_VERSION_ID, version_string};
use crate::errors::meta_error;
use crate::gateway::Gateway;
use cairn_rpc::{ListVersionsPage, ListVersionsQuery, VersionSummary};
use cairn_types::ObjectVersionId;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

/// The listing's `key-marker` and `version-id-marker`, checked: a version
/// id marker must be a version id and needs a key marker (empty ones are
/// absent, as S3 treats them).
fn markers(
    key_marker: Option<&str>,
    version_id_marker: Option<&str>,
) -> S3Result<(Option<String>, Option<ObjectVersionId>)> {
    let key_marker = key_marker.filter(|m| !m.is_empty()).map(str::to_string);
    let version = match version_id_marker.filter(|m| !m.is_empty()) {
        None => None,
        Some(v) => {
            if key_marker.is_none() {
                return Err(s3_error!(
                    InvalidArgument,
                    "A version-id marker cannot be specified without a key marker."
                ));
            }
            Some(ObjectVersionId::parse(v).ok_or_else(|| {
                S3Error::with_message(S3ErrorCode::InvalidArgument, INVALID_VERSION_ID)
            })?)
        }
    };
    Ok((key_marker, version))
}

/// The `<Version>` and `<DeleteMarker>` entries of a page.
fn entries(
    versions: &[VersionSummary],
    enc: impl Fn(&str) -> String,
) -> (Vec<ObjectVersion>, Vec<DeleteMarkerEntry>) {
    let mut objects = Vec::new();
    let mut markers = Vec::new();
    for v in versions {
        if v.delete_marker {
            markers.push(DeleteMarkerEntry {
                key: Some(enc(&v.key)),
                version_id: Some(v.version_id.to_string()),
                is_latest: Some(v.is_latest),
                last_modified: Some(timestamp(v.last_modified)),
                owner: Some(owner()),
            });
        } else {
            objects.push(ObjectVersion {
                key: Some(enc(&v.key)),
                version_id: Some(v.version_id.to_string()),
                is_latest: Some(v.is_latest),
                size: Some(v.size as i64),
                e_tag: Some(etag_of(&v.etag)),
                last_modified: Some(timestamp(v.last_modified)),
                storage_class: Some(ObjectVersionStorageClass::from_static(
                    ObjectVersionStorageClass::STANDARD,
                )),
                owner: Some(owner()),
                ..Default::default()
            });
        }
    }
    (objects, markers)
}

/// The answer for a page, echoing the request's parameters.
fn output(
    i: ListObjectVersionsInput,
    page: ListVersionsPage,
    url: bool,
    max: usize,
) -> ListObjectVersionsOutput {
    let enc = |s: &str| if url { url_encode(s) } else { s.to_string() };
    let (versions, delete_markers) = entries(&page.versions, enc);
    let prefixes: Vec<CommonPrefix> = page
        .common_prefixes
        .iter()
        .map(|p| CommonPrefix {
            prefix: Some(enc(p)),
        })
        .collect();
    let truncated = page.truncated;
    ListObjectVersionsOutput {
        name: Some(i.bucket),
        prefix: Some(enc(i.prefix.as_deref().unwrap_or_default())),
        delimiter: super::list::echoed_delimiter(i.delimiter.as_deref()).map(enc),
        key_marker: Some(enc(i.key_marker.as_deref().unwrap_or_default())),
        version_id_marker: Some(i.version_id_marker.unwrap_or_default()),
        max_keys: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker: truncated
            .then(|| page.next_key_marker.as_deref().map(enc))
            .flatten(),
        next_version_id_marker: truncated
            .then(|| version_string(page.next_version_id_marker))
            .flatten(),
        versions: (!versions.is_empty()).then_some(versions),
        delete_markers: (!delete_markers.is_empty()).then_some(delete_markers),
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        encoding_type: i.encoding_type,
        ..Default::default()
    }
}

pub async fn list_object_versions(
    gw: &Gateway,
    req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let i = req.input;
    let url = wants_url(i.encoding_type.as_ref())?;
    let max = max_keys(i.max_keys)?;
    let (key_marker, version_id_marker) =
        markers(i.key_marker.as_deref(), i.version_id_marker.as_deref())?;
    let q = ListVersionsQuery {
        bucket: i.bucket.clone(),
        prefix: i.prefix.clone().unwrap_or_default(),
        delimiter: i.delimiter.clone(),
        key_marker,
        version_id_marker,
        max_keys: max,
    };
    let page = gw.meta().read(q).await.map_err(meta_error)?;
    Ok(S3Response::new(output(i, page, url, max)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_types::VersionId;

    #[test]
    fn markers_are_checked() {
        let v = VersionId::new_random().to_string();
        let code = |r: S3Result<_>| r.map(|_| ()).map_err(|e: S3Error| e.code().clone());
        assert_eq!(
            markers(Some("k"), Some(&v)).ok(),
            Some((Some("k".into()), ObjectVersionId::parse(&v)))
        );
        assert_eq!(
            markers(Some("k"), Some("null")).ok(),
            Some((Some("k".into()), Some(ObjectVersionId::Null)))
        );
        assert_eq!(markers(Some(""), Some("")).ok(), Some((None, None)));
        assert_eq!(
            code(markers(None, Some(&v))),
            Err(S3ErrorCode::InvalidArgument)
        );
        assert_eq!(
            code(markers(Some("k"), Some("nope"))),
            Err(S3ErrorCode::InvalidArgument)
        );
    }

    #[test]
    fn entries_split_versions_from_markers() {
        let id = ObjectVersionId::Id(VersionId::new_random());
        let summary = |key: &str, version_id, delete_marker, is_latest| VersionSummary {
            key: key.into(),
            version_id,
            is_latest,
            delete_marker,
            size: if delete_marker { 0 } else { 3 },
            etag: if delete_marker { "" } else { "abc" }.into(),
            last_modified: 0,
        };
        let page = [
            summary("a b", id, true, true),
            summary("a b", ObjectVersionId::Null, false, false),
        ];
        let (objects, markers) = entries(&page, url_encode);
        assert_eq!(markers.len(), 1);
        assert_eq!(markers[0].key.as_deref(), Some("a%20b"));
        assert_eq!(markers[0].version_id, Some(id.to_string()));
        assert_eq!(markers[0].is_latest, Some(true));
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].version_id.as_deref(), Some("null"));
        assert_eq!(objects[0].is_latest, Some(false));
        assert_eq!(objects[0].size, Some(3));
        assert_eq!(objects[0].e_tag, Some(etag_of("abc")));
    }
}
