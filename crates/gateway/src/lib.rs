//! The gateway role: speaks S3 (through s3s: SigV4 header and presigned
//! authentication, aws-chunked bodies, XML) and drives the data path. It cuts
//! object bodies into chunks, places and sends them to storage nodes in
//! parallel, and commits manifests in meta; reads fetch chunks back in
//! parallel with bounded read-ahead, hedging slow nodes and skipping down
//! ones. It holds no state that cannot be rebuilt from meta.
//!
//! Two wings: `s3/` (the S3 handlers and what only they use) and `data/`
//! (the data path: chunk writes and reads, erasure coding, quorum, hedging,
//! node health and shard I/O), reached through `front/` (the HTTP front:
//! the router, the guards in front of s3s, the health answers and the
//! admin router). `gateway` is the handle the wings are reached through
//! (it holds the health cache, `health_cache`, and the grants of signing
//! keys and policies of buckets, `access_cache`), `errors` how failures
//! become S3 errors, `body_timeout` the stalled-body guard every request
//! body is wrapped in. Imports point one way: `front` → `s3` → `gateway` →
//! `data` → `errors` → `body_timeout`.

mod access_cache;
mod body_timeout;
pub mod data;
pub mod errors;
mod front;
mod gateway;
mod health_cache;
mod s3;

pub use front::health::admin_router;
pub use front::http::router;
pub use gateway::{Gateway, GatewayOptions};
