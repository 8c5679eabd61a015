//! Test support: a state-machine database in a temporary directory, and
//! applying a command to it exactly as the state machine does.

use crate::apply::apply_command;
use crate::db::MetaDb;
use cairn_rpc::{MetaCommand, MetaError, MetaResponse};
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
