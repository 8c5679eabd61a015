//! The cluster layout in the state machine: staging an operator's changes,
//! applying a planned layout (and refusing the ones that would strand data),
//! and the scans behind a layout plan and `cairn admin bucket info`.
//!
//! Both records live in the `layout` table: `current` (the applied
//! `ClusterLayout`, absent before the first apply) and `staging`. Moving data
//! after a layout change is not built yet, so once any object or part holds
//! shards (the garbage collector's reference index is not empty), a layout
//! that gives any partition new owners at a width some bucket uses (a set
//! change among its first `width` nodes; a reordering needs nothing moved,
//! as manifests record each piece's node) is refused. The first
//! layout is always accepted: manifests record the node of every shard, so
//! data written before any layout stays readable where it is.

use crate::apply::Applied;
use crate::db::{
    CF_BUCKETS, CF_DATA_REFS, CF_LAYOUT, CF_NODES, CF_OBJECT_VERSIONS, CF_OBJECTS, CF_PARTS,
    CF_UPLOADS, DbError, MetaDb, decode, encode,
};
use crate::keys::VERSION_SEQ_BYTES;
use crate::keys::bucket_prefix;
use crate::query::scan_all;
use crate::versions::StoredVersion;
use cairn_placement::{DEFAULT_PARTITIONS, MAX_TABLE_WIDTH, changes_owners, partition_of};
use cairn_rpc::{LayoutChange, MetaError, MetaResponse, NodeRecord};
use cairn_types::{
    Bucket, ChunkRef, ClusterLayout, LayoutState, NodeId, ObjectData, ObjectManifest, PartRecord,
    StagedRole, UploadRecord, UsageGroup, VersionId,
};
use rocksdb::WriteBatch;
use std::collections::{BTreeMap, HashMap};

const CURRENT_KEY: &[u8] = b"current";
const STAGING_KEY: &[u8] = b"staging";
/// Longest zone name a layout accepts.
pub const MAX_ZONE_LEN: usize = 64;

/// The applied layout and the staged changes.
pub fn state(db: &MetaDb) -> Result<LayoutState, DbError> {
    Ok(LayoutState {
        current: db.get(CF_LAYOUT, CURRENT_KEY)?,
        staging: db.get(CF_LAYOUT, STAGING_KEY)?.unwrap_or_default(),
    })
}

/// Whether any object or uploaded part has shards on storage nodes.
pub fn holds_object_data(db: &MetaDb) -> Result<bool, DbError> {
    let mut it = db.db.raw_iterator_cf(db.cf(CF_DATA_REFS)?);
    it.seek_to_first();
    let found = it.valid();
    it.status()?;
    Ok(found)
}

pub fn stage(db: &MetaDb, batch: &mut WriteBatch, change: &LayoutChange) -> Applied {
    let mut st = state(db)?;
    let current = st.current.as_ref();
    match change {
        LayoutChange::Revert => st.staging.changes.clear(),
        LayoutChange::Assign { id, zone, capacity } => {
            let Some(record) = db.get::<NodeRecord>(CF_NODES, &id.to_be_bytes())? else {
                return Ok(Err(MetaError::InvalidLayout(format!(
                    "node {id} is not registered (start it with `cairn node` first)"
                ))));
            };
            let in_layout = current.and_then(|l| l.node(*id));
            let zone = zone
                .clone()
                .or_else(|| in_layout.map(|n| n.zone.clone()))
                .unwrap_or(record.zone);
            if zone.is_empty() || zone.len() > MAX_ZONE_LEN {
                return Ok(Err(MetaError::InvalidLayout(format!(
                    "a zone name has 1 to {MAX_ZONE_LEN} bytes"
                ))));
            }
            let capacity = capacity
                .or_else(|| in_layout.map(|n| n.capacity))
                .unwrap_or(record.capacity);
            if in_layout.is_some_and(|n| n.zone == zone && n.capacity == capacity) {
                // Exactly as applied: nothing to change.
                st.staging.changes.remove(id);
            } else {
                st.staging
                    .changes
                    .insert(*id, StagedRole::Assign { zone, capacity });
            }
        }
        LayoutChange::Remove { id } => {
            if current.is_some_and(|l| l.node(*id).is_some()) {
                st.staging.changes.insert(*id, StagedRole::Remove);
            } else if st.staging.changes.remove(id).is_none()
                && db.get::<NodeRecord>(CF_NODES, &id.to_be_bytes())?.is_none()
            {
                return Ok(Err(MetaError::InvalidLayout(format!(
                    "node {id} is neither registered nor in the layout"
                ))));
            }
        }
    }
    batch.put_cf(db.cf(CF_LAYOUT)?, STAGING_KEY, encode(&st.staging)?);
    Ok(Ok(MetaResponse::Done))
}

