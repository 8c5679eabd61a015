//! A meta data dir written by the build before chunk placement records
//! (commit 1c87be6, whose manifests carry their chunk lists) opens with
//! this build: the migration on open moves every chunk list into the chunk
//! tables, everything reads back as it was written (GET and HEAD, ranged
//! chunk reads, both versions of a versioned key, a multipart object's
//! parts, an upload left open), the records have the right holders, codec
//! and width (chunks written under width are repair candidates), the
//! tables then hold what this build writes from the same commands, and
//! opening again changes nothing.
//!
//! The fixture `fixtures/meta-1c87be6.tar.gz` is the RocksDB directory
//! (`meta/`, RocksDB's informational `LOG` files left out) of a state
//! machine database made by that commit's code: in a worktree at 1c87be6,
//! a throwaway test (not kept) opened a `MetaDb`, ran the index builds its
//! `MetaNode::start` runs, then applied through `apply::apply_command`,
//! one committed batch each, the commands of `migrate_old_data_dir/plan.rs`
//! (the very file compiled here, which also says what they leave) and
//! closed it: six registered nodes; bucket `rep` (`replicas=3`) with `big`
//! (three chunks, the last acknowledged by two replicas), `small`
//! (inline), `multi` (a completed upload of a 5 MiB part and a small one)
//! and `pending` (an open upload with one part); bucket `ec` (`ec=4+2`)
//! with `obj` (two chunks, the second acknowledged with 5 of 6 pieces:
//! slot 2 empty); bucket `ver` (versioning enabled) with two versions of
//! `doc`. Every command was wrapped in `Idempotent`, as a voter proposes a
//! client's write.

#[path = "migrate_old_data_dir/plan.rs"]
mod plan;

use cairn_meta::MetaDb;
use cairn_meta::apply::apply_command;
use cairn_meta::db::DATA_CFS;
use cairn_meta::query::run_query;
use cairn_meta::reconcile::plan::{ChunkState, Need, NodeView, NodeViews, judge};
use cairn_meta::reconcile::report::durability;
use cairn_meta::store::chunks::{chunk_record, pieces_on_node};
use cairn_meta::store::repair_rows::candidates;
use cairn_meta::store::{chunk_migration, data_refs, manifest_codecs, version_index};
use cairn_rpc::{
    CompletedPart, MetaCommand, MetaQuery, QueryResult, VersionLookup, WriteCondition,
};
use cairn_types::{
    CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ChunkKey, ChunkRef, MoveReason, NodeId, ObjectData,
    ObjectManifest, ObjectVersionId, ShardId, VersionId,
};
use plan::{Expected, MIB, PART, REP, VER, vid};
use rocksdb::WriteBatch;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

const FIXTURE: &str = "tests/fixtures/meta-1c87be6.tar.gz";

/// Unpacks the fixture into a fresh directory: (the directory, the db path).
fn unpack() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(dir.path())
        .status()
        .expect("run tar");
    assert!(status.success(), "tar -xzf {}", fixture.display());
    let db = dir.path().join("meta");
    assert!(db.join("CURRENT").exists(), "the fixture holds meta/");
    (dir, db)
}

/// What a voter does with its data dir before serving (`MetaNode::start`;
/// the same after installing a snapshot): answers how many rows the
/// chunk migration rewrote.
fn open_and_migrate(path: &Path) -> (MetaDb, usize) {
    let db = MetaDb::open(path).expect("open the old data dir");
    manifest_codecs::ensure_codecs(&db).expect("codecs");
    let rewritten = chunk_migration::ensure_records(&db).expect("chunk records");
    data_refs::ensure_index(&db).expect("references");
    version_index::ensure_index(&db).expect("version index");
    (db, rewritten)
}

