//! Applying object writes, deletes, tag changes and lifecycle expiries to a
//! key's current object and versions (see `store::object_versions` for the
//! model). A bucket that never had versioning keeps today's single-row
//! behaviour; once it has, every change goes through the key's `KeyVersions`
//! stack and the `objects` row is kept equal to the newest version (absent
//! under a delete marker).

use super::extras::{object_extras, write_object_extras};
use super::key_versions::KeyVersions;
use super::outcome::Applied;
use crate::store::chunks::stored_form;
use crate::store::data_refs::object_replaced;
use crate::store::db::{CF_BUCKETS, CF_OBJECT_EXTRAS, CF_OBJECTS, DbError, MetaDb, encode};
use crate::store::keys::{object_key, version_key};
use crate::store::object_versions::{self, VersionEntry, newest_stored};
use crate::store::version_index::find_written;
use cairn_rpc::{DeleteOutcome, ExpiryTarget, MetaError, MetaResponse};
use cairn_types::{
    Bucket, ObjectExtras, ObjectManifest, ObjectVersionId, Tag, UnixMillis, VersionId,
    VersioningStatus,
};
use rocksdb::WriteBatch;

/// What making a new object current did.
pub(super) struct Written {
    /// A version removed for good (the old `null` one of a suspended bucket,
    /// or the overwritten object of a bucket without versioning).
    pub replaced: Option<ObjectManifest>,
    /// The new version's id (None: the bucket never had versioning).
    pub version_id: Option<ObjectVersionId>,
}

/// If the write whose manifest version is `version` was applied already (a
/// retry), the id its version got.
pub(super) fn already_written(
    db: &MetaDb,
    current: Option<&ObjectManifest>,
    bucket: &str,
    key: &str,
    version: VersionId,
) -> Result<Option<(ObjectManifest, ObjectExtras, Option<ObjectVersionId>)>, DbError> {
    let has_versioning = object_versions::status(db, bucket)?.is_some();
    // Version rows exist only in a bucket with versioning (its state is
    // never removed while the bucket lives): skip the index otherwise.
    if has_versioning
        && let Some(row) = find_written(db, bucket, key, version)?
        && let VersionEntry::Object { manifest, extras } = row.entry
    {
        return Ok(Some((manifest, extras, Some(row.id))));
    }
    match current {
        Some(cur) if cur.version == version => Ok(Some((
            cur.clone(),
            object_extras(db, &object_key(bucket, key))?,
            has_versioning.then_some(ObjectVersionId::Null),
        ))),
        _ => Ok(None),
    }
}

/// Makes `manifest` with `extras` the current object of its key, whose
/// current object is `current`; the caller checked conditions and freshness.
pub(super) fn write_current(
    db: &MetaDb,
    batch: &mut WriteBatch,
    current: Option<&ObjectManifest>,
    manifest: &ObjectManifest,
    extras: &ObjectExtras,
) -> Result<Written, DbError> {
    let ok = object_key(&manifest.bucket, &manifest.key);
    let written = match object_versions::status(db, &manifest.bucket)? {
        None => Written {
            replaced: current.cloned(),
            version_id: None,
        },
        Some(status) => {
            let mut stack = KeyVersions::load(db, batch, &manifest.bucket, &manifest.key, current)?;
            let (id, replaced) = match status {
                VersioningStatus::Enabled => (ObjectVersionId::Id(manifest.version), None),
                VersioningStatus::Suspended => {
                    (ObjectVersionId::Null, remove_null(db, batch, &mut stack)?)
                }
            };
            stack.push(
                db,
                batch,
                id,
                VersionEntry::Object {
                    manifest: manifest.clone(),
                    extras: extras.clone(),
                },
            )?;
            Written {
                replaced,
                version_id: Some(id),
            }
        }
    };
    object_replaced(db, batch, &ok, current, Some(manifest))?;
    write_object_extras(db, batch, &ok, extras)?;
    let stored = stored_form(db, batch, manifest)?;
    batch.put_cf(db.cf(CF_OBJECTS)?, ok, encode(&stored)?);
    Ok(written)
}

/// Deletes the current object `current` stored under `ok`, its extras, and
/// its references (its data becomes garbage).
pub(super) fn remove_object(
    db: &MetaDb,
    batch: &mut WriteBatch,
    ok: Vec<u8>,
    current: &ObjectManifest,
) -> Result<(), DbError> {
    object_replaced(db, batch, &ok, Some(current), None)?;
    batch.delete_cf(db.cf(CF_OBJECT_EXTRAS)?, &ok);
    batch.delete_cf(db.cf(CF_OBJECTS)?, ok);
    Ok(())
}

