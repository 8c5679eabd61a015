//! Chunk placement records and the manifests that name them.
//!
//! Rows in `objects` and `object_versions` never hold a chunk list: a
//! chunked manifest is stored as `ObjectData::Placed` (its codec and chunk
//! count), its chunks in `object_chunks` (manifest version | offset →
//! `ObjectChunk`), and each chunk's placement in `chunks` (`ChunkKey` →
//! `ChunkRecord`), one record per physical chunk whatever holds it (the
//! current object, its version row, the uploaded part it came from). So
//! HEAD and listings decode no chunk list, a ranged GET reads only the
//! chunks of its range (`chunk_refs`), and a mover changes one piece's
//! holder by rewriting one small record (`apply::reconcile`). `node_pieces`
//! indexes every recorded piece by holder (a scrub walks it; a wiped
//! node's pieces are found from it).
//!
//! Records are written when a manifest or part is first stored and never
//! overwritten by a later store of the same chunk (a retried commit must
//! not undo a move). They go when nothing references their data version
//! any more: every version a holder stops referencing is noted as
//! *released* (`repair_rows::note_released`), and `sweep_released` drops
//! the rows of those that no record references once they were released a
//! GC grace ago (a GET that read the old manifest may still page them).

use crate::store::db::{
    CF_BUCKETS, CF_CHUNKS, CF_NODE_PIECES, CF_OBJECT_CHUNKS, DbError, MetaDb, decode, encode,
};
use cairn_types::{
    Bucket, ChunkKey, ChunkRecord, ChunkRef, NodeId, ObjectData, ObjectManifest, Redundancy,
    ShardId, VersionId,
};
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One row of `object_chunks`: which chunk covers the bytes from the row's
/// offset, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectChunk {
    pub key: ChunkKey,
    pub len: u64,
}

fn object_chunk_key(manifest: &VersionId, offset: u64) -> [u8; 24] {
    let mut out = [0u8; 24];
    out[..16].copy_from_slice(manifest.as_bytes());
    out[16..].copy_from_slice(&offset.to_be_bytes());
    out
}

/// The `node_pieces` key of piece `shard` on `node`.
pub fn node_piece_key(node: NodeId, shard: &ShardId) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 26);
    out.extend_from_slice(&node.to_be_bytes());
    out.extend_from_slice(&shard.to_bytes());
    out
}

/// The pieces a chunk reference records: (shard id, holder).
pub fn recorded_pieces(chunk: &ChunkRef) -> Vec<(ShardId, NodeId)> {
    if chunk.data_pieces > 0 {
        chunk
            .pieces
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (chunk.shard_id(i as u16), p.node)))
            .collect()
    } else {
        chunk
            .nodes
            .iter()
            .map(|n| (chunk.shard_id(0), *n))
            .collect()
    }
}

/// Whether a chunk has every piece its width asks for.
pub fn is_full_width(record: &ChunkRecord) -> bool {
    record.is_full_width()
}

/// The record of one chunk.
pub fn chunk_record(db: &MetaDb, key: &ChunkKey) -> Result<Option<ChunkRecord>, DbError> {
    db.get(CF_CHUNKS, &key.to_bytes())
}

/// Writes `record` for `key`, keeping `node_pieces` equal to it (`old` is
/// the record stored now, if any).
pub fn put_record(
    db: &MetaDb,
    batch: &mut WriteBatch,
    key: &ChunkKey,
    old: Option<&ChunkRecord>,
    record: &ChunkRecord,
) -> Result<(), DbError> {
    let pieces = db.cf(CF_NODE_PIECES)?;
    let before: BTreeSet<(NodeId, ShardId)> = old
        .map(|o| {
            recorded_pieces(&o.chunk)
                .into_iter()
                .map(|(s, n)| (n, s))
                .collect()
        })
        .unwrap_or_default();
    let after: BTreeSet<(NodeId, ShardId)> = recorded_pieces(&record.chunk)
        .into_iter()
        .map(|(s, n)| (n, s))
        .collect();
    for (n, s) in before.difference(&after) {
        batch.delete_cf(pieces, node_piece_key(*n, s));
    }
    for (n, s) in after.difference(&before) {
        batch.put_cf(pieces, node_piece_key(*n, s), b"");
    }
    batch.put_cf(db.cf(CF_CHUNKS)?, key.to_bytes(), encode(record)?);
    Ok(())
}

