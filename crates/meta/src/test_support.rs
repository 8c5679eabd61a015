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
