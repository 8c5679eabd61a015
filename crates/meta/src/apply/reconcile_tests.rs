//! The reconciler's commands through the state machine's apply path: a
//! mover's compare-and-swap of a piece's holder (applied, and refused
//! whenever the record is not what the mover read), damage reports, disk
//! identities and the live repair settings.

use super::*;
use crate::store::chunks::pieces_on_node;
use crate::store::repair_rows::{candidates, done, settings};
use crate::test_support::{open, piece_refs, run};
use cairn_rpc::repair_api::{DamageReport, RepairSettings};
use cairn_rpc::{MetaCommand, WriteCondition, WriteId};
use cairn_types::{
    Bucket, CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ChunkRef, ObjectData, ObjectManifest,
    Redundancy, VersionId,
};

/// Length of every chunk here; an `ec=2+1` piece holds half of it.
const LEN: u64 = 1000;

fn setup() -> (tempfile::TempDir, MetaDb) {
    let (dir, db) = open();
    crate::store::data_refs::ensure_index(&db).expect("index");
    crate::store::version_index::ensure_index(&db).expect("version index");
    for (name, redundancy) in [
        ("rep", Redundancy::Replicas(3)),
        ("ec", Redundancy::ErasureCoded { data: 2, parity: 1 }),
    ] {
        run(
            &db,
            &MetaCommand::CreateBucket(Bucket {
                name: name.into(),
                created: 0,
                redundancy,
            }),
        )
        .expect("bucket");
    }
    (dir, db)
}

fn put(db: &MetaDb, bucket: &str, codec: u16, chunk: ChunkRef) -> ChunkKey {
    let key = ChunkKey::of_ref(&chunk);
    run(
        db,
        &MetaCommand::PutObject {
            manifest: ObjectManifest {
                bucket: bucket.into(),
                key: format!("k{}", chunk.version),
                version: chunk.version,
                size: chunk.len,
                etag: String::new(),
                last_modified: 0,
                headers: Default::default(),
                data: ObjectData::Chunked {
                    codec,
                    chunks: vec![chunk],
                },
                part_sizes: Vec::new(),
            },
            condition: WriteCondition::Always,
        },
    )
    .expect("put");
    key
}

fn piece_hash(i: u16) -> [u8; 32] {
    [10 + i as u8; 32]
}

/// An `ec=2+1` object whose piece i is on `holders[i]`.
fn put_coded(db: &MetaDb, holders: [Option<NodeId>; 3]) -> ChunkKey {
    let v = VersionId::new_random();
    put(
        db,
        "ec",
        CODEC_RS_GF256_V1,
        ChunkRef {
            version: v,
            part: 0,
            index: 0,
            len: LEN,
            hash: [1; 32],
            nodes: Vec::new(),
            pieces: piece_refs(&holders, piece_hash),
            data_pieces: 2,
        },
    )
}

const REPLICA_HASH: [u8; 32] = [2; 32];

/// A `replicas=3` object on `holders`.
fn put_replicated(db: &MetaDb, holders: &[NodeId]) -> ChunkKey {
    let v = VersionId::new_random();
    put(
        db,
        "rep",
        CODEC_REPLICATION_V1,
        ChunkRef {
            version: v,
            part: 0,
            index: 0,
            len: LEN,
            hash: REPLICA_HASH,
            nodes: holders.to_vec(),
            pieces: Vec::new(),
            data_pieces: 0,
        },
    )
}

fn record(db: &MetaDb, key: &ChunkKey) -> ChunkRecord {
    chunk_record(db, key).expect("read").expect("recorded")
}

fn set_holder(
    db: &MetaDb,
    chunk: ChunkKey,
    piece: u16,
    from: Option<NodeId>,
    hash: [u8; 32],
    to: NodeId,
) -> Result<MetaResponse, MetaError> {
    run(
        db,
        &MetaCommand::Reconcile(ReconcileCommand::SetPieceHolder {
            chunk,
            piece,
            from,
            hash,
            to,
            reason: MoveReason::Corrupt,
        }),
    )
}

fn report(db: &MetaDb, node: NodeId, key: &ChunkKey, piece: u16, kind: DamageKind) {
    run(
        db,
        &MetaCommand::Reconcile(ReconcileCommand::ReportDamage {
            reports: vec![DamageReport {
                node,
                shard: key.shard(piece),
                kind,
            }],
        }),
    )
    .expect("report");
}

