//! The meta role: cairn's single source of truth for buckets, access keys,
//! nodes, object manifests and multipart uploads. It is a Raft group (openraft
//! 0.9, storage-v2) whose log and state machine both live in one RocksDB
//! database. Every change is a `MetaCommand` in the log, applied
//! deterministically by the state machine (conditional writes are decided
//! there); reads go through a linearizable read barrier first.

pub mod apply;
pub mod checksums;
pub mod db;
pub mod fault;
pub mod keys;
pub mod layout;
pub mod lifecycle;
pub mod liveness;
pub mod log_store;
pub mod network;
pub mod query;
pub mod read_barrier;
pub mod refs;
pub mod server;
pub mod state_machine;
pub mod version_stack;
pub mod versions;
pub mod versions_list;
pub mod write_batcher;

#[cfg(test)]
mod test_db;

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

pub use db::MetaDb;
pub use log_store::LogStore;
pub use server::{MetaNode, MetaNodeOptions};
pub use state_machine::StateMachine;
