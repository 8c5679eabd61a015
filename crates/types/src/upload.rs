//! Multipart uploads in progress and their uploaded parts, as meta stores them.

use crate::{ChunkRef, HttpHeaders, UnixMillis, VersionId};
use serde::{Deserialize, Serialize};

/// A multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub upload_id: VersionId,
    pub bucket: String,
    pub key: String,
    pub initiated: UnixMillis,
    pub headers: HttpHeaders,
}

/// One uploaded part of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    pub part_number: u32,
    /// Hex MD5 of the part's bytes (no quotes).
    pub etag: String,
    pub size: u64,
    pub last_modified: UnixMillis,
    /// Under which data version the part's shards were written (each upload of
    /// a part number gets a fresh one, so a re-upload never overwrites shards
    /// a concurrent complete may still reference).
    pub data_version: VersionId,
    pub chunks: Vec<ChunkRef>,
}
