//! Moving chunk lists out of manifests, once per database: a data dir (or a
//! snapshot) from a build before chunk placement records keeps every chunk
//! list inside its `objects` and `object_versions` rows. On open (and after
//! installing such a snapshot) every such row is rewritten in the stored
//! form (`chunks::stored_form`: records, the manifest's chunk rows, the
//! piece index, the row with only a count), and every uploaded part's
//! chunks get their records. A format marker in `gc` records that it was
//! done; the index of referenced versions is rebuilt after it (its format
//! changed with it).

use crate::store::chunks::{place_chunks, stored_form};
use crate::store::db::{
    CF_GC, CF_OBJECT_VERSIONS, CF_OBJECTS, CF_PARTS, CF_UPLOADS, DbError, MetaDb, decode, encode,
};
use crate::store::object_versions::{StoredVersion, VersionEntry};
use cairn_types::{
    CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ObjectData, ObjectManifest, PartRecord, UploadRecord,
    VersionId,
};
use rocksdb::WriteBatch;
use std::collections::HashMap;

const KEY_RECORDS_FORMAT: &[u8] = b"chunk_records_format";
const RECORDS_FORMAT: u32 = 1;

fn is_listed(m: &ObjectManifest) -> bool {
    matches!(&m.data, ObjectData::Chunked { .. })
}

/// Moves chunk lists into records unless the marker says it was done.
/// Answers how many rows it rewrote.
pub fn ensure_records(db: &MetaDb) -> Result<usize, DbError> {
    if db.get::<u32>(CF_GC, KEY_RECORDS_FORMAT)? == Some(RECORDS_FORMAT) {
        return Ok(0);
    }
    let mut rewritten = 0usize;
    // One batch per row: records written by earlier rows must be visible
    // to later ones (a chunk shared by an object and its version row is
    // recorded once, with the placement of the first).
    let objects = db.cf(CF_OBJECTS)?;
    let keys: Vec<Box<[u8]>> = db
        .db
        .iterator_cf(objects, rocksdb::IteratorMode::Start)
        .map(|i| i.map(|(k, _)| k))
        .collect::<Result<_, _>>()?;
    for k in keys {
        let Some(m) = db.get::<ObjectManifest>(CF_OBJECTS, &k)? else {
            continue;
        };
        if is_listed(&m) {
            let mut batch = WriteBatch::default();
            let stored = stored_form(db, &mut batch, &m)?;
            batch.put_cf(objects, &k, encode(&stored)?);
            db.db.write(batch)?;
            rewritten += 1;
        }
    }
    let versions = db.cf(CF_OBJECT_VERSIONS)?;
    let keys: Vec<Box<[u8]>> = db
        .db
        .iterator_cf(versions, rocksdb::IteratorMode::Start)
        .map(|i| i.map(|(k, _)| k))
        .collect::<Result<_, _>>()?;
    for k in keys {
        let Some(mut row) = db.get::<StoredVersion>(CF_OBJECT_VERSIONS, &k)? else {
            continue;
        };
        if let VersionEntry::Object { manifest, .. } = &mut row.entry
            && is_listed(manifest)
        {
            let mut batch = WriteBatch::default();
            *manifest = stored_form(db, &mut batch, manifest)?;
            batch.put_cf(versions, &k, encode(&row)?);
            db.db.write(batch)?;
            rewritten += 1;
        }
    }
    let bucket_of: HashMap<VersionId, String> =
        crate::store::db::scan_all::<UploadRecord>(db, CF_UPLOADS)?
            .into_iter()
            .map(|u| (u.upload_id, u.bucket))
            .collect();
    for item in db
        .db
        .iterator_cf(db.cf(CF_PARTS)?, rocksdb::IteratorMode::Start)
    {
        let (k, v) = item?;
        let part: PartRecord = decode(&v)?;
        let Some(bucket) = part_bucket(&bucket_of, &k) else {
            continue;
        };
        let codec = if part.chunks.iter().any(|c| c.data_pieces > 0) {
            CODEC_RS_GF256_V1
        } else {
            CODEC_REPLICATION_V1
        };
        let mut batch = WriteBatch::default();
        place_chunks(db, &mut batch, bucket, codec, &part.chunks)?;
        db.db.write(batch)?;
    }
    let mut batch = WriteBatch::default();
    batch.put_cf(db.cf(CF_GC)?, KEY_RECORDS_FORMAT, encode(&RECORDS_FORMAT)?);
    db.db.write_opt(batch, &MetaDb::sync_writes())?;
    if rewritten > 0 {
        tracing::info!(rewritten, "moved chunk lists into chunk placement records");
    }
    Ok(rewritten)
}

/// The bucket of an uploaded part, by its upload (the first 16 bytes of
/// its key in `parts`, see `keys::part_key`).
fn part_bucket<'a>(bucket_of: &'a HashMap<VersionId, String>, part_key: &[u8]) -> Option<&'a str> {
    let id: [u8; 16] = part_key.get(..16)?.try_into().ok()?;
    bucket_of.get(&VersionId(id)).map(String::as_str)
}
