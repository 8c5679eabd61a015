//! Manifest encoding: postcard encode and decode of `ObjectManifest`, the
//! record meta stores per object version and the gateway reads on every GET —
//! an inline 4 KiB object, a 64 MiB object of 64 replicated 1 MiB chunks,
//! and the same as ec 4+2 (six pieces per chunk).

use cairn_types::{ChunkRef, HttpHeaders, ObjectData, ObjectManifest, PieceRef, VersionId};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const CHUNK_LEN: u64 = 1 << 20;
const CHUNKS_OF_64_MIB: u32 = 64;
const INLINE_LEN: usize = 4096;
const REPLICAS: u64 = 3;
const EC_DATA: u8 = 4;
const EC_PIECES: u64 = 6;

fn manifest(data: ObjectData, size: u64) -> ObjectManifest {
    ObjectManifest {
        bucket: "benchmark-bucket".into(),
        key: "some/prefix/object-000000000042.bin".into(),
        version: VersionId([9; 16]),
        size,
        etag: "9e107d9d372bb6826bd81d3542a419d6".into(),
        last_modified: 1_764_470_000_000,
        headers: HttpHeaders {
            content_type: Some("application/octet-stream".into()),
            ..HttpHeaders::default()
        },
        data,
        part_sizes: Vec::new(),
    }
}

fn chunks(erasure: bool) -> Vec<ChunkRef> {
    (0..CHUNKS_OF_64_MIB)
        .map(|index| ChunkRef {
            version: VersionId([9; 16]),
            part: 0,
            index,
            len: CHUNK_LEN,
            hash: [index as u8; 32],
            nodes: if erasure {
                Vec::new()
            } else {
                (1..=REPLICAS).collect()
            },
            pieces: if erasure {
                (1..=EC_PIECES)
                    .map(|node| {
                        Some(PieceRef {
                            node,
                            hash: [node as u8; 32],
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            },
            data_pieces: if erasure { EC_DATA } else { 0 },
        })
        .collect()
}

fn encoding(c: &mut Criterion) {
    let cases = [
        (
            "inline-4KiB",
            manifest(ObjectData::Inline(vec![7; INLINE_LEN]), INLINE_LEN as u64),
        ),
        (
            "64MiB-replicas3",
            manifest(
                ObjectData::Chunked {
                    codec: 1,
                    chunks: chunks(false),
                },
                u64::from(CHUNKS_OF_64_MIB) * CHUNK_LEN,
            ),
        ),
        (
            "64MiB-ec4+2",
            manifest(
                ObjectData::Chunked {
                    codec: 2,
                    chunks: chunks(true),
                },
                u64::from(CHUNKS_OF_64_MIB) * CHUNK_LEN,
            ),
        ),
    ];
    let mut group = c.benchmark_group("manifest");
    for (name, m) in &cases {
        let bytes = postcard::to_allocvec(m).expect("encodes");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("encode", name), m, |b, m| {
            b.iter(|| postcard::to_allocvec(black_box(m)).expect("encodes"))
        });
        group.bench_with_input(BenchmarkId::new("decode", name), &bytes, |b, bytes| {
            b.iter(|| postcard::from_bytes::<ObjectManifest>(black_box(bytes)).expect("decodes"))
        });
        println!("manifest {name}: {} bytes encoded", bytes.len());
    }
    group.finish();
}

criterion_group!(benches, encoding);
criterion_main!(benches);
