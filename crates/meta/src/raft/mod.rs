//! The meta group's Raft plumbing (openraft 0.9, storage-v2): its type
//! configuration (`type_config`), the log (`log_store`) and the state
//! machine (`state_machine`) in the voter's RocksDB, the network between
//! voters (`network`, which `fault` injection can cut), and how concurrent
//! clients share Raft's costs: reads share read-index rounds
//! (`read_barrier`), writes share log entries (`write_batcher`).

pub mod fault;
pub mod log_store;
pub mod network;
pub mod read_barrier;
pub mod state_machine;
pub mod type_config;
pub mod write_batcher;
