//! The Raft log in RocksDB (column family `log`, keyed by big-endian index),
//! with the vote, the committed id and the last purged id beside it (column
//! family `raft`). Every append, truncation, purge and vote is fsynced before
//! openraft is told it happened; concurrent appends share one fsync (group
//! commit, see `GroupFlusher`). Replication reads the log in steps of at
//! most `RAFT_APPEND_TARGET_BYTES`, so no append outgrows what a follower takes.

use super::type_config::TypeConfig;
use crate::store::db::{CF_LOG, CF_RAFT, DbError, MetaDb, decode, encode};
use crate::store::keys::{log_index, log_key};
use cairn_rpc::sizes::RAFT_APPEND_TARGET_BYTES;
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    AnyError, Entry, LogId, LogState, RaftLogReader, StorageError, StorageIOError, Vote,
};
use rocksdb::{Direction, IteratorMode, WriteBatch};
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::{Arc, Weak, mpsc};

/// WAL syncs made for Raft log appends (each one fsync, shared by a group of appends).
pub const METRIC_LOG_APPENDS: &str = "cairn_meta_log_appends_total";
/// Log entries those syncs made durable.
pub const METRIC_LOG_ENTRIES: &str = "cairn_meta_log_entries_appended_total";

/// Group commit of the log: appends write their entries without syncing and
/// queue openraft's completion callback here; one thread syncs the WAL once
/// for everything queued so far, then reports every queued append durable.
/// Concurrent client writes thus share one fsync.
#[derive(Clone, Debug)]
struct GroupFlusher {
    queue: mpsc::Sender<(u64, LogFlushed<TypeConfig>)>,
}

impl GroupFlusher {
    fn start(db: &MetaDb) -> Self {
        let (queue, pending) = mpsc::channel::<(u64, LogFlushed<TypeConfig>)>();
        // Weak: the database closes when the voter drops it, not when this thread notices.
        let db: Weak<rocksdb::DB> = Arc::downgrade(&db.db);
        let spawned = std::thread::Builder::new()
            .name("meta-log-flush".into())
            .spawn(move || {
                // Ends when every LogStore (every sender) is gone.
                while let Ok(first) = pending.recv() {
                    let mut group = vec![first];
                    group.extend(pending.try_iter());
                    let synced = match db.upgrade() {
                        Some(db) => db.flush_wal(true).map_err(|e| e.to_string()),
                        None => Err("the metadata database is closed".to_string()),
                    };
                    let entries: u64 = group.iter().map(|(n, _)| n).sum();
                    metrics::counter!(METRIC_LOG_APPENDS).increment(1);
                    metrics::counter!(METRIC_LOG_ENTRIES).increment(entries);
                    for (_, callback) in group {
                        callback.log_io_completed(synced.clone().map_err(std::io::Error::other));
                    }
                }
            });
        if let Err(e) = spawned {
            // Without the thread every callback is dropped and openraft sees
            // the appends fail; say why once.
            tracing::error!(error = %e, "cannot start the Raft log flusher");
        }
        Self { queue }
    }

    /// Reports `callback` once the entries written before this call are on disk.
    fn sync_then_report(&self, entries: u64, callback: LogFlushed<TypeConfig>) {
        if let Err(mpsc::SendError((_, callback))) = self.queue.send((entries, callback)) {
            callback.log_io_completed(Err(std::io::Error::other("the log flusher stopped")));
        }
    }
}

const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_LAST_PURGED: &[u8] = b"last_purged";

type NodeId = u64;

fn any(e: impl std::fmt::Display) -> AnyError {
    AnyError::error(e.to_string())
}

#[derive(Clone, Debug)]
pub struct LogStore {
    db: MetaDb,
    flusher: GroupFlusher,
}

impl LogStore {
    pub fn new(db: MetaDb) -> Self {
        let flusher = GroupFlusher::start(&db);
        Self { db, flusher }
    }

    fn put_raft<T: serde::Serialize>(&self, key: &[u8], value: &T) -> Result<(), DbError> {
        let cf = self.db.cf(CF_RAFT)?;
        self.db
            .db
            .put_cf_opt(cf, key, encode(value)?, &MetaDb::sync_writes())?;
        Ok(())
    }

    fn last_purged(&self) -> Result<Option<LogId<NodeId>>, DbError> {
        self.db.get(CF_RAFT, KEY_LAST_PURGED)
    }

    fn last_entry_id(&self) -> Result<Option<LogId<NodeId>>, DbError> {
        let cf = self.db.cf(CF_LOG)?;
        match self.db.db.iterator_cf(cf, IteratorMode::End).next() {
            None => Ok(None),
            Some(item) => {
                let (_, v) = item?;
                let entry: Entry<TypeConfig> = decode(&v)?;
                Ok(Some(entry.log_id))
            }
        }
    }
}