/// Pieces a bucket wants per chunk written with `chunk`'s shape.
fn width_of(db: &MetaDb, bucket: &str, chunk: &ChunkRef) -> Result<u8, DbError> {
    if chunk.data_pieces > 0 {
        return Ok(u8::try_from(chunk.pieces.len()).unwrap_or(u8::MAX));
    }
    let wanted = match db.get::<Bucket>(CF_BUCKETS, bucket.as_bytes())? {
        Some(Bucket {
            redundancy: Redundancy::Replicas(n),
            ..
        }) => n,
        _ => 0,
    };
    Ok(wanted.max(u8::try_from(chunk.nodes.len()).unwrap_or(u8::MAX)))
}

/// Records `chunks` (written with `codec` for a manifest or part of
/// `bucket`) unless a record exists: a chunk stored again keeps the
/// placement its record has. A chunk with fewer pieces than its width
/// becomes a repair candidate.
pub fn place_chunks(
    db: &MetaDb,
    batch: &mut WriteBatch,
    bucket: &str,
    codec: u16,
    chunks: &[ChunkRef],
) -> Result<(), DbError> {
    for c in chunks {
        let key = ChunkKey::of_ref(c);
        if chunk_record(db, &key)?.is_some() {
            continue;
        }
        let record = ChunkRecord {
            chunk: c.clone(),
            codec,
            width: width_of(db, bucket, c)?,
            history: Vec::new(),
        };
        put_record(db, batch, &key, None, &record)?;
        if !is_full_width(&record) {
            super::repair_rows::add_candidate(db, batch, &key)?;
        }
    }
    Ok(())
}

/// Whether a chunk just written is stored as `redundancy` says: its shape,
/// and no more replicas than it wants (fewer: repair adds them).
fn stored_as(redundancy: Redundancy, c: &ChunkRef) -> bool {
    redundancy.shapes(c)
        && match redundancy {
            Redundancy::Replicas(n) => c.nodes.len() <= usize::from(n),
            Redundancy::ErasureCoded { .. } => true,
        }
}

/// The form a manifest is stored in: a chunked manifest's chunks go to
/// their tables (once) and the row keeps only their count.
pub fn stored_form(
    db: &MetaDb,
    batch: &mut WriteBatch,
    m: &ObjectManifest,
) -> Result<ObjectManifest, DbError> {
    let ObjectData::Chunked { codec, chunks } = &m.data else {
        return Ok(m.clone());
    };
    // The same manifest stored again (a retried commit) keeps its rows: a
    // chunk re-encoded since must not be named by its old key again.
    if object_chunk_row(db, &m.version, 0)?.is_some() {
        return Ok(placed_form(m));
    }
    place_chunks(db, batch, &m.bucket, *codec, chunks)?;
    // Chunks written the way the bucket no longer stores them (a write
    // begun before `set-redundancy`): the bucket is walked again.
    if let Some(bucket) = db.get::<Bucket>(CF_BUCKETS, m.bucket.as_bytes())?
        && chunks.iter().any(|c| !stored_as(bucket.redundancy, c))
    {
        super::reencode_rows::mark_reencode(db, batch, &m.bucket, bucket.redundancy)?;
    }
    let rows = db.cf(CF_OBJECT_CHUNKS)?;
    let mut offset = 0u64;
    for c in chunks {
        let row = ObjectChunk {
            key: ChunkKey::of_ref(c),
            len: c.len,
        };
        batch.put_cf(rows, object_chunk_key(&m.version, offset), encode(&row)?);
        offset += c.len;
    }
    Ok(placed_form(m))
}

/// A manifest as it reads once stored: a chunk list becomes its count
/// (`ObjectData::Placed`); inline and placed manifests stay as they are.
pub fn placed_form(m: &ObjectManifest) -> ObjectManifest {
    match &m.data {
        ObjectData::Chunked { codec, chunks } => ObjectManifest {
            data: ObjectData::Placed {
                codec: *codec,
                chunks: chunks.len() as u64,
            },
            ..m.clone()
        },
        _ => m.clone(),
    }
}

/// The chunk row of manifest version `manifest` at byte `offset`.
pub fn object_chunk_row(
    db: &MetaDb,
    manifest: &VersionId,
    offset: u64,
) -> Result<Option<ObjectChunk>, DbError> {
    db.get(CF_OBJECT_CHUNKS, &object_chunk_key(manifest, offset))
}

