//! Systematic Reed-Solomon erasure coding of one chunk into `k` data shards
//! and `m` parity shards, any `k` of which give the chunk back.
//!
//! The arithmetic is `reed-solomon-erasure` 6 (GF(2^8), a systematic
//! Vandermonde-derived matrix) built with its `simd-accel` feature, chosen
//! over `reed-solomon-simd` by measurement; see `docs/erasure-coding.md` for
//! the numbers, the reasoning and the build requirements of `simd-accel`.
//!
//! Layout ([`CODEC_RS_GF256_V1`]):
//!
//! - every shard is [`ErasureCodec::shard_len`] = `ceil(chunk_len / k)`
//!   bytes (the library takes any non-zero length, so no further rounding);
//!   a chunk of 0 bytes gives `k + m` empty shards;
//! - data shard `i` holds chunk bytes `i * shard_len ..`, zero-padded at the
//!   end (so the last data shards may be partly or wholly padding);
//! - parity shards follow the data shards; parity shard `j` is row `k + j` of
//!   the library's encoding matrix applied to the data shards.
//!
//! The chunk length is not inside the shards: the caller records it (the
//! manifest's `ChunkRef::len`) and passes it to [`ErasureCodec::decode`].
//!
//! The code is systematic: the data shards are the chunk's bytes. A reader
//! holding all `k` data shards joins them and drops the padding; no
//! Reed-Solomon work is done. Only when a data shard is missing are parity
//! shards used.
//!
//! Pure: no I/O. An [`ErasureCodec`] keeps only the library's encoding matrix
//! and its cache of decode matrices (one per loss pattern), behind a lock.

use bytes::{Bytes, BytesMut};
use reed_solomon_erasure::galois_8::ReedSolomon;
use thiserror::Error;

/// Codec id of Reed-Solomon over GF(2^8) in the layout of this module
/// (`shard_len = ceil(chunk_len / k)`, zero padding at the end of the data,
/// data shards then parity shards from reed-solomon-erasure's matrix).
///
/// The codec this module implements. Codec ids (defined together in
/// `cairn_types::redundancy`) are stored in every manifest
/// (`ObjectData::Chunked::codec`) and every shard header, and objects are
/// read back with the codec they were written with. So an id, once used, is
/// never reused for anything else: a new algorithm, library output or layout
/// takes a new id. `k` and `m` are per bucket and are recorded beside the
/// id, not in it.
pub use cairn_types::CODEC_RS_GF256_V1;

/// Fewest data shards a layout may have.
pub const MIN_DATA_SHARDS: usize = 1;
/// Most shards (data + parity) of one chunk: the order of GF(2^8), the
/// library's limit.
pub const MAX_TOTAL_SHARDS: usize = 256;
/// Largest chunk the codec accepts (1 GiB), far above the configurable chunk
/// size (at most 64 MiB); a longer length, e.g. from a damaged manifest, is
/// refused before anything is allocated.
pub const MAX_CHUNK_LEN: usize = 1 << 30;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum ErasureError {
    #[error("erasure layout needs at least {MIN_DATA_SHARDS} data shard, got {data}+{parity}")]
    NoDataShards { data: usize, parity: usize },
    #[error("erasure layout {data}+{parity} has more than {MAX_TOTAL_SHARDS} shards")]
    TooManyShards { data: usize, parity: usize },
    #[error("chunk of {len} bytes is longer than the {MAX_CHUNK_LEN} bytes the codec accepts")]
    ChunkTooLong { len: usize },
    #[error("expected {expected} shard slots (data + parity), got {actual}")]
    WrongShardCount { expected: usize, actual: usize },
    #[error("shard {index} is {actual} bytes, the layout says {expected}")]
    ShardLength {
        index: usize,
        expected: usize,
        actual: usize,
    },
    #[error("only {present} shards present, {needed} needed to rebuild the chunk")]
    NotEnoughShards { present: usize, needed: usize },
    #[error("reed-solomon-erasure failed: {0}")]
    Library(#[from] reed_solomon_erasure::Error),
}

/// A validated `k + m` layout and the library state for it. Build one per
/// layout and share it (`Send + Sync`; clones start with an empty cache).
#[derive(Clone)]
pub struct ErasureCodec {
    data: usize,
    parity: usize,
    /// `None` when `m = 0` (the library needs at least one parity shard).
    rs: Option<ReedSolomon>,
}

impl std::fmt::Debug for ErasureCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErasureCodec")
            .field("data", &self.data)
            .field("parity", &self.parity)
            .finish()
    }
}

