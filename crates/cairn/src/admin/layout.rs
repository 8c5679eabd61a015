//! Operator work on the layout and the buckets, as `cairn admin node
//! assign|remove`, `cairn admin layout show|plan|apply|revert` and `cairn
//! admin bucket create|info|list` do it: staging changes, planning the next
//! layout (with the placement crate, against where data actually is) and
//! applying it, plus the text those commands print. `cairn server` uses the
//! same calls to put its own nodes in the layout.

use anyhow::Context;
use cairn_placement::{LayoutPlan, next_layout, plan};
use cairn_rpc::meta_reads as reads;
use cairn_rpc::{LayoutChange, MetaClient, MetaCommand, MetaError, NodeStatus};
use cairn_types::{
    Bucket, ClusterLayout, DefaultRedundancy, LayoutState, NodeId, Redundancy, StagedRole,
    now_millis,
};
use std::fmt::Write as _;

/// The widest redundancy in use: of any bucket, and of the default for new ones.
pub fn reference_width(buckets: &[Bucket], default: Redundancy) -> usize {
    buckets
        .iter()
        .map(|b| b.redundancy.width())
        .chain([default.width()])
        .max()
        .unwrap_or(1)
}

/// The next layout and what applying it would move.
pub async fn plan_staged(
    meta: &MetaClient,
    partitions: u32,
    default: DefaultRedundancy,
) -> anyhow::Result<(ClusterLayout, LayoutPlan)> {
    let state = meta.read(reads::GetLayout {}).await?;
    let next = next_layout(&state, partitions)?;
    let usage = meta.read(reads::LayoutUsage {}).await?;
    let buckets = meta.read(reads::ListBuckets {}).await?;
    let width = reference_width(&buckets, default.resolve(next.placeable_nodes()));
    let widths: Vec<usize> = buckets.iter().map(|b| b.redundancy.width()).collect();
    let moves = plan(state.current.as_ref(), &next, &usage, width, &widths);
    Ok((next, moves))
}

/// Applies the staged changes; returns the applied layout.
pub async fn apply_staged(meta: &MetaClient, partitions: u32) -> anyhow::Result<ClusterLayout> {
    let state = meta.read(reads::GetLayout {}).await?;
    let next = next_layout(&state, partitions)?;
    meta.write(&MetaCommand::ApplyLayout(next.clone())).await?;
    Ok(next)
}

/// Puts the given registered nodes in the layout (with their registered zone
/// and capacity) if they are not in it yet, and applies. `Ok(None)` when all
/// were in it already. What `cairn server` does for its own nodes.
pub async fn ensure_in_layout(
    meta: &MetaClient,
    ids: &[NodeId],
    partitions: u32,
) -> anyhow::Result<Option<ClusterLayout>> {
    let state = meta.read(reads::GetLayout {}).await?;
    let missing: Vec<NodeId> = ids
        .iter()
        .copied()
        .filter(|id| state.current.as_ref().and_then(|l| l.node(*id)).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(None);
    }
    for id in missing {
        meta.write(&MetaCommand::StageLayout(LayoutChange::Assign {
            id,
            zone: None,
            capacity: None,
        }))
        .await
        .with_context(|| format!("staging node {id}"))?;
    }
    Ok(Some(apply_staged(meta, partitions).await?))
}

