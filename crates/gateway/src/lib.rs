//! The gateway role: speaks S3 (through s3s: SigV4 header and presigned
//! authentication, aws-chunked bodies, XML) and drives the data path. It cuts
//! object bodies into chunks, places and sends them to storage nodes in
//! parallel, and commits manifests in meta; reads fetch chunks back in
//! parallel with bounded read-ahead, hedging slow nodes and skipping down
//! ones. It holds no state that cannot be rebuilt from meta.
//!
//! Two wings: `s3/` (the S3 handlers and what only they use) and `data/`
//! (the data path: chunk writes and reads, erasure coding, quorum, hedging,
//! node health and shard I/O). `gateway` is the handle both are reached
//! through, `http` the HTTP front with what guards it (`post_form`,
//! `body_timeout`), `health` the health answers (public and on the admin
//! address, cached in `health_cache`), `errors` how failures become S3
//! errors. Imports point one way: `http` → `post_form`/`health` → `s3` →
//! `gateway` → `data` → `errors` → `body_timeout`.

mod body_timeout;
pub mod data;
pub mod errors;
mod gateway;
pub mod health;
mod health_cache;
pub mod http;
mod post_form;
mod s3;
mod xml_cap;

pub use gateway::{Gateway, GatewayOptions};
pub use health::admin_router;
pub use http::router;