/// Writes the chunk row of manifest version `manifest` at byte `offset`.
pub fn put_object_chunk_row(
    db: &MetaDb,
    batch: &mut WriteBatch,
    manifest: &VersionId,
    offset: u64,
    row: &ObjectChunk,
) -> Result<(), DbError> {
    batch.put_cf(
        db.cf(CF_OBJECT_CHUNKS)?,
        object_chunk_key(manifest, offset),
        encode(row)?,
    );
    Ok(())
}

/// Drops the record of `key` (stored now as `record`) with its pieces,
/// damage and candidacy.
pub fn drop_record(
    db: &MetaDb,
    batch: &mut WriteBatch,
    key: &ChunkKey,
    record: &ChunkRecord,
) -> Result<(), DbError> {
    for (shard, node) in recorded_pieces(&record.chunk) {
        batch.delete_cf(db.cf(CF_NODE_PIECES)?, node_piece_key(node, &shard));
    }
    super::repair_rows::forget_chunk(db, batch, key)?;
    batch.delete_cf(db.cf(CF_CHUNKS)?, key.to_bytes());
    Ok(())
}

/// The chunks of manifest version `manifest` from the one covering byte
/// `start` on, while they begin before `end`, at most `max`: (offset, row).
pub fn object_chunks(
    db: &MetaDb,
    manifest: &VersionId,
    start: u64,
    end: u64,
    max: usize,
) -> Result<Vec<(u64, ObjectChunk)>, DbError> {
    let mut it = db.db.raw_iterator_cf(db.cf(CF_OBJECT_CHUNKS)?);
    it.seek_for_prev(object_chunk_key(manifest, start));
    if !it
        .key()
        .is_some_and(|k| k.len() == 24 && &k[..16] == manifest.as_bytes())
    {
        it.seek(object_chunk_key(manifest, start));
    }
    let mut out = Vec::new();
    while out.len() < max
        && let Some((k, v)) = it.item()
    {
        if k.len() != 24 || &k[..16] != manifest.as_bytes() {
            break;
        }
        let offset = u64::from_be_bytes(k[16..24].try_into().unwrap_or([0; 8]));
        if offset >= end && !(offset == 0 && end == 0) {
            break;
        }
        let row: ObjectChunk = decode(v)?;
        if offset + row.len > start || (row.len == 0 && offset >= start) {
            out.push((offset, row));
        }
        it.next();
    }
    it.status()?;
    Ok(out)
}

/// The chunk references (with their current placement) of manifest
/// `manifest` overlapping `start..end`, at most `max`: (offset, chunk).
/// A row whose record is gone (never, while the manifest is stored) fails.
pub fn chunk_refs(
    db: &MetaDb,
    manifest: &VersionId,
    start: u64,
    end: u64,
    max: usize,
) -> Result<Vec<(u64, ChunkRef)>, DbError> {
    let mut out = Vec::new();
    for (offset, row) in object_chunks(db, manifest, start, end, max)? {
        let record = chunk_record(db, &row.key)?.ok_or_else(|| {
            DbError::Decode(format!("chunk {} of {manifest} has no record", row.key))
        })?;
        out.push((offset, record.chunk));
    }
    Ok(out)
}

/// Every chunk of a manifest, in object order, with current placement.
pub fn manifest_chunks(db: &MetaDb, m: &ObjectManifest) -> Result<Vec<ChunkRef>, DbError> {
    match &m.data {
        ObjectData::Inline(_) => Ok(Vec::new()),
        ObjectData::Chunked { chunks, .. } => Ok(chunks.clone()),
        ObjectData::Placed { .. } => Ok(chunk_refs(db, &m.version, 0, u64::MAX, usize::MAX)?
            .into_iter()
            .map(|(_, c)| c)
            .collect()),
    }
}

/// The data versions a stored or new manifest references: its own (its
/// chunk rows live under it) and those its chunks were written under.
pub fn manifest_versions(db: &MetaDb, m: &ObjectManifest) -> Result<BTreeSet<VersionId>, DbError> {
    let mut out = BTreeSet::new();
    match &m.data {
        ObjectData::Inline(_) => return Ok(out),
        ObjectData::Chunked { chunks, .. } => out.extend(chunks.iter().map(|c| c.version)),
        ObjectData::Placed { .. } => {
            for (_, row) in object_chunks(db, &m.version, 0, u64::MAX, usize::MAX)? {
                out.insert(row.key.version);
            }
        }
    }
    out.insert(m.version);
    Ok(out)
}

