//! cairn's internal transport: HTTP/1.1 between roles, with postcard-encoded
//! messages for metadata and raw streaming bodies for shard data. This crate
//! holds the wire vocabulary of the meta API and the shard API and the clients
//! that speak them; the servers live in the role crates.

pub mod auth;
pub mod endpoint;
pub mod gc_api;
pub mod health_api;
pub mod meta_api;
pub mod meta_client;
pub mod meta_reads;
pub mod policy;
pub mod rebalance_api;
pub mod repair_api;
pub mod sealed;
pub mod shard_api;
pub mod sizes;
pub mod tls;
pub mod transport;
pub mod write_id;

pub use gc_api::GcHorizonState;
pub use health_api::{Heartbeat, Liveness, NodeStatus, NodeStatusRequest};
pub use meta_api::*;
pub use meta_client::MetaClient;
pub use shard_api::{ShardClient, ShardError};
pub use transport::{ClientAuth, RpcClient, RpcError, decode_postcard, postcard_response};
pub use write_id::WriteId;
