//! Node health between storage nodes, meta and gateways: the heartbeat a node
//! sends to the meta leader, and the node list with each node's liveness that
//! the leader answers. Liveness is soft state kept in the leader's memory —
//! never in the Raft log — so heartbeats cost no log entries or fsyncs; a new
//! leader starts with an empty table and gives every node `down_after` to be
//! heard from before it reports it down. Each heartbeat carries the node's
//! clock, so the leader also reports how far each node's clock is off its own.

use crate::meta_api::{Endpoint, NodeRecord};
use cairn_types::NodeId;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Path of the heartbeat endpoint on a meta voter (answered by the leader).
pub const META_HEARTBEAT_PATH: &str = "/v1/meta/heartbeat";
/// Path of the node list with liveness on a meta voter (answered by the leader).
pub const META_NODE_STATUS_PATH: &str = "/v1/meta/nodes";

/// What a storage node reports about itself every heartbeat interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub node: NodeId,
    /// Bytes used and free on the file system of the node's data directory.
    pub used_bytes: u64,
    pub free_bytes: u64,
    /// The node's wall clock when it sent the heartbeat (ms since the
    /// epoch): the leader compares it with its own to report the node's
    /// clock offset.
    pub clock_ms: u64,
}

impl Endpoint for Heartbeat {
    const PATH: &'static str = META_HEARTBEAT_PATH;
    type Answer = ();
}

/// Asks the meta leader for every registered node with its liveness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatusRequest;

impl Endpoint for NodeStatusRequest {
    const PATH: &'static str = META_NODE_STATUS_PATH;
    type Answer = Vec<NodeStatus>;
}

/// Whether meta has heard from a node recently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Liveness {
    /// A heartbeat arrived within `down_after`, or the leader has not been
    /// leading long enough to tell.
    Up,
    /// Silent for longer than `down_after`.
    Down,
}

impl std::fmt::Display for Liveness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Liveness::Up => "up",
            Liveness::Down => "down",
        })
    }
}

/// Decides a node's liveness: from the age of its last heartbeat, or — when
/// this leader has none — from how long the leader has been listening.
pub fn liveness_of(
    last_heartbeat_age: Option<Duration>,
    listening_for: Duration,
    down_after: Duration,
) -> Liveness {
    let silent_for = last_heartbeat_age.unwrap_or(listening_for);
    if silent_for > down_after {
        Liveness::Down
    } else {
        Liveness::Up
    }
}

/// A registered node and what the meta leader knows of its health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub record: NodeRecord,
    pub liveness: Liveness,
    /// Milliseconds since the leader's last heartbeat from it; None when this
    /// leader has not heard from it yet.
    pub heartbeat_age_ms: Option<u64>,
    /// Disk usage from the last heartbeat (None before the first).
    pub used_bytes: Option<u64>,
    pub free_bytes: Option<u64>,
    /// How far the node's clock was ahead of the leader's (negative: behind)
    /// at its last heartbeat, in ms, give or take the heartbeat's transit
    /// time (None before the first). Beyond `meta.max_node_clock_skew_ms`
    /// the node may not move the garbage-collection horizon.
    pub clock_offset_ms: Option<i64>,
}

/// How far a clock reading `theirs` is ahead of `ours` (negative: behind).
pub fn clock_offset(theirs: u64, ours: u64) -> i64 {
    let diff = i128::from(theirs) - i128::from(ours);
    i64::try_from(diff).unwrap_or(if diff < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_follows_the_last_heartbeat_then_the_listening_time() {
        let down_after = Duration::from_secs(5);
        let s = Duration::from_secs;
        assert_eq!(liveness_of(Some(s(1)), s(100), down_after), Liveness::Up);
        assert_eq!(liveness_of(Some(s(6)), s(100), down_after), Liveness::Down);
        // Never heard from: up while the leader is new, down afterwards.
        assert_eq!(liveness_of(None, s(2), down_after), Liveness::Up);
        assert_eq!(liveness_of(None, s(6), down_after), Liveness::Down);
    }

    #[test]
    fn clock_offsets_are_signed_and_saturate() {
        assert_eq!(clock_offset(1_000, 400), 600);
        assert_eq!(clock_offset(400, 1_000), -600);
        assert_eq!(clock_offset(u64::MAX, 0), i64::MAX);
        assert_eq!(clock_offset(0, u64::MAX), i64::MIN);
    }
}
