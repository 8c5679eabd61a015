//! Object commands: writing an object (with or without extras), deleting
//! it (with or without a version id), tagging it or one of its versions, and
//! the lifecycle job's expiries. Conditions (`If-Match`, `If-None-Match`) are
//! decided here; how a write or delete changes the key's current object and
//! versions depends on the bucket's versioning, and is `versioning`'s.

use super::outcome::{Applied, misrouted};
use super::versioning;
use crate::store::data_refs::{check_fresh, manifest_versions};
use crate::store::db::{CF_BUCKETS, CF_OBJECTS, MetaDb};
use crate::store::keys::object_key;
use crate::store::object_versions;
use cairn_rpc::{MetaCommand, MetaError, MetaResponse, WriteCondition};
use cairn_types::{Bucket, ObjectExtras, ObjectManifest, VersionId};
use rocksdb::WriteBatch;

/// Applies an object command (see `dispatch`).
pub(super) fn apply(db: &MetaDb, batch: &mut WriteBatch, cmd: &MetaCommand) -> Applied {
    match cmd {
        MetaCommand::PutObject {
            manifest,
            condition,
        } => put(
            db,
            batch,
            manifest,
            condition,
            &ObjectExtras::default(),
            PutAnswer::Replaced,
        ),
        MetaCommand::PutObjectWithExtras {
            manifest,
            condition,
            extras,
        } => put(db, batch, manifest, condition, extras, PutAnswer::Written),
        MetaCommand::SetObjectTags { bucket, key, tags } => {
            versioning::set_tags(db, batch, bucket, key, None, tags, false)
        }
        MetaCommand::SetObjectVersionTags {
            bucket,
            key,
            version,
            tags,
        } => versioning::set_tags(db, batch, bucket, key, *version, tags, true),
        MetaCommand::DeleteObject {
            bucket,
            key,
            if_match,
        } => delete(db, batch, bucket, key, if_match.as_deref()),
        MetaCommand::DeleteObjectVersion {
            bucket,
            key,
            version,
            if_match,
            marker,
            last_modified,
        } => versioning::delete(
            db,
            batch,
            bucket,
            key,
            *version,
            if_match.as_deref(),
            *marker,
            *last_modified,
        ),
        MetaCommand::ExpireObject {
            bucket,
            key,
            version,
        } => expire(db, batch, bucket, key, *version),
        MetaCommand::ExpireVersion {
            bucket,
            key,
            target,
            marker,
            now,
        } => versioning::expire(db, batch, bucket, key, target, *marker, *now),
        _ => misrouted(),
    }
}

/// Checks `condition` against the current object; Err is the S3 answer.
pub(super) fn check_condition(
    current: Option<&ObjectManifest>,
    condition: &WriteCondition,
) -> Result<(), MetaError> {
    match (condition, current) {
        (WriteCondition::Always, _) => Ok(()),
        (WriteCondition::IfNoneMatchAny, None) => Ok(()),
        (WriteCondition::IfNoneMatchAny, Some(_)) => Err(MetaError::PreconditionFailed),
        (WriteCondition::IfMatch(_), None) => Err(MetaError::NoSuchKey),
        (WriteCondition::IfMatch(etag), Some(cur)) if cur.etag == *etag => Ok(()),
        (WriteCondition::IfMatch(_), Some(_)) => Err(MetaError::PreconditionFailed),
    }
}

/// How a PutObject command answers: the plain command with `Replaced`, the
/// one with extras with `Written` (which carries the version id).
#[derive(Clone, Copy)]
enum PutAnswer {
    Replaced,
    Written,
}

fn put(
    db: &MetaDb,
    batch: &mut WriteBatch,
    manifest: &ObjectManifest,
    condition: &WriteCondition,
    extras: &ObjectExtras,
    answer: PutAnswer,
) -> Applied {
    let answer = |replaced, version_id| match answer {
        PutAnswer::Replaced => MetaResponse::Replaced(replaced),
        PutAnswer::Written => MetaResponse::Written {
            replaced,
            version_id,
        },
    };
    if db
        .get::<Bucket>(CF_BUCKETS, manifest.bucket.as_bytes())?
        .is_none()
    {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let ok = object_key(&manifest.bucket, &manifest.key);
    let current = db.get::<ObjectManifest>(CF_OBJECTS, &ok)?;
    if let Some((_, _, version_id)) = versioning::already_written(
        db,
        current.as_ref(),
        &manifest.bucket,
        &manifest.key,
        manifest.version,
    )? {
        // This very version is stored already: the command is applied again
        // (a retry after an unknown outcome), and answers as it did the first time.
        return Ok(Ok(answer(None, version_id)));
    }
    if let Err(e) = check_condition(current.as_ref(), condition) {
        return Ok(Err(e));
    }
    if let Err(e) = check_fresh(db, manifest_versions(db, manifest)?)? {
        return Ok(Err(e));
    }
    // The new object's extras replace the old one's (none: the row goes).
    let written = versioning::write_current(db, batch, current.as_ref(), manifest, extras)?;
    Ok(Ok(answer(written.replaced, written.version_id)))
}

fn delete(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    key: &str,
    if_match: Option<&str>,
) -> Applied {
    if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    if object_versions::status(db, bucket)?.is_some() {
        return Ok(Err(MetaError::InvalidRequest(
            "a bucket with versioning takes DeleteObjectVersion, which names its delete marker"
                .into(),
        )));
    }
    let ok = object_key(bucket, key);
    let current = db.get::<ObjectManifest>(CF_OBJECTS, &ok)?;
    if let Some(etag) = if_match
        && let Err(e) =
            check_condition(current.as_ref(), &WriteCondition::IfMatch(etag.to_string()))
    {
        return Ok(Err(e));
    }
    if let Some(cur) = &current {
        versioning::remove_object(db, batch, ok, cur)?;
    }
    Ok(Ok(MetaResponse::Replaced(current)))
}

/// The lifecycle job's expiry of a current object (superseded by
/// `ExpireVersion`; a bucket with versioning needs a delete marker, which
/// this command cannot name).
fn expire(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    key: &str,
    version: VersionId,
) -> Applied {
    if object_versions::status(db, bucket)?.is_some() {
        return Ok(Ok(MetaResponse::Replaced(None)));
    }
    let ok = object_key(bucket, key);
    match db.get::<ObjectManifest>(CF_OBJECTS, &ok)? {
        Some(current) if current.version == version => {
            versioning::remove_object(db, batch, ok, &current)?;
            Ok(Ok(MetaResponse::Replaced(Some(current))))
        }
        // Overwritten or deleted since: nothing to expire.
        _ => Ok(Ok(MetaResponse::Replaced(None))),
    }
}
