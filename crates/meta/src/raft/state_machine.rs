//! The Raft state machine over RocksDB. Each log entry is applied in its own
//! write batch together with the new applied log id, so the tables and the
//! applied id always move together; the WAL is fsynced once per `apply` call.
//! Snapshots are point-in-time copies of the data tables (a RocksDB snapshot
//! iterated into one postcard blob), stored durably so the log can be purged
//! behind them and a lagging voter can install them.

use super::type_config::TypeConfig;
use crate::apply::apply_command;
use crate::store::db::{CF_SM_META, DATA_CFS, DbError, MetaDb, decode, encode};
use crate::store::{chunk_migration, data_refs, manifest_codecs, version_index};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    AnyError, BasicNode, Entry, EntryPayload, LogId, RaftSnapshotBuilder, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};
use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};
use std::io::Cursor;

type NodeId = u64;
type Response = <TypeConfig as openraft::RaftTypeConfig>::R;
/// The last applied log id and the membership as of it.
type AppliedState = (Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>);

const KEY_LAST_APPLIED: &[u8] = b"last_applied";
const KEY_MEMBERSHIP: &[u8] = b"membership";
const KEY_SNAPSHOT: &[u8] = b"snapshot";

/// A suffix that makes snapshot ids unique within this process.
fn unique_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

fn any(e: impl std::fmt::Display) -> AnyError {
    AnyError::error(e.to_string())
}

/// The data tables at one applied log id: (table index in `DATA_CFS`, key, value).
#[derive(Serialize, Deserialize)]
struct SnapshotBody {
    rows: Vec<(u8, Vec<u8>, Vec<u8>)>,
}

/// The latest snapshot, as kept in `sm_meta`.
#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct StateMachine {
    db: MetaDb,
}

impl StateMachine {
    pub fn new(db: MetaDb) -> Self {
        Self { db }
    }

    fn applied(&self) -> Result<AppliedState, DbError> {
        // Stored as Option<LogId> (an installed empty snapshot has none).
        let last: Option<LogId<NodeId>> = self
            .db
            .get::<Option<LogId<NodeId>>>(CF_SM_META, KEY_LAST_APPLIED)?
            .flatten();
        let membership = self.db.get(CF_SM_META, KEY_MEMBERSHIP)?.unwrap_or_default();
        Ok((last, membership))
    }

    fn apply_entry(&self, entry: &Entry<TypeConfig>) -> Result<Response, DbError> {
        let mut batch = WriteBatch::default();
        let response = match &entry.payload {
            EntryPayload::Blank => Ok(cairn_rpc::MetaResponse::Done),
            EntryPayload::Normal(cmd) => apply_command(&self.db, &mut batch, cmd)?,
            EntryPayload::Membership(m) => {
                let stored = StoredMembership::new(Some(entry.log_id), m.clone());
                batch.put_cf(self.db.cf(CF_SM_META)?, KEY_MEMBERSHIP, encode(&stored)?);
                Ok(cairn_rpc::MetaResponse::Done)
            }
        };
        batch.put_cf(
            self.db.cf(CF_SM_META)?,
            KEY_LAST_APPLIED,
            encode(&Some(entry.log_id))?,
        );
        self.db.db.write(batch)?;
        Ok(response)
    }

    fn build(&self) -> Result<StoredSnapshot, DbError> {
        let snap = self.db.db.snapshot();
        let last_applied: Option<LogId<NodeId>> =
            match snap.get_cf(self.db.cf(CF_SM_META)?, KEY_LAST_APPLIED)? {
                Some(v) => decode(&v)?,
                None => None,
            };
        let membership: StoredMembership<NodeId, BasicNode> =
            match snap.get_cf(self.db.cf(CF_SM_META)?, KEY_MEMBERSHIP)? {
                Some(v) => decode(&v)?,
                None => StoredMembership::default(),
            };
        let mut rows = Vec::new();
        for (i, name) in DATA_CFS.iter().enumerate() {
            for item in snap.iterator_cf(self.db.cf(name)?, rocksdb::IteratorMode::Start) {
                let (k, v) = item?;
                rows.push((i as u8, k.to_vec(), v.to_vec()));
            }
        }
        let data = encode(&SnapshotBody { rows })?;
        let snapshot_id = match &last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id, l.index, unique_suffix()),
            None => format!("empty-{}", unique_suffix()),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id,
        };
        let stored = StoredSnapshot { meta, data };
        self.db.db.put_cf_opt(
            self.db.cf(CF_SM_META)?,
            KEY_SNAPSHOT,
            encode(&stored)?,
            &MetaDb::sync_writes(),
        )?;
        Ok(stored)
    }

    fn install(
        &self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        data: Vec<u8>,
    ) -> Result<(), DbError> {
        let body: SnapshotBody = decode(&data)?;
        let mut batch = WriteBatch::default();
        for name in DATA_CFS {
            let cf = self.db.cf(name)?;
            for item in self.db.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
                let (k, _) = item?;
                batch.delete_cf(cf, k);
            }
        }
        for (i, k, v) in body.rows {
            let name = DATA_CFS
                .get(usize::from(i))
                .ok_or_else(|| DbError::Decode(format!("table {i}")))?;
            batch.put_cf(self.db.cf(name)?, k, v);
        }
        let sm = self.db.cf(CF_SM_META)?;
        batch.put_cf(sm, KEY_LAST_APPLIED, encode(&meta.last_log_id)?);
        batch.put_cf(sm, KEY_MEMBERSHIP, encode(&meta.last_membership)?);
        batch.put_cf(
            sm,
            KEY_SNAPSHOT,
            encode(&StoredSnapshot {
                meta: meta.clone(),
                data,
            })?,
        );
        self.db.db.write_opt(batch, &MetaDb::sync_writes())?;
        // A snapshot taken by a build without the index carries none.
        manifest_codecs::ensure_codecs(&self.db)?;
        chunk_migration::ensure_records(&self.db)?;
        data_refs::ensure_index(&self.db)?;
        version_index::ensure_index(&self.db)?;
        Ok(())
    }
}

/// Runs `work` on tokio's blocking pool: building or installing a snapshot
/// walks every table (about a second per hundred thousand rows here), which
/// on a runtime worker would stall every S3 request scheduled behind it.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, DbError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(e) => Err(format!("snapshot task failed: {e}")),
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let sm = self.clone();
        let stored = off_the_runtime(move || sm.build())
            .await
            .map_err(|e| StorageIOError::write_snapshot(None, any(e)))?;
        Ok(Snapshot {
            meta: stored.meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<AppliedState, StorageError<NodeId>> {
        self.applied()
            .map_err(|e| StorageIOError::read_state_machine(any(e)).into())
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut responses = Vec::new();
        for entry in entries {
            let r = self
                .apply_entry(&entry)
                .map_err(|e| StorageIOError::apply(entry.log_id, any(e)))?;
            responses.push(r);
        }
        // No sync here: every applied entry is already durable in the log
        // (synced before it committed), and the applied id is written in the
        // same batch as its effects; after a crash openraft re-applies the
        // log from the last applied id that made it to disk.
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let (sm, owned_meta) = (self.clone(), meta.clone());
        off_the_runtime(move || sm.install(&owned_meta, snapshot.into_inner()))
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), any(e)).into())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let stored: Option<StoredSnapshot> = self
            .db
            .get(CF_SM_META, KEY_SNAPSHOT)
            .map_err(|e| StorageIOError::read_snapshot(None, any(e)))?;
        Ok(stored.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}
