//! Shared vocabulary of cairn: identifiers, names, the records every role
//! exchanges (buckets, keys, object manifests, multipart uploads), the limits
//! every role enforces (`limits`), typed errors and the configuration file
//! format. No I/O and no role logic lives here.

pub mod access;
pub mod bucket;
pub mod chunks;
pub mod config;
pub mod cors;
pub mod extras;
pub mod ids;
pub mod layout;
pub mod lifecycle;
pub mod limits;
pub mod manifest;
pub mod names;
pub mod policy;
pub mod policy_condition;
pub mod policy_error;
pub mod redundancy;
pub mod tls_config;
pub mod upload;
pub mod versioning;

pub use bucket::{AccessKey, Bucket};
pub use chunks::{ChunkKey, ChunkRecord, MoveReason, PieceEvent};
pub use cors::{CorsConfiguration, CorsRule};
pub use extras::{ChecksumAlgorithm, ObjectExtras, StoredChecksum, Tag, UploadExtras};
pub use ids::{NodeId, ShardId, VersionId};
pub use layout::{ClusterLayout, LayoutNode, LayoutStaging, LayoutState, StagedRole, UsageGroup};
pub use lifecycle::LifecycleConfiguration;
pub use manifest::{ChunkRef, HttpHeaders, ObjectData, ObjectManifest, PieceRef};
pub use names::{NameError, validate_bucket_name, validate_object_key};
pub use redundancy::{
    CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, DefaultRedundancy, Redundancy, codec_of,
};
pub use upload::{PartRecord, UploadRecord};
pub use versioning::{NULL_VERSION_ID, ObjectVersionId, VersioningStatus};

/// Milliseconds since the Unix epoch: the one clock unit stored in metadata.
pub type UnixMillis = i64;

/// Now, in milliseconds since the Unix epoch.
pub fn now_millis() -> UnixMillis {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// Now shifted by `offset_ms` (a role's test-only `clock_offset_ms`), in ms
/// since the Unix epoch; 0 for a time before it.
pub fn shifted_now_ms(offset_ms: i64) -> u64 {
    u64::try_from(now_millis().saturating_add(offset_ms)).unwrap_or(0)
}
