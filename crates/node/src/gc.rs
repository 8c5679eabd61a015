//! The shard garbage collector a storage node runs every `gc.interval_secs`.
//!
//! Shard files are named by their data version, a UUIDv7 that carries its
//! creation time. A sweep lists the node's shard files and keeps those whose
//! version is older than the grace (by that time, not file mtime). Before its
//! first question it asks the meta leader to move the garbage-collection
//! horizon to `now - grace` (`ProposeGcHorizon`, a Raft write: from then on
//! no object or part may commit such a version). The leader grants at most
//! its own clock minus the grace and refuses a node whose clock is off its
//! own by more than `meta.max_node_clock_skew_ms`, so the sweep only judges
//! versions at or before the horizon granted, whatever this node's clock
//! says. It then asks meta in batches (linearizable reads, each at most
//! `gc.batch_size` versions and within meta's query size limit) which of
//! them nothing references. A version seen unreferenced is remembered with the
//! time of the answer (monotonic clock), and its files are deleted only once
//! it has been unreferenced for the grace too, so a GET that read the
//! manifest just before an overwrite or delete can still finish reading the
//! old shards. Temporary files of writes whose version is at or before the
//! granted horizon go as well (such a write can no longer commit).
//!
//! A grant is acted on for at most `GC_GRANT_LEASE` from when it was asked
//! for (renewed during a long sweep); when its generation changes (an
//! operator reset the horizon) every remembered version is forgotten, and
//! while collection is paused the sweep does nothing (`cairn_rpc::gc_api`).

use crate::store::{ShardStore, StoredShard, remove_if_present};
use cairn_rpc::MetaCommand;
use cairn_rpc::MetaResponse;
use cairn_rpc::gc_api::{GC_GRANT_LEASE, GcHorizonState};
use cairn_rpc::meta_reads as reads;
use cairn_rpc::sizes::{ENVELOPE_BYTES, MAX_QUERY_BYTES, split_by_encoded_size};
use cairn_rpc::{MetaClient, MetaError};
use cairn_types::config::GcConfig;
use cairn_types::{NodeId, VersionId, shifted_now_ms};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};
use thiserror::Error;

/// Metric: sweeps finished.
pub const METRIC_GC_SWEEPS: &str = "cairn_node_gc_sweeps_total";
/// Metric: sweeps stopped by an error (meta unreachable, disk error).
pub const METRIC_GC_SWEEP_FAILURES: &str = "cairn_node_gc_sweep_failures_total";
/// Metric: shard files deleted as garbage.
pub const METRIC_GC_SHARDS_DELETED: &str = "cairn_node_gc_shards_deleted_total";
/// Metric: bytes of shard files deleted as garbage.
pub const METRIC_GC_BYTES_DELETED: &str = "cairn_node_gc_bytes_deleted_total";
/// Metric: stray temporary files deleted.
pub const METRIC_GC_TEMP_FILES_DELETED: &str = "cairn_node_gc_temp_files_deleted_total";

#[derive(Debug, Error)]
pub enum GcError {
    #[error("meta: {0}")]
    Meta(#[from] MetaError),
    #[error("disk: {0}")]
    Io(#[from] std::io::Error),
    #[error("listing task failed: {0}")]
    Task(String),
}

/// What one sweep saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Shard files listed.
    pub scanned: u64,
    /// Shard files whose version is older than the grace.
    pub candidates: u64,
    /// Distinct old versions meta answered unreferenced.
    pub unreferenced: u64,
    pub deleted_shards: u64,
    pub deleted_bytes: u64,
    pub deleted_temp_files: u64,
    /// Unreferenced versions still waiting out the grace.
    pub pending: u64,
    /// Collection was paused by an operator's reset: nothing was judged.
    pub paused: bool,
    /// How long the sweep took.
    pub elapsed: Duration,
}

/// The collector of one storage node.
pub struct Sweeper {
    store: Arc<ShardStore>,
    meta: MetaClient,
    /// This node's id and clock offset (`node.clock_offset_ms`, tests only).
    node: NodeId,
    clock_offset_ms: i64,
    grace: Duration,
    batch_size: usize,
    /// Unreferenced versions and when meta first said so. Held for a whole
    /// sweep, so sweeps never overlap.
    pending: tokio::sync::Mutex<HashMap<VersionId, Instant>>,
    /// The horizon generation `pending` was judged under (`NO_GENERATION`
    /// before the first grant).
    generation: AtomicU64,
}

const NO_GENERATION: u64 = u64::MAX;

/// The horizon meta granted, and when it was asked for.
struct Grant {
    state: GcHorizonState,
    asked: Instant,
}

impl Grant {
    /// Whether the grant may still be acted on.
    fn valid(&self) -> bool {
        self.asked.elapsed() < GC_GRANT_LEASE
    }
}

/// State of one sweep between batches.
struct Sweep {
    /// This node's bound (its clock minus the grace): versions created at or
    /// before it are listed as candidates.
    horizon_ms: u64,
    /// The horizon granted (None before the first question).
    grant: Option<Grant>,
    batch: BTreeMap<VersionId, Vec<StoredShard>>,
    /// Versions answered unreferenced in this sweep.
    seen_unreferenced: BTreeSet<VersionId>,
    report: SweepReport,
}

impl Sweep {
    /// Versions created at or before this may be judged: the earlier of this
    /// node's bound and the horizon granted (0 without a valid grant).
    fn judged_up_to(&self) -> u64 {
        match &self.grant {
            Some(g) if g.valid() && !g.state.paused => self.horizon_ms.min(g.state.horizon_ms),
            _ => 0,
        }
    }
}

impl Sweeper {
    /// The collector of node `node`, whose clock is shifted by
    /// `clock_offset_ms` (0 but in tests).
    pub fn new(
        store: Arc<ShardStore>,
        meta: MetaClient,
        config: &GcConfig,
        node: NodeId,
        clock_offset_ms: i64,
    ) -> Self {
        Self {
            store,
            meta,
            node,
            clock_offset_ms,
            grace: Duration::from_secs(config.grace_secs),
            batch_size: config.batch_size.max(1),
            pending: Default::default(),
            generation: AtomicU64::new(NO_GENERATION),
        }
    }

