//! Tests of the chunk tables: placing records (once, with the width the
//! bucket wants), the piece index kept in step with each record, a
//! manifest's chunk rows read by byte range, dropping a data version's
//! rows, and paging through records and a node's pieces.

use super::*;
use crate::store::db::CF_CHUNK_DAMAGE;
use crate::store::repair_rows::{add_candidate, candidates, damage_of, put_damage};
use crate::test_support::{open, piece_refs};
use cairn_rpc::repair_api::{DamageKind, DamageRecord};
use cairn_types::{CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, PieceRef};

fn write(db: &MetaDb, f: impl FnOnce(&mut WriteBatch)) {
    let mut batch = WriteBatch::default();
    f(&mut batch);
    db.db.write(batch).expect("write");
}

fn bucket(db: &MetaDb, name: &str, redundancy: Redundancy) {
    write(db, |b| {
        b.put_cf(
            db.cf(CF_BUCKETS).expect("cf"),
            name.as_bytes(),
            encode(&Bucket {
                name: name.into(),
                created: 0,
                redundancy,
            })
            .expect("encode"),
        )
    });
}

fn replica(version: VersionId, index: u32, len: u64, nodes: &[NodeId]) -> ChunkRef {
    ChunkRef {
        version,
        part: 0,
        index,
        len,
        hash: [index as u8; 32],
        nodes: nodes.to_vec(),
        pieces: Vec::new(),
        data_pieces: 0,
    }
}

/// A 2+1 chunk; `holders[i]` holds piece i.
fn coded(version: VersionId, index: u32, holders: [Option<NodeId>; 3]) -> ChunkRef {
    ChunkRef {
        version,
        part: 0,
        index,
        len: 10,
        hash: [9; 32],
        nodes: Vec::new(),
        pieces: piece_refs(&holders, |i| [i as u8; 32]),
        data_pieces: 2,
    }
}

fn place(db: &MetaDb, bucket: &str, codec: u16, chunks: &[ChunkRef]) {
    let mut batch = WriteBatch::default();
    place_chunks(db, &mut batch, bucket, codec, chunks).expect("place");
    db.db.write(batch).expect("write");
}

fn record(db: &MetaDb, c: &ChunkRef) -> ChunkRecord {
    chunk_record(db, &ChunkKey::of_ref(c))
        .expect("read")
        .expect("recorded")
}

fn on_node(db: &MetaDb, node: NodeId) -> Vec<ShardId> {
    pieces_on_node(db, node, None, usize::MAX).expect("pieces")
}

fn manifest(version: VersionId, codec: u16, chunks: Vec<ChunkRef>) -> ObjectManifest {
    ObjectManifest {
        bucket: "b".into(),
        key: "k".into(),
        version,
        size: chunks.iter().map(|c| c.len).sum(),
        etag: String::new(),
        last_modified: 0,
        headers: Default::default(),
        data: ObjectData::Chunked { codec, chunks },
        part_sizes: Vec::new(),
    }
}

#[test]
fn placing_records_each_chunk_once_with_its_buckets_width() {
    let (_dir, db) = open();
    bucket(&db, "b", Redundancy::Replicas(3));
    let v = VersionId::new_random();
    let full = replica(v, 0, 10, &[1, 2, 3]);
    let short = replica(v, 1, 10, &[4, 5]);
    place(
        &db,
        "b",
        CODEC_REPLICATION_V1,
        &[full.clone(), short.clone()],
    );
    let r = record(&db, &full);
    assert_eq!(r.chunk, full);
    assert_eq!((r.codec, r.width), (CODEC_REPLICATION_V1, 3));
    assert!(r.history.is_empty());
    assert_eq!(record(&db, &short).width, 3);
    // Only the chunk written under width is a repair candidate.
    assert_eq!(
        candidates(&db, None, 10).expect("candidates"),
        vec![ChunkKey::of_ref(&short)]
    );
    // Stored again (a retried commit, a copy) with another placement: the
    // record keeps the one it has.
    place(&db, "b", CODEC_REPLICATION_V1, &[replica(v, 0, 10, &[6])]);
    assert_eq!(record(&db, &full).chunk, full);
    assert_eq!(on_node(&db, 6), Vec::new());

    // Erasure coded: the width is the slot count, empty slots included.
    let w = VersionId::new_random();
    let ec = coded(w, 0, [Some(1), None, Some(3)]);
    place(&db, "b", CODEC_RS_GF256_V1, std::slice::from_ref(&ec));
    let r = record(&db, &ec);
    assert_eq!((r.codec, r.width), (CODEC_RS_GF256_V1, 3));
    assert!(!is_full_width(&r));
    assert!(
        candidates(&db, None, 10)
            .expect("candidates")
            .contains(&ChunkKey::of_ref(&ec))
    );

    // A bucket gone (or unknown): the width is what was written.
    let u = VersionId::new_random();
    let lone = replica(u, 0, 10, &[1, 2]);
    place(
        &db,
        "gone",
        CODEC_REPLICATION_V1,
        std::slice::from_ref(&lone),
    );
    assert_eq!(record(&db, &lone).width, 2);
}

