//! The pure data codec of cairn: how object bytes become chunks and shards and
//! back. It frames every shard with a header carrying its blake3 hash, cuts
//! streams into fixed-size chunks, maps byte ranges onto chunks, and
//! erasure-codes a chunk into k data + m parity shards (Reed-Solomon). No I/O.

pub mod chunker;
pub mod erasure;
pub mod frame;
pub mod range;

pub use chunker::Chunker;
pub use erasure::{ErasureCodec, ErasureError, MAX_CHUNK_LEN, MAX_TOTAL_SHARDS, MIN_DATA_SHARDS};
pub use frame::{FrameError, SHARD_HEADER_LEN, ShardHeader};
pub use range::{ChunkSlice, chunk_slices};

/// blake3 of a chunk's bytes, as stored in manifests and shard headers.
pub fn chunk_hash(data: &[u8]) -> [u8; 32] {
    *blake3::hash(data).as_bytes()
}
