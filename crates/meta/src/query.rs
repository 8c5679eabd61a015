//! Answers `MetaQuery` reads from the state machine's tables. Called only
//! after the read barrier, so what it sees includes every acknowledged write.

use crate::apply::upload_parts;
use crate::db::{
    CF_BUCKET_TAGS, CF_BUCKETS, CF_KEYS, CF_NODES, CF_OBJECTS, CF_PART_CHECKSUMS, CF_UPLOAD_EXTRAS,
    CF_UPLOADS, DbError, MetaDb, decode,
};
use crate::keys::{
    bucket_prefix, object_key, part_key, prefix_successor, split_object_key, upload_key,
};
use cairn_rpc::{
    ListObjectsPage, ListObjectsQuery, ListUploadsQuery, MetaError, MetaQuery, ObjectSummary,
    PartSummary, QueryResult,
};
use cairn_types::{Bucket, ObjectManifest, StoredChecksum, UploadExtras, UploadRecord};

/// Most entries a listing may ask for in one page (S3's own limit).
pub const MAX_LIST_KEYS: usize = 1000;

pub fn run_query(db: &MetaDb, q: &MetaQuery) -> Result<QueryResult, MetaError> {
    run(db, q).map_err(|e| MetaError::Internal(e.to_string()))?
}

