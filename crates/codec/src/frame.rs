//! Shard framing: the fixed-size header in front of every shard file. It holds
//! a magic number, the codec id, the payload length and the payload's blake3
//! hash, so a node can verify a shard on every read without any metadata.

use thiserror::Error;

/// Bytes of header in front of every shard's payload.
pub const SHARD_HEADER_LEN: usize = 64;
const MAGIC: &[u8; 8] = b"CAIRNSH1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardHeader {
    pub codec: u16,
    pub payload_len: u64,
    pub hash: [u8; 32],
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("shard header is truncated ({0} bytes)")]
    Truncated(usize),
    #[error("shard header has a bad magic number")]
    BadMagic,
    #[error("shard payload is {actual} bytes, header says {expected}")]
    LengthMismatch { expected: u64, actual: u64 },
    #[error("shard payload does not match its blake3 hash (bitrot)")]
    HashMismatch,
}

impl ShardHeader {
    /// The header for `payload`, hashing it.
    pub fn for_payload(codec: u16, payload: &[u8]) -> Self {
        Self {
            codec,
            payload_len: payload.len() as u64,
            hash: crate::chunk_hash(payload),
        }
    }

    /// Layout: magic(8) codec(2) reserved(6) payload_len(8) hash(32) reserved(8).
    pub fn encode(&self) -> [u8; SHARD_HEADER_LEN] {
        let mut out = [0u8; SHARD_HEADER_LEN];
        out[0..8].copy_from_slice(MAGIC);
        out[8..10].copy_from_slice(&self.codec.to_be_bytes());
        out[16..24].copy_from_slice(&self.payload_len.to_be_bytes());
        out[24..56].copy_from_slice(&self.hash);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        if bytes.len() < SHARD_HEADER_LEN {
            return Err(FrameError::Truncated(bytes.len()));
        }
        if &bytes[0..8] != MAGIC {
            return Err(FrameError::BadMagic);
        }
        let mut codec = [0u8; 2];
        codec.copy_from_slice(&bytes[8..10]);
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[16..24]);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes[24..56]);
        Ok(Self {
            codec: u16::from_be_bytes(codec),
            payload_len: u64::from_be_bytes(len),
            hash,
        })
    }

    /// Checks a payload against this header: length first, then the hash.
    pub fn verify(&self, payload: &[u8]) -> Result<(), FrameError> {
        if payload.len() as u64 != self.payload_len {
            return Err(FrameError::LengthMismatch {
                expected: self.payload_len,
                actual: payload.len() as u64,
            });
        }
        if crate::chunk_hash(payload) != self.hash {
            return Err(FrameError::HashMismatch);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn header_round_trips_and_verifies(payload in proptest::collection::vec(any::<u8>(), 0..4096), codec in any::<u16>()) {
            let h = ShardHeader::for_payload(codec, &payload);
            let decoded = ShardHeader::decode(&h.encode()).expect("decodes");
            prop_assert_eq!(decoded, h);
            prop_assert!(decoded.verify(&payload).is_ok());
        }

        /// A shard file's first bytes come from the disk: any of them decode
        /// to a header or a typed error, and a decoded header encodes back to
        /// the same meaningful bytes.
        #[test]
        fn any_bytes_decode_to_a_header_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..2 * SHARD_HEADER_LEN)) {
            if let Ok(h) = ShardHeader::decode(&bytes) {
                let again = ShardHeader::decode(&h.encode()).expect("re-decodes");
                prop_assert_eq!(again, h);
            }
        }

        #[test]
        fn any_flipped_byte_is_detected(payload in proptest::collection::vec(any::<u8>(), 1..4096), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let h = ShardHeader::for_payload(1, &payload);
            let mut bad = payload.clone();
            let i = pos.index(bad.len());
            bad[i] ^= 1 << bit;
            prop_assert_eq!(h.verify(&bad), Err(FrameError::HashMismatch));
        }
    }

    #[test]
    fn bad_headers_are_refused() {
        assert_eq!(
            ShardHeader::decode(&[0u8; 10]),
            Err(FrameError::Truncated(10))
        );
        assert_eq!(
            ShardHeader::decode(&[0u8; SHARD_HEADER_LEN]),
            Err(FrameError::BadMagic)
        );
        let h = ShardHeader::for_payload(1, b"abc");
        assert_eq!(
            h.verify(b"ab"),
            Err(FrameError::LengthMismatch {
                expected: 3,
                actual: 2
            })
        );
    }
}
