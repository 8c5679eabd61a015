//! Where the cluster's shards are, for a layout plan (`usage`: every
//! object, noncurrent version and uploaded part, grouped by partition, width
//! and holders), and a bucket's objects and bytes (`bucket_usage`, behind
//! `cairn admin bucket info`).

use crate::store::chunks::manifest_chunks;
use crate::store::db::{
    CF_BUCKETS, CF_OBJECT_VERSIONS, CF_OBJECTS, CF_PARTS, CF_UPLOADS, DbError, MetaDb, decode,
    scan_all,
};
use crate::store::keys::{VERSION_SEQ_BYTES, bucket_prefix};
use crate::store::layout::state;
use crate::store::object_versions::StoredVersion;
use cairn_placement::{DEFAULT_PARTITIONS, partition_of};
use cairn_types::{
    Bucket, ChunkRef, NodeId, ObjectManifest, PartRecord, UploadRecord, UsageGroup, VersionId,
};
use std::collections::{BTreeMap, HashMap};

/// Bytes one shard of `chunk` holds: the chunk for a replica, a piece's
/// share (rounded up) for an erasure-coded chunk.
fn shard_bytes(chunk: &ChunkRef) -> u64 {
    match chunk.data_pieces {
        0 => chunk.len,
        k => chunk.len.div_ceil(u64::from(k)),
    }
}

/// Accumulates shards into groups by (partition, width, holders).
struct UsageScan {
    partitions: u32,
    groups: BTreeMap<(u32, u8, Vec<NodeId>), (u64, u64)>,
}

impl UsageScan {
    fn add(&mut self, chunk: &ChunkRef, replicas: Option<usize>) {
        let (width, mut holders): (usize, Vec<NodeId>) = if chunk.pieces.is_empty() {
            (
                replicas.unwrap_or(chunk.nodes.len()).max(chunk.nodes.len()),
                chunk.nodes.clone(),
            )
        } else {
            (
                chunk.pieces.len(),
                chunk.pieces.iter().flatten().map(|p| p.node).collect(),
            )
        };
        holders.sort_unstable();
        holders.dedup();
        let partition = partition_of(&chunk.shard_id(0), self.partitions);
        let width = u8::try_from(width).unwrap_or(u8::MAX);
        let entry = self
            .groups
            .entry((partition, width, holders))
            .or_insert((0, 0));
        entry.0 += 1;
        entry.1 += shard_bytes(chunk);
    }
}

/// Where every stored shard is (every object and every uploaded part).
pub fn usage(db: &MetaDb) -> Result<Vec<UsageGroup>, DbError> {
    let partitions = state(db)?
        .current
        .map_or(DEFAULT_PARTITIONS, |l| l.partitions);
    let replicas_of: HashMap<String, Option<usize>> = scan_all::<Bucket>(db, CF_BUCKETS)?
        .into_iter()
        .map(|b| {
            let replicas = match b.redundancy {
                cairn_types::Redundancy::Replicas(_) => Some(b.redundancy.width()),
                cairn_types::Redundancy::ErasureCoded { .. } => None,
            };
            (b.name, replicas)
        })
        .collect();
    let upload_bucket: HashMap<VersionId, String> = scan_all::<UploadRecord>(db, CF_UPLOADS)?
        .into_iter()
        .map(|u| (u.upload_id, u.bucket))
        .collect();
    let mut acc = UsageScan {
        partitions,
        groups: BTreeMap::new(),
    };
    // A stored manifest keeps its chunks in the chunk tables
    // (`manifest_chunks` reads them, with their current holders).
    for m in scan_all::<ObjectManifest>(db, CF_OBJECTS)? {
        let replicas = replicas_of.get(&m.bucket).copied().flatten();
        manifest_chunks(db, &m)?
            .iter()
            .for_each(|c| acc.add(c, replicas));
    }
    // Noncurrent versions hold shards too (the newest object version of a
    // key is its `objects` row, counted above).
    // (A row's key without its version number names its bucket and key.)
    let mut previous_key: Option<Vec<u8>> = None;
    let mut it = db.db.raw_iterator_cf(db.cf(CF_OBJECT_VERSIONS)?);
    it.seek_to_first();
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        let key = k
            .get(..k.len().saturating_sub(VERSION_SEQ_BYTES))
            .map(<[u8]>::to_vec);
        let newest = key != previous_key;
        let row: StoredVersion = decode(v)?;
        if let (false, Some(m)) = (newest, row.manifest()) {
            let replicas = replicas_of.get(&m.bucket).copied().flatten();
            manifest_chunks(db, m)?
                .iter()
                .for_each(|c| acc.add(c, replicas));
        }
        previous_key = key;
        it.next();
    }
    it.status()?;
    let mut it = db.db.raw_iterator_cf(db.cf(CF_PARTS)?);
    it.seek_to_first();
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        let part: PartRecord = decode(v)?;
        let replicas = k
            .get(..16)
            .and_then(|id| <[u8; 16]>::try_from(id).ok())
            .and_then(|id| upload_bucket.get(&VersionId(id)))
            .and_then(|bucket| replicas_of.get(bucket).copied().flatten());
        part.chunks.iter().for_each(|c| acc.add(c, replicas));
        it.next();
    }
    it.status()?;
    Ok(acc
        .groups
        .into_iter()
        .map(
            |((partition, width, holders), (chunks, shard_bytes))| UsageGroup {
                partition,
                width,
                holders,
                chunks,
                shard_bytes,
            },
        )
        .collect())
}

/// Objects in a bucket and their bytes; None when the bucket does not exist.
pub fn bucket_usage(db: &MetaDb, name: &str) -> Result<Option<(u64, u64)>, DbError> {
    if db.get::<Bucket>(CF_BUCKETS, name.as_bytes())?.is_none() {
        return Ok(None);
    }
    let prefix = bucket_prefix(name);
    let mut it = db.db.raw_iterator_cf(db.cf(CF_OBJECTS)?);
    it.seek(&prefix);
    let (mut objects, mut bytes) = (0u64, 0u64);
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if !k.starts_with(&prefix) {
            break;
        }
        let m: ObjectManifest = decode(v)?;
        objects += 1;
        bytes += m.size;
        it.next();
    }
    it.status()?;
    Ok(Some((objects, bytes)))
}