/// Every row of every state-machine table.
fn dump(db: &MetaDb) -> BTreeMap<&'static str, Vec<(Vec<u8>, Vec<u8>)>> {
    DATA_CFS
        .iter()
        .map(|name| {
            let cf = db.cf(name).expect("cf");
            let rows = db
                .db
                .iterator_cf(cf, rocksdb::IteratorMode::Start)
                .map(|i| i.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("row"))
                .collect();
            (*name, rows)
        })
        .collect()
}

fn query(db: &MetaDb, q: MetaQuery) -> QueryResult {
    run_query(db, &q).unwrap_or_else(|e| panic!("{q:?}: {e:?}"))
}

fn get_object(db: &MetaDb, bucket: &str, key: &str) -> ObjectManifest {
    match query(
        db,
        MetaQuery::GetObject {
            bucket: bucket.into(),
            key: key.into(),
        },
    ) {
        QueryResult::Object(Some(m)) => m,
        other => panic!("{bucket}/{key}: {other:?}"),
    }
}

fn get_version(db: &MetaDb, bucket: &str, key: &str, v: VersionId) -> ObjectManifest {
    match query(
        db,
        MetaQuery::GetObjectVersion {
            bucket: bucket.into(),
            key: key.into(),
            version: Some(ObjectVersionId::Id(v)),
        },
    ) {
        QueryResult::ObjectVersion(VersionLookup::Object { manifest, .. }) => manifest,
        other => panic!("{bucket}/{key} {v}: {other:?}"),
    }
}

/// The chunks of a manifest version overlapping `start..end`, as a GET
/// reads them.
fn chunk_refs(db: &MetaDb, manifest: VersionId, start: u64, end: u64) -> Vec<(u64, ChunkRef)> {
    match query(
        db,
        MetaQuery::ChunkRefs {
            manifest,
            start,
            end,
            max: 1000,
        },
    ) {
        QueryResult::ChunkRefs(c) => c,
        other => panic!("{other:?}"),
    }
}

fn chunks_of(e: &Expected) -> &[ChunkRef] {
    e.manifest.chunks()
}

fn with_offsets(chunks: &[ChunkRef]) -> Vec<(u64, ChunkRef)> {
    let mut offset = 0;
    chunks
        .iter()
        .map(|c| {
            let out = (offset, c.clone());
            offset += c.len;
            out
        })
        .collect()
}

/// Checks that `got` (as stored now) is `e`'s manifest with its chunk list
/// moved to the chunk tables, and that the list reads back whole.
fn assert_reads_back(db: &MetaDb, got: &ObjectManifest, e: &Expected) {
    let want = &e.manifest;
    let what = format!("{}/{} {}", e.bucket, e.key, want.version);
    assert_eq!(
        (
            &got.bucket,
            &got.key,
            got.version,
            got.size,
            &got.etag,
            got.last_modified,
            &got.part_sizes
        ),
        (
            &want.bucket,
            &want.key,
            want.version,
            want.size,
            &want.etag,
            want.last_modified,
            &want.part_sizes
        ),
        "{what}"
    );
    match &want.data {
        ObjectData::Chunked { codec, chunks } => {
            assert_eq!(
                got.data,
                ObjectData::Placed {
                    codec: *codec,
                    chunks: chunks.len() as u64,
                },
                "{what}: a count, not a list"
            );
            assert_eq!(
                chunk_refs(db, want.version, 0, u64::MAX),
                with_offsets(chunks),
                "{what}"
            );
        }
        other => assert_eq!(&got.data, other, "{what}"),
    }
}

/// Every chunk the fixture wrote, with the codec and width its record must
/// have.
fn every_chunk() -> Vec<(ChunkRef, u16, u8)> {
    let rep = |c: &ChunkRef| (c.clone(), CODEC_REPLICATION_V1, 3);
    let mut out: Vec<_> = chunks_of(&plan::big()).iter().map(rep).collect();
    out.extend(
        chunks_of(&plan::ec_obj())
            .iter()
            .map(|c| (c.clone(), CODEC_RS_GF256_V1, 6)),
    );
    for d in plan::doc_versions() {
        out.extend(chunks_of(&d).iter().map(rep));
    }
    out.extend(chunks_of(&plan::multi()).iter().map(rep));
    out.extend(plan::pending_upload().1.chunks.iter().map(rep));
    out
}

