//! The storage node role: it owns a data directory of shard files and serves
//! them over the internal shard API, heartbeats to meta, collects its
//! garbage, and heals (`heal`: disk identity, scrub, the repair mover). It
//! knows nothing of S3, buckets or keys.

pub mod gc;
pub mod heal;
pub mod heartbeat;
pub mod server;
pub mod store;

pub use gc::{SweepReport, Sweeper};
pub use server::{NodeState, router};
pub use store::{ShardStore, StoreError};
