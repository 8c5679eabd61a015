//! Object bodies without per-request cost: one buffer of random bytes is
//! generated when a run starts, and every body is a zero-copy slice of it.
//! The slice starts at one of `PAYLOAD_OFFSETS` offsets, so objects of the
//! same size still differ (a store that deduplicates or compresses cannot
//! shortcut the benchmark), and a reader knows exactly what to expect.

use bytes::Bytes;
use rand::{Rng, RngCore};

/// Number of distinct start offsets into the buffer (one byte apart).
pub const PAYLOAD_OFFSETS: u64 = 4096;

/// An object the run wrote: where it is and what its body was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Start of the body in the payload buffer.
    pub offset: u64,
}

/// The random bytes all bodies are cut from.
pub struct Payload {
    data: Bytes,
}

impl Payload {
    /// Random bytes enough for bodies up to `max_size` at any offset.
    pub fn new(max_size: u64, rng: &mut impl RngCore) -> Self {
        let len = usize::try_from(max_size + PAYLOAD_OFFSETS).unwrap_or(usize::MAX);
        let mut data = vec![0u8; len];
        rng.fill_bytes(&mut data);
        Self { data: data.into() }
    }

    /// The largest body this payload can give.
    pub fn max_size(&self) -> u64 {
        self.data.len() as u64 - PAYLOAD_OFFSETS
    }

    /// A random start offset for a new body.
    pub fn pick_offset(rng: &mut impl Rng) -> u64 {
        rng.random_range(0..PAYLOAD_OFFSETS)
    }

    /// The body of `size` bytes starting at `offset` (a shared slice, no copy).
    ///
    /// The run only asks for sizes up to `max_size()` and offsets below
    /// `PAYLOAD_OFFSETS`, which it checks once before starting.
    pub fn body(&self, size: u64, offset: u64) -> Bytes {
        self.data.slice(offset as usize..(offset + size) as usize)
    }

    /// Whether `chunk`, received at byte `position` of an object with body
    /// `offset`, is what was written there.
    pub fn matches(&self, offset: u64, position: u64, chunk: &[u8]) -> bool {
        let start = offset + position;
        let end = start + chunk.len() as u64;
        end <= self.data.len() as u64 && self.data[start as usize..end as usize] == *chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn bodies_are_slices_that_verify() {
        let mut rng = StdRng::seed_from_u64(3);
        let payload = Payload::new(1000, &mut rng);
        assert_eq!(payload.max_size(), 1000);
        let body = payload.body(1000, PAYLOAD_OFFSETS - 1);
        assert_eq!(body.len(), 1000);
        assert!(payload.matches(PAYLOAD_OFFSETS - 1, 0, &body));
        assert!(payload.matches(PAYLOAD_OFFSETS - 1, 10, &body[10..20]));
        assert!(!payload.matches(PAYLOAD_OFFSETS - 1, 11, &body[10..20]));
        // Objects at different offsets differ.
        assert_ne!(payload.body(100, 0), payload.body(100, 1));
        // Past the end never matches.
        assert!(!payload.matches(PAYLOAD_OFFSETS, 1, &body));
    }
}
