//! Unit tests of the message sizes: the largest object write the limits
//! promise fits in one command, and splitting keeps every run in bounds.

use super::*;
use crate::{MetaCommand, WriteCondition};
use cairn_types::config::DEFAULT_CHUNK_SIZE;
use cairn_types::limits::{
    MAX_BUCKET_NAME_LEN, MAX_EC_WIDTH, MAX_OBJECT_KEY_BYTES, MAX_OBJECT_TAGS, MAX_SINGLE_PUT_BYTES,
    MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS, MIN_CHUNK_SIZE,
};
use cairn_types::{
    CODEC_RS_GF256_V1, ChunkRef, HttpHeaders, ObjectData, ObjectExtras, ObjectManifest, PieceRef,
    Tag, VersionId,
};

/// S3's limit on user metadata (names and values together).
const S3_USER_METADATA_BYTES: usize = 2048;
/// Node ids of a large cluster (two-byte varints).
const NODE_IDS: u64 = 1000;

/// How each chunk is stored.
#[derive(Clone, Copy)]
enum Layout {
    Replicas(u64),
    /// Erasure coding into this many pieces (two of them parity).
    Ec(u64),
}

/// A node id of a large cluster (two-byte varints).
fn node(i: u64, p: u64) -> u64 {
    (i * 7 + p) % NODE_IDS + NODE_IDS / 2
}

/// The PutObjectWithExtras of an object of `size` bytes cut into chunks of
/// `chunk` bytes stored by `layout`, with the most S3 lets a PUT carry
/// besides (key, metadata, tags).
fn largest_put(size: u64, chunk: u64, layout: Layout) -> MetaCommand {
    let version = VersionId::new_random();
    let chunks = (0..size.div_ceil(chunk))
        .map(|i| {
            let (nodes, pieces, data_pieces) = match layout {
                Layout::Replicas(n) => ((0..n).map(|p| node(i, p)).collect(), Vec::new(), 0),
                Layout::Ec(width) => (
                    Vec::new(),
                    (0..width)
                        .map(|p| {
                            Some(PieceRef {
                                node: node(i, p),
                                hash: [0xcd; 32],
                            })
                        })
                        .collect(),
                    (width - 2) as u8,
                ),
            };
            ChunkRef {
                version,
                part: 0,
                index: i as u32,
                len: chunk,
                hash: [0xab; 32],
                nodes,
                pieces,
                data_pieces,
            }
        })
        .collect();
    let headers = HttpHeaders {
        content_type: Some("application/octet-stream".into()),
        user_metadata: [("m".to_string(), "v".repeat(S3_USER_METADATA_BYTES - 1))].into(),
        ..Default::default()
    };
    let tags = (0..MAX_OBJECT_TAGS)
        .map(|i| Tag {
            key: format!("{i}").repeat(MAX_TAG_KEY_CHARS),
            value: "t".repeat(MAX_TAG_VALUE_CHARS),
        })
        .collect();
    MetaCommand::PutObjectWithExtras {
        manifest: ObjectManifest {
            bucket: "b".repeat(MAX_BUCKET_NAME_LEN),
            key: "k".repeat(MAX_OBJECT_KEY_BYTES),
            version,
            size,
            etag: "0".repeat(32),
            last_modified: i64::MAX,
            headers,
            data: ObjectData::Chunked {
                codec: CODEC_RS_GF256_V1,
                chunks,
            },
            part_sizes: Vec::new(),
        },
        condition: WriteCondition::IfMatch("0".repeat(32)),
        extras: ObjectExtras {
            tags,
            ..Default::default()
        },
    }
}

#[test]
fn the_object_sizes_the_limits_promise_fit_in_one_command() {
    const MIB: u64 = 1024 * 1024;
    let (default_chunk, min_chunk) = (DEFAULT_CHUNK_SIZE as u64, MIN_CHUNK_SIZE as u64);
    let widest = Layout::Ec(u64::from(MAX_EC_WIDTH));
    // What `MAX_META_COMMAND_BYTES` documents: a 5 GiB PUT at the default
    // chunk size with the widest erasure layout; a replicated 5 GiB PUT at
    // the smallest chunk size; 1.9 GiB with ec=4+2 at the smallest.
    for (size, chunk, layout) in [
        (MAX_SINGLE_PUT_BYTES, default_chunk, widest),
        (MAX_SINGLE_PUT_BYTES, min_chunk, Layout::Replicas(3)),
        (1900 * MIB, min_chunk, Layout::Ec(6)),
    ] {
        let bytes = encoded_size(&largest_put(size, chunk, layout));
        assert!(
            bytes <= MAX_META_COMMAND_BYTES,
            "{size} bytes in chunks of {chunk} encode to {bytes}"
        );
    }
    // Beyond that the command is refused rather than sent.
    for (size, chunk, layout) in [
        (2048 * MIB, min_chunk, Layout::Ec(6)),
        (512 * MIB, min_chunk, widest),
    ] {
        assert!(encoded_size(&largest_put(size, chunk, layout)) > MAX_META_COMMAND_BYTES);
    }
}

#[test]
fn splitting_keeps_order_and_every_run_within_its_bounds() {
    let versions: Vec<VersionId> = (0..10_000).map(|_| VersionId::new_random()).collect();
    for (max_items, max_bytes) in [(1000, MAX_QUERY_BYTES), (10_000, 4096), (3, 100), (1, 1)] {
        let runs = split_by_encoded_size(versions.clone(), max_items, max_bytes);
        let flat: Vec<VersionId> = runs.iter().flatten().copied().collect();
        assert_eq!(flat, versions, "every item once, in order");
        for run in &runs {
            assert!(!run.is_empty() && run.len() <= max_items);
            assert!(
                run.len() == 1 || encoded_size(run) <= max_bytes,
                "a run of {} encodes to {} bytes, over {max_bytes}",
                run.len(),
                encoded_size(run)
            );
        }
        // Runs are as full as the bounds allow (all items weigh the same).
        let per_run = max_items
            .min((max_bytes.saturating_sub(LENGTH_PREFIX_BYTES)) / 16)
            .max(1);
        assert_eq!(runs.len(), versions.len().div_ceil(per_run));
    }
    assert!(split_by_encoded_size(Vec::<VersionId>::new(), 10, 100).is_empty());
}
