//! The `parts` table: the parts of a multipart upload (keyed by upload id
//! then part number, so an upload's parts are contiguous and in order).

use crate::store::db::{CF_PARTS, DbError, MetaDb, decode};
use cairn_types::{PartRecord, VersionId};

/// All parts of an upload, in part-number order.
pub fn upload_parts(db: &MetaDb, upload_id: &VersionId) -> Result<Vec<PartRecord>, DbError> {
    let prefix = upload_id.as_bytes().to_vec();
    let mut it = db.db.raw_iterator_cf(db.cf(CF_PARTS)?);
    it.seek(&prefix);
    let mut out = Vec::new();
    while it.valid() {
        match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.starts_with(&prefix) => out.push(decode(v)?),
            _ => break,
        }
        it.next();
    }
    it.status()?;
    Ok(out)
}
