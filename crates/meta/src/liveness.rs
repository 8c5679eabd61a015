//! Node liveness on the meta leader. Storage nodes send heartbeats (with
//! their disk usage and their clock) to the leader, which keeps the last one
//! per node in memory, with the node's clock offset from its own; nothing
//! goes through the Raft log, so heartbeats cost neither log growth nor
//! fsyncs. The leader answers the node list with each node's
//! liveness: down once silent for `down_after`. A voter that becomes leader
//! starts with an empty table and counts silence from that moment, so a
//! leader change never reports a live node down; followers redirect both
//! calls to the leader, which `MetaClient` follows.

use crate::MetaNode;
use crate::query::run_query;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cairn_rpc::auth::allow;
use cairn_rpc::health_api::{
    META_HEARTBEAT_PATH, META_NODE_STATUS_PATH, clock_offset, liveness_of,
};
use cairn_rpc::sizes::MAX_CONTROL_BYTES;
use cairn_rpc::tls::PeerRole;
use cairn_rpc::{
    Heartbeat, MetaError, MetaQuery, NodeStatus, QueryResult, decode_postcard, postcard_response,
};
use cairn_types::NodeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The last heartbeat of each node, since this voter last became leader,
/// with how far the node's clock was ahead of this voter's when it arrived.
#[derive(Debug)]
struct Table {
    listening_since: Instant,
    beats: HashMap<NodeId, (Instant, Heartbeat, i64)>,
}

/// The leader's view of node liveness, shared with the reconciler.
#[derive(Clone)]
pub struct LivenessState {
    node: MetaNode,
    table: Arc<Mutex<Table>>,
    down_after: Duration,
    /// How long the leadership check may wait for a majority (`meta.quorum_wait_ms`).
    quorum_wait: Duration,
}

/// The heartbeat and node-status routes of a voter, and a task that resets
/// the table whenever this voter becomes leader.
pub fn router(node: &MetaNode, down_after: Duration, quorum_wait: Duration) -> Router {
    routes(tracker(node, down_after, quorum_wait))
}

/// The routes of `tracker`: heartbeats from storage nodes, the table to every role.
pub fn routes(state: LivenessState) -> Router {
    Router::new()
        .route(
            META_HEARTBEAT_PATH,
            post(heartbeat)
                .layer(DefaultBodyLimit::max(MAX_CONTROL_BYTES))
                .route_layer(allow(&[PeerRole::Node])),
        )
        .route(
            META_NODE_STATUS_PATH,
            post(node_status)
                .layer(DefaultBodyLimit::max(MAX_CONTROL_BYTES))
                .route_layer(allow(&PeerRole::ALL)),
        )
        .with_state(state)
}

/// The liveness table of a voter, and a task that resets it whenever this
/// voter becomes leader.
pub fn tracker(node: &MetaNode, down_after: Duration, quorum_wait: Duration) -> LivenessState {
    let table = Arc::new(Mutex::new(Table {
        listening_since: Instant::now(),
        beats: HashMap::new(),
    }));
    let mut metrics = node.raft.metrics();
    let watched = table.clone();
    tokio::spawn(async move {
        let mut was_leader = false;
        loop {
            let is_leader = {
                let m = metrics.borrow_and_update();
                m.current_leader == Some(m.id)
            };
            if is_leader
                && !was_leader
                && let Ok(mut t) = watched.lock()
            {
                t.listening_since = Instant::now();
                t.beats.clear();
            }
            was_leader = is_leader;
            if metrics.changed().await.is_err() {
                return; // raft shut down
            }
        }
    });
    LivenessState {
        node: node.clone(),
        table,
        down_after,
        quorum_wait,
    }
}

