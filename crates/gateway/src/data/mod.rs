//! The data path: how object bytes reach storage nodes and come back, with
//! no knowledge of S3. Writing (`write`): a body stream is hashed (MD5 for
//! the ETag) and cut into chunks; each chunk's pieces go to their placement
//! nodes at once, with a bounded number of chunks in flight per request and
//! a gateway-wide budget of chunk buffers, and a chunk counts once a write
//! quorum of nodes has fsynced it (`quorum`). Small objects are kept inline
//! instead. Reading (`read`): the chunks a range needs are fetched a few at a
//! time, verified against the manifest's blake3, and streamed out in order;
//! a bad or missing copy falls back to the next holder, and a slow one is
//! hedged (`hedge`). Both dispatch on the codec a manifest records:
//! replication here, Reed-Solomon in `erasure`. Nodes that are down or
//! unreachable are skipped (`node_health`); shard requests go through
//! `shard_io`, which also feeds the backoffs (`backoff`); where nodes are and where new
//! chunks go comes from meta, cached briefly (`cluster`). A piece a node
//! answers corrupt or missing is reported to meta for repair (`damage`).

mod backoff;
mod cluster;
mod damage;
mod erasure;
mod hedge;
mod node_health;
mod path;
mod quorum;
mod read;
mod shard_io;
mod write;

pub use cluster::{LAYOUT_CACHE_TTL, NODE_CACHE_TTL};
pub use damage::{DAMAGE_REPORT_MEMORY, DAMAGE_REPORT_TTL, METRIC_DAMAGE_REPORTED};
pub use hedge::METRIC_HEDGED_REQUESTS;
pub use node_health::METRIC_NODE_BACKOFFS;
pub use path::DataPath;
pub use quorum::METRIC_ABANDONED_WRITES;
pub use read::{METRIC_BYTES_READ, METRIC_CORRUPT_CHUNKS};
pub use write::{METRIC_BYTES_WRITTEN, Stored};
