//! Where the cluster's pieces are, for a layout plan (`usage`: every chunk
//! record, grouped by partition, width and holders), and a bucket's objects
//! and bytes (`bucket_usage`, behind `cairn admin bucket info`).

use crate::store::chunks::scan_records;
use crate::store::db::{CF_BUCKETS, CF_OBJECTS, DbError, MetaDb, decode};
use crate::store::keys::bucket_prefix;
use crate::store::layout::state;
use cairn_placement::{DEFAULT_PARTITIONS, partition_of};
use cairn_types::{Bucket, NodeId, ObjectManifest, UsageGroup};
use std::collections::BTreeMap;

/// Records read at a time.
const PAGE: usize = 4096;

/// Where every stored piece is: every chunk record (objects, noncurrent
/// versions, uploaded parts, and data released but not yet collected),
/// grouped by (partition, width, holders). Exactly the records the
/// rebalance sweep judges, so a plan counts what the movers will move.
pub fn usage(db: &MetaDb) -> Result<Vec<UsageGroup>, DbError> {
    let partitions = state(db)?
        .current
        .map_or(DEFAULT_PARTITIONS, |l| l.partitions);
    let mut groups: BTreeMap<(u32, u8, Vec<NodeId>), (u64, u64)> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = scan_records(db, after.as_ref(), PAGE)?;
        for (key, record) in &page {
            let width = usize::from(record.width).max(record.min_pieces());
            let mut holders: Vec<NodeId> = record.holders().iter().map(|(_, n, _)| *n).collect();
            holders.sort_unstable();
            holders.dedup();
            let partition = partition_of(&key.shard(0), partitions);
            let width = u8::try_from(width).unwrap_or(u8::MAX);
            let entry = groups.entry((partition, width, holders)).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += record.piece_bytes();
        }
        match page.last() {
            Some((last, _)) if page.len() == PAGE => after = Some(*last),
            _ => break,
        }
    }
    Ok(groups
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