    /// Sweeps every `interval` until the future is dropped; errors are logged
    /// and counted, and the next sweep tries again.
    pub async fn run_every(self: Arc<Self>, interval: Duration) {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = self.sweep().await {
                metrics::counter!(METRIC_GC_SWEEP_FAILURES).increment(1);
                tracing::warn!(error = %e, "garbage collection sweep failed; retrying next interval");
            }
        }
    }

    /// One sweep over all shard files and temporary files of the node.
    pub async fn sweep(&self) -> Result<SweepReport, GcError> {
        let mut pending = self.pending.lock().await;
        let started = Instant::now();
        let grace_ms = u64::try_from(self.grace.as_millis()).unwrap_or(u64::MAX);
        let mut sweep = Sweep {
            horizon_ms: shifted_now_ms(self.clock_offset_ms).saturating_sub(grace_ms),
            grant: None,
            batch: BTreeMap::new(),
            seen_unreferenced: BTreeSet::new(),
            report: SweepReport::default(),
        };
        let store = self.store.clone();
        let fans = blocking(move || store.fan_dirs()).await?;
        for fan in fans {
            let shards = blocking(move || ShardStore::list_dir(&fan)).await?;
            for shard in shards {
                sweep.report.scanned += 1;
                if shard.id.version.created_millis() <= sweep.horizon_ms {
                    sweep.report.candidates += 1;
                    sweep.batch.entry(shard.id.version).or_default().push(shard);
                }
            }
            if sweep.batch.len() >= self.batch_size {
                self.settle(&mut sweep, &mut pending).await?;
            }
            if sweep.report.paused {
                break;
            }
        }
        if !sweep.batch.is_empty() && !sweep.report.paused {
            self.settle(&mut sweep, &mut pending).await?;
        }
        // Versions no longer on disk (or, defensively, referenced again) are forgotten.
        pending.retain(|v, _| sweep.seen_unreferenced.contains(v));
        sweep.report.pending = pending.len() as u64;
        sweep.report.deleted_temp_files = self
            .remove_stale_temp_files(&mut sweep, &mut pending)
            .await?;
        drop(pending);
        sweep.report.elapsed = started.elapsed();
        let r = &sweep.report;
        metrics::counter!(METRIC_GC_SWEEPS).increment(1);
        metrics::counter!(METRIC_GC_SHARDS_DELETED).increment(r.deleted_shards);
        metrics::counter!(METRIC_GC_BYTES_DELETED).increment(r.deleted_bytes);
        metrics::counter!(METRIC_GC_TEMP_FILES_DELETED).increment(r.deleted_temp_files);
        tracing::info!(
            scanned = r.scanned,
            candidates = r.candidates,
            unreferenced = r.unreferenced,
            deleted_shards = r.deleted_shards,
            deleted_bytes = r.deleted_bytes,
            deleted_temp_files = r.deleted_temp_files,
            pending = r.pending,
            paused = r.paused,
            elapsed_ms = r.elapsed.as_millis() as u64,
            "garbage collection sweep done"
        );
        Ok(sweep.report)
    }

