//! The paged listings of a bucket's objects (ListObjects: keys and common
//! prefixes in byte order) and of its multipart uploads, and the most
//! entries a page may hold.

use crate::store::db::{CF_OBJECTS, CF_UPLOADS, DbError, MetaDb, decode};
use crate::store::keys::{bucket_prefix, object_key, prefix_successor, split_object_key};
use cairn_rpc::{ListObjectsPage, ListObjectsQuery, ListUploadsQuery, ObjectSummary};
use cairn_types::{ObjectManifest, UploadRecord};

/// Most entries a listing may ask for in one page (S3's own limit).
pub const MAX_LIST_KEYS: usize = 1000;

/// One page of keys and common prefixes, in byte order, after `start_after`.
pub fn list_objects(db: &MetaDb, q: &ListObjectsQuery) -> Result<ListObjectsPage, DbError> {
    let max = q.max_keys.min(MAX_LIST_KEYS);
    if max == 0 {
        // S3 answers an empty, untruncated page (there is no token to give).
        return Ok(ListObjectsPage::default());
    }
    let scope = object_key(&q.bucket, &q.prefix);
    let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty());
    let mut it = db.db.raw_iterator_cf(db.cf(CF_OBJECTS)?);
    match &q.start_after {
        Some(after) if after.as_str() >= q.prefix.as_str() => {
            let mut from = object_key(&q.bucket, after);
            from.push(0); // strictly after
            it.seek(&from);
        }
        _ => it.seek(&scope),
    }
    let mut page = ListObjectsPage::default();
    let mut taken = 0usize;
    while it.valid() {
        let Some(raw) = it.key() else { break };
        if !raw.starts_with(&scope) {
            break;
        }
        let Some((_, key)) = split_object_key(raw) else {
            return Err(DbError::Decode("object key".into()));
        };
        let key = key.to_string();
        let common = delimiter.and_then(|d| {
            key[q.prefix.len()..]
                .find(d)
                .map(|pos| key[..q.prefix.len() + pos + d.len()].to_string())
        });
        if let Some(cp) = common {
            let skip = q
                .start_after
                .as_deref()
                .is_some_and(|after| cp.as_str() <= after);
            if !skip {
                if taken == max {
                    page.truncated = true;
                    break;
                }
                page.common_prefixes.push(cp.clone());
                page.last = Some(cp.clone());
                taken += 1;
            }
            // Jump past every key under this common prefix.
            match prefix_successor(&object_key(&q.bucket, &cp)) {
                Some(next) => it.seek(&next),
                None => break,
            }
            continue;
        }
        if taken == max {
            page.truncated = true;
            break;
        }
        let Some(value) = it.value() else { break };
        let m: ObjectManifest = decode(value)?;
        page.objects.push(ObjectSummary {
            key: key.clone(),
            size: m.size,
            etag: m.etag,
            last_modified: m.last_modified,
        });
        page.last = Some(key);
        taken += 1;
        it.next();
    }
    it.status()?;
    Ok(page)
}

/// One page of a bucket's uploads under a prefix, by (key, upload id), after
/// the markers; and whether more follow.
pub fn list_uploads(
    db: &MetaDb,
    q: &ListUploadsQuery,
) -> Result<(Vec<UploadRecord>, bool), DbError> {
    let prefix = bucket_prefix(&q.bucket);
    let mut it = db.db.raw_iterator_cf(db.cf(CF_UPLOADS)?);
    it.seek(&prefix);
    let mut all: Vec<UploadRecord> = Vec::new();
    while it.valid() {
        match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.starts_with(&prefix) => {
                let u: UploadRecord = decode(v)?;
                if u.key.starts_with(&q.prefix) {
                    all.push(u);
                }
            }
            _ => break,
        }
        it.next();
    }
    it.status()?;
    all.sort_by(|a, b| (a.key.as_str(), a.upload_id).cmp(&(b.key.as_str(), b.upload_id)));
    let after_marker = |u: &UploadRecord| match (&q.key_marker, &q.upload_id_marker) {
        (None, _) => true,
        (Some(k), None) => u.key.as_str() > k.as_str(),
        (Some(k), Some(id)) => u.key.as_str() > k.as_str() || (u.key == *k && u.upload_id > *id),
    };
    let max = q.max_uploads.min(MAX_LIST_KEYS);
    let mut rest = all.into_iter().filter(after_marker);
    let page: Vec<UploadRecord> = rest.by_ref().take(max).collect();
    let truncated = rest.next().is_some();
    Ok((page, truncated))
}
