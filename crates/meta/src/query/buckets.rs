//! Bucket queries: a bucket and the bucket list, each bucket's
//! configurations (CORS, lifecycle, versioning, tags) and usage.

use super::layout_usage::bucket_usage;
use super::outcome::{Answered, misrouted};
use crate::store::db::{
    CF_BUCKET_CORS, CF_BUCKET_LIFECYCLE, CF_BUCKET_TAGS, CF_BUCKETS, DbError, MetaDb, scan_all,
};
use crate::store::object_versions;
use cairn_rpc::{MetaError, MetaQuery, QueryResult};
use cairn_types::{Bucket, Tag};

/// Answers a bucket query (see `dispatch`).
pub(super) fn answer(db: &MetaDb, q: &MetaQuery) -> Answered {
    Ok(Ok(match q {
        MetaQuery::GetBucket { name } => QueryResult::Bucket(db.get(CF_BUCKETS, name.as_bytes())?),
        MetaQuery::ListBuckets => QueryResult::Buckets(scan_all(db, CF_BUCKETS)?),
        MetaQuery::GetBucketCors { bucket } => {
            if !bucket_exists(db, bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::BucketCors(db.get(CF_BUCKET_CORS, bucket.as_bytes())?)
        }
        MetaQuery::GetBucketLifecycle { bucket } => {
            if !bucket_exists(db, bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::BucketLifecycle(db.get(CF_BUCKET_LIFECYCLE, bucket.as_bytes())?)
        }
        MetaQuery::BucketUsage { name } => match bucket_usage(db, name)? {
            Some((objects, bytes)) => QueryResult::BucketUsage { objects, bytes },
            None => return Ok(Err(MetaError::NoSuchBucket)),
        },
        MetaQuery::GetBucketVersioning { bucket } => {
            if !bucket_exists(db, bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::BucketVersioning(object_versions::status(db, bucket)?)
        }
        MetaQuery::GetBucketTags { bucket } => {
            if !bucket_exists(db, bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            QueryResult::BucketTags(
                db.get::<Vec<Tag>>(CF_BUCKET_TAGS, bucket.as_bytes())?
                    .unwrap_or_default(),
            )
        }
        _ => return misrouted(),
    }))
}

/// Whether bucket `name` exists.
pub(super) fn bucket_exists(db: &MetaDb, name: &str) -> Result<bool, DbError> {
    Ok(db.get::<Bucket>(CF_BUCKETS, name.as_bytes())?.is_some())
}