#[test]
fn the_piece_index_follows_every_record_change() {
    let (_dir, db) = open();
    bucket(&db, "b", Redundancy::Replicas(2));
    let v = VersionId::new_random();
    let c = replica(v, 0, 10, &[1, 2]);
    let ec = coded(v, 1, [Some(1), Some(3), None]);
    place(&db, "b", CODEC_REPLICATION_V1, std::slice::from_ref(&c));
    place(&db, "b", CODEC_RS_GF256_V1, std::slice::from_ref(&ec));
    let k = ChunkKey::of_ref(&c);
    let ek = ChunkKey::of_ref(&ec);
    assert_eq!(on_node(&db, 1), vec![k.shard(0), ek.shard(0)]);
    assert_eq!(on_node(&db, 2), vec![k.shard(0)]);
    assert_eq!(on_node(&db, 3), vec![ek.shard(1)]);

    // The replica on 2 moves to 4.
    let old = record(&db, &c);
    let mut moved = old.clone();
    moved.chunk.nodes = vec![1, 4];
    write(&db, |b| {
        put_record(&db, b, &k, Some(&old), &moved).expect("put")
    });
    assert_eq!(record(&db, &c), moved);
    assert_eq!(on_node(&db, 2), Vec::new());
    assert_eq!(on_node(&db, 4), vec![k.shard(0)]);
    assert_eq!(on_node(&db, 1), vec![k.shard(0), ek.shard(0)]);

    // Piece 1 moves from 3 to 4, and the empty slot 2 is filled on 5.
    let old = record(&db, &ec);
    let mut moved = old.clone();
    moved.chunk.pieces[1] = Some(PieceRef {
        node: 4,
        hash: [1; 32],
    });
    moved.chunk.pieces[2] = Some(PieceRef {
        node: 5,
        hash: [2; 32],
    });
    write(&db, |b| {
        put_record(&db, b, &ek, Some(&old), &moved).expect("put")
    });
    assert_eq!(on_node(&db, 3), Vec::new());
    assert_eq!(on_node(&db, 4), vec![k.shard(0), ek.shard(1)]);
    assert_eq!(on_node(&db, 5), vec![ek.shard(2)]);
    assert!(is_full_width(&record(&db, &ec)));
}

#[test]
fn pieces_on_a_node_page_after_a_shard() {
    let (_dir, db) = open();
    bucket(&db, "b", Redundancy::Replicas(1));
    let v = VersionId::new_random();
    let chunks: Vec<ChunkRef> = (0..5).map(|i| replica(v, i, 1, &[7])).collect();
    place(&db, "b", CODEC_REPLICATION_V1, &chunks);
    let all = on_node(&db, 7);
    assert_eq!(all.len(), 5);
    let first = pieces_on_node(&db, 7, None, 2).expect("page");
    assert_eq!(first, all[..2]);
    let next = pieces_on_node(&db, 7, first.last(), 2).expect("page");
    assert_eq!(next, all[2..4]);
    let last = pieces_on_node(&db, 7, next.last(), 2).expect("page");
    assert_eq!(last, all[4..]);
    assert!(
        pieces_on_node(&db, 7, last.last(), 2)
            .expect("page")
            .is_empty()
    );
    // Neighbouring nodes' rows do not leak in.
    assert!(on_node(&db, 6).is_empty() && on_node(&db, 8).is_empty());
}

/// Stores the chunked manifest `m` as a state-machine write would.
fn store_manifest(db: &MetaDb, m: &ObjectManifest) -> ObjectManifest {
    let mut batch = WriteBatch::default();
    let stored = stored_form(db, &mut batch, m).expect("stored form");
    db.db.write(batch).expect("write");
    stored
}

