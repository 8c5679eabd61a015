//! Maps a byte range of an object onto the chunks that hold it, so a ranged
//! GET fetches only the chunks it needs.

/// The part of one chunk that a range covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSlice {
    /// Index into the object's chunk list.
    pub chunk: usize,
    /// First byte wanted inside the chunk.
    pub offset: u64,
    /// Bytes wanted from the chunk.
    pub len: u64,
}

/// The chunk slices covering `start..end` of an object whose chunks have the
/// lengths `chunk_lens` (in order). `end` is exclusive and must not exceed the
/// object size. An empty range needs no chunk.
pub fn chunk_slices(chunk_lens: &[u64], start: u64, end: u64) -> Vec<ChunkSlice> {
    let mut out = Vec::new();
    if start >= end {
        return out;
    }
    let mut chunk_start = 0u64;
    for (i, &len) in chunk_lens.iter().enumerate() {
        let chunk_end = chunk_start + len;
        if len > 0 && chunk_end > start && chunk_start < end {
            let from = start.max(chunk_start);
            let to = end.min(chunk_end);
            out.push(ChunkSlice {
                chunk: i,
                offset: from - chunk_start,
                len: to - from,
            });
        }
        if chunk_end >= end {
            break;
        }
        chunk_start = chunk_end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_empty_range_inside_a_chunk_needs_no_chunk() {
        // Found by the property below: start == end inside the last chunk
        // used to yield a slice of length 0.
        assert!(chunk_slices(&[7, 31, 37, 23, 28], 125, 125).is_empty());
        assert!(chunk_slices(&[10], 0, 0).is_empty());
    }

    proptest! {
        #[test]
        fn slices_cover_exactly_the_range(lens in proptest::collection::vec(0u64..50, 0..30), a in 0u64..2000, b in 0u64..2000) {
            let total: u64 = lens.iter().sum();
            let (start, end) = (a.min(b).min(total), a.max(b).min(total));
            let object: Vec<u64> = (0..total).collect();
            let mut offsets = Vec::new();
            let mut acc = 0;
            for l in &lens { offsets.push(acc); acc += l; }
            let slices = chunk_slices(&lens, start, end);
            let got: Vec<u64> = slices.iter().flat_map(|s| {
                let base = offsets[s.chunk] + s.offset;
                base..base + s.len
            }).collect();
            prop_assert_eq!(got, object[start as usize..end as usize].to_vec());
            for s in &slices { prop_assert!(s.len > 0 && s.offset + s.len <= lens[s.chunk]); }
        }
    }

    #[test]
    fn range_inside_one_chunk() {
        assert_eq!(
            chunk_slices(&[10, 10, 10], 12, 15),
            vec![ChunkSlice {
                chunk: 1,
                offset: 2,
                len: 3
            }]
        );
    }
}