/// Drops the rows under data version `v`: the chunk records written under
/// it (with their pieces, damage and candidacy) and the chunk list of a
/// manifest of that version. Called only when nothing references `v`.
pub fn drop_version(db: &MetaDb, batch: &mut WriteBatch, v: &VersionId) -> Result<(), DbError> {
    let prefix = v.as_bytes();
    let chunks = db.cf(CF_CHUNKS)?;
    let mut it = db.db.raw_iterator_cf(chunks);
    it.seek(prefix);
    while let Some((k, val)) = it.item() {
        if !k.starts_with(prefix) {
            break;
        }
        let record: ChunkRecord = decode(val)?;
        match ChunkKey::from_bytes(k) {
            Some(key) => drop_record(db, batch, &key, &record)?,
            None => batch.delete_cf(chunks, k),
        }
        it.next();
    }
    it.status()?;
    let rows = db.cf(CF_OBJECT_CHUNKS)?;
    let mut it = db.db.raw_iterator_cf(rows);
    it.seek(prefix);
    while let Some(k) = it.key() {
        if !k.starts_with(prefix) {
            break;
        }
        batch.delete_cf(rows, k);
        it.next();
    }
    it.status()?;
    super::reencode_rows::drop_retired(db, batch, v)
}

/// The pieces recorded on `node` after `after`, in shard order, at most `max`.
pub fn pieces_on_node(
    db: &MetaDb,
    node: NodeId,
    after: Option<&ShardId>,
    max: usize,
) -> Result<Vec<ShardId>, DbError> {
    let prefix = node.to_be_bytes();
    let mut it = db.db.raw_iterator_cf(db.cf(CF_NODE_PIECES)?);
    match after {
        Some(a) => {
            let k = node_piece_key(node, a);
            it.seek(&k);
            if it.key() == Some(k.as_slice()) {
                it.next();
            }
        }
        None => it.seek(prefix),
    }
    let mut out = Vec::new();
    while out.len() < max
        && let Some(k) = it.key()
    {
        if !k.starts_with(&prefix) {
            break;
        }
        if let Some(s) = shard_from_bytes(&k[8..]) {
            out.push(s);
        }
        it.next();
    }
    it.status()?;
    Ok(out)
}

/// Parses `ShardId::to_bytes`.
pub fn shard_from_bytes(b: &[u8]) -> Option<ShardId> {
    if b.len() != 26 {
        return None;
    }
    let key = ChunkKey::from_bytes(&b[..24])?;
    Some(key.shard(u16::from_be_bytes([b[24], b[25]])))
}

/// Every chunk record after `after`, in key order, at most `max`.
pub fn scan_records(
    db: &MetaDb,
    after: Option<&ChunkKey>,
    max: usize,
) -> Result<Vec<(ChunkKey, ChunkRecord)>, DbError> {
    let mut it = db.db.raw_iterator_cf(db.cf(CF_CHUNKS)?);
    match after {
        Some(a) => {
            let k = a.to_bytes();
            it.seek(k);
            if it.key() == Some(&k[..]) {
                it.next();
            }
        }
        None => it.seek_to_first(),
    }
    let mut out = Vec::new();
    while out.len() < max
        && let Some((k, v)) = it.item()
    {
        if let Some(key) = ChunkKey::from_bytes(k) {
            out.push((key, decode(v)?));
        }
        it.next();
    }
    it.status()?;
    Ok(out)
}

/// Every manifest version's chunk keys, for reports that count objects:
/// calls `f(manifest, chunk)` for every row of `object_chunks`.
pub fn for_each_object_chunk(
    db: &MetaDb,
    mut f: impl FnMut(VersionId, ObjectChunk),
) -> Result<(), DbError> {
    let mut it = db.db.raw_iterator_cf(db.cf(CF_OBJECT_CHUNKS)?);
    it.seek_to_first();
    while let Some((k, v)) = it.item() {
        if k.len() == 24 {
            let mut m = [0u8; 16];
            m.copy_from_slice(&k[..16]);
            f(VersionId(m), decode(v)?);
        }
        it.next();
    }
    it.status()?;
    Ok(())
}

#[cfg(test)]
#[path = "chunks_tests.rs"]
mod tests;