fn up_nodes() -> NodeViews {
    (1..=6u64)
        .map(|id| {
            (
                id,
                NodeView {
                    addr: format!("127.0.0.1:{}", 7000 + id),
                    zone: format!("z{}", (id - 1) / 2),
                    up: true,
                    silent_for: Duration::ZERO,
                },
            )
        })
        .collect()
}

#[test]
fn an_old_data_dir_reads_back_after_migration() {
    let (_dir, path) = unpack();
    let (db, rewritten) = open_and_migrate(&path);
    // big, ec/obj, multi and doc's current row; doc's two version rows.
    assert_eq!(rewritten, 6, "chunked manifest rows moved");

    // GET/HEAD of every current object: the same manifest, chunks by range.
    for e in plan::current_objects() {
        let got = get_object(&db, e.bucket, e.key);
        assert_reads_back(&db, &got, &e);
        match query(
            &db,
            MetaQuery::GetObjectWithExtras {
                bucket: e.bucket.into(),
                key: e.key.into(),
            },
        ) {
            QueryResult::ObjectWithExtras(Some((m, _))) => assert_eq!(m, got),
            other => panic!("{other:?}"),
        }
    }
    // A ranged read takes only the chunks of its range.
    let big = plan::big();
    let v = big.manifest.version;
    assert_eq!(
        chunk_refs(&db, v, MIB + 1, MIB + 2),
        vec![(MIB, chunks_of(&big)[1].clone())]
    );
    assert_eq!(
        chunk_refs(&db, v, MIB - 1, 2 * MIB + 1),
        with_offsets(chunks_of(&big))
    );
    assert_eq!(
        chunk_refs(&db, v, 2 * MIB, 2 * MIB + 100),
        vec![(2 * MIB, chunks_of(&big)[2].clone())]
    );

    // Both versions of the versioned key.
    for d in plan::doc_versions() {
        let got = get_version(&db, VER, "doc", d.manifest.version);
        assert_reads_back(&db, &got, &d);
    }
    assert_eq!(
        get_object(&db, VER, "doc").version,
        plan::doc_versions()[1].manifest.version
    );

    // The multipart object: its parts' chunks, in part order.
    let multi = chunk_refs(&db, plan::multi().manifest.version, 0, u64::MAX);
    assert_eq!(
        multi.iter().map(|(o, c)| (*o, c.part)).collect::<Vec<_>>(),
        vec![
            (0, 1),
            (MIB, 1),
            (2 * MIB, 1),
            (3 * MIB, 1),
            (4 * MIB, 1),
            (PART, 2)
        ]
    );
    // The second part alone, by range.
    assert_eq!(
        chunk_refs(&db, plan::multi().manifest.version, PART, PART + 1).len(),
        1
    );

    // One record per chunk written, with its holders, codec and width.
    let all = every_chunk();
    for (c, codec, width) in &all {
        let r = chunk_record(&db, &ChunkKey::of_ref(c))
            .expect("read")
            .unwrap_or_else(|| panic!("no record for {}", ChunkKey::of_ref(c)));
        assert_eq!(&r.chunk, c);
        assert_eq!(
            (r.codec, r.width),
            (*codec, *width),
            "{}",
            ChunkKey::of_ref(c)
        );
        assert!(r.history.is_empty());
    }
    // The piece index: every node lists exactly what the records name.
    for node in 1..=6u64 {
        let mut want: BTreeSet<ShardId> = BTreeSet::new();
        for (c, _, _) in &all {
            for (i, holder) in holders(c) {
                if holder == node {
                    want.insert(c.shard_id(i));
                }
            }
        }
        let got: BTreeSet<ShardId> = pieces_on_node(&db, node, None, 10_000)
            .expect("pieces")
            .into_iter()
            .collect();
        assert_eq!(got, want, "pieces on node {node}");
    }

    // The chunks written under width are repair candidates, and the EC one
    // lacks exactly its empty slot.
    let short_replica = ChunkKey::of_ref(&chunks_of(&big)[2]);
    let ec = plan::ec_obj();
    let short_coded = ChunkKey::of_ref(&chunks_of(&ec)[1]);
    let mut want = vec![short_replica, short_coded];
    want.sort();
    assert_eq!(candidates(&db, None, 100).expect("candidates"), want);
    let r = chunk_record(&db, &short_coded)
        .expect("read")
        .expect("record");
    let j = judge(&r, &[], &up_nodes(), None, Duration::from_secs(600));
    assert_eq!(j.state, ChunkState::Degraded(1));
    assert_eq!(
        j.needs,
        vec![Need {
            piece: 2,
            replace: None,
            reason: MoveReason::UnderWidth,
        }]
    );
    let r = chunk_record(&db, &short_replica)
        .expect("read")
        .expect("record");
    let j = judge(&r, &[], &up_nodes(), None, Duration::from_secs(600));
    assert_eq!(j.state, ChunkState::Degraded(1));
    assert_eq!(j.needs.len(), 1);

    // The durability report counts them.
    let report = durability(&db, &up_nodes(), None, Duration::from_secs(600)).expect("report");
    assert_eq!(report.degraded.chunks, 2);
    assert_eq!(report.degraded.objects, 2);
    assert_eq!(report.healthy.chunks, all.len() as u64 - 2);
    // doc's two versions and multi (small is inline: no chunks).
    assert_eq!(report.healthy.objects, 3);
    assert_eq!(report.at_risk.chunks + report.unreadable.chunks, 0);

    // No data version is left unreferenced (the collector would delete
    // its shards).
    for n in [10, 20, 30, 31, 41, 42, 43, 51] {
        assert!(
            data_refs::is_referenced(&db, &vid(n)).expect("refs"),
            "version {n}"
        );
    }
}

