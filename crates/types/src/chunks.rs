//! Chunk placement records: where each stored chunk's pieces are, kept by
//! meta one row per chunk so that a mover changes one piece's holder with a
//! small compare-and-swap, and a manifest names its chunks without carrying
//! their placement. A chunk is addressed by its `ChunkKey` (the data version
//! it was written under, its part and its index: the shard id without the
//! piece); every manifest that holds the chunk (an object, its version row,
//! an uploaded part) reads the same record.

use crate::{ChunkRef, NodeId, ShardId, UnixMillis, VersionId};
use serde::{Deserialize, Serialize};

/// Piece events kept per chunk record (oldest dropped first).
pub const CHUNK_HISTORY_LEN: usize = 8;

/// One chunk, as the shard ids of its pieces name it (without the piece).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChunkKey {
    pub version: VersionId,
    pub part: u32,
    pub chunk: u32,
}

impl ChunkKey {
    /// The chunk a shard belongs to.
    pub fn of_shard(id: &ShardId) -> Self {
        Self {
            version: id.version,
            part: id.part,
            chunk: id.chunk,
        }
    }

    /// The chunk a manifest's chunk reference names.
    pub fn of_ref(c: &ChunkRef) -> Self {
        Self {
            version: c.version,
            part: c.part,
            chunk: c.index,
        }
    }

    /// The shard id of piece `piece` (0 for every replica).
    pub fn shard(&self, piece: u16) -> ShardId {
        ShardId {
            version: self.version,
            part: self.part,
            chunk: self.chunk,
            piece,
        }
    }

    /// The byte form used as a table key: sorts by version, part, index.
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut out = [0u8; 24];
        out[..16].copy_from_slice(&self.version.0);
        out[16..20].copy_from_slice(&self.part.to_be_bytes());
        out[20..].copy_from_slice(&self.chunk.to_be_bytes());
        out
    }

    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        if b.len() != 24 {
            return None;
        }
        let mut v = [0u8; 16];
        v.copy_from_slice(&b[..16]);
        Some(Self {
            version: VersionId(v),
            part: u32::from_be_bytes(b[16..20].try_into().ok()?),
            chunk: u32::from_be_bytes(b[20..24].try_into().ok()?),
        })
    }
}

impl std::fmt::Display for ChunkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.version, self.part, self.chunk)
    }
}

/// Why a piece changed holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveReason {
    /// The recorded piece was missing from its holder's disk.
    Missing,
    /// The recorded piece failed verification (scrub or a read).
    Corrupt,
    /// Its holder was down longer than `repair.after_down_secs`.
    OnDownNode,
    /// The chunk was acknowledged with fewer pieces than its width.
    UnderWidth,
    /// Its holder is no longer an owner of the chunk's partition.
    Misplaced,
    /// The chunk was re-encoded under its bucket's new redundancy (a new
    /// chunk, every piece written at once).
    Reencoded,
}

/// One change of a piece's holder, as recorded with the chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PieceEvent {
    pub at: UnixMillis,
    /// Erasure piece index (0 for a replica).
    pub piece: u16,
    /// The holder replaced (None: the slot was empty).
    pub from: Option<NodeId>,
    pub to: NodeId,
    pub reason: MoveReason,
}

/// Meta's record of one chunk: its reference (length, hash, the holder of
/// every piece), the codec it was written with and how many pieces its
/// bucket wanted, and the last few holder changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRecord {
    pub chunk: ChunkRef,
    /// `CODEC_REPLICATION_V1` or `CODEC_RS_GF256_V1`.
    pub codec: u16,
    /// Pieces wanted: replicas, or k+m.
    pub width: u8,
    /// Newest last; at most `CHUNK_HISTORY_LEN`.
    pub history: Vec<PieceEvent>,
}

impl ChunkRecord {
    /// Pieces needed to read the chunk: 1 replica, or k pieces.
    pub fn min_pieces(&self) -> usize {
        if self.chunk.data_pieces > 0 {
            usize::from(self.chunk.data_pieces)
        } else {
            1
        }
    }

    /// Bytes one piece holds: the chunk for a replica, a piece's share
    /// (rounded up) for an erasure-coded chunk.
    pub fn piece_bytes(&self) -> u64 {
        match self.chunk.data_pieces {
            0 => self.chunk.len,
            k => self.chunk.len.div_ceil(u64::from(k)),
        }
    }

    /// Whether every piece the width asks for is recorded.
    pub fn is_full_width(&self) -> bool {
        if self.chunk.data_pieces > 0 {
            self.chunk.pieces.iter().all(Option::is_some)
        } else {
            self.chunk.nodes.len() >= usize::from(self.width)
        }
    }

    /// Every recorded (piece index, holder, blake3) of the chunk.
    pub fn holders(&self) -> Vec<(u16, NodeId, [u8; 32])> {
        if self.chunk.data_pieces > 0 {
            self.chunk
                .pieces
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.as_ref().map(|p| (i as u16, p.node, p.hash)))
                .collect()
        } else {
            self.chunk
                .nodes
                .iter()
                .map(|n| (0u16, *n, self.chunk.hash))
                .collect()
        }
    }

    /// Appends an event, dropping the oldest beyond `CHUNK_HISTORY_LEN`.
    pub fn record(&mut self, event: PieceEvent) {
        self.history.push(event);
        let excess = self.history.len().saturating_sub(CHUNK_HISTORY_LEN);
        self.history.drain(..excess);
    }
}