impl PartialEq for ErasureCodec {
    fn eq(&self, other: &Self) -> bool {
        (self.data, self.parity) == (other.data, other.parity)
    }
}

impl Eq for ErasureCodec {}

impl ErasureCodec {
    /// The layout with `data` (k) data shards and `parity` (m) parity shards:
    /// `k >= MIN_DATA_SHARDS`, `m >= 0`, `k + m <= MAX_TOTAL_SHARDS`.
    pub fn new(data: usize, parity: usize) -> Result<Self, ErasureError> {
        if data < MIN_DATA_SHARDS {
            return Err(ErasureError::NoDataShards { data, parity });
        }
        match data.checked_add(parity) {
            Some(total) if total <= MAX_TOTAL_SHARDS => {}
            _ => return Err(ErasureError::TooManyShards { data, parity }),
        }
        let rs = if parity == 0 {
            None
        } else {
            Some(ReedSolomon::new(data, parity)?)
        };
        Ok(Self { data, parity, rs })
    }

    /// Data shards (k).
    pub fn data_shards(&self) -> usize {
        self.data
    }

    /// Parity shards (m): how many shards may be lost.
    pub fn parity_shards(&self) -> usize {
        self.parity
    }

    /// All shards of a chunk (k + m).
    pub fn total_shards(&self) -> usize {
        self.data + self.parity
    }

    /// Bytes in each shard of a chunk of `chunk_len` bytes.
    pub fn shard_len(&self, chunk_len: usize) -> usize {
        chunk_len.div_ceil(self.data)
    }

    fn checked_shard_len(&self, chunk_len: usize) -> Result<usize, ErasureError> {
        if chunk_len > MAX_CHUNK_LEN {
            return Err(ErasureError::ChunkTooLong { len: chunk_len });
        }
        Ok(self.shard_len(chunk_len))
    }

    /// Cuts `chunk` into k data shards (the last zero-padded) and computes m
    /// parity shards: k + m shards of equal length, data first. The caller
    /// records `chunk.len()` for [`ErasureCodec::decode`]. Copies the chunk
    /// once; [`ErasureCodec::encode_bytes`] avoids that copy.
    pub fn encode(&self, chunk: &[u8]) -> Result<Vec<Bytes>, ErasureError> {
        self.checked_shard_len(chunk.len())?;
        self.encode_bytes(Bytes::copy_from_slice(chunk))
    }

    /// As [`ErasureCodec::encode`], but the data shards that need no padding
    /// are slices of `chunk` (no copy): all of them when `k` divides the
    /// chunk length, as it does for 1 MiB chunks and k a power of two.
    pub fn encode_bytes(&self, chunk: Bytes) -> Result<Vec<Bytes>, ErasureError> {
        let shard_len = self.checked_shard_len(chunk.len())?;
        let mut shards: Vec<Bytes> = Vec::with_capacity(self.total_shards());
        for i in 0..self.data {
            let start = (i * shard_len).min(chunk.len());
            let end = (start + shard_len).min(chunk.len());
            if end - start == shard_len {
                shards.push(chunk.slice(start..end));
            } else {
                let mut shard = BytesMut::with_capacity(shard_len);
                shard.extend_from_slice(&chunk[start..end]);
                shard.resize(shard_len, 0);
                shards.push(shard.freeze());
            }
        }
        let mut parity: Vec<BytesMut> = (0..self.parity)
            .map(|_| BytesMut::zeroed(shard_len))
            .collect();
        // The library refuses empty shards; the parity of nothing is nothing.
        if let Some(rs) = &self.rs
            && shard_len > 0
        {
            rs.encode_sep(&shards, &mut parity)?;
        }
        shards.extend(parity.into_iter().map(BytesMut::freeze));
        Ok(shards)
    }