/// Advances the applied clock to `ms` (the largest idempotent stamp).
fn stamp(db: &MetaDb, ms: u64) {
    run(
        db,
        &MetaCommand::Idempotent {
            id: WriteId::new_random(),
            stamped_ms: ms,
            command: Box::new(MetaCommand::Reconcile(ReconcileCommand::SetRepairSettings(
                RepairSettings::default(),
            ))),
        },
    )
    .expect("stamp");
}

#[test]
fn a_move_of_a_coded_piece_commits_when_holder_and_hash_match() {
    let (_dir, db) = setup();
    let key = put_coded(&db, [Some(1), Some(2), None]);
    // Written with 2 of 3 pieces: a candidate from the start.
    assert_eq!(candidates(&db, None, 10).expect("c"), vec![key]);
    report(&db, 2, &key, 1, DamageKind::Corrupt);
    report(&db, 1, &key, 0, DamageKind::Missing);
    assert_eq!(damage_of(&db, &key).expect("damage").len(), 2);
    stamp(&db, 5_000);

    assert_eq!(
        set_holder(&db, key, 1, Some(2), piece_hash(1), 4),
        Ok(MetaResponse::Done)
    );
    let r = record(&db, &key);
    assert_eq!(
        r.chunk.pieces[1],
        Some(PieceRef {
            node: 4,
            hash: piece_hash(1),
        })
    );
    assert_eq!(
        r.history,
        vec![PieceEvent {
            at: 5_000,
            piece: 1,
            from: Some(2),
            to: 4,
            reason: MoveReason::Corrupt,
        }]
    );
    // The replaced piece's damage is cleared, the other piece's is not.
    let left = damage_of(&db, &key).expect("damage");
    assert_eq!(left.len(), 1);
    assert_eq!((left[0].node, left[0].piece), (1, 0));
    assert!(pieces_on_node(&db, 2, None, 10).expect("p").is_empty());
    assert_eq!(
        pieces_on_node(&db, 4, None, 10).expect("p"),
        vec![key.shard(1)]
    );
    assert_eq!(done(&db).expect("done"), (1, LEN / 2));
    // Still lacking piece 2 and with damage: still a candidate.
    assert_eq!(candidates(&db, None, 10).expect("c"), vec![key]);

    // The empty slot filled (from None, the hash of the rebuilt piece).
    assert_eq!(
        set_holder(&db, key, 2, None, [77; 32], 5),
        Ok(MetaResponse::Done)
    );
    assert_eq!(
        record(&db, &key).chunk.pieces[2],
        Some(PieceRef {
            node: 5,
            hash: [77; 32],
        })
    );
    // Piece 0 on 1 replaced too: whole, no damage, no longer a candidate.
    assert_eq!(
        set_holder(&db, key, 0, Some(1), piece_hash(0), 6),
        Ok(MetaResponse::Done)
    );
    assert!(damage_of(&db, &key).expect("damage").is_empty());
    assert!(candidates(&db, None, 10).expect("c").is_empty());
    assert_eq!(done(&db).expect("done"), (3, 3 * (LEN / 2)));
    assert_eq!(record(&db, &key).history.len(), 3);
}

#[test]
fn a_move_of_a_replica_replaces_it_or_fills_the_width() {
    let (_dir, db) = setup();
    let key = put_replicated(&db, &[1, 2]);
    assert_eq!(record(&db, &key).width, 3);
    assert_eq!(candidates(&db, None, 10).expect("c"), vec![key]);
    assert_eq!(
        set_holder(&db, key, 0, Some(2), REPLICA_HASH, 5),
        Ok(MetaResponse::Done)
    );
    assert_eq!(record(&db, &key).chunk.nodes, vec![1, 5]);
    assert_eq!(
        set_holder(&db, key, 0, None, REPLICA_HASH, 6),
        Ok(MetaResponse::Done)
    );
    assert_eq!(record(&db, &key).chunk.nodes, vec![1, 5, 6]);
    assert!(candidates(&db, None, 10).expect("c").is_empty());
    assert_eq!(done(&db).expect("done"), (2, 2 * LEN));
    // Full: another replica is not added.
    assert_eq!(
        set_holder(&db, key, 0, None, REPLICA_HASH, 4),
        Err(MetaError::PreconditionFailed)
    );
}

/// Asserts that the move is refused and changes nothing.
fn assert_refused(
    db: &MetaDb,
    key: ChunkKey,
    piece: u16,
    from: Option<NodeId>,
    hash: [u8; 32],
    to: NodeId,
) {
    let before = record(db, &key);
    let done_before = done(db).expect("done");
    let damage_before = damage_of(db, &key).expect("damage");
    assert_eq!(
        set_holder(db, key, piece, from, hash, to),
        Err(MetaError::PreconditionFailed),
        "piece {piece} from {from:?} to {to}"
    );
    assert_eq!(record(db, &key), before);
    assert_eq!(done(db).expect("done"), done_before);
    assert_eq!(damage_of(db, &key).expect("damage"), damage_before);
}

