//! Test support shared by the unit tests of several folders: a state-machine
//! database in a temporary directory, applying a command to it exactly as
//! the state machine does, and commands and records many tests build.

use crate::apply::apply_command;
use crate::store::db::MetaDb;
use cairn_rpc::{MetaCommand, MetaError, MetaResponse, WriteCondition};
use cairn_types::{Bucket, HttpHeaders, ObjectData, ObjectManifest, Redundancy, VersionId};
use rocksdb::WriteBatch;

/// A fresh database; keep the directory alive as long as the database.
pub fn open() -> (tempfile::TempDir, MetaDb) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = MetaDb::open(dir.path()).expect("open db");
    (dir, db)
}

/// Applies `cmd` and commits its batch, as the state machine does.
pub fn run(db: &MetaDb, cmd: &MetaCommand) -> Result<MetaResponse, MetaError> {
    let mut batch = WriteBatch::default();
    let answer = apply_command(db, &mut batch, cmd).expect("storage works");
    db.db.write(batch).expect("commit batch");
    answer
}

/// A PutObject of an empty inline object `key` in bucket `b`.
pub fn put_command(key: &str) -> MetaCommand {
    MetaCommand::PutObject {
        manifest: ObjectManifest {
            bucket: "b".into(),
            key: key.into(),
            version: VersionId::new_random(),
            size: 0,
            etag: String::new(),
            last_modified: 0,
            headers: HttpHeaders::default(),
            data: ObjectData::Inline(Vec::new()),
            part_sizes: Vec::new(),
        },
        condition: WriteCondition::Always,
    }
}

/// A CreateBucket of bucket `b`.
pub fn create_bucket_command() -> MetaCommand {
    MetaCommand::CreateBucket(Bucket {
        name: "b".into(),
        created: 0,
        redundancy: Redundancy::Replicas(1),
    })
}

/// Erasure piece slots: slot i held by `holders[i]` (None: empty), with
/// blake3 `hash_of(i)`.
pub fn piece_refs(
    holders: &[Option<cairn_types::NodeId>],
    hash_of: impl Fn(u16) -> [u8; 32],
) -> Vec<Option<cairn_types::PieceRef>> {
    holders
        .iter()
        .enumerate()
        .map(|(i, h)| {
            h.map(|node| cairn_types::PieceRef {
                node,
                hash: hash_of(i as u16),
            })
        })
        .collect()
}

/// A fresh database with its indexes built, holding bucket `name` with
/// `redundancy`.
pub fn open_with_bucket(name: &str, redundancy: Redundancy) -> (tempfile::TempDir, MetaDb) {
    let (dir, db) = open();
    crate::store::data_refs::ensure_index(&db).expect("index");
    crate::store::version_index::ensure_index(&db).expect("version index");
    let bucket = Bucket {
        name: name.into(),
        created: 0,
        redundancy,
    };
    run(&db, &MetaCommand::CreateBucket(bucket)).expect("bucket");
    (dir, db)
}

/// What the leader knows of nodes `ids`: every one up, in zone `z`.
pub fn up_views(
    ids: impl IntoIterator<Item = cairn_types::NodeId>,
) -> crate::reconcile::plan::NodeViews {
    ids.into_iter()
        .map(|id| {
            let view = crate::reconcile::plan::NodeView {
                addr: format!("n{id}"),
                zone: "z".into(),
                up: true,
                silent_for: std::time::Duration::ZERO,
            };
            (id, view)
        })
        .collect()
}

/// Registers nodes `ids`, stages them into the layout and applies it (64
/// partitions), as `cairn admin node assign` and `layout apply` do.
pub fn join_layout(db: &MetaDb, ids: &[cairn_types::NodeId]) {
    for id in ids {
        let node = cairn_rpc::NodeRecord {
            id: *id,
            addr: format!("n{id}"),
            zone: "z".into(),
            capacity: 1 << 30,
            registered: 0,
        };
        run(db, &MetaCommand::RegisterNode(node)).expect("registered");
        let assign = cairn_rpc::LayoutChange::Assign {
            id: *id,
            zone: None,
            capacity: None,
        };
        run(db, &MetaCommand::StageLayout(assign)).expect("staged");
    }
    let state = crate::store::layout::state(db).expect("state");
    let next = cairn_placement::next_layout(&state, 64).expect("staged");
    assert_eq!(
        run(db, &MetaCommand::ApplyLayout(next)),
        Ok(MetaResponse::Done)
    );
}
