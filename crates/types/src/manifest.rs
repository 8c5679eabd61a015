//! Object manifests: where one stored object version's bytes are (inline,
//! or as chunks whose pieces name the nodes holding them), with the HTTP
//! headers it is served with. They travel between roles with postcard, so
//! every field is plain data.

use crate::{NodeId, UnixMillis, VersionId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// Where an object's bytes live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectData {
    /// Small objects are kept in the manifest itself.
    Inline(Vec<u8>),
    /// Larger objects are cut into chunks stored on storage nodes; `codec`
    /// (`CODEC_REPLICATION_V1` or `CODEC_RS_GF256_V1`) says how every chunk
    /// was written, and reads decode by it.
    Chunked { codec: u16, chunks: Vec<ChunkRef> },
    /// Chunks kept in meta's chunk tables (one placement record per chunk,
    /// found by the manifest's version and the chunk's offset): the
    /// manifest carries only how many there are, so HEAD and listings
    /// decode no chunk list. Meta stores every chunked manifest this way
    /// and answers reads with it; `MetaQuery::ChunkRefs` reads the chunks
    /// of a byte range.
    Placed { codec: u16, chunks: u64 },
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
    /// Every chunk reference the manifest carries, in object order (empty
    /// for inline data and for `Placed`, whose chunks are in meta's tables).
    pub fn chunks(&self) -> &[ChunkRef] {
        match &self.data {
            ObjectData::Inline(_) | ObjectData::Placed { .. } => &[],
            ObjectData::Chunked { chunks, .. } => chunks,
        }
    }

    /// The codec of a chunked manifest (None for inline data).
    pub fn codec(&self) -> Option<u16> {
        match &self.data {
            ObjectData::Inline(_) => None,
            ObjectData::Chunked { codec, .. } | ObjectData::Placed { codec, .. } => Some(*codec),
        }
    }
}