/// Removes the key's `null` version, if any (a suspended bucket's write
/// replaces it); answers its manifest when it was an object.
fn remove_null(
    db: &MetaDb,
    batch: &mut WriteBatch,
    stack: &mut KeyVersions,
) -> Result<Option<ObjectManifest>, DbError> {
    match stack.find(db, ObjectVersionId::Null)? {
        Some((rk, row)) => {
            stack.remove(db, batch, &rk, &row)?;
            Ok(row.manifest().cloned())
        }
        None => Ok(None),
    }
}

/// Points the `objects` row of the key at the stack's newest version:
/// written when it is an object, removed under a delete marker or when no
/// version is left. `current` is what the row holds now.
fn sync_current(
    db: &MetaDb,
    batch: &mut WriteBatch,
    ok: &[u8],
    current: Option<&ObjectManifest>,
    stack: &KeyVersions,
) -> Result<(), DbError> {
    match stack.newest().map(|v| &v.entry) {
        Some(VersionEntry::Object { manifest, extras }) => {
            if current != Some(manifest) {
                object_replaced(db, batch, ok, current, Some(manifest))?;
                let stored = stored_form(db, batch, manifest)?;
                batch.put_cf(db.cf(CF_OBJECTS)?, ok, encode(&stored)?);
            }
            write_object_extras(db, batch, ok, extras)?;
        }
        Some(VersionEntry::DeleteMarker { .. }) | None => {
            if current.is_some() {
                object_replaced(db, batch, ok, current, None)?;
                batch.delete_cf(db.cf(CF_OBJECT_EXTRAS)?, ok);
                batch.delete_cf(db.cf(CF_OBJECTS)?, ok);
            }
        }
    }
    Ok(())
}

/// DeleteObject with or without a version id (see `MetaCommand::DeleteObjectVersion`).
#[allow(clippy::too_many_arguments)]
pub(super) fn delete(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    key: &str,
    version: Option<ObjectVersionId>,
    if_match: Option<&str>,
    marker: VersionId,
    last_modified: UnixMillis,
) -> Applied {
    if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let ok = object_key(bucket, key);
    let current = db.get::<ObjectManifest>(CF_OBJECTS, &ok)?;
    let status = object_versions::status(db, bucket)?;
    if status.is_some() && version.is_none() {
        // This very marker was added already (a retry): answer as then.
        if let Some(row) = find_written(db, bucket, key, marker)? {
            return Ok(Ok(deleted(None, Some(row.id), true)));
        }
        // A suspended bucket's marker is `null`: the same command applied
        // again finds it newest, with its own time (applying it again would
        // change nothing else, but its If-Match would now fail).
        if let Some(newest) = newest_stored(db, bucket, key)?
            && newest.id == ObjectVersionId::Null
            && newest.entry == (VersionEntry::DeleteMarker { last_modified })
        {
            return Ok(Ok(deleted(None, Some(newest.id), true)));
        }
    }
    if let Some(etag) = if_match {
        match &current {
            None => return Ok(Err(MetaError::NoSuchKey)),
            Some(cur) if cur.etag != etag => return Ok(Err(MetaError::PreconditionFailed)),
            Some(_) => {}
        }
    }
    if status.is_none() {
        return Ok(Ok(match version {
            None | Some(ObjectVersionId::Null) => {
                if let Some(cur) = &current {
                    remove_object(db, batch, ok, cur)?;
                }
                deleted(current, version, false)
            }
            // A bucket without versioning has only `null` versions.
            Some(id) => deleted(None, Some(id), false),
        }));
    }
    let mut stack = KeyVersions::load(db, batch, bucket, key, current.as_ref())?;
    match version {
        None => {
            let (id, removed) = match status {
                Some(VersioningStatus::Suspended) => {
                    (ObjectVersionId::Null, remove_null(db, batch, &mut stack)?)
                }
                _ => (ObjectVersionId::Id(marker), None),
            };
            stack.push(db, batch, id, VersionEntry::DeleteMarker { last_modified })?;
            sync_current(db, batch, &ok, current.as_ref(), &stack)?;
            Ok(Ok(deleted(removed, Some(id), true)))
        }
        Some(id) => match stack.find(db, id)? {
            // Gone already (or never there): deleting is idempotent.
            None => Ok(Ok(deleted(None, Some(id), false))),
            Some((rk, row)) => {
                stack.remove(db, batch, &rk, &row)?;
                sync_current(db, batch, &ok, current.as_ref(), &stack)?;
                let marker = row.is_delete_marker();
                Ok(Ok(deleted(row.manifest().cloned(), Some(id), marker)))
            }
        },
    }
}

