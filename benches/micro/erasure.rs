//! Erasure-coding micro-benchmarks: reed-solomon-erasure (plain and with
//! `simd-accel`) against reed-solomon-simd, encode and decode, at 4+2 and 8+4
//! with 1 MiB shards. Throughput is reported over the *input* data (k data
//! shards = k MiB per operation), so encode and decode figures compare.
//!
//! Decode is the worst case: the first m data shards are lost and must be
//! rebuilt from the remaining data shards and m parity shards.
//!
//! The `cairn-codec` group measures `cairn_codec::ErasureCodec` (the chosen
//! library plus cutting, padding and joining) on a chunk of k MiB.
//!
//! Run: `cargo bench -p cairn-benches --bench erasure -- --warm-up-time 1 --measurement-time 3`

use bytes::Bytes;
use cairn_codec::ErasureCodec;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Bytes per shard in every benchmark.
const SHARD_BYTES: usize = 1 << 20;
/// (data, parity) layouts benchmarked.
const LAYOUTS: [(usize, usize); 2] = [(4, 2), (8, 4)];

/// Deterministic, incompressible-looking data shards (xorshift).
fn data_shards(k: usize) -> Vec<Vec<u8>> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..k)
        .map(|_| {
            (0..SHARD_BYTES)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                })
                .collect()
        })
        .collect()
}

fn label(k: usize, m: usize) -> String {
    format!("{k}+{m}")
}

/// reed-solomon-erasure, one build: `$krate` is the renamed dependency.
macro_rules! bench_rse {
    ($c:expr, $name:literal, $krate:ident) => {{
        let mut group = $c.benchmark_group($name);
        for (k, m) in LAYOUTS {
            let rs = $krate::galois_8::ReedSolomon::new(k, m).expect("valid layout");
            let mut shards = data_shards(k);
            shards.extend((0..m).map(|_| vec![0u8; SHARD_BYTES]));
            group.throughput(Throughput::Bytes((k * SHARD_BYTES) as u64));

            group.bench_function(BenchmarkId::new("encode", label(k, m)), |b| {
                b.iter(|| rs.encode(black_box(&mut shards)).expect("encode"))
            });

            // Encoded shards (the benchmark above may have been filtered
            // out) with the first m data shards lost.
            rs.encode(&mut shards).expect("encode");
            let lost: Vec<Option<Vec<u8>>> = shards
                .iter()
                .enumerate()
                .map(|(i, s)| (i >= m).then(|| s.clone()))
                .collect();
            group.bench_function(BenchmarkId::new("decode", label(k, m)), |b| {
                b.iter_batched(
                    || lost.clone(),
                    |mut present| {
                        rs.reconstruct_data(&mut present).expect("reconstruct");
                        present
                    },
                    BatchSize::PerIteration,
                )
            });
            // The rebuilt data must equal the original.
            let mut check = lost.clone();
            rs.reconstruct_data(&mut check).expect("reconstruct");
            for i in 0..k {
                assert!(
                    check[i].as_deref() == Some(&shards[i][..]),
                    "decode at {k}+{m}"
                );
            }
        }
        group.finish();
    }};
}

fn reed_solomon_erasure(c: &mut Criterion) {
    same_parity_with_and_without_simd_accel();
    bench_rse!(c, "reed-solomon-erasure", rse);
}

fn reed_solomon_erasure_simd_accel(c: &mut Criterion) {
    bench_rse!(c, "reed-solomon-erasure+simd-accel", rse_simd);
}

