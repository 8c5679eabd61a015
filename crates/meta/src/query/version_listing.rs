//! ListObjectVersions: every version of every key under a prefix, keys in
//! byte order and each key's versions newest first, with S3's paging by
//! (key marker, version-id marker) and delimiter roll-up.
//!
//! A key's versions are its rows in `object_versions`; a key without rows
//! but with an `objects` row (written before the bucket had versioning, or
//! in a bucket that never had it) has one version, `null`. The listing walks
//! both tables in step, by key.

use super::listing::MAX_LIST_KEYS;
use crate::store::db::{CF_OBJECT_VERSIONS, CF_OBJECTS, DbError, MetaDb, decode};
use crate::store::keys::{object_key, prefix_successor, split_object_key, split_version_key};
use crate::store::keys::{version_scope, versions_of_key};
use crate::store::object_versions::{StoredVersion, VersionEntry};
use cairn_rpc::{ListVersionsPage, ListVersionsQuery, VersionSummary};
use cairn_types::{ObjectManifest, ObjectVersionId};
use rocksdb::{DB, DBRawIteratorWithThreadMode};

type RawIter<'a> = DBRawIteratorWithThreadMode<'a, DB>;

/// The user key under each iterator's position, if still in scope.
fn objects_key(it: &RawIter<'_>, scope: &[u8]) -> Result<Option<String>, DbError> {
    match it.key() {
        Some(raw) if it.valid() && raw.starts_with(scope) => match split_object_key(raw) {
            Some((_, key)) => Ok(Some(key.to_string())),
            None => Err(DbError::Decode("object key".into())),
        },
        _ => Ok(None),
    }
}

fn versions_key(it: &RawIter<'_>, scope: &[u8]) -> Result<Option<String>, DbError> {
    match it.key() {
        Some(raw) if it.valid() && raw.starts_with(scope) => match split_version_key(raw) {
            Some((key, _)) => Ok(Some(key)),
            None => Err(DbError::Decode("version key".into())),
        },
        _ => Ok(None),
    }
}

/// Moves both iterators to the first key after every key starting with
/// `prefix` (a rolled-up common prefix), or after `key` itself.
fn skip_past(objects: &mut RawIter<'_>, versions: &mut RawIter<'_>, bucket: &str, prefix: &str) {
    match prefix_successor(&object_key(bucket, prefix)) {
        Some(next) => objects.seek(&next),
        None => objects.seek_to_last_and_step(),
    }
    match prefix_successor(&version_scope(bucket, prefix)) {
        Some(next) => versions.seek(&next),
        None => versions.seek_to_last_and_step(),
    }
}

/// Moves an iterator past the end (no key is in scope afterwards).
trait SeekPastEnd {
    fn seek_to_last_and_step(&mut self);
}

impl SeekPastEnd for RawIter<'_> {
    fn seek_to_last_and_step(&mut self) {
        self.seek_to_last();
        if self.valid() {
            self.next();
        }
    }
}

fn summary(key: &str, row: &StoredVersion, is_latest: bool) -> VersionSummary {
    let (size, etag) = match &row.entry {
        VersionEntry::Object { manifest, .. } => (manifest.size, manifest.etag.clone()),
        VersionEntry::DeleteMarker { .. } => (0, String::new()),
    };
    VersionSummary {
        key: key.to_string(),
        version_id: row.id,
        is_latest,
        delete_marker: row.is_delete_marker(),
        size,
        etag,
        last_modified: row.last_modified(),
    }
}

