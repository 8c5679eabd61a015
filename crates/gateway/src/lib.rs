//! The gateway role: speaks S3 (through s3s: SigV4 header and presigned
//! authentication, aws-chunked bodies, XML) and drives the data path. It cuts
//! object bodies into chunks, places and sends them to storage nodes in
//! parallel, and commits manifests in meta; reads fetch chunks back in
//! parallel with bounded read-ahead, hedging slow nodes and skipping down
//! ones. It holds no state that cannot be rebuilt from meta.

mod acl;
mod attributes;
mod bucket;
mod checksum;
mod copy;
mod cors;
pub mod data;
mod delete;
mod erasure_path;
pub mod errors;
mod hedge;
pub mod http;
mod lifecycle;
mod list;
mod list_uploads;
mod list_versions;
mod multipart;
pub mod node_health;
mod object;
mod part_copy;
mod quorum;
mod s3;
pub mod state;
mod tagging;
mod versioning;

pub use http::router;
pub use state::{Gateway, GatewayOptions};