pub fn apply(db: &MetaDb, batch: &mut WriteBatch, layout: &ClusterLayout) -> Applied {
    let st = state(db)?;
    if st.current.as_ref() == Some(layout) {
        // Applied already (a client retry after an unknown outcome).
        return Ok(Ok(MetaResponse::Done));
    }
    let refuse = |msg: String| Ok(Err(MetaError::InvalidLayout(msg)));
    if layout.epoch != st.epoch() + 1 {
        return refuse(format!(
            "the cluster's layout is at epoch {}, this one was planned after epoch {}; plan again",
            st.epoch(),
            layout.epoch.saturating_sub(1)
        ));
    }
    if st.staging.is_empty() {
        return refuse("no changes are staged".into());
    }
    if layout.nodes != st.staging.next_nodes(st.current.as_ref()) {
        return refuse(
            "the staged changes differ from the ones this layout was planned with; plan again"
                .into(),
        );
    }
    if let Some(cur) = &st.current
        && cur.partitions != layout.partitions
    {
        return refuse(format!(
            "the cluster has {} partitions; that number never changes",
            cur.partitions
        ));
    }
    if let Err(msg) = layout.check_shape(MAX_TABLE_WIDTH) {
        return refuse(msg);
    }
    if let Some(cur) = &st.current
        && changes_owners(cur, layout, &bucket_widths(db)?)
        && holds_object_data(db)?
    {
        return Ok(Err(MetaError::LayoutChangeRefused(
            "the cluster holds object data, and this layout gives partitions new owners; \
             moving data to new owners (rebalancing) is not built yet, so applying it would \
             leave data away from where the layout places it. Revert the staged changes \
             with `cairn admin layout revert`"
                .into(),
        )));
    }
    let cf = db.cf(CF_LAYOUT)?;
    batch.put_cf(cf, CURRENT_KEY, encode(layout)?);
    batch.delete_cf(cf, STAGING_KEY);
    Ok(Ok(MetaResponse::Done))
}

/// The redundancy widths the buckets use (each once).
pub fn bucket_widths(db: &MetaDb) -> Result<Vec<usize>, DbError> {
    let mut widths: Vec<usize> = scan_all::<Bucket>(db, CF_BUCKETS)?
        .iter()
        .map(|b| b.redundancy.width())
        .collect();
    widths.sort_unstable();
    widths.dedup();
    Ok(widths)
}

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
    for m in scan_all::<ObjectManifest>(db, CF_OBJECTS)? {
        if let ObjectData::Chunked { chunks, .. } = &m.data {
            let replicas = replicas_of.get(&m.bucket).copied().flatten();
            chunks.iter().for_each(|c| acc.add(c, replicas));
        }
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
        if let (false, Some(m)) = (newest, row.manifest())
            && let ObjectData::Chunked { chunks, .. } = &m.data
        {
            let replicas = replicas_of.get(&m.bucket).copied().flatten();
            chunks.iter().for_each(|c| acc.add(c, replicas));
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

#[cfg(test)]
mod tests;
