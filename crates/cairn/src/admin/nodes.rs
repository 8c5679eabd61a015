//! `cairn admin node list`: the storage nodes registered in meta with the
//! meta leader's view of their health — id, address, zone, capacity, state
//! (up/down), how long ago the last heartbeat arrived, how far the node's
//! clock is off the leader's, disk usage — and their place in the layout
//! (active, pending, or a staged change).

use cairn_rpc::{Liveness, NodeStatus};
use cairn_types::{LayoutState, NodeId, StagedRole};

/// A node's place in the layout: `active` (in the applied layout),
/// `pending` (registered, not in it), with `+assign` / `-remove` when a
/// change is staged.
pub fn layout_role(layout: &LayoutState, id: NodeId) -> String {
    let active = layout.current.as_ref().and_then(|l| l.node(id)).is_some();
    let base = if active { "active" } else { "pending" };
    match layout.staging.changes.get(&id) {
        Some(StagedRole::Assign { .. }) => format!("{base}+assign"),
        Some(StagedRole::Remove) => format!("{base}-remove"),
        None => base.to_string(),
    }
}

/// The JSON of `cairn admin node list --json`: each node's status with its
/// `layout` role added.
pub fn to_json(nodes: &[NodeStatus], layout: &LayoutState) -> serde_json::Value {
    let items = nodes
        .iter()
        .map(|n| {
            let mut v = serde_json::to_value(n).unwrap_or(serde_json::Value::Null);
            if let serde_json::Value::Object(map) = &mut v {
                map.insert(
                    "layout".into(),
                    serde_json::Value::String(layout_role(layout, n.record.id)),
                );
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
pub fn render(nodes: &[NodeStatus], layout: &LayoutState) -> String {
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
            layout_role(layout, n.record.id),
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
