//! The codec a manifest records, made true in data written by older builds.
//! Reads decode each chunk by the codec its manifest records, but builds
//! before this one recorded `CODEC_REPLICATION_V1` for every multipart
//! object, also in erasure-coded buckets, where the chunks are Reed-Solomon
//! pieces. On open (and after installing a snapshot from such a build) every
//! manifest in `objects` and `object_versions` whose chunks are
//! erasure-coded pieces but whose codec says replication is rewritten with
//! `CODEC_RS_GF256_V1`, once per database: a format marker in `gc` records
//! that it was done.

use crate::store::db::{CF_GC, CF_OBJECT_VERSIONS, CF_OBJECTS, DbError, MetaDb, decode, encode};
use crate::store::object_versions::{StoredVersion, VersionEntry};
use cairn_types::{CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ObjectData, ObjectManifest};
use rocksdb::WriteBatch;

/// Marker in `gc`: the manifests' codecs have been checked.
const KEY_CODECS_FORMAT: &[u8] = b"manifest_codecs_format";
const CODECS_FORMAT: u32 = 1;

/// Corrects the recorded codec of `m` when its chunks say otherwise;
/// answers whether it changed anything.
fn correct(db: &MetaDb, m: &mut ObjectManifest) -> Result<bool, DbError> {
    let erasure_chunks = match &m.data {
        ObjectData::Chunked { chunks, .. } => chunks.iter().any(|c| c.data_pieces > 0),
        ObjectData::Placed { .. } => {
            crate::store::chunks::chunk_refs(db, &m.version, 0, u64::MAX, 1)?
                .iter()
                .any(|(_, c)| c.data_pieces > 0)
        }
        ObjectData::Inline(_) => false,
    };
    match &mut m.data {
        ObjectData::Chunked { codec, .. } | ObjectData::Placed { codec, .. }
            if *codec == CODEC_REPLICATION_V1 && erasure_chunks =>
        {
            *codec = CODEC_RS_GF256_V1;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Rewrites mislabelled manifests unless the marker says it was done.
/// Answers how many rows it rewrote.
pub fn ensure_codecs(db: &MetaDb) -> Result<usize, DbError> {
    if db.get::<u32>(CF_GC, KEY_CODECS_FORMAT)? == Some(CODECS_FORMAT) {
        return Ok(0);
    }
    let mut batch = WriteBatch::default();
    let mut rewritten = 0usize;
    let objects = db.cf(CF_OBJECTS)?;
    for item in db.db.iterator_cf(objects, rocksdb::IteratorMode::Start) {
        let (k, v) = item?;
        let mut m: ObjectManifest = decode(&v)?;
        if correct(db, &mut m)? {
            batch.put_cf(objects, k, encode(&m)?);
            rewritten += 1;
        }
    }
    let versions = db.cf(CF_OBJECT_VERSIONS)?;
    for item in db.db.iterator_cf(versions, rocksdb::IteratorMode::Start) {
        let (k, v) = item?;
        let mut row: StoredVersion = decode(&v)?;
        if let VersionEntry::Object { manifest, .. } = &mut row.entry
            && correct(db, manifest)?
        {
            batch.put_cf(versions, k, encode(&row)?);
            rewritten += 1;
        }
    }
    batch.put_cf(db.cf(CF_GC)?, KEY_CODECS_FORMAT, encode(&CODECS_FORMAT)?);
    db.db.write_opt(batch, &MetaDb::sync_writes())?;
    if rewritten > 0 {
        tracing::info!(rewritten, "recorded the erasure codec of multipart objects");
    }
    Ok(rewritten)
}

#[cfg(test)]
#[path = "manifest_codecs_tests.rs"]
mod tests;