fn run(db: &MetaDb, q: &MetaQuery) -> Result<Result<QueryResult, MetaError>, DbError> {
    let bucket_exists = |name: &str| -> Result<bool, DbError> {
        Ok(db.get::<Bucket>(CF_BUCKETS, name.as_bytes())?.is_some())
    };
    Ok(Ok(match q {
        MetaQuery::GetBucket { name } => QueryResult::Bucket(db.get(CF_BUCKETS, name.as_bytes())?),
        MetaQuery::ListBuckets => QueryResult::Buckets(scan_all(db, CF_BUCKETS)?),
        MetaQuery::GetAccessKey { access_key_id } => {
            QueryResult::AccessKey(db.get(CF_KEYS, access_key_id.as_bytes())?)
        }
        MetaQuery::ListAccessKeys => QueryResult::AccessKeys(scan_all(db, CF_KEYS)?),
        MetaQuery::ListNodes => QueryResult::Nodes(scan_all(db, CF_NODES)?),
        MetaQuery::GetObject { bucket, key } => {
            if !bucket_exists(bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::Object(db.get(CF_OBJECTS, &object_key(bucket, key))?)
        }
        MetaQuery::ListObjects(lq) => {
            if !bucket_exists(&lq.bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::ObjectPage(list_objects(db, lq)?)
        }
        MetaQuery::GetUpload {
            bucket,
            key,
            upload_id,
        } => {
            if !bucket_exists(bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            let u: Option<UploadRecord> = db.get(CF_UPLOADS, &upload_key(bucket, upload_id))?;
            QueryResult::Upload(u.filter(|u| u.key == *key))
        }
        MetaQuery::ListParts {
            bucket,
            key,
            upload_id,
        } => {
            let u: Option<UploadRecord> = db.get(CF_UPLOADS, &upload_key(bucket, upload_id))?;
            if u.filter(|u| u.key == *key).is_none() {
                return Ok(Err(MetaError::NoSuchUpload));
            }
            let parts = upload_parts(db, upload_id)?
                .into_iter()
                .map(|p| PartSummary {
                    part_number: p.part_number,
                    etag: p.etag,
                    size: p.size,
                    last_modified: p.last_modified,
                })
                .collect();
            QueryResult::Parts(parts)
        }
        MetaQuery::ListUploads(uq) => {
            if !bucket_exists(&uq.bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            let (uploads, truncated) = list_uploads(db, uq)?;
            QueryResult::Uploads { uploads, truncated }
        }
        MetaQuery::UnreferencedVersions { versions } => {
            QueryResult::Unreferenced(crate::refs::unreferenced(db, versions)?)
        }
        MetaQuery::GetLayout => QueryResult::Layout(crate::layout::state(db)?),
        MetaQuery::LayoutEpoch => QueryResult::LayoutEpoch(crate::layout::state(db)?.epoch()),
        MetaQuery::LayoutUsage => QueryResult::Usage(crate::layout::usage(db)?),
        MetaQuery::GetBucketCors { bucket } => {
            if !bucket_exists(bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::BucketCors(db.get(crate::db::CF_BUCKET_CORS, bucket.as_bytes())?)
        }
        MetaQuery::GetBucketLifecycle { bucket } => {
            if !bucket_exists(bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::BucketLifecycle(db.get(crate::db::CF_BUCKET_LIFECYCLE, bucket.as_bytes())?)
        }
        MetaQuery::BucketUsage { name } => match crate::layout::bucket_usage(db, name)? {
            Some((objects, bytes)) => QueryResult::BucketUsage { objects, bytes },
            None => return Ok(Err(MetaError::NoSuchBucket)),
        },
        MetaQuery::GetObjectWithExtras { bucket, key } => {
            if !bucket_exists(bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            // Manifest and extras from one snapshot (see `CurrentView`).
            QueryResult::ObjectWithExtras(crate::versions::current_view(db, bucket, key)?.object)
        }
        MetaQuery::GetUploadWithExtras {
            bucket,
            key,
            upload_id,
        } => {
            if !bucket_exists(bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            let uk = upload_key(bucket, upload_id);
            let u: Option<UploadRecord> = db.get(CF_UPLOADS, &uk)?;
            match u.filter(|u| u.key == *key) {
                None => QueryResult::UploadWithExtras(None),
                Some(u) => {
                    let extras = db
                        .get::<UploadExtras>(CF_UPLOAD_EXTRAS, &uk)?
                        .unwrap_or_default();
                    QueryResult::UploadWithExtras(Some((u, extras)))
                }
            }
        }
        MetaQuery::ListPartsWithChecksums {
            bucket,
            key,
            upload_id,
        } => {
            let uk = upload_key(bucket, upload_id);
            let u: Option<UploadRecord> = db.get(CF_UPLOADS, &uk)?;
            if u.filter(|u| u.key == *key).is_none() {
                return Ok(Err(MetaError::NoSuchUpload));
            }
            let extras = db
                .get::<UploadExtras>(CF_UPLOAD_EXTRAS, &uk)?
                .unwrap_or_default();
            let mut parts = Vec::new();
            for p in upload_parts(db, upload_id)? {
                let checksum = db.get::<StoredChecksum>(
                    CF_PART_CHECKSUMS,
                    &part_key(upload_id, p.part_number),
                )?;
                parts.push((
                    PartSummary {
                        part_number: p.part_number,
                        etag: p.etag,
                        size: p.size,
                        last_modified: p.last_modified,
                    },
                    checksum,
                ));
            }
            QueryResult::PartsWithChecksums { parts, extras }
        }
        MetaQuery::GetBucketVersioning { bucket } => {
            if !bucket_exists(bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::BucketVersioning(crate::versions::status(db, bucket)?)
        }
        MetaQuery::GetObjectVersion {
            bucket,
            key,
            version,
        } => {
            if !bucket_exists(bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::ObjectVersion(crate::versions::lookup(db, bucket, key, *version)?)
        }
        MetaQuery::ListObjectVersions(vq) => {
            if !bucket_exists(&vq.bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::VersionPage(crate::versions_list::list_versions(db, vq)?)
        }
        MetaQuery::GetBucketTags { bucket } => {
            if !bucket_exists(bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::BucketTags(
                db.get::<Vec<cairn_types::Tag>>(CF_BUCKET_TAGS, bucket.as_bytes())?
                    .unwrap_or_default(),
            )
        }
    }))
}

pub(crate) fn scan_all<T: serde::de::DeserializeOwned>(
    db: &MetaDb,
    cf: &'static str,
) -> Result<Vec<T>, DbError> {
    let mut out = Vec::new();
    for item in db.db.iterator_cf(db.cf(cf)?, rocksdb::IteratorMode::Start) {
        let (_, v) = item?;
        out.push(decode(&v)?);
    }
    Ok(out)
}

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

fn list_uploads(db: &MetaDb, q: &ListUploadsQuery) -> Result<(Vec<UploadRecord>, bool), DbError> {
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
