//! The Raft type configuration of the meta group: a log entry carries a
//! `MetaCommand` and its application answers a `MetaResponse` or a
//! `MetaError`; voters are numbered and reached at a `BasicNode` address;
//! snapshots are in-memory blobs.

use cairn_rpc::{MetaCommand, MetaError, MetaResponse};
use std::io::Cursor;

openraft::declare_raft_types!(
    /// The Raft type configuration of the meta group.
    pub TypeConfig:
        D = MetaCommand,
        R = Result<MetaResponse, MetaError>,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
