//! ListMultipartUploads: uploads in progress in (key, upload id) order, with
//! `prefix`, `key-marker`/`upload-id-marker` paging and a `delimiter` that
//! rolls keys up into CommonPrefixes as ListObjects does. Meta answers pages
//! of uploads; grouping by delimiter happens here, so a page may take several
//! meta pages when many uploads share one common prefix.

use crate::errors::meta_error;
use crate::gateway::Gateway;
use cairn_rpc::ListUploadsQuery;
use cairn_types::{UploadRecord, VersionId};
use s3s::dto::{
    CommonPrefix, Initiator, ListMultipartUploadsInput, ListMultipartUploadsOutput,
    MultipartUpload, StorageClass,
};
use s3s::{S3Request, S3Response, S3Result, s3_error};

/// Uploads (plus common prefixes) per page unless the client asks for fewer;
/// also the most it may ask for (S3's limit).
pub const DEFAULT_MAX_UPLOADS: i32 = 1000;
/// Uploads asked of meta per round while filling a page.
const META_PAGE: usize = 1000;

/// One entry of a listing page.
enum Entry {
    Upload(Box<UploadRecord>),
    Prefix(String),
}

/// The common prefix `key` rolls up into, if any.
fn rolled_up(key: &str, prefix: &str, delimiter: Option<&str>) -> Option<String> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.strip_prefix(prefix)?;
    rest.find(d)
        .map(|pos| format!("{prefix}{}", &rest[..pos + d.len()]))
}

pub async fn list_uploads(
    gw: &Gateway,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let i = req.input;
    let max = i.max_uploads.unwrap_or(DEFAULT_MAX_UPLOADS);
    if max < 0 {
        return Err(s3_error!(
            InvalidArgument,
            "max-uploads must be a non-negative integer"
        ));
    }
    let max = max.min(DEFAULT_MAX_UPLOADS) as usize;
    let prefix = i.prefix.clone().unwrap_or_default();
    let delimiter = i.delimiter.clone().filter(|d| !d.is_empty());
    let mut key_marker = i.key_marker.clone().filter(|k| !k.is_empty());
    let mut upload_id_marker = match (&key_marker, &i.upload_id_marker) {
        (Some(_), Some(m)) if !m.is_empty() => Some(
            VersionId::parse(m)
                .ok_or_else(|| s3_error!(InvalidArgument, "invalid upload-id-marker"))?,
        ),
        _ => None,
    };
    // A key marker that is a common prefix (a previous page's NextKeyMarker)
    // resumes after everything under it.
    let skip_under = key_marker
        .clone()
        .filter(|k| rolled_up(k, &prefix, delimiter.as_deref()).as_deref() == Some(k.as_str()));
    let mut entries: Vec<Entry> = Vec::new();
    let mut truncated = false;
    'pages: loop {
        let q = ListUploadsQuery {
            bucket: i.bucket.clone(),
            prefix: prefix.clone(),
            key_marker: key_marker.clone(),
            upload_id_marker,
            max_uploads: META_PAGE,
        };
        let (uploads, more) = gw.meta().read(q).await.map_err(meta_error)?;
        if let Some(last) = uploads.last() {
            key_marker = Some(last.key.clone());
            upload_id_marker = Some(last.upload_id);
        }
        for u in uploads {
            if skip_under
                .as_ref()
                .is_some_and(|s| u.key.starts_with(s.as_str()))
            {
                continue;
            }
            let entry = match rolled_up(&u.key, &prefix, delimiter.as_deref()) {
                Some(p) if matches!(entries.last(), Some(Entry::Prefix(last)) if *last == p) => {
                    continue;
                }
                Some(p) => Entry::Prefix(p),
                None => Entry::Upload(Box::new(u)),
            };
            if entries.len() == max {
                truncated = true;
                break 'pages;
            }
            entries.push(entry);
        }
        if !more {
            break;
        }
    }
    let (next_key_marker, next_upload_id_marker) = match entries.last() {
        Some(Entry::Upload(u)) if truncated => (Some(u.key.clone()), Some(u.upload_id.to_string())),
        Some(Entry::Prefix(p)) if truncated => (Some(p.clone()), None),
        _ => (None, None),
    };
    let mut uploads = Vec::new();
    let mut prefixes = Vec::new();
    for e in entries {
        match e {
            Entry::Upload(u) => uploads.push(MultipartUpload {
                key: Some(u.key),
                upload_id: Some(u.upload_id.to_string()),
                initiated: Some(super::common::timestamp(u.initiated)),
                initiator: Some(initiator()),
                owner: Some(super::common::owner()),
                storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                ..Default::default()
            }),
            Entry::Prefix(p) => prefixes.push(CommonPrefix { prefix: Some(p) }),
        }
    }
    let output = ListMultipartUploadsOutput {
        bucket: Some(i.bucket),
        prefix: i.prefix,
        delimiter,
        key_marker: i.key_marker,
        upload_id_marker: i.upload_id_marker,
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker,
        next_upload_id_marker,
        uploads: Some(uploads),
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

/// Who initiated an upload: every key belongs to the cluster's one owner.
fn initiator() -> Initiator {
    let owner = super::common::owner();
    Initiator {
        id: owner.id,
        display_name: owner.display_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_roll_up_after_the_prefix() {
        assert_eq!(
            rolled_up("photos/2024/a.jpg", "photos/", Some("/")),
            Some("photos/2024/".into())
        );
        assert_eq!(rolled_up("photos/a.jpg", "photos/", Some("/")), None);
        assert_eq!(rolled_up("a/b", "", None), None);
        assert_eq!(rolled_up("a/b", "", Some("")), None);
        assert_eq!(rolled_up("x--y--z", "", Some("--")), Some("x--".into()));
        assert_eq!(rolled_up("other", "photos/", Some("/")), None);
    }
}
