//! The background scrub. It walks the shard files fan-out directory by
//! directory, in name order, and verifies every file's blake3 against its
//! header at `node.scrub_bytes_per_sec`; a verified file's modification time
//! becomes the time of its verification (what `object inspect` shows as
//! "last verified"). After every batch it reports corrupt pieces to meta
//! (`ReconcileCommand::ReportDamage`), asks meta what it records about the
//! good ones, and deletes pieces that are surplus (recorded elsewhere) once
//! their chunk has every piece recorded with no damage, their data version
//! and their file (written or last verified) are older than the collector's
//! grace, and the mover is not committing them. When the files are done it
//! walks the list of pieces meta records on this node and reports those not
//! on disk as missing. Its position is
//! saved (`scrub_state`) so a restart resumes the pass; a new pass starts at
//! most every `node.scrub_interval_days`.

use super::METRIC_SURPLUS_TRIMMED;
use super::scrub_state::ScrubCursor;
use super::throttle::Throttle;
use super::{HealState, METRIC_SCRUB_BYTES, METRIC_SCRUB_DAMAGED, METRIC_SCRUB_PROGRESS};
use crate::store::{ShardStore, StoredShard, remove_if_present};
use cairn_codec::{SHARD_HEADER_LEN, ShardHeader};
use cairn_rpc::meta_reads as reads;
use cairn_rpc::repair_api::{DamageKind, DamageReport, ReconcileCommand, ShardVerdict};
use cairn_rpc::{MetaClient, MetaCommand, MetaError};
use cairn_types::{NodeId, ShardId};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use thiserror::Error;

/// Files verified per step (then damage is reported and surplus asked about).
pub const SCRUB_BATCH: usize = 256;
/// The cursor is saved at least this often while a pass runs.
pub const SCRUB_SAVE_EVERY: Duration = Duration::from_secs(10);
/// After a step failed (meta unreachable, disk error), the scrub waits this long.
pub const SCRUB_RETRY: Duration = Duration::from_secs(5);
/// Pieces asked of meta per page when looking for missing ones.
pub const MISSING_PAGE: u32 = 1024;
/// Longest sleep between two looks at whether a pass is due.
const IDLE_CHECK: Duration = Duration::from_secs(60);
/// Bytes read at a time while hashing a file.
const READ_BLOCK: usize = 1 << 20;
/// The fan-out directories (0..=255); 256 is the missing-piece walk.
const FANS: u16 = 256;

#[derive(Debug, Error)]
pub enum ScrubError {
    #[error("meta: {0}")]
    Meta(#[from] MetaError),
    #[error("disk: {0}")]
    Io(#[from] std::io::Error),
}

/// The scrub's settings.
#[derive(Debug, Clone, Copy)]
pub struct ScrubConfig {
    pub bytes_per_sec: u64,
    pub interval: Duration,
    /// The collector's grace: younger surplus pieces are kept.
    pub grace: Duration,
}

/// What verifying one file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileVerdict {
    Ok,
    Corrupt(String),
    /// Deleted since it was listed.
    Gone,
}

/// Reads the shard file at `path` whole and checks it against its header;
/// a good file's modification time is set to now (blocking I/O).
pub fn verify_file(path: &Path) -> std::io::Result<FileVerdict> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileVerdict::Gone),
        Err(e) => return Err(e),
    };
    let mut head = [0u8; SHARD_HEADER_LEN];
    match f.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Ok(FileVerdict::Corrupt("truncated header".into()));
        }
        Err(e) => return Err(e),
    }
    let header = match ShardHeader::decode(&head) {
        Ok(h) => h,
        Err(e) => return Ok(FileVerdict::Corrupt(e.to_string())),
    };
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; READ_BLOCK];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    if len != header.payload_len {
        return Ok(FileVerdict::Corrupt(format!(
            "{len} payload bytes, the header says {}",
            header.payload_len
        )));
    }
    if *hasher.finalize().as_bytes() != header.hash {
        return Ok(FileVerdict::Corrupt("blake3 mismatch".into()));
    }
    if let Err(e) = f.set_modified(SystemTime::now()) {
        tracing::debug!(path = %path.display(), error = %e, "cannot stamp the verification time");
    }
    Ok(FileVerdict::Ok)
}

