//! `cairn admin node list`: the storage nodes registered in meta with the
//! meta leader's view of their health — id, address, zone, capacity, state
//! (up/down), how long ago the last heartbeat arrived, how far the node's
//! clock is off the leader's, disk usage — and their place in the layout
//! (active, pending, draining, removed, or a staged change).

use super::units::human_bytes;
use cairn_rpc::rebalance_api::RebalanceStatus;
use cairn_rpc::{Liveness, NodeStatus};
use cairn_types::{LayoutState, NodeId, StagedRole};

/// A node's place in the layout: `active` (in the applied layout),
/// `draining` (an applied layout removed it and the chunk records still
/// name pieces on it), `removed` (removed and empty), `pending`
/// (registered, never in it), with `+assign` / `-remove` when a change is
/// staged. `rebalance` is the leader's rebalance status (None: unknown).
pub fn layout_role(
    layout: &LayoutState,
    id: NodeId,
    rebalance: Option<&RebalanceStatus>,
) -> String {
    let active = layout.current.as_ref().and_then(|l| l.node(id)).is_some();
    let held = rebalance
        .and_then(|r| r.nodes.iter().find(|n| n.id == id))
        .and_then(|n| n.pieces_held);
    let base = match (active, layout.departed.contains(&id), held) {
        (true, ..) => "active",
        (false, true, Some(0)) => "removed",
        (false, true, _) => "draining",
        (false, false, _) => "pending",
    };
    match layout.staging.changes.get(&id) {
        Some(StagedRole::Assign { .. }) => format!("{base}+assign"),
        Some(StagedRole::Remove) => format!("{base}-remove"),
        None => base.to_string(),
    }
}

/// Bytes still to leave a draining node (None: not draining, or unknown).
fn bytes_left(
    layout: &LayoutState,
    id: NodeId,
    rebalance: Option<&RebalanceStatus>,
) -> Option<u64> {
    if !layout.departed.contains(&id) {
        return None;
    }
    rebalance
        .and_then(|r| r.nodes.iter().find(|n| n.id == id))
        .filter(|n| n.pieces_held != Some(0))
        .map(|n| n.out_bytes)
}

/// The JSON of `cairn admin node list --json`: each node's status with its
/// `layout` role added, and `bytes_left` for a draining node.
pub fn to_json(
    nodes: &[NodeStatus],
    layout: &LayoutState,
    rebalance: Option<&RebalanceStatus>,
) -> serde_json::Value {
    let items = nodes
        .iter()
        .map(|n| {
            let mut v = serde_json::to_value(n).unwrap_or(serde_json::Value::Null);
            if let serde_json::Value::Object(map) = &mut v {
                let id = n.record.id;
                map.insert(
                    "layout".into(),
                    serde_json::Value::String(layout_role(layout, id, rebalance)),
                );
                if let Some(left) = bytes_left(layout, id, rebalance) {
                    map.insert("bytes_left".into(), left.into());
                }
            }
            v
        })
        .collect();
    serde_json::Value::Array(items)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn age(ms: Option<u64>) -> String {
    match ms {
        Some(ms) => format!("{:.1}s ago", ms as f64 / 1000.0),
        None => "never".into(),
    }
}

/// A clock offset as `+1.2s` / `-0.0s` (`-` before the first heartbeat).
fn clock(offset_ms: Option<i64>) -> String {
    match offset_ms {
        Some(ms) => {
            let sign = if ms < 0 { "-" } else { "+" };
            format!("{sign}{:.1}s", ms.unsigned_abs() as f64 / 1000.0)
        }
        None => "-".into(),
    }
}

/// The human-readable table, one node per line, in id order.
pub fn render(
    nodes: &[NodeStatus],
    layout: &LayoutState,
    rebalance: Option<&RebalanceStatus>,
) -> String {
    let mut nodes: Vec<&NodeStatus> = nodes.iter().collect();
    nodes.sort_by_key(|n| n.record.id);
    let down = nodes
        .iter()
        .filter(|n| n.liveness == Liveness::Down)
        .count();
    let mut out = format!("{} storage node(s), {down} down\n", nodes.len());
    out.push_str(&format!(
        "{:<4} {:<22} {:<10} {:>12} {:<5} {:>12} {:>10} {:>12} {:>12} {:<14}\n",
        "id",
        "address",
        "zone",
        "capacity",
        "state",
        "heartbeat",
        "clock",
        "used",
        "free",
        "layout"
    ));
    for n in nodes {
        out.push_str(&format!(
            "{:<4} {:<22} {:<10} {:>12} {:<5} {:>12} {:>10} {:>12} {:>12} {:<14}\n",
            n.record.id,
            n.record.addr,
            n.record.zone,
            gib(n.record.capacity),
            n.liveness.to_string(),
            age(n.heartbeat_age_ms),
            clock(n.clock_offset_ms),
            n.used_bytes.map(gib).unwrap_or_else(|| "-".into()),
            n.free_bytes.map(gib).unwrap_or_else(|| "-".into()),
            match bytes_left(layout, n.record.id, rebalance) {
                Some(left) => format!(
                    "{} ({} left)",
                    layout_role(layout, n.record.id, rebalance),
                    human_bytes(left)
                ),
                None => layout_role(layout, n.record.id, rebalance),
            },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_rpc::NodeRecord;

    #[test]
    fn table_lists_each_node_with_its_state() {
        let node = |id, liveness, age| NodeStatus {
            record: NodeRecord {
                id,
                addr: format!("127.0.0.1:{}", 9200 + id),
                zone: "z1".into(),
                capacity: 1 << 30,
                registered: 0,
            },
            liveness,
            heartbeat_age_ms: age,
            used_bytes: age.map(|_| 1 << 29),
            free_bytes: age.map(|_| 1 << 30),
            clock_offset_ms: age.map(|_| 3_600_300),
        };
        let mut layout = LayoutState::default();
        layout.staging.changes.insert(2, StagedRole::Remove);
        let text = render(
            &[
                node(2, Liveness::Down, None),
                node(1, Liveness::Up, Some(300)),
            ],
            &layout,
            None,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "2 storage node(s), 1 down");
        assert!(
            lines[2].starts_with("1 ")
                && lines[2].contains(" up ")
                && lines[2].contains("0.3s ago"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("2 ") && lines[3].contains(" down ") && lines[3].contains("never"),
            "{text}"
        );
        assert!(
            lines[2].contains("1.0 GiB") && lines[2].contains("0.5 GiB"),
            "{text}"
        );
        assert!(lines[1].contains(" clock "), "{text}");
        assert!(lines[2].contains(" +3600.3s "), "{text}");
        assert!(lines[2].trim_end().ends_with(" pending"), "{text}");
        assert!(lines[3].trim_end().ends_with(" pending-remove"), "{text}");
    }
}
