//! Bucket commands: creating and deleting a bucket (which takes its
//! unfinished uploads with it, and refuses while any object or version is
//! left), and setting its configurations (versioning state, tags, lifecycle
//! rules, CORS rules).

use super::outcome::{Applied, misrouted};
use super::{extras, multipart};
use crate::store::db::{
    CF_BUCKET_CORS, CF_BUCKET_LIFECYCLE, CF_BUCKET_VERSIONING, CF_BUCKETS, CF_OBJECT_VERSIONS,
    CF_OBJECTS, CF_UPLOADS, MetaDb, decode, encode,
};
use crate::store::keys::bucket_prefix;
use cairn_rpc::{MetaCommand, MetaError, MetaResponse};
use cairn_types::{Bucket, UploadRecord, VersioningStatus};
use rocksdb::WriteBatch;
use serde::Serialize;

/// Applies a bucket command (see `dispatch`).
pub(super) fn apply(db: &MetaDb, batch: &mut WriteBatch, cmd: &MetaCommand) -> Applied {
    match cmd {
        MetaCommand::CreateBucket(bucket) => create(db, batch, bucket),
        MetaCommand::DeleteBucket { name } => delete(db, batch, name),
        MetaCommand::SetBucketVersioning { bucket, status } => {
            set_versioning(db, batch, bucket, *status)
        }
        MetaCommand::SetBucketTags { bucket, tags } => {
            extras::set_bucket_tags(db, batch, bucket, tags)
        }
        MetaCommand::SetBucketLifecycle { bucket, config } => {
            set_config(db, batch, bucket, CF_BUCKET_LIFECYCLE, config.as_ref())
        }
        MetaCommand::SetBucketCors { bucket, config } => {
            set_config(db, batch, bucket, CF_BUCKET_CORS, config.as_ref())
        }
        _ => misrouted(),
    }
}

pub(super) fn create(db: &MetaDb, batch: &mut WriteBatch, bucket: &Bucket) -> Applied {
    match db.get::<Bucket>(CF_BUCKETS, bucket.name.as_bytes())? {
        // The same command applied again (a client retry after an unknown outcome).
        Some(existing) if existing == *bucket => return Ok(Ok(MetaResponse::Done)),
        // Every access key belongs to the one account of the cluster.
        Some(_) => return Ok(Err(MetaError::BucketAlreadyOwnedByYou)),
        None => {}
    }
    batch.put_cf(db.cf(CF_BUCKETS)?, bucket.name.as_bytes(), encode(bucket)?);
    Ok(Ok(MetaResponse::Done))
}

fn delete(db: &MetaDb, batch: &mut WriteBatch, name: &str) -> Applied {
    if db.get::<Bucket>(CF_BUCKETS, name.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let prefix = bucket_prefix(name);
    let mut objects = db.db.raw_iterator_cf(db.cf(CF_OBJECTS)?);
    objects.seek(&prefix);
    if objects.valid() && objects.key().is_some_and(|k| k.starts_with(&prefix)) {
        return Ok(Err(MetaError::BucketNotEmpty));
    }
    objects.status()?;
    // Noncurrent versions and delete markers keep a bucket too.
    let mut versions = db.db.raw_iterator_cf(db.cf(CF_OBJECT_VERSIONS)?);
    versions.seek(&prefix);
    if versions.valid() && versions.key().is_some_and(|k| k.starts_with(&prefix)) {
        return Ok(Err(MetaError::BucketNotEmpty));
    }
    versions.status()?;
    // Uploads still in progress go with the bucket.
    let mut uploads = db.db.raw_iterator_cf(db.cf(CF_UPLOADS)?);
    uploads.seek(&prefix);
    let mut doomed = Vec::new();
    while uploads.valid() {
        match (uploads.key(), uploads.value()) {
            (Some(k), Some(v)) if k.starts_with(&prefix) => doomed.push(decode::<UploadRecord>(v)?),
            _ => break,
        }
        uploads.next();
    }
    uploads.status()?;
    for upload in &doomed {
        multipart::remove_upload(db, batch, upload)?;
    }
    batch.delete_cf(db.cf(CF_BUCKET_CORS)?, name.as_bytes());
    batch.delete_cf(db.cf(CF_BUCKET_LIFECYCLE)?, name.as_bytes());
    batch.delete_cf(db.cf(CF_BUCKET_VERSIONING)?, name.as_bytes());
    extras::drop_bucket_tags(db, batch, name)?;
    crate::store::reencode_rows::forget_bucket(db, batch, name)?;
    // Its grants go too: a bucket made later under the name starts afresh.
    crate::store::access::drop_bucket(db, batch, name)?;
    batch.delete_cf(db.cf(CF_BUCKETS)?, name.as_bytes());
    Ok(Ok(MetaResponse::Done))
}

/// PutBucketVersioning.
fn set_versioning(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    status: VersioningStatus,
) -> Applied {
    if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    batch.put_cf(
        db.cf(CF_BUCKET_VERSIONING)?,
        bucket.as_bytes(),
        encode(&status)?,
    );
    Ok(Ok(MetaResponse::Done))
}

/// Sets (Some) or removes (None) a bucket's configuration kept in table `cf`
/// by bucket name (lifecycle rules, CORS rules).
fn set_config<T: Serialize>(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    cf: &'static str,
    config: Option<&T>,
) -> Applied {
    if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let cf = db.cf(cf)?;
    match config {
        Some(c) => batch.put_cf(cf, bucket.as_bytes(), encode(c)?),
        None => batch.delete_cf(cf, bucket.as_bytes()),
    }
    Ok(Ok(MetaResponse::Done))
}