/// One node's scrub.
pub struct Scrubber {
    store: Arc<ShardStore>,
    meta: MetaClient,
    node: NodeId,
    heal: Arc<HealState>,
    cfg: ScrubConfig,
    throttle: Throttle,
    bytes_verified_total: u64,
    damaged_found: u64,
}

impl Scrubber {
    pub fn new(
        store: Arc<ShardStore>,
        meta: MetaClient,
        node: NodeId,
        heal: Arc<HealState>,
        cfg: ScrubConfig,
    ) -> Self {
        Self {
            store,
            meta,
            node,
            heal,
            throttle: Throttle::new(cfg.bytes_per_sec),
            cfg,
            bytes_verified_total: 0,
            damaged_found: 0,
        }
    }

    /// Scrubs until the task is dropped.
    pub async fn run(mut self) {
        let root = self.store.root().to_path_buf();
        let mut cur = ScrubCursor::load(&root);
        let mut saved = Instant::now();
        loop {
            if cur.pass_started_ms == 0 {
                let now = now_ms();
                let interval = self.cfg.interval.as_millis() as u64;
                let due = cur.last_pass_finished_ms.saturating_add(interval);
                if cur.last_pass_finished_ms != 0 && now < due {
                    self.publish(&cur);
                    tokio::time::sleep(Duration::from_millis(due - now).min(IDLE_CHECK)).await;
                    continue;
                }
                cur = ScrubCursor {
                    pass_started_ms: now,
                    last_pass_finished_ms: cur.last_pass_finished_ms,
                    pass_bytes_total: self.bytes_on_disk().await,
                    ..Default::default()
                };
                tracing::info!(bytes = cur.pass_bytes_total, "scrub pass started");
                save(&root, &cur);
                saved = Instant::now();
            }
            if let Err(e) = self.step(&mut cur).await {
                tracing::warn!(error = %e, "scrub step failed; retrying");
                tokio::time::sleep(SCRUB_RETRY).await;
            }
            self.publish(&cur);
            if cur.pass_started_ms == 0 || saved.elapsed() >= SCRUB_SAVE_EVERY {
                save(&root, &cur);
                saved = Instant::now();
            }
        }
    }

    fn publish(&self, cur: &ScrubCursor) {
        let p = cairn_rpc::repair_api::ScrubProgress {
            pass_started_ms: cur.pass_started_ms,
            pass_bytes_verified: cur.pass_bytes_verified,
            bytes_total: cur.pass_bytes_total.max(cur.pass_bytes_verified),
            bytes_verified_total: self.bytes_verified_total,
            damaged_found: self.damaged_found,
            bytes_per_sec: self.throttle.rate(),
            last_pass_finished_ms: cur.last_pass_finished_ms,
        };
        let progress = if cur.pass_started_ms == 0 {
            1.0
        } else if cur.pass_bytes_total == 0 {
            f64::from(cur.fan) / f64::from(FANS)
        } else {
            (cur.pass_bytes_verified as f64 / cur.pass_bytes_total as f64).min(1.0)
        };
        metrics::gauge!(METRIC_SCRUB_PROGRESS).set(progress);
        self.heal.set_scrub_progress(p);
    }