#[test]
fn a_move_planned_from_another_record_is_refused() {
    let (_dir, db) = setup();
    let key = put_coded(&db, [Some(1), Some(2), None]);
    report(&db, 2, &key, 1, DamageKind::Corrupt);
    let before = record(&db, &key);
    // The piece is on 2, not 3.
    assert_refused(&db, key, 1, Some(3), piece_hash(1), 4);
    // The hash is not the recorded one.
    assert_refused(&db, key, 1, Some(2), [0; 32], 4);
    // The target holds another piece of the chunk already.
    assert_refused(&db, key, 1, Some(2), piece_hash(1), 1);
    // The slot is filled meanwhile (from None), or empty (from Some).
    assert_refused(&db, key, 0, None, piece_hash(0), 4);
    assert_refused(&db, key, 2, Some(3), [5; 32], 4);
    // No such piece.
    assert_refused(&db, key, 3, None, [5; 32], 4);
    assert_eq!(record(&db, &key), before);

    // The same move twice: the second lost its compare-and-swap.
    assert_eq!(
        set_holder(&db, key, 1, Some(2), piece_hash(1), 4),
        Ok(MetaResponse::Done)
    );
    assert_refused(&db, key, 1, Some(2), piece_hash(1), 5);
    assert_eq!(done(&db).expect("done"), (1, LEN / 2));

    // Replicas: a holder that is not one, another hash, a piece other than 0.
    let rkey = put_replicated(&db, &[1, 2, 3]);
    assert_refused(&db, rkey, 0, Some(4), REPLICA_HASH, 5);
    assert_refused(&db, rkey, 0, Some(1), [0; 32], 5);
    assert_refused(&db, rkey, 1, Some(1), REPLICA_HASH, 5);
    assert_refused(&db, rkey, 0, Some(1), REPLICA_HASH, 3);
}

#[test]
fn a_lost_piece_rebuilt_in_place_keeps_its_holder_and_clears_its_damage() {
    let (_dir, db) = setup();
    let key = put_coded(&db, [Some(1), Some(2), Some(3)]);
    report(&db, 2, &key, 1, DamageKind::Corrupt);
    assert_eq!(candidates(&db, None, 10).expect("c"), vec![key]);
    // Only the lost piece itself may be re-created on its holder: another
    // piece of the chunk onto 2, or piece 1 from 1, is refused.
    assert_refused(&db, key, 0, Some(1), piece_hash(0), 2);
    assert_refused(&db, key, 1, Some(1), piece_hash(1), 2);
    assert_eq!(
        set_holder(&db, key, 1, Some(2), piece_hash(1), 2),
        Ok(MetaResponse::Done)
    );
    let r = record(&db, &key);
    assert_eq!(
        r.chunk.pieces[1],
        Some(PieceRef {
            node: 2,
            hash: piece_hash(1),
        })
    );
    assert_eq!(r.history.len(), 1);
    assert_eq!((r.history[0].from, r.history[0].to), (Some(2), 2));
    assert!(damage_of(&db, &key).expect("damage").is_empty());
    assert!(candidates(&db, None, 10).expect("c").is_empty());
    assert_eq!(
        pieces_on_node(&db, 2, None, 10).expect("p"),
        vec![key.shard(1)]
    );
    assert_eq!(done(&db).expect("done"), (1, LEN / 2));

    // A replica the same way.
    let rkey = put_replicated(&db, &[1, 2, 3]);
    report(&db, 3, &rkey, 0, DamageKind::Missing);
    assert_eq!(
        set_holder(&db, rkey, 0, Some(3), REPLICA_HASH, 3),
        Ok(MetaResponse::Done)
    );
    assert_eq!(record(&db, &rkey).chunk.nodes, vec![1, 2, 3]);
    assert!(damage_of(&db, &rkey).expect("damage").is_empty());
}

#[test]
fn a_move_of_a_chunk_without_a_record_is_refused() {
    let (_dir, db) = setup();
    let gone = ChunkKey {
        version: VersionId::new_random(),
        part: 0,
        chunk: 0,
    };
    assert_eq!(
        set_holder(&db, gone, 0, Some(1), REPLICA_HASH, 2),
        Err(MetaError::PreconditionFailed)
    );
    assert_eq!(chunk_record(&db, &gone).expect("read"), None);
    assert!(pieces_on_node(&db, 2, None, 10).expect("p").is_empty());
    assert_eq!(done(&db).expect("done"), (0, 0));
}

