//! Unit tests of the log store: replication reads the log in steps capped
//! by bytes, and plain reads are not capped.

use super::*;
use crate::test_support::{open, put_command};
use cairn_rpc::MetaCommand;
use cairn_types::ObjectData;
use openraft::{CommittedLeaderId, EntryPayload};

/// Log entry `index`: a PutObject of `inline` bytes of object data.
fn entry(index: u64, inline: usize) -> Entry<TypeConfig> {
    let mut cmd = put_command(&format!("k{index}"));
    if let MetaCommand::PutObject { manifest, .. } = &mut cmd {
        manifest.data = ObjectData::Inline(vec![7; inline]);
    }
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(cmd),
    }
}

fn write(db: &MetaDb, entries: &[Entry<TypeConfig>]) {
    let cf = db.cf(CF_LOG).expect("log table");
    for e in entries {
        let value = encode(e).expect("encode");
        db.db
            .put_cf(cf, log_key(e.log_id.index), value)
            .expect("put");
    }
}

#[tokio::test]
async fn replication_reads_the_log_in_steps_capped_by_bytes() {
    /// Entries of 100 KB: about ten fit in one step.
    const ENTRY: usize = 100_000;
    let (_dir, db) = open();
    write(&db, &(1..=100).map(|i| entry(i, ENTRY)).collect::<Vec<_>>());
    let mut store = LogStore::new(db.clone());
    let mut next = 1;
    while next <= 100 {
        let step = store
            .limited_get_log_entries(next, 101)
            .await
            .expect("read");
        let bytes: usize = step.iter().map(|e| encode(e).expect("encode").len()).sum();
        assert!(bytes <= RAFT_APPEND_TARGET_BYTES, "a step of {bytes} bytes");
        assert!(step.len() >= RAFT_APPEND_TARGET_BYTES / (ENTRY + 1000));
        for e in &step {
            assert_eq!(e.log_id.index, next, "steps are contiguous");
            next += 1;
        }
    }
    // An entry larger than a step still goes, alone.
    write(
        &db,
        &[entry(101, 2 * RAFT_APPEND_TARGET_BYTES), entry(102, 10)],
    );
    let step = store.limited_get_log_entries(101, 103).await.expect("read");
    assert_eq!(step.len(), 1);
    assert_eq!(
        store
            .limited_get_log_entries(102, 103)
            .await
            .expect("read")
            .len(),
        1
    );
    // Plain reads are not capped.
    let all = store.try_get_log_entries(1..=102).await.expect("read");
    assert_eq!(all.len(), 102);
}