    /// Bytes of every shard file now (one listing, no reads).
    async fn bytes_on_disk(&self) -> u64 {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let mut total = 0u64;
            for fan in store.fan_dirs().unwrap_or_default() {
                for s in ShardStore::list_dir(&fan).unwrap_or_default() {
                    total += s.file_len;
                }
            }
            total
        })
        .await
        .unwrap_or(0)
    }

    /// One batch of files, or one page of the missing-piece walk.
    async fn step(&mut self, cur: &mut ScrubCursor) -> Result<(), ScrubError> {
        if cur.fan >= FANS {
            return self.missing_step(cur).await;
        }
        let dir = self.store.fan_path(cur.fan as u8);
        let after = cur.after.clone();
        let batch = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<StoredShard>> {
            let mut files = match ShardStore::list_dir(&dir) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            };
            files.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(files
                .into_iter()
                .filter(|s| {
                    let name = s.id.to_string();
                    after.as_ref().is_none_or(|a| name.as_str() > a.as_str())
                })
                .take(SCRUB_BATCH)
                .collect())
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
        let Some(last) = batch.last() else {
            cur.fan += 1;
            cur.after = None;
            return Ok(());
        };
        let last = last.id.to_string();
        let mut good = Vec::new();
        let mut corrupt = Vec::new();
        let mut bytes = 0u64;
        for s in batch {
            self.throttle.take(s.file_len).await;
            let path = s.path.clone();
            let verdict = tokio::task::spawn_blocking(move || verify_file(&path))
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))??;
            match verdict {
                FileVerdict::Ok => {
                    bytes += s.file_len;
                    good.push((s.id, s.modified));
                }
                FileVerdict::Corrupt(why) => {
                    tracing::error!(shard = %s.id, error = %why, "scrub found a corrupt shard");
                    bytes += s.file_len;
                    corrupt.push(s.id);
                }
                FileVerdict::Gone => {}
            }
        }
        self.report(&corrupt, DamageKind::Corrupt).await?;
        self.trim_surplus(&good).await?;
        cur.after = Some(last);
        cur.pass_bytes_verified += bytes;
        self.bytes_verified_total += bytes;
        metrics::counter!(METRIC_SCRUB_BYTES).increment(bytes);
        Ok(())
    }

    /// Reports damaged pieces to meta (meta ignores pieces it does not
    /// record on this node).
    async fn report(&mut self, ids: &[ShardId], kind: DamageKind) -> Result<(), ScrubError> {
        if ids.is_empty() {
            return Ok(());
        }
        for part in ids.chunks(SCRUB_BATCH) {
            let reports = part
                .iter()
                .map(|shard| DamageReport {
                    node: self.node,
                    shard: *shard,
                    kind,
                })
                .collect();
            self.meta
                .write(&MetaCommand::Reconcile(ReconcileCommand::ReportDamage {
                    reports,
                }))
                .await?;
        }
        self.damaged_found += ids.len() as u64;
        metrics::counter!(METRIC_SCRUB_DAMAGED).increment(ids.len() as u64);
        Ok(())
    }

    /// Deletes the pieces among `ids` that are surplus and safe to drop:
    /// recorded elsewhere, their chunk whole, and both their data version
    /// and their file (as listed) older than the collector's grace; or of a
    /// chunk re-encoded into another more than a grace ago.
    async fn trim_surplus(
        &self,
        files: &[(ShardId, Option<SystemTime>)],
    ) -> Result<(), ScrubError> {
        if files.is_empty() {
            return Ok(());
        }
        let verdicts = self
            .meta
            .read(reads::ShardsOnNode {
                node: self.node,
                shards: files.iter().map(|(id, _)| *id).collect(),
            })
            .await?;
        let grace_ms = self.cfg.grace.as_millis() as u64;
        let now = now_ms();
        let wall = SystemTime::now();
        for ((id, modified), verdict) in files.iter().zip(verdicts) {
            let old_enough = id.version.created_millis().saturating_add(grace_ms) <= now;
            // The file must be as old (written or last verified before the
            // grace, as listed before this pass verified it): a piece a
            // mover wrote just now may have been asked about before its
            // holder's compare-and-swap committed (a stale verdict).
            let file_old = modified
                .and_then(|m| wall.duration_since(m).ok())
                .is_some_and(|age| age >= self.cfg.grace);
            let file = self.store.file_of(id);
            // A piece of a re-encoded chunk: surplus a grace after the swap
            // (a GET that read the old placement just before finds it).
            let retired = match verdict {
                ShardVerdict::Retired { since_ms } => since_ms.saturating_add(grace_ms) <= now,
                _ => false,
            };
            let surplus =
                verdict == (ShardVerdict::Surplus { chunk_full: true }) && old_enough && file_old;
            if (surplus || retired) && !self.heal.is_moving(id) && remove_if_present(&file).await? {
                tracing::info!(shard = %id, retired, "surplus piece trimmed: its chunk is whole elsewhere");
                metrics::counter!(METRIC_SURPLUS_TRIMMED).increment(1);
            }
        }
        Ok(())
    }

    /// One page of the pieces meta records here; those not on disk are
    /// reported missing. The last page ends the pass.
    async fn missing_step(&mut self, cur: &mut ScrubCursor) -> Result<(), ScrubError> {
        let after = cur.after.as_deref().and_then(ShardId::parse);
        let page = self
            .meta
            .read(reads::PiecesOnNode {
                node: self.node,
                after,
                max: MISSING_PAGE,
            })
            .await?;
        let store = self.store.clone();
        let ids = page.clone();
        let missing = tokio::task::spawn_blocking(move || {
            ids.into_iter()
                .filter(|id| !store.file_of(id).exists())
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        for id in &missing {
            tracing::error!(shard = %id, "scrub: a piece meta records here is not on disk");
        }
        self.report(&missing, DamageKind::Missing).await?;
        match page.last() {
            Some(last) if page.len() as u32 >= MISSING_PAGE => {
                cur.after = Some(last.to_string());
            }
            _ => {
                let now = now_ms();
                tracing::info!(
                    bytes = cur.pass_bytes_verified,
                    secs = now.saturating_sub(cur.pass_started_ms) / 1000,
                    "scrub pass finished"
                );
                *cur = ScrubCursor {
                    last_pass_finished_ms: now,
                    pass_bytes_verified: cur.pass_bytes_verified,
                    pass_bytes_total: cur.pass_bytes_total,
                    ..Default::default()
                };
            }
        }
        Ok(())
    }
}

fn save(root: &Path, cur: &ScrubCursor) {
    if let Err(e) = cur.save(root) {
        tracing::warn!(error = %e, "cannot save the scrub position");
    }
}

fn now_ms() -> u64 {
    u64::try_from(cairn_types::now_millis()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use cairn_types::VersionId;

    #[tokio::test]
    async fn verification_finds_rot_in_payload_and_header_and_stamps_good_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ShardStore::open(dir.path()).expect("open");
        let mut ids = Vec::new();
        for i in 0..3u32 {
            let id = ShardId {
                version: VersionId::new_random(),
                part: 0,
                chunk: i,
                piece: 0,
            };
            let data = Bytes::from(vec![i as u8; 50_000]);
            let hash = *blake3::hash(&data).as_bytes();
            store
                .write(
                    &id,
                    1,
                    hash,
                    futures::stream::iter([Ok::<_, std::io::Error>(data)]),
                )
                .await
                .expect("write");
            ids.push(id);
        }
        let old = SystemTime::now() - Duration::from_secs(3600);
        for id in &ids {
            std::fs::File::options()
                .write(true)
                .open(store.file_of(id))
                .and_then(|f| f.set_modified(old))
                .expect("age");
        }
        let flip = |id: &ShardId, at: usize| {
            let p = store.file_of(id);
            let mut raw = std::fs::read(&p).expect("raw");
            raw[at] ^= 0x01;
            std::fs::write(&p, raw).expect("rot");
        };
        flip(&ids[1], SHARD_HEADER_LEN + 20_000);
        flip(&ids[2], 40);
        assert_eq!(
            verify_file(&store.file_of(&ids[0])).expect("0"),
            FileVerdict::Ok
        );
        let stamped = std::fs::metadata(store.file_of(&ids[0]))
            .and_then(|m| m.modified())
            .expect("mtime");
        assert!(stamped > old + Duration::from_secs(3000));
        assert!(matches!(
            verify_file(&store.file_of(&ids[1])).expect("1"),
            FileVerdict::Corrupt(_)
        ));
        assert!(matches!(
            verify_file(&store.file_of(&ids[2])).expect("2"),
            FileVerdict::Corrupt(_)
        ));
        let p = store.file_of(&ids[0]);
        let raw = std::fs::read(&p).expect("raw");
        std::fs::write(&p, &raw[..raw.len() - 1]).expect("truncate");
        assert!(matches!(
            verify_file(&p).expect("short"),
            FileVerdict::Corrupt(_)
        ));
        std::fs::remove_file(&p).expect("rm");
        assert_eq!(verify_file(&p).expect("gone"), FileVerdict::Gone);
    }
}
