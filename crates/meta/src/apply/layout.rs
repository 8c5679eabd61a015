//! Layout commands: staging an operator's changes and applying a planned
//! layout. Both records live in the `layout` table (`store::layout`).
//!
//! Any change is accepted on a cluster holding data (add, remove, re-zone,
//! re-weight), as the next epoch: new chunks are placed by it at once, and
//! pieces whose holder is no longer among their chunk's owners are
//! *misplaced*, still readable where they are, until the reconciler moves
//! them (`reconcile::rebalance`). Applying restarts the count of bytes moved
//! and records the nodes that left (`departed`: they drain). Refused: a
//! layout with fewer nodes than the widest bucket stores a chunk on.

use super::outcome::Applied;
use crate::store::db::{CF_BUCKETS, CF_LAYOUT, CF_NODES, DbError, MetaDb, encode, scan_all};
use crate::store::layout::{CURRENT_KEY, DEPARTED_KEY, STAGING_KEY, state};
use crate::store::repair_rows::start_rebalance;
use cairn_placement::MAX_TABLE_WIDTH;
use cairn_rpc::{LayoutChange, MetaError, MetaResponse, NodeRecord};
use cairn_types::{Bucket, ClusterLayout, StagedRole};
use rocksdb::WriteBatch;

/// Longest zone name a layout accepts.
pub const MAX_ZONE_LEN: usize = 64;

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
    let widest = bucket_widths(db)?.into_iter().max().unwrap_or(0);
    if layout.placeable_nodes() < widest {
        return Ok(Err(MetaError::LayoutChangeRefused(format!(
            "a bucket stores chunks on {widest} nodes and this layout has {} node(s) with \
             capacity; nothing was changed. Keep more nodes (`cairn admin node assign`), or \
             lower that bucket's redundancy first",
            layout.placeable_nodes()
        ))));
    }
    let cf = db.cf(CF_LAYOUT)?;
    batch.put_cf(cf, CURRENT_KEY, encode(layout)?);
    batch.delete_cf(cf, STAGING_KEY);
    // Nodes that leave drain; a node that comes back is no longer departed.
    let mut departed = st.departed.clone();
    if let Some(cur) = &st.current {
        departed.extend(
            cur.nodes
                .iter()
                .map(|n| n.id)
                .filter(|id| layout.node(*id).is_none()),
        );
    }
    departed.retain(|id| layout.node(*id).is_none());
    batch.put_cf(cf, DEPARTED_KEY, encode(&departed)?);
    start_rebalance(db, batch, layout.epoch)?;
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

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