    /// The chunk of `chunk_len` bytes back from its shards, given in order
    /// (`shards[i]` is shard `i`, `None` if lost). Any k present shards
    /// suffice. With every data shard present no decoding is done: the data
    /// shards are joined and the padding dropped (zero-copy when the chunk
    /// fits in the first shard, as it does when k = 1).
    ///
    /// Shards are not checked against their hashes here: verify each with its
    /// [`crate::ShardHeader`] first and pass a damaged one as `None`.
    pub fn decode(
        &self,
        shards: Vec<Option<Bytes>>,
        chunk_len: usize,
    ) -> Result<Bytes, ErasureError> {
        let shard_len = self.checked_shard_len(chunk_len)?;
        if shards.len() != self.total_shards() {
            return Err(ErasureError::WrongShardCount {
                expected: self.total_shards(),
                actual: shards.len(),
            });
        }
        for (index, shard) in shards.iter().enumerate() {
            if let Some(shard) = shard
                && shard.len() != shard_len
            {
                return Err(ErasureError::ShardLength {
                    index,
                    expected: shard_len,
                    actual: shard.len(),
                });
            }
        }
        let present = shards.iter().filter(|s| s.is_some()).count();
        if present < self.data {
            return Err(ErasureError::NotEnoughShards {
                present,
                needed: self.data,
            });
        }

        let mut data = shards;
        let parity = data.split_off(self.data);
        if data.iter().any(Option::is_none) {
            // A data shard is missing yet k shards are present, so some are
            // parity and m > 0: the library is there.
            let rs = self.rs.as_ref().ok_or(ErasureError::NotEnoughShards {
                present,
                needed: self.data,
            })?;
            rebuild_data(rs, &mut data, parity, shard_len)?;
        }
        Ok(join(data, chunk_len))
    }
}

/// Fills the missing data shards from the present data and parity shards
/// (at least k of them, all `shard_len` bytes; checked by the caller).
fn rebuild_data(
    rs: &ReedSolomon,
    data: &mut [Option<Bytes>],
    parity: Vec<Option<Bytes>>,
    shard_len: usize,
) -> Result<(), ErasureError> {
    if shard_len == 0 {
        data.fill(Some(Bytes::new()));
        return Ok(());
    }
    // (buffer, present) pairs: present shards are taken over without a copy
    // when nobody else holds them; missing data shards get a buffer to be
    // written in place; missing parity shards are not rebuilt.
    let mut work: Vec<(BytesMut, bool)> = data
        .iter_mut()
        .map(|slot| match slot.take() {
            Some(shard) => (writable(shard), true),
            None => (BytesMut::zeroed(shard_len), false),
        })
        .chain(parity.into_iter().map(|slot| match slot {
            Some(shard) => (writable(shard), true),
            None => (BytesMut::new(), false),
        }))
        .collect();
    rs.reconstruct_data(&mut work)?;
    for (slot, (shard, _)) in data.iter_mut().zip(work) {
        *slot = Some(shard.freeze());
    }
    Ok(())
}

/// The shard as a mutable buffer: its own memory when unshared, else a copy.
fn writable(shard: Bytes) -> BytesMut {
    shard
        .try_into_mut()
        .unwrap_or_else(|shared| BytesMut::from(&shared[..]))
}