#[test]
fn damage_is_recorded_only_for_pieces_the_node_holds() {
    let (_dir, db) = setup();
    let key = put_replicated(&db, &[1, 2, 3]);
    assert!(candidates(&db, None, 10).expect("c").is_empty());
    // Not a holder, a piece other than the replica, an unknown chunk.
    report(&db, 4, &key, 0, DamageKind::Corrupt);
    report(&db, 1, &key, 1, DamageKind::Corrupt);
    let unknown = ChunkKey {
        version: VersionId::new_random(),
        part: 0,
        chunk: 0,
    };
    report(&db, 1, &unknown, 0, DamageKind::Missing);
    assert!(damage_of(&db, &key).expect("damage").is_empty());
    assert!(damage_of(&db, &unknown).expect("damage").is_empty());
    assert!(candidates(&db, None, 10).expect("c").is_empty());

    stamp(&db, 9_000);
    report(&db, 2, &key, 0, DamageKind::Corrupt);
    assert_eq!(
        damage_of(&db, &key).expect("damage"),
        vec![DamageRecord {
            node: 2,
            piece: 0,
            kind: DamageKind::Corrupt,
            reported_at: 9_000,
        }]
    );
    assert_eq!(candidates(&db, None, 10).expect("c"), vec![key]);

    // An erasure piece: only the node holding that very piece counts.
    let ekey = put_coded(&db, [Some(1), Some(2), Some(3)]);
    report(&db, 2, &ekey, 0, DamageKind::Missing);
    assert!(damage_of(&db, &ekey).expect("damage").is_empty());
    report(&db, 2, &ekey, 1, DamageKind::Missing);
    assert_eq!(damage_of(&db, &ekey).expect("damage").len(), 1);
}

fn disk(db: &MetaDb, node: NodeId, id: u128) {
    run(
        db,
        &MetaCommand::Reconcile(ReconcileCommand::DiskIdentity { node, disk_id: id }),
    )
    .expect("disk identity");
}

#[test]
fn a_new_disk_identity_marks_every_piece_of_the_node_missing() {
    let (_dir, db) = setup();
    let a = put_replicated(&db, &[1, 2, 3]);
    let b = put_coded(&db, [Some(3), Some(1), Some(2)]);
    let c = put_replicated(&db, &[2, 3, 4]);
    let mut chunks = vec![a, b, c];
    chunks.sort();
    // The first identity is recorded, without damage; reported again, the
    // same one changes nothing.
    disk(&db, 1, 0xabc);
    disk(&db, 1, 0xabc);
    assert_eq!(disk_id(&db, 1).expect("id"), Some(0xabc));
    for k in &chunks {
        assert!(damage_of(&db, k).expect("damage").is_empty());
    }
    assert!(candidates(&db, None, 10).expect("c").is_empty());

    // Another one: what 1 held is missing, nothing else.
    disk(&db, 1, 0xdef);
    assert_eq!(disk_id(&db, 1).expect("id"), Some(0xdef));
    let missing = |k: &ChunkKey| -> Vec<(NodeId, u16, DamageKind)> {
        damage_of(&db, k)
            .expect("damage")
            .into_iter()
            .map(|d| (d.node, d.piece, d.kind))
            .collect()
    };
    assert_eq!(missing(&a), vec![(1, 0, DamageKind::Missing)]);
    assert_eq!(missing(&b), vec![(1, 1, DamageKind::Missing)]);
    assert!(missing(&c).is_empty());
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(candidates(&db, None, 10).expect("c"), want);
    // The new identity is now the known one.
    disk(&db, 1, 0xdef);
    assert_eq!(candidates(&db, None, 10).expect("c"), want);
}

#[test]
fn repair_settings_round_trip() {
    let (_dir, db) = setup();
    assert_eq!(settings(&db).expect("settings"), RepairSettings::default());
    let s = RepairSettings {
        paused: true,
        max_bytes_per_sec: Some(1 << 20),
    };
    run(
        &db,
        &MetaCommand::Reconcile(ReconcileCommand::SetRepairSettings(s)),
    )
    .expect("set");
    assert_eq!(settings(&db).expect("settings"), s);
    let resumed = RepairSettings { paused: false, ..s };
    run(
        &db,
        &MetaCommand::Reconcile(ReconcileCommand::SetRepairSettings(resumed)),
    )
    .expect("set");
    assert_eq!(settings(&db).expect("settings"), resumed);
}