/// `NotLeader` (with the leader's address when known) unless this voter leads.
pub fn require_leader(node: &MetaNode) -> Result<(), MetaError> {
    let m = node.raft.metrics().borrow().clone();
    if m.current_leader == Some(m.id) {
        return Ok(());
    }
    let leader_addr = m
        .current_leader
        .and_then(|l| m.membership_config.membership().get_node(&l).cloned())
        .map(|n| n.addr);
    Err(MetaError::NotLeader { leader_addr })
}

async fn heartbeat(State(st): State<LivenessState>, body: Bytes) -> Response {
    let beat: Heartbeat = match decode_postcard(&body) {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let result = require_leader(&st.node).and_then(|()| {
        let mut t = st
            .table
            .lock()
            .map_err(|_| MetaError::Internal("liveness table poisoned".into()))?;
        let offset = clock_offset(beat.clock_ms, st.node.now_ms());
        t.beats.insert(beat.node, (Instant::now(), beat, offset));
        Ok(())
    });
    postcard_response(&result)
}

async fn node_status(State(st): State<LivenessState>) -> Response {
    postcard_response(&statuses(&st).await)
}

impl LivenessState {
    /// Every registered node with its liveness (see `statuses`).
    pub async fn statuses(&self) -> Result<Vec<NodeStatus>, MetaError> {
        statuses(self).await
    }

    /// How long each node has been silent (the age of its last heartbeat,
    /// or how long this leader has listened when it has none).
    pub fn silences(&self) -> HashMap<NodeId, Duration> {
        let Ok(t) = self.table.lock() else {
            return HashMap::new();
        };
        t.beats
            .iter()
            .map(|(n, (at, _, _))| (*n, at.elapsed()))
            .collect()
    }

    /// How long this voter has listened for heartbeats (since it became leader).
    pub fn listening_for(&self) -> Duration {
        self.table
            .lock()
            .map(|t| t.listening_since.elapsed())
            .unwrap_or_default()
    }

    pub fn down_after(&self) -> Duration {
        self.down_after
    }
}

async fn statuses(st: &LivenessState) -> Result<Vec<NodeStatus>, MetaError> {
    require_leader(&st.node)?;
    // The records themselves are Raft state: confirm leadership before reading them.
    // A voter cut off from the majority answers "unavailable" after
    // `quorum_wait` instead of hanging, like every other meta read.
    tokio::time::timeout(st.quorum_wait, st.node.raft.ensure_linearizable())
        .await
        .map_err(|_| {
            MetaError::Unavailable(format!(
                "no majority confirmed the leader within {} ms",
                st.quorum_wait.as_millis()
            ))
        })?
        .map_err(|e| match e.forward_to_leader::<openraft::BasicNode>() {
            // Deposed meanwhile: send the caller to the new leader.
            Some(f) => MetaError::NotLeader {
                leader_addr: f.leader_node.as_ref().map(|n| n.addr.clone()),
            },
            None => MetaError::Unavailable(e.to_string()),
        })?;
    let db = st.node.db().clone();
    let records = tokio::task::spawn_blocking(move || run_query(&db, &MetaQuery::ListNodes))
        .await
        .map_err(|e| MetaError::Internal(e.to_string()))??;
    let QueryResult::Nodes(records) = records else {
        return Err(MetaError::Internal(
            "node list query answered something else".into(),
        ));
    };
    let t = st
        .table
        .lock()
        .map_err(|_| MetaError::Internal("liveness table poisoned".into()))?;
    let listening_for = t.listening_since.elapsed();
    Ok(records
        .into_iter()
        .map(|record| {
            let beat = t.beats.get(&record.id);
            let age = beat.map(|(at, _, _)| at.elapsed());
            NodeStatus {
                liveness: liveness_of(age, listening_for, st.down_after),
                heartbeat_age_ms: age.map(|a| a.as_millis() as u64),
                used_bytes: beat.map(|(_, b, _)| b.used_bytes),
                free_bytes: beat.map(|(_, b, _)| b.free_bytes),
                clock_offset_ms: beat.map(|(_, _, offset)| *offset),
                record,
            }
        })
        .collect())
}