/// The commit index openraft last saved on this voter (the highest entry it
/// knows a majority holds), for status reports.
pub fn saved_commit_index(db: &MetaDb) -> Result<Option<u64>, DbError> {
    let v: Option<Option<LogId<NodeId>>> = db.get(CF_RAFT, KEY_COMMITTED)?;
    Ok(v.flatten().map(|l| l.index))
}

impl LogStore {
    /// The entries in `range`, in order, stopping before the entry that
    /// would take their stored size over `max_bytes` (the first is always
    /// returned, whatever its size).
    fn read_entries<RB: RangeBounds<u64>>(
        &self,
        range: &RB,
        max_bytes: usize,
    ) -> Result<Vec<Entry<TypeConfig>>, DbError> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let cf = self.db.cf(CF_LOG)?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let from = log_key(start);
        for item in self
            .db
            .db
            .iterator_cf(cf, IteratorMode::From(&from, Direction::Forward))
        {
            let (k, v) = item?;
            let Some(index) = log_index(&k) else { continue };
            if !range.contains(&index) {
                break;
            }
            bytes = bytes.saturating_add(v.len());
            if !out.is_empty() && bytes > max_bytes {
                break;
            }
            out.push(decode(&v)?);
        }
        Ok(out)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        self.read_entries(&range, usize::MAX)
            .map_err(|e| StorageIOError::read_logs(any(e)).into())
    }

    /// What replication sends in one AppendEntries: at most
    /// `RAFT_APPEND_TARGET_BYTES` of entries (at least one), so an append
    /// never outgrows what the follower's route takes however far behind it is.
    async fn limited_get_log_entries(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        self.read_entries(&(start..end), RAFT_APPEND_TARGET_BYTES)
            .map_err(|e| StorageIOError::read_logs(any(e)).into())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let last_purged_log_id = self
            .last_purged()
            .map_err(|e| StorageIOError::read_logs(any(e)))?;
        let last_log_id = self
            .last_entry_id()
            .map_err(|e| StorageIOError::read_logs(any(e)))?
            .or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.put_raft(KEY_VOTE, vote)
            .map_err(|e| StorageIOError::write_vote(any(e)).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        self.db
            .get(CF_RAFT, KEY_VOTE)
            .map_err(|e| StorageIOError::read_vote(any(e)).into())
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        // Not synced: a committed id lost in a crash only means openraft
        // learns it again from the leader before applying further.
        let write = || -> Result<(), DbError> {
            let cf = self.db.cf(CF_RAFT)?;
            self.db.db.put_cf(cf, KEY_COMMITTED, encode(&committed)?)?;
            Ok(())
        };
        write().map_err(|e| StorageIOError::write(any(e)).into())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        let v: Option<Option<LogId<NodeId>>> = self
            .db
            .get(CF_RAFT, KEY_COMMITTED)
            .map_err(|e| StorageIOError::read(any(e)))?;
        Ok(v.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let write = || -> Result<u64, DbError> {
            let cf = self.db.cf(CF_LOG)?;
            let mut batch = WriteBatch::default();
            for entry in entries {
                batch.put_cf(cf, log_key(entry.log_id.index), encode(&entry)?);
            }
            let count = batch.len() as u64;
            // Not synced here: the flusher syncs the WAL once for every
            // append that queued before it, and only then tells openraft.
            self.db.db.write(batch)?;
            Ok(count)
        };
        match write() {
            Ok(count) => {
                self.flusher.sync_then_report(count, callback);
                Ok(())
            }
            Err(e) => {
                let msg = e.to_string();
                callback.log_io_completed(Err(std::io::Error::other(msg.clone())));
                Err(StorageIOError::write_logs(AnyError::error(msg)).into())
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let delete = || -> Result<(), DbError> {
            let cf = self.db.cf(CF_LOG)?;
            let mut batch = WriteBatch::default();
            batch.delete_range_cf(cf, log_key(log_id.index), log_key(u64::MAX));
            batch.delete_cf(cf, log_key(u64::MAX));
            self.db.db.write_opt(batch, &MetaDb::sync_writes())?;
            Ok(())
        };
        delete().map_err(|e| StorageIOError::write_logs(any(e)).into())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let purge = || -> Result<(), DbError> {
            // Record the purge point first: a crash between the two steps
            // leaves extra entries, never a gap the state claims not to have.
            self.put_raft(KEY_LAST_PURGED, &log_id)?;
            let cf = self.db.cf(CF_LOG)?;
            let mut batch = WriteBatch::default();
            batch.delete_range_cf(cf, log_key(0), log_key(log_id.index.saturating_add(1)));
            self.db.db.write_opt(batch, &MetaDb::sync_writes())?;
            Ok(())
        };
        purge().map_err(|e| StorageIOError::write_logs(any(e)).into())
    }
}

#[cfg(test)]
#[path = "log_store_tests.rs"]
mod tests;