/// (piece index, holder) of every piece a chunk reference names.
fn holders(c: &ChunkRef) -> Vec<(u16, NodeId)> {
    if c.data_pieces > 0 {
        c.pieces
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i as u16, p.node)))
            .collect()
    } else {
        c.nodes.iter().map(|n| (0, *n)).collect()
    }
}

#[test]
fn an_upload_left_open_by_the_old_build_completes_with_this_one() {
    let (_dir, path) = unpack();
    let (db, _) = open_and_migrate(&path);
    let (upload_id, part) = plan::pending_upload();
    let version = VersionId::new_random();
    let mut batch = WriteBatch::default();
    let answer = apply_command(
        &db,
        &mut batch,
        &MetaCommand::CompleteUpload {
            bucket: REP.into(),
            key: "pending".into(),
            upload_id,
            parts: vec![CompletedPart {
                part_number: 1,
                etag: part.etag.clone(),
            }],
            version,
            last_modified: 1,
            condition: WriteCondition::Always,
        },
    )
    .expect("storage");
    db.db.write(batch).expect("commit");
    answer.expect("complete");
    let m = get_object(&db, REP, "pending");
    assert_eq!(m.version, version);
    assert_eq!(
        chunk_refs(&db, version, 0, u64::MAX),
        with_offsets(&part.chunks)
    );
}

#[test]
fn opening_a_migrated_data_dir_again_changes_nothing() {
    let (_dir, path) = unpack();
    let first = {
        let (db, rewritten) = open_and_migrate(&path);
        assert!(rewritten > 0);
        dump(&db)
    };
    let (db, rewritten) = open_and_migrate(&path);
    assert_eq!(rewritten, 0);
    assert_eq!(dump(&db), first);
    // And it still reads.
    for e in plan::current_objects() {
        assert_reads_back(&db, &get_object(&db, e.bucket, e.key), &e);
    }
}

