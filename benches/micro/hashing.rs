//! Checksums of the data path per MiB: blake3 (shard and chunk integrity),
//! MD5 (the ETag), and the CRCs S3 clients send as `x-amz-checksum-*`
//! (CRC32, CRC32C, CRC64NVME, computed with crc-fast as the SDK does).
//! Throughput is reported over the input bytes.

use crc_fast::CrcAlgorithm;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use md5::Digest as _;
use std::hint::black_box;

/// Input sizes: one 4 KiB object and one 1 MiB chunk.
const SIZES: [usize; 2] = [4 * 1024, 1024 * 1024];

fn input(len: usize) -> Vec<u8> {
    // Deterministic, non-constant bytes (xorshift).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("checksum");
    for len in SIZES {
        let data = input(len);
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("blake3", len), &data, |b, d| {
            b.iter(|| blake3::hash(black_box(d)))
        });
        group.bench_with_input(BenchmarkId::new("md5", len), &data, |b, d| {
            b.iter(|| md5::Md5::digest(black_box(d)))
        });
        for (name, algorithm) in [
            ("crc32", CrcAlgorithm::Crc32IsoHdlc),
            ("crc32c", CrcAlgorithm::Crc32Iscsi),
            ("crc64nvme", CrcAlgorithm::Crc64Nvme),
        ] {
            group.bench_with_input(BenchmarkId::new(name, len), &data, |b, d| {
                b.iter(|| crc_fast::checksum(algorithm, black_box(d)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
