//! Tenant commands: grants of access keys on buckets, deleting a key with
//! its grants, bucket policies, and creating a bucket owned by the key that asked (the
//! bucket and its owner grant in one entry, so a bucket never exists
//! without its owner).

use super::buckets;
use super::outcome::{Applied, misrouted};
use crate::store::access;
use crate::store::db::{CF_BUCKETS, CF_KEYS, MetaDb};
use cairn_rpc::{MetaCommand, MetaError, MetaResponse};
use cairn_types::access::Grant;
use cairn_types::{AccessKey, Bucket};
use rocksdb::WriteBatch;

/// Applies a tenant command (see `dispatch`).
pub(super) fn apply(db: &MetaDb, batch: &mut WriteBatch, cmd: &MetaCommand) -> Applied {
    match cmd {
        MetaCommand::SetGrant {
            access_key_id,
            bucket,
            grant,
        } => {
            if db
                .get::<AccessKey>(CF_KEYS, access_key_id.as_bytes())?
                .is_none()
            {
                return Ok(Err(MetaError::InvalidRequest(format!(
                    "no access key {access_key_id}"
                ))));
            }
            let everywhere = bucket == cairn_types::access::ALL_BUCKETS;
            if !everywhere && db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            access::set_grant(db, batch, access_key_id, bucket, *grant)?;
            Ok(Ok(MetaResponse::Done))
        }
        MetaCommand::DeleteAccessKey { access_key_id } => {
            if db
                .get::<AccessKey>(CF_KEYS, access_key_id.as_bytes())?
                .is_none()
            {
                return Ok(Err(MetaError::InvalidRequest(format!(
                    "no access key {access_key_id}"
                ))));
            }
            batch.delete_cf(db.cf(CF_KEYS)?, access_key_id.as_bytes());
            access::drop_key(db, batch, access_key_id)?;
            Ok(Ok(MetaResponse::Done))
        }
        MetaCommand::SetBucketPolicy { bucket, policy } => {
            if db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())?.is_none() {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            access::set_policy(db, batch, bucket, policy.as_deref())?;
            Ok(Ok(MetaResponse::Done))
        }
        MetaCommand::CreateBucketOwned { bucket, owner } => {
            if db
                .get::<Bucket>(CF_BUCKETS, bucket.name.as_bytes())?
                .is_some()
            {
                let owns = access::grant(db, owner, &bucket.name)?.is_some_and(|g| g.owner);
                return Ok(Err(if owns {
                    MetaError::BucketAlreadyOwnedByYou
                } else {
                    MetaError::BucketAlreadyExists
                }));
            }
            let created = buckets::create(db, batch, bucket)?;
            if created.is_ok() {
                access::set_grant(db, batch, owner, &bucket.name, Some(Grant::FULL))?;
            }
            Ok(created)
        }
        _ => misrouted(),
    }
}