    /// Makes sure the sweep holds a grant with at least half its lease left
    /// (asking meta for one, or again): a new generation forgets every
    /// version judged before; a pause stops the sweep.
    async fn ensure_grant(
        &self,
        sweep: &mut Sweep,
        pending: &mut HashMap<VersionId, Instant>,
    ) -> Result<(), GcError> {
        if sweep
            .grant
            .as_ref()
            .is_some_and(|g| g.asked.elapsed() < GC_GRANT_LEASE / 2)
        {
            return Ok(());
        }
        let asked = Instant::now();
        // Must precede the question: afterwards no commit can make a
        // version at or before the granted horizon referenced again.
        let state = match self
            .meta
            .write(&MetaCommand::ProposeGcHorizon {
                node: self.node,
                node_clock_ms: shifted_now_ms(self.clock_offset_ms),
                grace_ms: u64::try_from(self.grace.as_millis()).unwrap_or(u64::MAX),
                horizon_ms: 0,
            })
            .await?
        {
            MetaResponse::GcState(state) => state,
            other => {
                return Err(GcError::Meta(MetaError::Internal(format!(
                    "unexpected answer from meta: {other:?}"
                ))));
            }
        };
        let before = self.generation.swap(state.generation, Ordering::Relaxed);
        if before != state.generation && before != NO_GENERATION {
            tracing::warn!(
                generation = state.generation,
                horizon_ms = state.horizon_ms,
                forgotten = pending.len(),
                "the garbage-collection horizon was reset; judging every version anew"
            );
            pending.clear();
            sweep.seen_unreferenced.clear();
        }
        if state.paused {
            pending.clear();
            sweep.seen_unreferenced.clear();
            sweep.report.paused = true;
        }
        sweep.grant = Some(Grant { state, asked });
        Ok(())
    }

    /// Asks meta about the batched versions and deletes the files of those
    /// unreferenced for at least the grace, while the grant is valid.
    async fn settle(
        &self,
        sweep: &mut Sweep,
        pending: &mut HashMap<VersionId, Instant>,
    ) -> Result<(), GcError> {
        self.ensure_grant(sweep, pending).await?;
        let judged_up_to = sweep.judged_up_to();
        let mut batch = std::mem::take(&mut sweep.batch);
        // Past the granted horizon a version may still be committed.
        batch.retain(|v, _| v.created_millis() <= judged_up_to);
        if batch.is_empty() {
            return Ok(());
        }
        let unreferenced = self
            .ask_unreferenced(batch.keys().copied().collect())
            .await?;
        let answered = Instant::now();
        for (version, shards) in batch {
            if !unreferenced.contains(&version) {
                continue;
            }
            sweep.report.unreferenced += 1;
            sweep.seen_unreferenced.insert(version);
            let since = *pending.entry(version).or_insert(answered);
            if answered.duration_since(since) < self.grace {
                continue;
            }
            for shard in shards {
                if !sweep.grant.as_ref().is_some_and(Grant::valid) {
                    // The lease ran out: the rest waits for the next sweep.
                    break;
                }
                if remove_if_present(&shard.path).await? {
                    sweep.report.deleted_shards += 1;
                    sweep.report.deleted_bytes += shard.file_len;
                    tracing::debug!(shard = %shard.id, "garbage shard deleted");
                }
            }
        }
        Ok(())
    }

    /// Which of `versions` nothing references, asked in queries of at most
    /// `gc.batch_size` versions that each stay within meta's query limit
    /// (one fan-out directory can hold far more versions than either).
    async fn ask_unreferenced(
        &self,
        versions: Vec<VersionId>,
    ) -> Result<BTreeSet<VersionId>, GcError> {
        let mut unreferenced = BTreeSet::new();
        let max_bytes = MAX_QUERY_BYTES - ENVELOPE_BYTES;
        for versions in split_by_encoded_size(versions, self.batch_size, max_bytes) {
            let answer = self
                .meta
                .read(reads::UnreferencedVersions { versions })
                .await?;
            unreferenced.extend(answer);
        }
        Ok(unreferenced)
    }

    /// Deletes temporary files of writes whose version is at or before the
    /// granted horizon (such a write can no longer commit; the sweep asks
    /// for a grant when it has none and such a file may exist), and those
    /// whose name does not tell, last modified more than a grace ago.
    async fn remove_stale_temp_files(
        &self,
        sweep: &mut Sweep,
        pending: &mut HashMap<VersionId, Instant>,
    ) -> Result<u64, GcError> {
        let store = self.store.clone();
        let temps = blocking(move || store.temp_files()).await?;
        let maybe_stale = temps.iter().any(|t| {
            t.id.is_some_and(|id| id.version.created_millis() <= sweep.horizon_ms)
        });
        if maybe_stale && !sweep.report.paused {
            self.ensure_grant(sweep, pending).await?;
        }
        let judged_up_to = sweep.judged_up_to();
        let now = SystemTime::now();
        let mut deleted = 0;
        for t in temps {
            let stale = match (t.id, t.modified) {
                (Some(id), _) => id.version.created_millis() <= judged_up_to,
                (None, Some(m)) => now.duration_since(m).is_ok_and(|age| age > self.grace),
                (None, None) => false,
            };
            if stale && remove_if_present(&t.path).await? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

/// Runs blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, GcError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| GcError::Task(e.to_string()))?
        .map_err(GcError::Io)
}