fn deleted(
    removed: Option<ObjectManifest>,
    version_id: Option<ObjectVersionId>,
    delete_marker: bool,
) -> MetaResponse {
    MetaResponse::Deleted(DeleteOutcome {
        removed,
        version_id,
        delete_marker,
    })
}

/// Put/DeleteObjectTagging on a version (None: the current object).
/// Answers `Tagged` with the id of the version tagged (`tagged_answer`), or
/// `Done` for the older command without versions.
pub(super) fn set_tags(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    key: &str,
    version: Option<ObjectVersionId>,
    tags: &[Tag],
    tagged_answer: bool,
) -> Applied {
    let answer = |version_id| {
        if tagged_answer {
            MetaResponse::Tagged { version_id }
        } else {
            MetaResponse::Done
        }
    };
    if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let missing = || match version {
        None => MetaError::NoSuchKey,
        Some(_) => MetaError::NoSuchVersion,
    };
    let ok = object_key(bucket, key);
    let current = db.get::<ObjectManifest>(CF_OBJECTS, &ok)?;
    if newest_stored(db, bucket, key)?.is_none() {
        // No versions stored: only the current object (the `null` version) can be named.
        if current.is_none() || !matches!(version, None | Some(ObjectVersionId::Null)) {
            return Ok(Err(missing()));
        }
        let mut extras = object_extras(db, &ok)?;
        extras.tags = tags.to_vec();
        write_object_extras(db, batch, &ok, &extras)?;
        let has_versioning = object_versions::status(db, bucket)?.is_some();
        return Ok(Ok(answer(has_versioning.then_some(ObjectVersionId::Null))));
    }
    let mut stack = KeyVersions::load(db, batch, bucket, key, current.as_ref())?;
    let found = match version {
        None => stack.newest().map(|row| {
            let rk = version_key(bucket, key, row.seq);
            (rk, row.clone())
        }),
        Some(id) => stack.find(db, id)?,
    };
    let Some((rk, mut row)) = found else {
        return Ok(Err(missing()));
    };
    let tagged = row.id;
    match &mut row.entry {
        VersionEntry::Object { extras, .. } => extras.tags = tags.to_vec(),
        VersionEntry::DeleteMarker { .. } if version.is_none() => {
            return Ok(Err(MetaError::NoSuchKey));
        }
        VersionEntry::DeleteMarker { .. } => {
            return Ok(Err(MetaError::MethodNotAllowed(
                "a delete marker has no tags".into(),
            )));
        }
    }
    stack.rewrite(db, batch, &rk, row)?;
    if stack.is_newest(&rk) {
        sync_current(db, batch, &ok, current.as_ref(), &stack)?;
    }
    Ok(Ok(answer(Some(tagged))))
}

/// The lifecycle job's expiry (see `MetaCommand::ExpireVersion`).
pub(super) fn expire(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    key: &str,
    target: &ExpiryTarget,
    marker: VersionId,
    now: UnixMillis,
) -> Applied {
    let nothing = Ok(Ok(deleted(None, None, false)));
    if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
        return Ok(Err(MetaError::NoSuchBucket));
    }
    let ok = object_key(bucket, key);
    let current = db.get::<ObjectManifest>(CF_OBJECTS, &ok)?;
    match target {
        ExpiryTarget::Current(v) => {
            if current.as_ref().is_none_or(|c| c.version != *v) {
                return nothing;
            }
            delete(db, batch, bucket, key, None, None, marker, now)
        }
        ExpiryTarget::Noncurrent { id, last_modified } => {
            // Without stored versions the one object is current.
            if newest_stored(db, bucket, key)?.is_none() {
                return nothing;
            }
            let mut stack = KeyVersions::load(db, batch, bucket, key, current.as_ref())?;
            match stack.find(db, *id)? {
                Some((rk, row))
                    if !stack.is_newest(&rk) && row.last_modified() == *last_modified =>
                {
                    stack.remove(db, batch, &rk, &row)?;
                    let is_marker = row.is_delete_marker();
                    Ok(Ok(deleted(row.manifest().cloned(), Some(*id), is_marker)))
                }
                _ => nothing,
            }
        }
        ExpiryTarget::LoneDeleteMarker(id) => {
            if current.is_some() {
                return nothing;
            }
            let mut stack = KeyVersions::load(db, batch, bucket, key, current.as_ref())?;
            let newest = match stack.newest() {
                Some(v) if v.id == *id && v.is_delete_marker() => v.clone(),
                _ => return nothing,
            };
            if stack.has_older(db)? {
                return nothing;
            }
            let rk = version_key(bucket, key, newest.seq);
            stack.remove(db, batch, &rk, &newest)?;
            Ok(Ok(deleted(None, Some(*id), true)))
        }
    }
}

#[cfg(test)]
#[path = "versioning_tests.rs"]
mod tests;
