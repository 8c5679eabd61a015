//! # cairn's test kit (dev-only)
//!
//! One way for every test of `crates/cairn/tests` and `s3-tests` to get a
//! cluster and talk to it:
//!
//! ```ignore
//! use cairn_testkit::*;
//! // Three voters, six nodes in three zones, each its own `cairn` process,
//! // healthy and with its layout applied; everything killed by pid on drop.
//! let mut cluster = Cluster::builder().voters(3).nodes(6).zones(3).processes().start();
//! let rt = runtime();
//! let client = cluster.client();
//! rt.block_on(put_bytes(&client, "b", "k", &pattern(1000, 1)));
//! cluster.kill("node-2");
//! cluster.restart("node-2");
//! wait_until(std::time::Duration::from_secs(10), "node-2 is up", || {
//!     cluster.node_states().iter().all(|(_, s)| s == "up")
//! });
//! ```
//!
//! - [`Cluster::builder`]: voters, spare voters, nodes, zones, in process
//!   (default) or as processes, keys, config overrides per role; `start`.
//! - [`Cluster`]: S3 endpoint and client, `cairn admin`, RPC and meta
//!   clients, voter status and leader, health, metrics, node listing, shard
//!   files; per process `kill`, `stop`/`cont`, `start`/`restart`, `wipe`.
//! - [`ProcessGuard`]: the one owner of child processes; kills by pid on drop.
//! - [`put_bytes`], [`get_bytes`], [`client_for`]: S3 with retries off.
//! - [`Rng`], [`pattern`], [`Writer`], [`Reader`], [`verify_writes`]: seeded
//!   data and load (writes, verifying reads); [`write_expected`],
//!   [`verify_expected`], [`Cluster::inspect`]: a set of objects stored,
//!   read back, and where their pieces are.
//! - [`wait_until`], [`within`], [`runtime`]: bounded waits.
//!
//! The kit is a dependency of tests only; the `cairn` binary never links it.

mod builder;
mod cluster;
mod control;
mod data;
mod http;
mod in_process;
mod objects;
mod process;
mod runtime;
mod s3;
mod spawn;
mod spec;
mod start;
mod writer;

pub use builder::ClusterBuilder;
pub use cluster::{ADMIN_TIMEOUT, Cluster, RPC_TIMEOUT, SHUTDOWN_TIMEOUT};
pub use data::{Rng, SEED_ENV, pattern, test_seed};
pub use http::{HTTP_TIMEOUT, http_get, http_get_as, metric_sum};
pub use objects::{INSPECT_CHUNKS, verify_expected, write_expected};
pub use process::{BIN_ENV, ProcessGuard, Signal, cairn_bin, free_port, run_bounded};
pub use runtime::{POLL_INTERVAL, block, panic_message, runtime, try_block, wait_until, within};
pub use s3::{
    REDUNDANCY_HEADER, REGION, client_for, create_bucket_with_redundancy, get_bytes, http_status,
    put_bytes, put_multipart, try_create_bucket_with_redundancy,
};
pub use spec::{ACCESS_KEY, CLUSTER_SECRET, Role, SECRET_KEY, START_TIMEOUT, zone_of};
pub use writer::{Expected, Reader, Writer, verify_writes, writer_key};