/// One page of ListObjectVersions.
pub fn list_versions(db: &MetaDb, q: &ListVersionsQuery) -> Result<ListVersionsPage, DbError> {
    let max = q.max_keys.min(MAX_LIST_KEYS);
    if max == 0 {
        // S3 answers an empty, untruncated page (there are no markers to give).
        return Ok(ListVersionsPage::default());
    }
    let delimiter = q.delimiter.as_deref().filter(|d| !d.is_empty());
    let objects_scope = object_key(&q.bucket, &q.prefix);
    let versions_scope = version_scope(&q.bucket, &q.prefix);
    let mut objects = db.db.raw_iterator_cf(db.cf(CF_OBJECTS)?);
    let mut versions = db.db.raw_iterator_cf(db.cf(CF_OBJECT_VERSIONS)?);
    // Where to start: at the marker key when a version of it was named
    // (the rest of its versions follow), else after it.
    let resume_in = match (&q.key_marker, &q.version_id_marker) {
        (Some(k), Some(v)) if k.as_str() >= q.prefix.as_str() => Some((k.clone(), *v)),
        _ => None,
    };
    match (&q.key_marker, &resume_in) {
        (Some(k), Some(_)) => {
            objects.seek(object_key(&q.bucket, k));
            versions.seek(versions_of_key(&q.bucket, k));
        }
        (Some(k), None) if k.as_str() >= q.prefix.as_str() => {
            let mut after = object_key(&q.bucket, k);
            after.push(0);
            objects.seek(&after);
            match prefix_successor(&versions_of_key(&q.bucket, k)) {
                Some(next) => versions.seek(&next),
                None => versions.seek_to_last_and_step(),
            }
        }
        _ => {
            objects.seek(&objects_scope);
            versions.seek(&versions_scope);
        }
    }
    let mut page = ListVersionsPage::default();
    let mut taken = 0usize;
    // Marks the page full: the next entry found makes it truncated.
    let mut last: Option<(String, Option<ObjectVersionId>)> = None;
    loop {
        let ok = objects_key(&objects, &objects_scope)?;
        let vk = versions_key(&versions, &versions_scope)?;
        let key = match (&ok, &vk) {
            (None, None) => break,
            (Some(a), Some(b)) => a.min(b).clone(),
            (Some(a), None) => a.clone(),
            (None, Some(b)) => b.clone(),
        };
        if let Some(d) = delimiter
            && let Some(pos) = key[q.prefix.len()..].find(d)
        {
            let cp = key[..q.prefix.len() + pos + d.len()].to_string();
            let already = q.key_marker.as_deref().is_some_and(|m| cp.as_str() <= m);
            if !already {
                if taken == max {
                    page.truncated = true;
                    break;
                }
                page.common_prefixes.push(cp.clone());
                last = Some((cp.clone(), None));
                taken += 1;
            }
            skip_past(&mut objects, &mut versions, &q.bucket, &cp);
            continue;
        }
        // The key's versions, newest first.
        let mut rows: Vec<StoredVersion> = Vec::new();
        while versions_key(&versions, &versions_scope)?.as_deref() == Some(key.as_str()) {
            match versions.value() {
                Some(v) => rows.push(decode(v)?),
                None => break,
            }
            versions.next();
        }
        if ok.as_deref() == Some(key.as_str()) {
            if rows.is_empty() {
                // An object from before versioning: its `null` version.
                let m: ObjectManifest = match objects.value() {
                    Some(v) => decode(v)?,
                    None => break,
                };
                rows.push(StoredVersion {
                    seq: 0,
                    id: ObjectVersionId::Null,
                    entry: VersionEntry::Object {
                        manifest: m,
                        extras: Default::default(),
                    },
                });
            }
            objects.next();
        }
        let from = match &resume_in {
            // After the marker's version; a version-id marker this key does
            // not have skips the key.
            Some((k, v)) if *k == key => rows
                .iter()
                .position(|r| r.id == *v)
                .map_or(rows.len(), |i| i + 1),
            _ => 0,
        };
        for (i, row) in rows.iter().enumerate().skip(from) {
            if taken == max {
                page.truncated = true;
                break;
            }
            page.versions.push(summary(&key, row, i == 0));
            last = Some((key.clone(), Some(row.id)));
            taken += 1;
        }
        if page.truncated {
            break;
        }
    }
    if page.truncated
        && let Some((key, version)) = last
    {
        page.next_key_marker = Some(key);
        page.next_version_id_marker = version;
    }
    Ok(page)
}
