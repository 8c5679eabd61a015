//! Multipart upload queries: an upload (with or without its extras), its
//! parts (with or without their checksums), and a bucket's uploads.

use super::buckets::bucket_exists;
use super::listing::list_uploads;
use super::outcome::{Answered, misrouted};
use crate::store::db::{CF_PART_CHECKSUMS, CF_UPLOAD_EXTRAS, CF_UPLOADS, MetaDb};
use crate::store::keys::{part_key, upload_key};
use crate::store::parts::upload_parts;
use cairn_rpc::{MetaError, MetaQuery, PartSummary, QueryResult};
use cairn_types::{PartRecord, StoredChecksum, UploadExtras, UploadRecord};

/// Answers an upload query (see `dispatch`).
pub(super) fn answer(db: &MetaDb, q: &MetaQuery) -> Answered {
    Ok(Ok(match q {
        MetaQuery::GetUpload {
            bucket,
            key,
            upload_id,
        } => {
            if !bucket_exists(db, bucket)? {
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
                .map(summary)
                .collect();
            QueryResult::Parts(parts)
        }
        MetaQuery::ListUploads(uq) => {
            if !bucket_exists(db, &uq.bucket)? {
                return Ok(Err(MetaError::NoSuchBucket));
            }
            let (uploads, truncated) = list_uploads(db, uq)?;
            QueryResult::Uploads { uploads, truncated }
        }
        MetaQuery::GetUploadWithExtras {
            bucket,
            key,
            upload_id,
        } => {
            if !bucket_exists(db, bucket)? {
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
                parts.push((summary(p), checksum));
            }
            QueryResult::PartsWithChecksums { parts, extras }
        }
        _ => return misrouted(),
    }))
}

/// What ListParts reports of a part.
fn summary(p: PartRecord) -> PartSummary {
    PartSummary {
        part_number: p.part_number,
        etag: p.etag,
        size: p.size,
        last_modified: p.last_modified,
    }
}
