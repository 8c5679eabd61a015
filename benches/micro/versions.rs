//! Versioned writes against a key's history: the cost of one PutObject plus
//! one DeleteObject by version id, applied by the meta state machine to a key
//! that already has N versions (N = 1, 100, 10 000), on a RocksDB on disk
//! (unsynced commits: the state machine's own writes are not synced; the
//! Raft log is, and is not measured here). With the version index the cost
//! should not grow with N; a stack read in full would grow linearly.
//!
//! Run it (dev profile: the release profile would rebuild RocksDB's C++):
//!   cargo bench -p cairn-benches --bench versions --profile dev

use cairn_meta::apply::apply_command;
use cairn_meta::db::MetaDb;
use cairn_rpc::{MetaCommand, MetaResponse, WriteCondition};
use cairn_types::{
    Bucket, HttpHeaders, ObjectData, ObjectExtras, ObjectManifest, ObjectVersionId, Redundancy,
    VersionId, VersioningStatus,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rocksdb::WriteBatch;

/// Versions the key holds before each measured write.
const HISTORY_SIZES: [usize; 3] = [1, 100, 10_000];
/// Bytes of inline object data per version.
const INLINE_BYTES: usize = 100;
const BUCKET: &str = "bench";
const KEY: &str = "often/overwritten";

fn run(db: &MetaDb, cmd: &MetaCommand) -> MetaResponse {
    let mut batch = WriteBatch::default();
    let answer = apply_command(db, &mut batch, cmd)
        .expect("storage")
        .expect("command");
    db.db.write(batch).expect("commit");
    answer
}

fn put(db: &MetaDb) -> ObjectVersionId {
    let version = VersionId::new_random();
    let cmd = MetaCommand::PutObjectWithExtras {
        manifest: ObjectManifest {
            bucket: BUCKET.into(),
            key: KEY.into(),
            version,
            size: INLINE_BYTES as u64,
            etag: version.to_string(),
            last_modified: 1,
            headers: HttpHeaders::default(),
            data: ObjectData::Inline(vec![7; INLINE_BYTES]),
            part_sizes: Vec::new(),
        },
        condition: WriteCondition::Always,
        extras: ObjectExtras::default(),
    };
    match run(db, &cmd) {
        MetaResponse::Written {
            version_id: Some(id),
            ..
        } => id,
        other => panic!("unexpected answer {other:?}"),
    }
}

fn delete(db: &MetaDb, id: ObjectVersionId) {
    run(
        db,
        &MetaCommand::DeleteObjectVersion {
            bucket: BUCKET.into(),
            key: KEY.into(),
            version: Some(id),
            if_match: None,
            marker: VersionId::new_random(),
            last_modified: 1,
        },
    );
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("versioned put + delete by id");
    for history in HISTORY_SIZES {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = MetaDb::open(dir.path()).expect("open");
        run(
            &db,
            &MetaCommand::CreateBucket(Bucket {
                name: BUCKET.into(),
                created: 0,
                redundancy: Redundancy::Replicas(1),
            }),
        );
        run(
            &db,
            &MetaCommand::SetBucketVersioning {
                bucket: BUCKET.into(),
                status: VersioningStatus::Enabled,
            },
        );
        for _ in 0..history {
            put(&db);
        }
        group.bench_with_input(BenchmarkId::from_parameter(history), &history, |b, _| {
            b.iter(|| {
                let id = put(&db);
                delete(&db, id);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