/// The first `chunk_len` bytes of the data shards, in order.
fn join(data: Vec<Option<Bytes>>, chunk_len: usize) -> Bytes {
    let mut out = BytesMut::with_capacity(chunk_len);
    for shard in data.into_iter().flatten() {
        let want = chunk_len - out.len();
        if want == 0 {
            break;
        }
        if out.is_empty() && shard.len() >= want {
            // The whole chunk is in the first shard: no copy.
            return shard.slice(..want);
        }
        out.extend_from_slice(&shard[..want.min(shard.len())]);
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FrameError, ShardHeader};
    use proptest::prelude::*;
    use proptest::sample::{Index, subsequence};

    /// Largest k and m the property tests draw.
    const TEST_MAX_DATA: usize = 8;
    const TEST_MAX_PARITY: usize = 4;
    /// Largest chunk the property tests draw (odd, to hit odd lengths).
    const TEST_MAX_CHUNK: usize = 3001;

    /// (k, m, chunk, shard indices to drop (at most m)).
    fn layout_and_loss() -> impl Strategy<Value = (usize, usize, Vec<u8>, Vec<usize>)> {
        (1..=TEST_MAX_DATA, 0..=TEST_MAX_PARITY).prop_flat_map(|(k, m)| {
            (
                Just(k),
                Just(m),
                prop_oneof![
                    proptest::collection::vec(any::<u8>(), 0..=2),
                    proptest::collection::vec(any::<u8>(), 0..=TEST_MAX_CHUNK),
                ],
                subsequence((0..k + m).collect::<Vec<_>>(), 0..=m),
            )
        })
    }

    fn drop_shards(shards: &[Bytes], lost: &[usize]) -> Vec<Option<Bytes>> {
        shards
            .iter()
            .enumerate()
            .map(|(i, s)| (!lost.contains(&i)).then(|| s.clone()))
            .collect()
    }

    proptest! {
        #[test]
        fn any_k_shards_give_the_chunk_back((k, m, chunk, lost) in layout_and_loss()) {
            let codec = ErasureCodec::new(k, m).expect("valid layout");
            let shards = codec.encode(&chunk).expect("encodes");
            prop_assert_eq!(shards.len(), k + m);
            let shard_len = codec.shard_len(chunk.len());
            prop_assert!(shards.iter().all(|s| s.len() == shard_len));
            // Systematic: the data shards are the chunk, then zero padding.
            let joined: Vec<u8> = shards[..k].iter().flat_map(|s| s.iter().copied()).collect();
            prop_assert_eq!(&joined[..chunk.len()], &chunk[..]);
            prop_assert!(joined[chunk.len()..].iter().all(|&b| b == 0));

            let back = codec.decode(drop_shards(&shards, &lost), chunk.len()).expect("decodes");
            prop_assert_eq!(&back[..], &chunk[..]);
            // Unshared buffers are rebuilt in place rather than copied.
            let fresh: Vec<Option<Bytes>> = drop_shards(&shards, &lost)
                .into_iter()
                .map(|s| s.map(|s| Bytes::copy_from_slice(&s)))
                .collect();
            let back = codec.decode(fresh, chunk.len()).expect("decodes");
            prop_assert_eq!(&back[..], &chunk[..]);
            prop_assert_eq!(codec.encode_bytes(Bytes::from(chunk)).expect("encodes"), shards);
        }

        #[test]
        fn losing_more_than_m_shards_is_a_clear_error((k, m, chunk, _) in layout_and_loss(), first in any::<Index>()) {
            let codec = ErasureCodec::new(k, m).expect("valid layout");
            let shards = codec.encode(&chunk).expect("encodes");
            // m + 1 consecutive shards (wrapping), starting anywhere.
            let start = first.index(k + m);
            let lost: Vec<usize> = (0..=m).map(|i| (start + i) % (k + m)).collect();
            prop_assert_eq!(
                codec.decode(drop_shards(&shards, &lost), chunk.len()),
                Err(ErasureError::NotEnoughShards { present: k - 1, needed: k })
            );
        }

        #[test]
        fn framed_shards_verify_and_a_flipped_byte_is_caught((k, m, chunk, _) in layout_and_loss(), which in any::<Index>(), pos in any::<Index>(), bit in 0u8..8) {
            let codec = ErasureCodec::new(k, m).expect("valid layout");
            let shards = codec.encode(&chunk).expect("encodes");
            for shard in &shards {
                let header = ShardHeader::for_payload(CODEC_RS_GF256_V1, shard);
                let decoded = ShardHeader::decode(&header.encode()).expect("header decodes");
                prop_assert_eq!(decoded.codec, CODEC_RS_GF256_V1);
                prop_assert!(decoded.verify(shard).is_ok());
            }
            let shard = &shards[which.index(shards.len())];
            if !shard.is_empty() {
                let header = ShardHeader::for_payload(CODEC_RS_GF256_V1, shard);
                let mut bad = shard.to_vec();
                let at = pos.index(bad.len());
                bad[at] ^= 1 << bit;
                prop_assert_eq!(header.verify(&bad), Err(FrameError::HashMismatch));
            }
        }

        #[test]
        fn all_data_shards_present_means_no_decoding((k, m, chunk, _) in layout_and_loss()) {
            prop_assume!(m > 0);
            let codec = ErasureCodec::new(k, m).expect("valid layout");
            let shards = codec.encode(&chunk).expect("encodes");
            // Garbage parity of the right length: a decode that used it
            // would not give the chunk back.
            let mut given: Vec<Option<Bytes>> = shards.iter().cloned().map(Some).collect();
            for slot in &mut given[k..] {
                *slot = slot.as_ref().map(|s| Bytes::from(vec![0xA5; s.len()]));
            }
            let back = codec.decode(given, chunk.len()).expect("decodes");
            prop_assert_eq!(&back[..], &chunk[..]);
        }
    }

    #[test]
    fn layouts_are_validated() {
        assert_eq!(
            ErasureCodec::new(0, 2),
            Err(ErasureError::NoDataShards { data: 0, parity: 2 })
        );
        assert_eq!(
            ErasureCodec::new(200, MAX_TOTAL_SHARDS - 199),
            Err(ErasureError::TooManyShards {
                data: 200,
                parity: MAX_TOTAL_SHARDS - 199
            })
        );
        assert_eq!(
            ErasureCodec::new(1, usize::MAX),
            Err(ErasureError::TooManyShards {
                data: 1,
                parity: usize::MAX
            })
        );
        let widest = ErasureCodec::new(MAX_TOTAL_SHARDS - 4, 4).expect("widest layout");
        let chunk: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let shards = widest.encode(&chunk).expect("encodes");
        let mut given: Vec<Option<Bytes>> = shards.into_iter().map(Some).collect();
        given[..4].fill(None);
        assert_eq!(
            widest.decode(given, chunk.len()).expect("decodes"),
            &chunk[..]
        );
    }

    #[test]
    fn malformed_input_is_refused() {
        let codec = ErasureCodec::new(4, 2).expect("valid layout");
        let chunk = vec![7u8; 10];
        let shards = codec.encode(&chunk).expect("encodes");
        assert_eq!(codec.shard_len(10), 3);
        let given: Vec<Option<Bytes>> = shards.iter().cloned().map(Some).collect();
        assert_eq!(
            codec.decode(given[..5].to_vec(), 10),
            Err(ErasureError::WrongShardCount {
                expected: 6,
                actual: 5
            })
        );
        // A chunk length that does not match the shards.
        assert_eq!(
            codec.decode(given.clone(), 20),
            Err(ErasureError::ShardLength {
                index: 0,
                expected: 5,
                actual: 3
            })
        );
        assert_eq!(
            codec.decode(given, MAX_CHUNK_LEN + 1),
            Err(ErasureError::ChunkTooLong {
                len: MAX_CHUNK_LEN + 1
            })
        );
        assert_eq!(
            codec.encode(&vec![0u8; MAX_CHUNK_LEN + 1]),
            Err(ErasureError::ChunkTooLong {
                len: MAX_CHUNK_LEN + 1
            })
        );
    }

    /// Pins the parity bytes of `CODEC_RS_GF256_V1`. Stored shards must stay
    /// decodable: if a library upgrade changes this hash, the new output
    /// needs a new codec id, not this one.
    #[test]
    fn parity_bytes_are_pinned() {
        let codec = ErasureCodec::new(4, 2).expect("valid layout");
        let chunk: Vec<u8> = (0..4099u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let shards = codec.encode(&chunk).expect("encodes");
        let mut hasher = blake3::Hasher::new();
        for shard in &shards[4..] {
            hasher.update(shard);
        }
        assert_eq!(
            hasher.finalize().to_hex().as_str(),
            "fdb610ab5d0eddd844e72ee4ef8a9cb82b6020afeb4df2f294d929a5299efb9b"
        );
    }
}