/// Creates a bucket with the given redundancy, checked against the layout.
pub async fn create_bucket(
    meta: &MetaClient,
    name: &str,
    redundancy: DefaultRedundancy,
) -> anyhow::Result<Redundancy> {
    cairn_types::validate_bucket_name(name)?;
    let state = meta.read(reads::GetLayout {}).await?;
    // `auto` resolves against the layout (before the first one: the
    // registered nodes), as CreateBucket does.
    let nodes = match &state.current {
        Some(layout) => layout.placeable_nodes(),
        None => meta.read(reads::ListNodes {}).await?.len(),
    };
    let redundancy = redundancy.resolve(nodes);
    if let Some(layout) = &state.current {
        anyhow::ensure!(
            redundancy.width() <= layout.placeable_nodes(),
            "{redundancy} needs {} storage nodes; the layout has {}",
            redundancy.width(),
            layout.placeable_nodes()
        );
    }
    let bucket = Bucket {
        name: name.to_string(),
        created: now_millis(),
        redundancy,
    };
    match meta.write(&MetaCommand::CreateBucket(bucket)).await {
        Ok(_) => Ok(redundancy),
        Err(MetaError::BucketAlreadyOwnedByYou) => anyhow::bail!("bucket {name} already exists"),
        Err(e) => Err(e.into()),
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

/// `cairn admin layout show`: the applied layout, each node's partitions at
/// `width` and whether it is up, and the staged changes.
pub fn render_state(state: &LayoutState, nodes: &[NodeStatus], width: usize) -> String {
    let mut out = String::new();
    match &state.current {
        None => out.push_str("no layout applied yet (epoch 0)\n"),
        Some(l) => {
            let _ = writeln!(
                out,
                "layout epoch {}: {} partitions, {} node(s); partitions counted at width {width}",
                l.epoch,
                l.partitions,
                l.nodes.len()
            );
            let _ = writeln!(
                out,
                "{:<4} {:<12} {:>12} {:>10} {:<5}",
                "id", "zone", "capacity", "partitions", "state"
            );
            for n in &l.nodes {
                let held = (0..l.partitions)
                    .filter(|p| l.nodes_for_partition(*p, width).contains(&n.id))
                    .count();
                let up = nodes
                    .iter()
                    .find(|s| s.record.id == n.id)
                    .map_or("gone".to_string(), |s| s.liveness.to_string());
                let _ = writeln!(
                    out,
                    "{:<4} {:<12} {:>12} {:>10} {:<5}",
                    n.id,
                    n.zone,
                    gib(n.capacity),
                    held,
                    up
                );
            }
        }
    }
    let pending: Vec<NodeId> = nodes
        .iter()
        .map(|s| s.record.id)
        .filter(|id| {
            state.current.as_ref().and_then(|l| l.node(*id)).is_none()
                && !state.staging.changes.contains_key(id)
        })
        .collect();
    if !pending.is_empty() {
        let _ = writeln!(
            out,
            "registered, not in the layout: {pending:?} (`cairn admin node assign`)"
        );
    }
    if state.staging.is_empty() {
        out.push_str("no staged changes\n");
    } else {
        out.push_str("staged changes (see `cairn admin layout plan`):\n");
        for (id, role) in &state.staging.changes {
            let _ = match role {
                StagedRole::Assign { zone, capacity } => writeln!(
                    out,
                    "  assign node {id}: zone {zone}, capacity {}",
                    gib(*capacity)
                ),
                StagedRole::Remove => writeln!(out, "  remove node {id}"),
            };
        }
    }
    out
}

/// `cairn admin layout plan`: what each node gains, loses and would move.
pub fn render_plan(plan: &LayoutPlan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "layout epoch {} -> {}: {} partition(s) change owners (counted at width {}); \
         {} shard(s), {} would move",
        plan.epoch_before,
        plan.epoch_after,
        plan.partitions_changed,
        plan.reference_width,
        plan.shards_to_move,
        mib(plan.bytes_to_move)
    );
    let _ = writeln!(
        out,
        "{:<4} {:<12} {:>12} {:>17} {:>7} {:>7} {:>12} {:>12} {:>12}",
        "id", "zone", "capacity", "partitions", "gained", "lost", "held", "in", "out"
    );
    for n in &plan.nodes {
        let _ = writeln!(
            out,
            "{:<4} {:<12} {:>12} {:>17} {:>7} {:>7} {:>12} {:>12} {:>12}",
            n.id,
            n.zone.as_deref().unwrap_or("(leaves)"),
            n.capacity.map(gib).unwrap_or_else(|| "-".into()),
            format!("{} -> {}", n.partitions_before, n.partitions_after),
            n.partitions_gained,
            n.partitions_lost,
            mib(n.bytes_held),
            mib(n.bytes_in),
            mib(n.bytes_out)
        );
    }
    if plan.refused {
        out.push_str(
            "a bucket stores chunks on more nodes than this layout has: `cairn admin layout \
             apply` will refuse it (keep more nodes, or lower that bucket's redundancy)\n",
        );
    } else if plan.bytes_to_move > 0 {
        let _ = writeln!(
            out,
            "after `cairn admin layout apply`, {} move to their new owners in the background \
             (every piece stays readable meanwhile); watch `cairn admin rebalance status`",
            mib(plan.bytes_to_move)
        );
    }
    out
}

/// `cairn admin bucket info`.
pub fn render_bucket(bucket: &Bucket, objects: u64, bytes: u64) -> String {
    let created =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(bucket.created) * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| bucket.created.to_string());
    format!(
        "bucket:      {}\ncreated:     {created}\nredundancy:  {} ({} node(s) per chunk, write quorum {})\nobjects:     {objects}\nbytes:       {bytes} ({})\n",
        bucket.name,
        bucket.redundancy,
        bucket.redundancy.width(),
        bucket.redundancy.write_quorum(),
        mib(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_types::{LayoutNode, LayoutStaging};

    fn bucket(redundancy: Redundancy) -> Bucket {
        Bucket {
            name: "photos".into(),
            created: 0,
            redundancy,
        }
    }

    #[test]
    fn reference_width_is_the_widest_in_use() {
        let ec = Redundancy::ErasureCoded { data: 4, parity: 2 };
        assert_eq!(reference_width(&[], Redundancy::Replicas(3)), 3);
        assert_eq!(reference_width(&[bucket(ec)], Redundancy::Replicas(3)), 6);
    }

    #[test]
    fn show_lists_nodes_pending_and_staged() {
        let layout = ClusterLayout {
            epoch: 2,
            partitions: 4,
            nodes: vec![LayoutNode {
                id: 1,
                zone: "z1".into(),
                capacity: 1 << 30,
            }],
            table: vec![vec![1]; 4],
        };
        let mut staging = LayoutStaging::default();
        staging.changes.insert(3, StagedRole::Remove);
        let state = LayoutState {
            current: Some(layout),
            staging,
            ..Default::default()
        };
        let text = render_state(&state, &[], 1);
        assert!(
            text.starts_with("layout epoch 2: 4 partitions, 1 node(s)"),
            "{text}"
        );
        assert!(text.contains("1    z1"), "{text}");
        assert!(text.contains("  remove node 3"), "{text}");
        let text = render_state(&LayoutState::default(), &[], 1);
        assert!(text.contains("no layout applied yet"), "{text}");
    }

    #[test]
    fn bucket_info_names_redundancy_and_quorum() {
        let text = render_bucket(
            &bucket(Redundancy::ErasureCoded { data: 4, parity: 2 }),
            3,
            3 << 20,
        );
        assert!(
            text.contains("redundancy:  ec=4+2 (6 node(s) per chunk, write quorum 5)"),
            "{text}"
        );
        assert!(text.contains("objects:     3"), "{text}");
        assert!(text.contains("created:     1970-01-01T00:00:00Z"), "{text}");
    }
}
