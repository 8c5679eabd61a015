//! The meta role: cairn's single source of truth for buckets, access keys,
//! nodes, object manifests and multipart uploads. It is a Raft group (openraft
//! 0.9, storage-v2) whose log and state machine both live in one RocksDB
//! database. Every change is a `MetaCommand` in the log, applied
//! deterministically by the state machine (conditional writes are decided
//! there); reads go through a linearizable read barrier first.
//!
//! Folders by concern; a file imports only from its own folder and the
//! folders below it, never upwards:
//! - the role, here at the root: `server` (a running voter and its routes),
//!   `admission` (what the proposing voter decides by its clock before a
//!   write enters the log), `liveness` (node heartbeats and clock offsets
//!   on the leader), `lifecycle` (the job) and `repair` (the reconciler on
//!   the leader: its plan loop and endpoints);
//! - `reconcile`: judging chunks, planning repair, the leased work queue,
//!   the durability and inspect reports;
//! - `raft`: openraft's plumbing (log store, state machine, network, fault
//!   injection, read barrier, write batcher);
//! - `apply` (commands: every metadata decision) and `query` (reads), which
//!   do not import each other;
//! - `store`: the database, its key encodings, its tables and indexes.
//!
//! A folder's `mod.rs` only declares its files and re-exports; the code is in
//! named files. Tests: the unit tests of `x.rs` are in `x_tests.rs` beside
//! it, declared at the end of `x.rs` as `#[cfg(test)] #[path = "x_tests.rs"]
//! mod tests;` (they see `x`'s private items through `use super::*`); a
//! suite that drives a module through whole commands sits with that module
//! the same way. Test support shared across folders is `test_support.rs`
//! here at the root; `tests/` holds the integration test (openraft's storage
//! suite).

pub mod admission;
pub mod apply;
pub mod lifecycle;
pub mod liveness;
pub mod query;
pub mod raft;
pub mod reconcile;
pub mod repair;
pub mod server;
pub mod store;

#[cfg(test)]
mod test_support;

// The paths other crates use, unchanged by the folders.
pub use raft::{fault, log_store};
pub use store::db;

pub use raft::log_store::LogStore;
pub use raft::state_machine::StateMachine;
pub use raft::type_config::{Raft, TypeConfig};
pub use server::{MetaNode, MetaNodeOptions};
pub use store::db::MetaDb;
