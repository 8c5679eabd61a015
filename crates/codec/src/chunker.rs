//! Cuts a stream of byte buffers of any sizes into chunks of exactly
//! `chunk_size` bytes (the last one shorter), copying each byte at most once.

use bytes::{Bytes, BytesMut};

pub struct Chunker {
    chunk_size: usize,
    buf: BytesMut,
}

impl Chunker {
    pub fn new(chunk_size: usize) -> Self {
        assert!(chunk_size > 0, "chunk size must be positive");
        Self {
            chunk_size,
            buf: BytesMut::with_capacity(chunk_size),
        }
    }

    /// Adds `data`; returns every chunk that became full.
    pub fn push(&mut self, mut data: Bytes) -> Vec<Bytes> {
        let mut full = Vec::new();
        while !data.is_empty() {
            if self.buf.is_empty() && data.len() >= self.chunk_size {
                // Whole chunk available without copying.
                full.push(data.split_to(self.chunk_size));
                continue;
            }
            let take = (self.chunk_size - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data.split_to(take));
            if self.buf.len() == self.chunk_size {
                let chunk =
                    std::mem::replace(&mut self.buf, BytesMut::with_capacity(self.chunk_size));
                full.push(chunk.freeze());
            }
        }
        full
    }

    /// Bytes held back, waiting for the chunk to fill.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The final, partial chunk, if any bytes are pending.
    pub fn finish(self) -> Option<Bytes> {
        if self.buf.is_empty() {
            None
        } else {
            Some(self.buf.freeze())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn chunks_concatenate_to_input(pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20), chunk_size in 1usize..200) {
            let mut chunker = Chunker::new(chunk_size);
            let mut out = Vec::new();
            for p in &pieces {
                out.extend(chunker.push(Bytes::from(p.clone())));
            }
            out.extend(chunker.finish());
            let input: Vec<u8> = pieces.concat();
            let joined: Vec<u8> = out.iter().flat_map(|c| c.iter().copied()).collect();
            prop_assert_eq!(joined, input);
            for (i, c) in out.iter().enumerate() {
                prop_assert!(!c.is_empty());
                if i + 1 < out.len() { prop_assert_eq!(c.len(), chunk_size); }
                else { prop_assert!(c.len() <= chunk_size); }
            }
        }
    }
}