fn reed_solomon_simd(c: &mut Criterion) {
    use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};
    let mut group = c.benchmark_group("reed-solomon-simd");
    for (k, m) in LAYOUTS {
        let data = data_shards(k);
        group.throughput(Throughput::Bytes((k * SHARD_BYTES) as u64));

        // Encoder and decoder are reused, as reed-solomon-erasure's
        // `ReedSolomon` is: the comparison is of the arithmetic, not setup.
        let mut encoder = ReedSolomonEncoder::new(k, m, SHARD_BYTES).expect("valid layout");
        group.bench_function(BenchmarkId::new("encode", label(k, m)), |b| {
            b.iter(|| {
                for shard in &data {
                    encoder.add_original_shard(black_box(shard)).expect("add");
                }
                let result = encoder.encode().expect("encode");
                black_box(result.recovery(0).map(<[u8]>::len));
            })
        });

        for shard in &data {
            encoder.add_original_shard(shard).expect("add");
        }
        let parity: Vec<Vec<u8>> = encoder
            .encode()
            .expect("encode")
            .recovery_iter()
            .map(<[u8]>::to_vec)
            .collect();

        let mut decoder = ReedSolomonDecoder::new(k, m, SHARD_BYTES).expect("valid layout");
        let decode = |decoder: &mut ReedSolomonDecoder| -> Vec<Vec<u8>> {
            for (i, shard) in data.iter().enumerate().skip(m) {
                decoder
                    .add_original_shard(i, black_box(shard))
                    .expect("add");
            }
            for (i, shard) in parity.iter().enumerate() {
                decoder
                    .add_recovery_shard(i, black_box(shard))
                    .expect("add");
            }
            let result = decoder.decode().expect("decode");
            // Copy the rebuilt shards out, as reed-solomon-erasure hands back
            // owned buffers too.
            (0..m)
                .map(|i| result.restored_original(i).expect("restored").to_vec())
                .collect()
        };
        group.bench_function(BenchmarkId::new("decode", label(k, m)), |b| {
            b.iter(|| decode(&mut decoder))
        });
        let rebuilt = decode(&mut decoder);
        for (i, shard) in rebuilt.iter().enumerate() {
            assert!(shard == &data[i], "decode at {k}+{m}");
        }
    }
    group.finish();
}

/// The plain (5.0.3) and `simd-accel` (6.0.0) builds must compute the same
/// code, or comparing them would mean nothing.
fn same_parity_with_and_without_simd_accel() {
    for (k, m) in LAYOUTS {
        let mut plain = data_shards(k);
        plain.extend((0..m).map(|_| vec![0u8; SHARD_BYTES]));
        let mut simd = plain.clone();
        rse::galois_8::ReedSolomon::new(k, m)
            .expect("valid layout")
            .encode(&mut plain)
            .expect("encode");
        rse_simd::galois_8::ReedSolomon::new(k, m)
            .expect("valid layout")
            .encode(&mut simd)
            .expect("encode");
        assert!(plain == simd, "parity differs at {k}+{m}");
    }
}

fn cairn_codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("cairn-codec");
    for (k, m) in LAYOUTS {
        let codec = ErasureCodec::new(k, m).expect("valid layout");
        let chunk = Bytes::from(data_shards(k).concat());
        group.throughput(Throughput::Bytes(chunk.len() as u64));
        group.bench_function(BenchmarkId::new("encode", label(k, m)), |b| {
            b.iter(|| {
                codec
                    .encode_bytes(black_box(chunk.clone()))
                    .expect("encode")
            })
        });
        group.bench_function(BenchmarkId::new("encode-copying", label(k, m)), |b| {
            b.iter(|| codec.encode(black_box(&chunk)).expect("encode"))
        });

        let shards = codec.encode(&chunk).expect("encode");
        // Fresh, unshared buffers per iteration, as shards read from the
        // network are; the first m data shards lost.
        let lost = || -> Vec<Option<Bytes>> {
            shards
                .iter()
                .enumerate()
                .map(|(i, s)| (i >= m).then(|| Bytes::copy_from_slice(s)))
                .collect()
        };
        group.bench_function(BenchmarkId::new("decode", label(k, m)), |b| {
            b.iter_batched(
                lost,
                |present| codec.decode(present, chunk.len()).expect("decode"),
                BatchSize::PerIteration,
            )
        });
        let back = codec.decode(lost(), chunk.len()).expect("decode");
        assert!(back == chunk, "cairn-codec decode at {k}+{m}");

        // A reader holding every data shard: join only, no decoding.
        let systematic = || -> Vec<Option<Bytes>> {
            shards
                .iter()
                .enumerate()
                .map(|(i, s)| (i < k).then(|| s.clone()))
                .collect()
        };
        group.bench_function(BenchmarkId::new("read-all-data", label(k, m)), |b| {
            b.iter_batched(
                systematic,
                |present| codec.decode(present, chunk.len()).expect("decode"),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(
    erasure,
    reed_solomon_erasure,
    reed_solomon_erasure_simd_accel,
    reed_solomon_simd,
    cairn_codec
);
criterion_main!(erasure);