#[test]
fn a_stored_manifest_keeps_a_count_and_its_chunks_read_back_by_range() {
    let (_dir, db) = open();
    bucket(&db, "b", Redundancy::Replicas(2));
    let v = VersionId::new_random();
    // Chunks of 10, 10 and 5 bytes: 0..10, 10..20, 20..25.
    let chunks = vec![
        replica(v, 0, 10, &[1, 2]),
        replica(v, 1, 10, &[2, 3]),
        replica(v, 2, 5, &[3, 1]),
    ];
    let m = manifest(v, CODEC_REPLICATION_V1, chunks.clone());
    let stored = store_manifest(&db, &m);
    assert_eq!(
        stored.data,
        ObjectData::Placed {
            codec: CODEC_REPLICATION_V1,
            chunks: 3,
        }
    );
    assert_eq!((stored.size, &stored.version), (25, &v));
    assert_eq!(manifest_chunks(&db, &stored).expect("chunks"), chunks);
    // A manifest still carrying its list answers it as it is.
    assert_eq!(manifest_chunks(&db, &m).expect("chunks"), chunks);

    let range = |start, end| -> Vec<(u64, u32)> {
        chunk_refs(&db, &v, start, end, usize::MAX)
            .expect("refs")
            .into_iter()
            .map(|(o, c)| (o, c.index))
            .collect()
    };
    assert_eq!(range(0, u64::MAX), vec![(0, 0), (10, 1), (20, 2)]);
    assert_eq!(range(0, 10), vec![(0, 0)]);
    assert_eq!(range(9, 11), vec![(0, 0), (10, 1)]);
    assert_eq!(range(10, 20), vec![(10, 1)]);
    assert_eq!(range(15, 16), vec![(10, 1)]);
    assert_eq!(range(19, 25), vec![(10, 1), (20, 2)]);
    assert_eq!(range(24, 25), vec![(20, 2)]);
    assert_eq!(range(25, 30), Vec::new());
    // At most `max`, from the first chunk of the range.
    let two = chunk_refs(&db, &v, 5, u64::MAX, 2).expect("refs");
    assert_eq!(two.iter().map(|(o, _)| *o).collect::<Vec<_>>(), vec![0, 10]);
    // Another manifest's rows are not read.
    let other = VersionId::new_random();
    store_manifest(
        &db,
        &manifest(
            other,
            CODEC_REPLICATION_V1,
            vec![replica(other, 0, 3, &[1])],
        ),
    );
    assert_eq!(range(0, u64::MAX).len(), 3);
    assert_eq!(
        chunk_refs(&db, &other, 0, u64::MAX, 10)
            .expect("refs")
            .len(),
        1
    );
    // A ranged read sees the current placement.
    let k = ChunkKey::of_ref(&chunks[1]);
    let old = chunk_record(&db, &k).expect("read").expect("record");
    let mut moved = old.clone();
    moved.chunk.nodes = vec![2, 6];
    write(&db, |b| {
        put_record(&db, b, &k, Some(&old), &moved).expect("put")
    });
    assert_eq!(
        chunk_refs(&db, &v, 10, 11, 10).expect("refs"),
        vec![(10, moved.chunk.clone())]
    );
    assert_eq!(
        manifest_versions(&db, &stored).expect("versions"),
        BTreeSet::from([v])
    );
}

#[test]
fn a_manifest_names_the_data_versions_of_its_chunks() {
    let (_dir, db) = open();
    bucket(&db, "b", Redundancy::Replicas(1));
    // A multipart object: chunks written under each part's data version.
    let (p1, p2, v) = (
        VersionId::new_random(),
        VersionId::new_random(),
        VersionId::new_random(),
    );
    let mut a = replica(p1, 0, 4, &[1]);
    a.part = 1;
    let mut b = replica(p2, 0, 4, &[1]);
    b.part = 2;
    let m = manifest(v, CODEC_REPLICATION_V1, vec![a, b]);
    let stored = store_manifest(&db, &m);
    let want = BTreeSet::from([p1, p2, v]);
    assert_eq!(manifest_versions(&db, &stored).expect("versions"), want);
    assert_eq!(manifest_versions(&db, &m).expect("versions"), want);
}

