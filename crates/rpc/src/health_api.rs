//! Node health between storage nodes, meta and gateways: the heartbeat a node
//! sends to the meta leader, and the node list with each node's liveness that
//! the leader answers. Liveness is soft state kept in the leader's memory —
//! never in the Raft log — so heartbeats cost no log entries or fsyncs; a new
//! leader starts with an empty table and gives every node `down_after` to be
//! heard from before it reports it down.

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
}
