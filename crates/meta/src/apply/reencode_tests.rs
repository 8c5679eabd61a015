//! Re-encoding through the state machine's apply path: a chunk swapped to
//! its re-encoded form (the row, the records, the references, the retired
//! mark), and every way the swap is refused.

use super::*;
use crate::store::chunks::chunk_refs;
use crate::store::data_refs::is_referenced;
use crate::store::reencode_rows::retired_at;
use crate::test_support::{open_with_bucket, piece_refs, run};
use cairn_rpc::{MetaCommand, WriteCondition};
use cairn_types::{
    CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ChunkRef, MoveReason, ObjectData, ObjectManifest,
    PieceEvent,
};

const LEN: u64 = 1000;

fn setup() -> (tempfile::TempDir, MetaDb) {
    open_with_bucket("b", Redundancy::Replicas(3))
}

fn replica(v: VersionId, index: u32) -> ChunkRef {
    ChunkRef {
        version: v,
        part: 0,
        index,
        len: LEN,
        hash: [index as u8 + 1; 32],
        nodes: vec![1, 2, 3],
        pieces: Vec::new(),
        data_pieces: 0,
    }
}

/// A two-chunk replicated object `k` (its manifest version is its chunks').
fn put_object(db: &MetaDb) -> VersionId {
    let v = VersionId::new_random();
    run(
        db,
        &MetaCommand::PutObject {
            manifest: ObjectManifest {
                bucket: "b".into(),
                key: "k".into(),
                version: v,
                size: 2 * LEN,
                etag: String::new(),
                last_modified: 0,
                headers: Default::default(),
                data: ObjectData::Chunked {
                    codec: CODEC_REPLICATION_V1,
                    chunks: vec![replica(v, 0), replica(v, 1)],
                },
                part_sizes: Vec::new(),
            },
            condition: WriteCondition::Always,
        },
    )
    .expect("put");
    v
}

/// Chunk `index` of `old` as an `ec=2+1` chunk under a new version.
fn coded(old: &ChunkRef) -> (ChunkKey, ChunkRecord) {
    let v = VersionId::new_random();
    let chunk = ChunkRef {
        version: v,
        nodes: Vec::new(),
        pieces: piece_refs(&[Some(4), Some(5), Some(6)], |i| [40 + i as u8; 32]),
        data_pieces: 2,
        ..old.clone()
    };
    let record = ChunkRecord {
        chunk: chunk.clone(),
        codec: CODEC_RS_GF256_V1,
        width: 3,
        history: vec![PieceEvent {
            at: 0,
            piece: 0,
            from: None,
            to: 4,
            reason: MoveReason::Reencoded,
        }],
    };
    (ChunkKey::of_ref(&chunk), record)
}

fn swap(
    manifest: VersionId,
    offset: u64,
    old: ChunkKey,
    new: ChunkKey,
    record: ChunkRecord,
) -> MetaCommand {
    MetaCommand::Reconcile(ReconcileCommand::ReencodeChunk {
        bucket: "b".into(),
        manifest,
        offset,
        old,
        new,
        record,
    })
}

#[test]
fn a_reencoded_chunk_replaces_the_old_one_in_the_manifest() {
    let (_dir, db) = setup();
    let v = put_object(&db);
    let old = replica(v, 1);
    let (new, record) = coded(&old);
    let cmd = swap(v, LEN, ChunkKey::of_ref(&old), new, record.clone());
    assert_eq!(run(&db, &cmd), Ok(MetaResponse::Done));
    let refs = chunk_refs(&db, &v, 0, u64::MAX, 10).unwrap();
    assert_eq!(refs.len(), 2);
    assert_eq!(refs[0].1, replica(v, 0), "the other chunk is untouched");
    assert_eq!(refs[1], (LEN, record.chunk.clone()));
    assert_eq!(chunk_record(&db, &ChunkKey::of_ref(&old)).unwrap(), None);
    assert!(retired_at(&db, &ChunkKey::of_ref(&old)).unwrap().is_some());
    assert!(is_referenced(&db, &new.version).unwrap());
    assert!(
        is_referenced(&db, &v).unwrap(),
        "chunk 0 and the chunk list are under v"
    );
    // The same swap again (a second mover): refused, nothing changes.
    let (again, record2) = coded(&old);
    assert_eq!(
        run(&db, &swap(v, LEN, ChunkKey::of_ref(&old), again, record2)),
        Err(MetaError::PreconditionFailed)
    );
    assert!(!is_referenced(&db, &again.version).unwrap());
    // Deleting the object releases the new version too.
    run(
        &db,
        &MetaCommand::DeleteObject {
            bucket: "b".into(),
            key: "k".into(),
            if_match: None,
        },
    )
    .expect("delete");
    assert!(!is_referenced(&db, &new.version).unwrap());
    // A chunk of the deleted object (its rows wait for the grace) is not
    // swapped: nothing would reference the new one.
    let first = replica(v, 0);
    let (late, record) = coded(&first);
    assert_eq!(
        run(&db, &swap(v, 0, ChunkKey::of_ref(&first), late, record)),
        Err(MetaError::PreconditionFailed)
    );
    assert_eq!(chunk_record(&db, &late).unwrap(), None);
}

#[test]
fn a_swap_of_other_bytes_or_an_expired_version_is_refused() {
    let (_dir, db) = setup();
    let v = put_object(&db);
    let old = replica(v, 0);
    // Other bytes than the chunk's.
    let (new, mut record) = coded(&old);
    record.chunk.hash = [99; 32];
    assert_eq!(
        run(&db, &swap(v, 0, ChunkKey::of_ref(&old), new, record)),
        Err(MetaError::PreconditionFailed)
    );
    // A record missing a piece is not a whole chunk.
    let (new, mut record) = coded(&old);
    record.chunk.pieces[2] = None;
    assert_eq!(
        run(&db, &swap(v, 0, ChunkKey::of_ref(&old), new, record)),
        Err(MetaError::PreconditionFailed)
    );
    // The wrong offset.
    let (new, record) = coded(&old);
    assert_eq!(
        run(&db, &swap(v, LEN, ChunkKey::of_ref(&old), new, record)),
        Err(MetaError::PreconditionFailed)
    );
    // A version the collector's horizon passed: its pieces may be gone.
    let (new, record) = coded(&old);
    run(
        &db,
        &MetaCommand::AdvanceGcHorizon {
            horizon_ms: new.version.created_millis() + 1,
        },
    )
    .expect("horizon");
    assert_eq!(
        run(&db, &swap(v, 0, ChunkKey::of_ref(&old), new, record)),
        Err(MetaError::DataVersionExpired(new.version))
    );
    assert_eq!(chunk_refs(&db, &v, 0, u64::MAX, 10).unwrap()[0].1, old);
}

#[test]
fn a_redundancy_change_needs_a_layout_wide_enough() {
    let (_dir, db) = setup();
    let cmd = MetaCommand::Reconcile(ReconcileCommand::SetBucketRedundancy {
        bucket: "b".into(),
        redundancy: Redundancy::ErasureCoded { data: 4, parity: 2 },
    });
    assert!(matches!(run(&db, &cmd), Err(MetaError::InvalidRequest(_))));
    let missing = MetaCommand::Reconcile(ReconcileCommand::SetBucketRedundancy {
        bucket: "nope".into(),
        redundancy: Redundancy::Replicas(2),
    });
    assert_eq!(run(&db, &missing), Err(MetaError::NoSuchBucket));
}
