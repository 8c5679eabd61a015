//! The metadata records meta stores and the gateway reads: buckets, access
//! keys, object manifests (where an object's bytes are) and multipart uploads.
//! They travel between roles with postcard, so every field is plain data.

use crate::{NodeId, UnixMillis, VersionId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a bucket's chunks are made redundant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Redundancy {
    /// Every chunk stored whole on this many distinct nodes.
    Replicas(u8),
    /// Every chunk cut into `data` pieces plus `parity` Reed-Solomon pieces,
    /// each on its own node; any `data` of them rebuild the chunk.
    ErasureCoded { data: u8, parity: u8 },
}

/// Most replicas a bucket may ask for.
pub const MAX_REPLICAS: u8 = 7;
/// Most pieces (data + parity) of an erasure-coded chunk.
pub const MAX_EC_WIDTH: u8 = 32;

impl Redundancy {
    /// Parses the text form: `replicas=N` (N from 1 to `MAX_REPLICAS`) or
    /// `ec=K+M` (K data and M parity pieces, both at least 1, K+M at most `MAX_EC_WIDTH`).
    pub fn parse(s: &str) -> Option<Redundancy> {
        let (kind, value) = s.trim().split_once('=')?;
        match kind.trim() {
            "replicas" => {
                let n: u8 = value.trim().parse().ok()?;
                (1..=MAX_REPLICAS)
                    .contains(&n)
                    .then_some(Redundancy::Replicas(n))
            }
            "ec" => {
                let (k, m) = value.trim().split_once('+')?;
                let (data, parity): (u8, u8) = (k.trim().parse().ok()?, m.trim().parse().ok()?);
                let ok = data >= 1
                    && parity >= 1
                    && u16::from(data) + u16::from(parity) <= u16::from(MAX_EC_WIDTH);
                ok.then_some(Redundancy::ErasureCoded { data, parity })
            }
            _ => None,
        }
    }

    /// How many nodes hold a piece of each chunk.
    pub fn width(&self) -> usize {
        match self {
            Redundancy::Replicas(n) => usize::from(*n),
            Redundancy::ErasureCoded { data, parity } => usize::from(*data) + usize::from(*parity),
        }
    }
}

impl std::fmt::Display for Redundancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Redundancy::Replicas(n) => write!(f, "replicas={n}"),
            Redundancy::ErasureCoded { data, parity } => write!(f, "ec={data}+{parity}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub created: UnixMillis,
    pub redundancy: Redundancy,
}

/// An S3 access key pair. Every key currently has full access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_key: String,
    pub name: String,
    pub created: UnixMillis,
}

/// The HTTP headers an object is stored with and returned with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpHeaders {
    pub content_type: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    /// The `Expires` header as the client sent it (an HTTP date).
    pub expires: Option<String>,
    /// `x-amz-meta-*` headers, names lowercased and without the prefix.
    pub user_metadata: BTreeMap<String, String>,
}

/// One chunk of an object's data and the nodes its shard was written to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// The version (or per-part upload version) the shards were written under.
    pub version: VersionId,
    /// Multipart part number the chunk was uploaded under (0 for a plain PUT).
    pub part: u32,
    /// Index of the chunk inside its part (or object).
    pub index: u32,
    /// Bytes of object data in this chunk.
    pub len: u64,
    /// blake3 of the chunk's bytes.
    pub hash: [u8; 32],
    /// Nodes holding a copy, in placement order (replicated chunks).
    pub nodes: Vec<NodeId>,
    /// Erasure-coded chunks: piece i (data pieces first, then parity) and
    /// the node holding it, None where its write failed. Empty when replicated.
    pub pieces: Vec<Option<PieceRef>>,
    /// How many of `pieces` are data pieces (0 when replicated).
    pub data_pieces: u8,
}

/// One stored piece of an erasure-coded chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceRef {
    pub node: NodeId,
    /// blake3 of the piece's bytes.
    pub hash: [u8; 32],
}

impl ChunkRef {
    /// The id of piece `piece` of this chunk (0 for a replica).
    pub fn shard_id(&self, piece: u16) -> crate::ShardId {
        crate::ShardId {
            version: self.version,
            part: self.part,
            chunk: self.index,
            piece,
        }
    }
}

/// Identifies the shard codec a manifest's chunks were written with, so the
/// choice can change without rewriting old objects.
pub const CODEC_REPLICATION_V1: u16 = 1;

/// Where an object's bytes live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectData {
    /// Small objects are kept in the manifest itself.
    Inline(Vec<u8>),
    /// Larger objects are cut into chunks stored on storage nodes.
    Chunked { codec: u16, chunks: Vec<ChunkRef> },
}

/// Everything meta knows about one stored object version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectManifest {
    pub bucket: String,
    pub key: String,
    pub version: VersionId,
    pub size: u64,
    /// The ETag without quotes: hex MD5, or `hex-N` for multipart objects.
    pub etag: String,
    pub last_modified: UnixMillis,
    pub headers: HttpHeaders,
    pub data: ObjectData,
    /// Sizes of the parts for a multipart object; empty for a single PUT.
    pub part_sizes: Vec<u64>,
}

impl ObjectManifest {
    /// Every chunk reference, in object order (empty for inline data).
    pub fn chunks(&self) -> &[ChunkRef] {
        match &self.data {
            ObjectData::Inline(_) => &[],
            ObjectData::Chunked { chunks, .. } => chunks,
        }
    }
}

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
