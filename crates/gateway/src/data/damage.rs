//! Damage a GET finds, reported to meta: when a node answers that a piece
//! the chunk's record places on it is corrupt or not there (or returns
//! bytes that do not match the record's blake3), the gateway tells meta
//! (`ReconcileCommand::ReportDamage`) so the reconciler rebuilds the piece
//! without waiting for that node's scrub. The report is sent from its own
//! task — it never delays or fails the read — and each (node, piece) is
//! reported at most once per `DAMAGE_REPORT_TTL`, remembering at most
//! `DAMAGE_REPORT_MEMORY` pieces, so a hot damaged object does not flood
//! the Raft log. Meta ignores a report for a piece it does not record on
//! that node (say, one a mover has just replaced).

use cairn_rpc::repair_api::{DamageKind, DamageReport, ReconcileCommand};
use cairn_rpc::{MetaClient, MetaCommand};
use cairn_types::{NodeId, ShardId};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Metric: damaged pieces a gateway reported to meta.
pub const METRIC_DAMAGE_REPORTED: &str = "cairn_gateway_damage_reported_total";
/// Pieces remembered as recently reported (oldest forgotten first).
pub const DAMAGE_REPORT_MEMORY: usize = 4096;
/// A piece is reported again after this long (if it is still damaged, the
/// first report may have been lost, or the piece replaced and damaged anew).
pub const DAMAGE_REPORT_TTL: Duration = Duration::from_secs(300);

/// The pieces reported recently: a bounded map with a time-ordered queue
/// (every entry in the map is in the queue once, oldest first; both hold at
/// most `capacity` entries).
#[derive(Debug)]
pub(super) struct RecentReports {
    capacity: usize,
    ttl: Duration,
    seen: HashMap<(NodeId, ShardId), Instant>,
    order: VecDeque<((NodeId, ShardId), Instant)>,
}

impl RecentReports {
    pub(super) fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether the damage of `shard` on `node` should be reported now;
    /// true also records it as reported at `now`.
    pub(super) fn should_report(&mut self, node: NodeId, shard: ShardId, now: Instant) -> bool {
        // Forget what has expired (the queue is in time order).
        while let Some((key, at)) = self.order.front().copied() {
            if now.saturating_duration_since(at) < self.ttl {
                break;
            }
            self.order.pop_front();
            if self.seen.get(&key) == Some(&at) {
                self.seen.remove(&key);
            }
        }
        let key = (node, shard);
        if self.seen.contains_key(&key) {
            return false;
        }
        while self.seen.len() >= self.capacity {
            let Some((old, at)) = self.order.pop_front() else {
                break;
            };
            if self.seen.get(&old) == Some(&at) {
                self.seen.remove(&old);
            }
        }
        self.seen.insert(key, now);
        self.order.push_back((key, now));
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }
}

/// Sends damage reports to meta, each (node, piece) at most once per TTL.
#[derive(Debug)]
pub(super) struct DamageReporter {
    meta: MetaClient,
    recent: Mutex<RecentReports>,
}

impl DamageReporter {
    pub(super) fn new(meta: MetaClient) -> Self {
        Self {
            meta,
            recent: Mutex::new(RecentReports::new(DAMAGE_REPORT_MEMORY, DAMAGE_REPORT_TTL)),
        }
    }

    /// Reports piece `shard` on `node` damaged (`kind`), in the background,
    /// unless it was reported within `DAMAGE_REPORT_TTL`.
    pub(super) fn report(&self, node: NodeId, shard: ShardId, kind: DamageKind) {
        let fresh = match self.recent.lock() {
            Ok(mut recent) => recent.should_report(node, shard, Instant::now()),
            Err(_) => false, // a panic elsewhere poisoned it: skip, scrub will find it
        };
        if !fresh {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let meta = self.meta.clone();
        runtime.spawn(async move {
            let command = MetaCommand::Reconcile(ReconcileCommand::ReportDamage {
                reports: vec![DamageReport { node, shard, kind }],
            });
            match meta.write(&command).await {
                Ok(_) => {
                    tracing::info!(shard = %shard, node, ?kind, "damaged piece reported to meta");
                    metrics::counter!(METRIC_DAMAGE_REPORTED).increment(1);
                }
                // Not retried before the TTL (meta may be down: a retry per
                // read would pile up); the node's scrub finds it meanwhile.
                Err(e) => {
                    tracing::warn!(shard = %shard, node, error = %e, "reporting a damaged piece failed");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_types::VersionId;

    fn shard(piece: u16) -> ShardId {
        ShardId {
            version: VersionId([3; 16]),
            part: 0,
            chunk: 0,
            piece,
        }
    }

    #[test]
    fn a_piece_is_reported_once_per_ttl() {
        let ttl = Duration::from_secs(60);
        let mut r = RecentReports::new(16, ttl);
        let t0 = Instant::now();
        assert!(r.should_report(1, shard(0), t0));
        assert!(!r.should_report(1, shard(0), t0 + Duration::from_secs(1)));
        assert!(!r.should_report(1, shard(0), t0 + Duration::from_secs(59)));
        // Another node, another piece: separate.
        assert!(r.should_report(2, shard(0), t0 + Duration::from_secs(2)));
        assert!(r.should_report(1, shard(1), t0 + Duration::from_secs(2)));
        // After the TTL, again.
        assert!(r.should_report(1, shard(0), t0 + ttl));
        assert!(!r.should_report(1, shard(0), t0 + ttl + Duration::from_secs(1)));
    }

    #[test]
    fn memory_is_bounded_and_forgets_the_oldest() {
        let mut r = RecentReports::new(3, Duration::from_secs(600));
        let t0 = Instant::now();
        for piece in 0..3 {
            assert!(r.should_report(1, shard(piece), t0));
        }
        assert_eq!(r.len(), 3);
        // A fourth piece pushes out the oldest (piece 0).
        assert!(r.should_report(1, shard(3), t0));
        assert_eq!(r.len(), 3);
        assert!(!r.should_report(1, shard(3), t0));
        assert!(!r.should_report(1, shard(2), t0));
        assert!(r.should_report(1, shard(0), t0), "the oldest was forgotten");
        for piece in 10..1000 {
            r.should_report(1, shard(piece), t0);
        }
        assert_eq!(r.len(), 3);
    }
}