#[test]
fn dropping_a_version_removes_its_records_rows_and_index() {
    let (_dir, db) = open();
    bucket(&db, "b", Redundancy::Replicas(3));
    let v = VersionId::new_random();
    let kept = VersionId::new_random();
    let chunks = vec![replica(v, 0, 10, &[1, 2, 3]), replica(v, 1, 10, &[1, 2])];
    let stored = store_manifest(&db, &manifest(v, CODEC_REPLICATION_V1, chunks.clone()));
    let other = replica(kept, 0, 10, &[1, 2, 3]);
    place(&db, "b", CODEC_REPLICATION_V1, std::slice::from_ref(&other));
    let k0 = ChunkKey::of_ref(&chunks[0]);
    let damage = DamageRecord {
        node: 3,
        piece: 0,
        kind: DamageKind::Corrupt,
        reported_at: 0,
    };
    write(&db, |b| {
        put_damage(&db, b, &k0, &damage).expect("damage");
        add_candidate(&db, b, &k0).expect("candidate");
    });
    assert_eq!(candidates(&db, None, 10).expect("c").len(), 2);

    write(&db, |b| drop_version(&db, b, &v).expect("drop"));
    for c in &chunks {
        assert_eq!(chunk_record(&db, &ChunkKey::of_ref(c)).expect("read"), None);
    }
    assert!(damage_of(&db, &k0).expect("damage").is_empty());
    assert!(candidates(&db, None, 10).expect("c").is_empty());
    assert_eq!(
        chunk_refs(&db, &v, 0, u64::MAX, 10).expect("refs"),
        Vec::new()
    );
    assert_eq!(
        manifest_versions(&db, &stored).expect("v"),
        BTreeSet::from([v])
    );
    // What another version holds stays, index included.
    assert_eq!(record(&db, &other).chunk, other);
    let kept_key = ChunkKey::of_ref(&other);
    for node in 1..=3 {
        assert_eq!(on_node(&db, node), vec![kept_key.shard(0)]);
    }
    // Nothing of `v` is left in any table.
    for cf in [CF_CHUNKS, CF_OBJECT_CHUNKS, CF_CHUNK_DAMAGE] {
        let left = db
            .db
            .iterator_cf(db.cf(cf).expect("cf"), rocksdb::IteratorMode::Start)
            .filter(|i| i.as_ref().is_ok_and(|(k, _)| k.starts_with(v.as_bytes())))
            .count();
        assert_eq!(left, 0, "{cf}");
    }
}

#[test]
fn scanning_records_pages_in_key_order() {
    let (_dir, db) = open();
    bucket(&db, "b", Redundancy::Replicas(1));
    let v = VersionId::new_random();
    let w = VersionId::new_random();
    let mut chunks: Vec<ChunkRef> = (0..3).map(|i| replica(v, i, 1, &[1])).collect();
    chunks.extend((0..2).map(|i| replica(w, i, 1, &[2])));
    place(&db, "b", CODEC_REPLICATION_V1, &chunks);
    let mut keys: Vec<ChunkKey> = chunks.iter().map(ChunkKey::of_ref).collect();
    keys.sort();

    let all = scan_records(&db, None, usize::MAX).expect("scan");
    assert_eq!(all.iter().map(|(k, _)| *k).collect::<Vec<_>>(), keys);
    for (k, r) in &all {
        assert_eq!(ChunkKey::of_ref(&r.chunk), *k);
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = scan_records(&db, after.as_ref(), 2).expect("scan");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(|(k, _)| *k);
        seen.extend(page.into_iter().map(|(k, _)| k));
    }
    assert_eq!(seen, keys);
}

#[test]
fn shard_bytes_round_trip() {
    let k = ChunkKey {
        version: VersionId::new_random(),
        part: 3,
        chunk: 70_000,
    };
    let s = k.shard(5);
    assert_eq!(shard_from_bytes(&s.to_bytes()), Some(s));
    assert_eq!(shard_from_bytes(&s.to_bytes()[..25]), None);
    let nk = node_piece_key(9, &s);
    assert_eq!(&nk[..8], &9u64.to_be_bytes());
    assert_eq!(shard_from_bytes(&nk[8..]), Some(s));
}

/// A released version's rows outlive its release by a GC grace: the first
/// horizon move only stamps it (with that move's time), and a later move
/// whose horizon reaches the stamp drops it — a GET that read the old
/// manifest just before the overwrite can still page its chunk rows.
#[test]
fn released_versions_are_dropped_a_grace_after_release() {
    use crate::store::data_refs::sweep_released;
    use crate::store::repair_rows::note_released;
    let (_dir, db) = open();
    bucket(&db, "b", Redundancy::Replicas(2));
    let v = VersionId::new_random();
    let c = replica(v, 0, 10, &[1, 2]);
    place(&db, "b", CODEC_REPLICATION_V1, std::slice::from_ref(&c));
    write(&db, |b| note_released(&db, b, [&v]).expect("note"));
    let sweep = |horizon: u64| {
        let mut batch = WriteBatch::default();
        let n = sweep_released(&db, &mut batch, horizon, 500).expect("sweep");
        db.db.write(batch).expect("write");
        n
    };
    assert_eq!(sweep(1_000), 0, "the first move stamps (1000 + 500)");
    assert!(
        chunk_record(&db, &ChunkKey::of_ref(&c))
            .expect("read")
            .is_some()
    );
    assert_eq!(sweep(1_499), 0, "not a grace old yet");
    assert!(
        chunk_record(&db, &ChunkKey::of_ref(&c))
            .expect("read")
            .is_some()
    );
    assert_eq!(sweep(1_500), 1);
    assert_eq!(
        chunk_record(&db, &ChunkKey::of_ref(&c)).expect("read"),
        None
    );
    assert_eq!(sweep(9_999), 0, "its row went with it");
}
