//! CompleteMultipartUpload inside the meta state machine: the cost of
//! applying one CompleteUpload that lists every part of an upload of N parts
//! (N = 1 000 and 10 000, S3's maximum), each part with one chunk. The
//! command is applied into a write batch that is then dropped, so every
//! iteration decides against the same state. Matching the requested parts
//! against the stored ones used to be O(n·m) (a linear search per part);
//! with a binary search over the stored parts it is O(n log m).
//!
//! Run it (dev profile: the release profile would rebuild RocksDB's C++):
//!   cargo bench -p cairn-benches --bench complete --profile dev

use cairn_meta::apply::apply_command;
use cairn_meta::db::MetaDb;
use cairn_rpc::{CompletedPart, MetaCommand, WriteCondition};
use cairn_types::limits::MIN_PART_SIZE;
use cairn_types::{Bucket, ChunkRef, HttpHeaders, PartRecord, Redundancy, UploadRecord, VersionId};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rocksdb::WriteBatch;

/// Parts of the uploads completed.
const PART_COUNTS: [u32; 2] = [1_000, 10_000];
const BUCKET: &str = "bench";
const KEY: &str = "big/object";

fn run(db: &MetaDb, cmd: &MetaCommand) {
    let mut batch = WriteBatch::default();
    apply_command(db, &mut batch, cmd)
        .expect("storage")
        .expect("command");
    db.db.write(batch).expect("commit");
}

/// The ETag of part `n`: 32 hex digits.
fn etag(n: u32) -> String {
    format!("{n:032x}")
}

/// An upload of `parts` parts in a fresh database; the Complete that lists them all.
fn upload_of(db: &MetaDb, parts: u32) -> MetaCommand {
    run(
        db,
        &MetaCommand::CreateBucket(Bucket {
            name: BUCKET.into(),
            created: 0,
            redundancy: Redundancy::Replicas(1),
        }),
    );
    let upload_id = VersionId::new_random();
    run(
        db,
        &MetaCommand::CreateUpload(UploadRecord {
            upload_id,
            bucket: BUCKET.into(),
            key: KEY.into(),
            initiated: 0,
            headers: HttpHeaders::default(),
        }),
    );
    for n in 1..=parts {
        let data_version = VersionId::new_random();
        run(
            db,
            &MetaCommand::PutPart {
                bucket: BUCKET.into(),
                key: KEY.into(),
                upload_id,
                part: PartRecord {
                    part_number: n,
                    etag: etag(n),
                    size: MIN_PART_SIZE,
                    last_modified: 0,
                    data_version,
                    chunks: vec![ChunkRef {
                        version: data_version,
                        part: n,
                        index: 0,
                        len: MIN_PART_SIZE,
                        hash: [0; 32],
                        nodes: vec![1],
                        pieces: Vec::new(),
                        data_pieces: 0,
                    }],
                },
            },
        );
    }
    MetaCommand::CompleteUpload {
        bucket: BUCKET.into(),
        key: KEY.into(),
        upload_id,
        parts: (1..=parts)
            .map(|n| CompletedPart {
                part_number: n,
                etag: etag(n),
            })
            .collect(),
        version: VersionId::new_random(),
        last_modified: 1,
        condition: WriteCondition::Always,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("complete multipart upload");
    group.sample_size(10);
    for parts in PART_COUNTS {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = MetaDb::open(dir.path()).expect("open");
        let complete = upload_of(&db, parts);
        group.bench_with_input(BenchmarkId::from_parameter(parts), &parts, |b, _| {
            b.iter(|| {
                let mut batch = WriteBatch::default();
                let answer = apply_command(&db, &mut batch, &complete).expect("storage");
                assert!(answer.is_ok(), "{answer:?}");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