/// Applies the fixture's commands to an empty database with this build.
fn fresh_from_commands() -> (tempfile::TempDir, MetaDb) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _) = open_and_migrate(dir.path());
    for cmd in plan::commands() {
        let mut batch = WriteBatch::default();
        let answer = apply_command(&db, &mut batch, &cmd).expect("storage");
        db.db.write(batch).expect("commit");
        answer.unwrap_or_else(|e| panic!("{cmd:?}: {e:?}"));
    }
    (dir, db)
}

/// The `repair` table's notes of data versions released (tag `r`): hints
/// for the sweep of chunk rows, which a fresh database has from its
/// overwrites and completed uploads and a migrated one needs none of (it
/// records only chunks something references).
const RELEASED_NOTE: u8 = b'r';
/// The `write_ids` table's rows that keep an idempotent write's answer.
const KEPT_ANSWER: u8 = b'r';

/// The `write_ids` table's row counting its records.
const RECORD_COUNT: &[u8] = b"n";
/// The `write_ids` table's rows keeping records in expiry order: tag,
/// 8 bytes of time, then the id.
const EXPIRY_ROW: u8 = b'e';

/// The ids this build also keeps a completed upload's answer under (for
/// the client's own second CompleteMultipartUpload); the old build kept
/// none, and they expire with the write-id window anyway.
fn completion_ids() -> Vec<Vec<u8>> {
    plan::commands()
        .iter()
        .filter_map(|cmd| match cmd {
            MetaCommand::Idempotent { command, .. } => command.completed_upload(),
            _ => None,
        })
        .map(|(_, _, upload_id)| cairn_meta::apply::completion_id(upload_id).0.to_vec())
        .collect()
}

#[test]
fn a_migrated_data_dir_holds_what_this_build_would_have_written() {
    let (_dir, path) = unpack();
    let (old, _) = open_and_migrate(&path);
    let (_fresh_dir, fresh) = fresh_from_commands();
    let (mut old, mut fresh) = (dump(&old), dump(&fresh));
    let completions = completion_ids();
    assert!(!completions.is_empty(), "the fixture completes an upload");
    let kept = fresh.get_mut("write_ids").expect("write_ids");
    let before = kept.len();
    kept.retain(|(k, _)| {
        let id = match k.first() {
            Some(&KEPT_ANSWER) => &k[1..],
            Some(&EXPIRY_ROW) => k.get(9..).unwrap_or_default(),
            _ => return true,
        };
        !completions.iter().any(|c| c.as_slice() == id)
    });
    assert_eq!(
        before - kept.len(),
        2 * completions.len(),
        "a record and its expiry row each"
    );
    let count = |rows: &[(Vec<u8>, Vec<u8>)]| {
        rows.iter()
            .find(|(k, _)| k.as_slice() == RECORD_COUNT)
            .and_then(|(_, v)| v.first().copied())
    };
    let (old_count, fresh_count) = (count(&old["write_ids"]), count(kept));
    assert_eq!(
        fresh_count.map(|n| usize::from(n) - completions.len()),
        old_count.map(usize::from),
        "the count (one byte of postcard while under 128)"
    );
    for rows in [&mut old, &mut fresh] {
        if let Some(repair) = rows.get_mut("repair") {
            repair.retain(|(k, _)| k.first() != Some(&RELEASED_NOTE));
        }
        // The answers kept for retries name a completed upload's manifest
        // as the build that applied it answered: the old one with an
        // emptied chunk list, this one with the chunk count. A retry reads
        // only their ETag and version, so only which writes are kept is
        // compared.
        if let Some(kept) = rows.get_mut("write_ids") {
            kept.retain(|(k, _)| k.as_slice() != RECORD_COUNT);
            for (k, v) in kept.iter_mut() {
                if k.first() == Some(&KEPT_ANSWER) {
                    v.clear();
                }
            }
        }
    }
    for (name, rows) in &fresh {
        assert_eq!(&old[name], rows, "table {name}");
    }
}
