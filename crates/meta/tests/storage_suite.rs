//! Runs openraft's own storage test suite against cairn's RocksDB log store
//! and state machine.

use cairn_meta::{LogStore, MetaDb, StateMachine, TypeConfig};
use openraft::StorageError;
use openraft::testing::{StoreBuilder, Suite};

struct RocksBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for RocksBuilder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().expect("tempdir for the store");
        let db = MetaDb::open(dir.path()).expect("open rocksdb");
        Ok((dir, LogStore::new(db.clone()), StateMachine::new(db)))
    }
}

#[test]
fn openraft_storage_suite_passes() {
    Suite::test_all(RocksBuilder).expect("openraft storage suite");
}
