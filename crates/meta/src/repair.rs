//! The reconciler on the meta leader: every `repair.plan_interval_ms` the
//! leader plans repair from the chunk records (`reconcile::planner`) and
//! the moves of misplaced pieces after a layout change (the rebalance
//! sweep, `reconcile::rebalance`; repair first) and the re-encodes of
//! buckets whose redundancy changed (`reconcile::reencode`, last), and
//! keeps the tasks in
//! its memory; storage nodes claim tasks
//! (`RepairClaim`), do the moving and commit with a compare-and-swap, or
//! give a task back (`RepairRelease`). Nodes also report their disk
//! identity and scrub (`NodeReport`): a new disk identity is proposed
//! through the log (`ReconcileCommand::DiskIdentity`), which marks every
//! piece recorded on the node missing. Operators read the durability
//! report, the repair and rebalance status (`repair_rebalance.rs`) and one
//! object's placement here. Followers
//! answer `NotLeader`; a new leader starts with an empty queue and plans
//! again at its first pass.

use crate::MetaNode;
use crate::liveness::{LivenessState, require_leader};
use crate::reconcile::plan::{NodeView, NodeViews};
use crate::reconcile::planner::plan;
use crate::reconcile::queue::{Task, WorkKind, WorkQueue};
use crate::reconcile::rebalance::{SWEEP_CHUNKS_PER_PASS, Sweep, SweepContext, sweep};
use crate::reconcile::reencode::{REENCODE_ROWS_PER_PASS, Walks, walk};
use crate::reconcile::report::{durability, inspect};
use crate::store::chunks::chunk_record;
use crate::store::db::{DbError, MetaDb};
use crate::store::layout::state as layout_state;
use crate::store::repair_rows;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use cairn_placement::partition_of;
use cairn_rpc::repair_api::{
    DurabilityReport, InspectRequest, META_DURABILITY_PATH, META_INSPECT_PATH,
    META_NODE_REPORT_PATH, META_REPAIR_CLAIM_PATH, META_REPAIR_RELEASE_PATH,
    META_REPAIR_STATUS_PATH, NodeReport, REENCODE_PIECE, ReconcileCommand, ReencodeOrder,
    RepairClaim, RepairGrant, RepairRelease, RepairStatus, RepairTask, ScrubSummary,
};
use cairn_rpc::sizes::MAX_CONTROL_BYTES;
use cairn_rpc::{Liveness, MetaClient, MetaCommand, MetaError, decode_postcard, postcard_response};
use cairn_types::config::RepairConfig;
use cairn_types::{ChunkKey, ClusterLayout, NodeId, VersionId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Metric: bytes of pieces waiting to be re-created.
pub const METRIC_QUEUED_BYTES: &str = "cairn_repair_queued_bytes";
/// Metric: chunks with a piece waiting to be re-created.
pub const METRIC_QUEUED_CHUNKS: &str = "cairn_repair_queued_chunks";
/// Metric: pieces being re-created (leased to a node).
pub const METRIC_IN_PROGRESS: &str = "cairn_repair_in_progress_pieces";
/// Metric: pieces re-created and committed, and their bytes (from meta).
pub const METRIC_DONE_PIECES: &str = "cairn_repair_done_pieces";
pub const METRIC_DONE_BYTES: &str = "cairn_repair_done_bytes";
/// Metric: the repair rate over the last `RATE_WINDOW` (bytes/s).
pub const METRIC_RATE: &str = "cairn_repair_bytes_per_sec";
/// Metric: chunks by state (label `state`), objects by state.
pub const METRIC_CHUNKS: &str = "cairn_chunks";
pub const METRIC_OBJECTS: &str = "cairn_objects";
/// Window of the repair rate.
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// A released task's target is not planned for that chunk for this long.
const RELEASE_AVOID: Duration = Duration::from_secs(30);
/// A durability report younger than this is answered again.
const REPORT_CACHE: Duration = Duration::from_secs(1);
/// Plan passes between two refreshes of the `cairn_chunks` gauges.
const GAUGE_EVERY_PASSES: u32 = 5;

#[derive(Default)]
struct Inner {
    queue: WorkQueue,
    /// The rebalance sweep, and (when, bytes moved for the epoch) samples.
    sweep: Sweep,
    moved_samples: VecDeque<(Instant, u64)>,
    /// The re-encode walks, by bucket.
    walks: Walks,
    reports: HashMap<NodeId, (Instant, NodeReport)>,
    /// (when, repaired bytes committed so far) samples for the rate.
    samples: VecDeque<(Instant, u64)>,
    report_cache: Option<(Instant, DurabilityReport)>,
    /// Disk identities proposed and not yet seen applied.
    proposed: HashMap<NodeId, u128>,
}

/// The reconciler's state on one voter (used while it leads).
#[derive(Clone)]
pub struct Repair {
    node: MetaNode,
    liveness: LivenessState,
    cfg: RepairConfig,
    meta: MetaClient,
    inner: Arc<Mutex<Inner>>,
}

fn poisoned() -> MetaError {
    MetaError::Internal("repair state poisoned".into())
}

fn db_error(e: DbError) -> MetaError {
    MetaError::Internal(e.to_string())
}

impl Repair {
    pub fn new(
        node: MetaNode,
        liveness: LivenessState,
        cfg: RepairConfig,
        meta: MetaClient,
    ) -> Self {
        Self {
            node,
            liveness,
            cfg,
            meta,
            inner: Arc::new(Mutex::new(Inner::default())),
        }
    }

    fn after_down(&self) -> Duration {
        Duration::from_secs(self.cfg.after_down_secs)
    }

    /// What the leader knows of every registered node.
    async fn views(&self) -> Result<NodeViews, MetaError> {
        let listening = self.liveness.listening_for();
        Ok(self
            .liveness
            .statuses()
            .await?
            .into_iter()
            .map(|s| {
                let silent_for = s.heartbeat_age_ms.map_or(listening, Duration::from_millis);
                (
                    s.record.id,
                    NodeView {
                        addr: s.record.addr,
                        zone: s.record.zone,
                        up: s.liveness == Liveness::Up,
                        silent_for,
                    },
                )
            })
            .collect())
    }

    fn layout(&self) -> Result<Option<ClusterLayout>, MetaError> {
        Ok(layout_state(self.node.db()).map_err(db_error)?.current)
    }

    /// One planning pass (leader only).
    async fn plan_once(&self) -> Result<(), MetaError> {
        let views = self.views().await?;
        let layout = self.layout()?;
        let db = self.node.db().clone();
        let after_down = self.after_down();
        let inner = self.inner.clone();
        let (queued, leased, reencoded) = tokio::task::spawn_blocking(move || {
            // Plan from a snapshot, without holding the queue: claims and
            // status go on meanwhile (`replan_judged` reconciles the two).
            let (leases, mut sweep_state, mut walks) = {
                let g = inner.lock().map_err(|_| poisoned())?;
                (g.queue.leases_only(), g.sweep.clone(), g.walks.clone())
            };
            let mut p =
                plan(&db, &views, layout.as_ref(), after_down, &leases).map_err(db_error)?;
            let moved = repair_rows::rebalanced(&db).map_err(db_error)?;
            let now = Instant::now();
            let mut reencoded = Vec::new();
            if let Some(layout) = &layout {
                let cx = SweepContext {
                    db: &db,
                    nodes: &views,
                    layout,
                    after_down,
                    queue: &leases,
                };
                sweep(
                    &cx,
                    &mut sweep_state,
                    &mut p,
                    SWEEP_CHUNKS_PER_PASS,
                    moved.bytes,
                    now,
                )
                .map_err(db_error)?;
                reencoded =
                    walk(&cx, &mut walks, &mut p, REENCODE_ROWS_PER_PASS).map_err(db_error)?;
                p.tasks.sort_by_key(Task::order);
            }
            if p.unplaceable > 0 || p.unreadable > 0 {
                tracing::debug!(
                    unplaceable = p.unplaceable,
                    unreadable = p.unreadable,
                    "repair plan"
                );
            }
            // A lease on a chunk this pass did not judge ends once its
            // target holds a piece of it (the move committed).
            let mut ended = Vec::new();
            for lease in leases.leases_outside(&p.judged) {
                // A re-encode commits by dropping its chunk's record.
                let reencode = lease.1 == REENCODE_PIECE;
                let committed = chunk_record(&db, &lease.0)
                    .map_err(db_error)?
                    .is_none_or(|r| !reencode && r.holders().iter().any(|(_, n, _)| *n == lease.3));
                if committed {
                    ended.push(lease);
                }
            }
            let (done_pieces, done_bytes) = repair_rows::done(&db).map_err(db_error)?;
            metrics::gauge!(METRIC_DONE_PIECES).set(done_pieces as f64);
            metrics::gauge!(METRIC_DONE_BYTES).set(done_bytes as f64);
            let mut guard = inner.lock().map_err(|_| poisoned())?;
            guard.sweep = sweep_state;
            guard.walks = walks;
            sample(&mut guard.moved_samples, now, moved.bytes);
            for lease in &ended {
                guard.queue.end_lease(lease);
            }
            guard
                .queue
                .replan_judged(p.tasks, &p.needed, Some(&p.judged), Instant::now());
            sample(&mut guard.samples, Instant::now(), done_bytes);
            Ok::<_, MetaError>((guard.queue.queued(), guard.queue.in_progress(), reencoded))
        })
        .await
        .map_err(|e| MetaError::Internal(e.to_string()))??;
        for (bucket, generation) in reencoded {
            let cmd = MetaCommand::Reconcile(ReconcileCommand::ReencodeDone { bucket, generation });
            if let Err(e) = self.meta.write(&cmd).await {
                tracing::debug!(error = %e, "recording a finished re-encode failed");
            }
        }
        metrics::gauge!(METRIC_QUEUED_CHUNKS).set(queued.0 as f64);
        metrics::gauge!(METRIC_QUEUED_BYTES).set(queued.1 as f64);
        metrics::gauge!(METRIC_IN_PROGRESS).set(leased.0 as f64);
        metrics::gauge!(METRIC_RATE).set(self.rate() as f64);
        Ok(())
    }

    /// Committed repair bytes per second over the last `RATE_WINDOW`.
    fn rate(&self) -> u64 {
        self.inner.lock().map_or(0, |g| rate_of(&g.samples))
    }

    /// Runs the plan loop until `stop` completes: a pass every
    /// `plan_interval_ms` while this voter leads.
    pub fn spawn(&self, stop: impl std::future::Future<Output = ()> + Send + 'static) {
        let me = self.clone();
        tokio::spawn(async move {
            let every = Duration::from_millis(me.cfg.plan_interval_ms.max(1));
            let mut passes = 0u32;
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(every) => {}
                }
                if require_leader(&me.node).is_err() {
                    continue;
                }
                if let Err(e) = me.plan_once().await {
                    tracing::debug!(error = %e, "repair planning pass failed");
                    continue;
                }
                me.export_rebalance();
                passes = passes.wrapping_add(1);
                if passes % GAUGE_EVERY_PASSES == 0
                    && let Ok(r) = me.durability().await
                {
                    export_states(&r);
                }
            }
        });
    }

    fn claim(&self, c: &RepairClaim) -> Result<RepairGrant, MetaError> {
        require_leader(&self.node)?;
        let settings = repair_rows::settings(self.node.db()).map_err(db_error)?;
        let rebalance = repair_rows::rebalance_settings(self.node.db()).map_err(db_error)?;
        let lease = Duration::from_secs(self.cfg.lease_secs);
        let layout = self.layout()?;
        let tasks = {
            let mut g = self.inner.lock().map_err(|_| poisoned())?;
            let slots = (c.slots as usize).min(self.cfg.moves_per_node.max(1));
            // Moves and re-encodes follow the rebalance settings.
            g.queue
                .claim_where(c.node, slots, Instant::now(), lease, |t| match t.kind() {
                    WorkKind::Repair => !settings.paused,
                    WorkKind::Move | WorkKind::Reencode => !rebalance.paused,
                })
        };
        let addrs = self.addresses()?;
        Ok(RepairGrant {
            settings,
            rebalance,
            tasks: tasks
                .into_iter()
                .filter_map(|t| wire_task(t, &addrs, layout.as_ref(), lease))
                .collect(),
        })
    }

    /// Node addresses from the registered records.
    fn addresses(&self) -> Result<HashMap<NodeId, String>, MetaError> {
        let nodes = crate::store::db::scan_all::<cairn_rpc::NodeRecord>(
            self.node.db(),
            crate::store::db::CF_NODES,
        )
        .map_err(db_error)?;
        Ok(nodes.into_iter().map(|n| (n.id, n.addr)).collect())
    }

    fn release(&self, r: &RepairRelease) -> Result<(), MetaError> {
        require_leader(&self.node)?;
        tracing::info!(node = r.node, chunk = %r.chunk, piece = r.piece, error = %r.error, "repair task given back");
        let mut g = self.inner.lock().map_err(|_| poisoned())?;
        g.queue
            .release(r.node, r.chunk, r.piece, Instant::now(), RELEASE_AVOID);
        Ok(())
    }

    fn node_report(&self, r: NodeReport) -> Result<(), MetaError> {
        require_leader(&self.node)?;
        let recorded = repair_rows::disk_id(self.node.db(), r.node).map_err(db_error)?;
        let mut g = self.inner.lock().map_err(|_| poisoned())?;
        if recorded != Some(r.disk_id) && g.proposed.get(&r.node) != Some(&r.disk_id) {
            g.proposed.insert(r.node, r.disk_id);
            let meta = self.meta.clone();
            let inner = self.inner.clone();
            let (node, disk_id) = (r.node, r.disk_id);
            tokio::spawn(async move {
                let cmd = MetaCommand::Reconcile(ReconcileCommand::DiskIdentity { node, disk_id });
                if let Err(e) = meta.write(&cmd).await {
                    tracing::warn!(node, error = %e, "recording a disk identity failed");
                    if let Ok(mut g) = inner.lock() {
                        g.proposed.remove(&node);
                    }
                }
            });
        }
        g.reports.insert(r.node, (Instant::now(), r));
        Ok(())
    }

    async fn durability(&self) -> Result<DurabilityReport, MetaError> {
        require_leader(&self.node)?;
        if let Some((at, r)) = &self.inner.lock().map_err(|_| poisoned())?.report_cache
            && at.elapsed() < REPORT_CACHE
        {
            return Ok(r.clone());
        }
        let views = self.views().await?;
        let layout = self.layout()?;
        let db = self.node.db().clone();
        let after_down = self.after_down();
        let mut report = tokio::task::spawn_blocking(move || {
            durability(&db, &views, layout.as_ref(), after_down)
        })
        .await
        .map_err(|e| MetaError::Internal(e.to_string()))?
        .map_err(db_error)?;
        let status = self.status()?;
        report.repair.queued_chunks = status.queued_chunks;
        report.repair.queued_bytes = status.queued_bytes + status.in_progress_bytes;
        report.repair.bytes_per_sec = status.bytes_per_sec;
        report.repair.eta_secs = status.eta_secs;
        report.scrub = self.scrub_summary()?;
        report.computed_at = cairn_types::now_millis();
        self.inner.lock().map_err(|_| poisoned())?.report_cache =
            Some((Instant::now(), report.clone()));
        Ok(report)
    }

    fn scrub_summary(&self) -> Result<ScrubSummary, MetaError> {
        let g = self.inner.lock().map_err(|_| poisoned())?;
        let mut s = ScrubSummary::default();
        for (_, r) in g.reports.values() {
            let p = &r.scrub;
            s.bytes_verified += p.bytes_verified_total;
            s.damaged_found += p.damaged_found;
            if p.pass_started_ms > 0
                && (s.pass_started_ms == 0 || p.pass_started_ms < s.pass_started_ms)
            {
                s.pass_started_ms = p.pass_started_ms;
            }
            if p.bytes_per_sec > 0 {
                let left = p.bytes_total.saturating_sub(p.pass_bytes_verified) / p.bytes_per_sec;
                s.pass_eta_secs = Some(s.pass_eta_secs.map_or(left, |e| e.max(left)));
            }
        }
        Ok(s)
    }

    fn status(&self) -> Result<RepairStatus, MetaError> {
        require_leader(&self.node)?;
        let settings = repair_rows::settings(self.node.db()).map_err(db_error)?;
        let (done_chunks, done_bytes) = repair_rows::done(self.node.db()).map_err(db_error)?;
        let ((queued_chunks, queued_bytes), (in_progress_chunks, in_progress_bytes)) = {
            let g = self.inner.lock().map_err(|_| poisoned())?;
            (g.queue.queued(), g.queue.in_progress())
        };
        let bytes_per_sec = self.rate();
        let left = queued_bytes + in_progress_bytes;
        Ok(RepairStatus {
            queued_chunks,
            queued_bytes,
            in_progress_chunks,
            in_progress_bytes,
            done_chunks,
            done_bytes,
            bytes_per_sec,
            eta_secs: (bytes_per_sec > 0 && left > 0).then(|| left.div_ceil(bytes_per_sec)),
            settings,
        })
    }

    async fn inspect(
        &self,
        req: InspectRequest,
    ) -> Result<Option<cairn_rpc::repair_api::ObjectInspect>, MetaError> {
        require_leader(&self.node)?;
        let views = self.views().await?;
        let layout = self.layout()?;
        let db: MetaDb = self.node.db().clone();
        let after_down = self.after_down();
        tokio::task::spawn_blocking(move || inspect(&db, &req, &views, layout.as_ref(), after_down))
            .await
            .map_err(|e| MetaError::Internal(e.to_string()))?
            .map_err(db_error)?
    }

    /// The reconciler's routes on a voter.
    pub fn routes(&self) -> Router {
        use cairn_rpc::auth::allow;
        use cairn_rpc::tls::PeerRole::{Admin, Meta, Node};
        // Movers (storage nodes) claim, release and report; operators read.
        const MOVERS: &[cairn_rpc::tls::PeerRole] = &[Node];
        const READERS: &[cairn_rpc::tls::PeerRole] = &[Admin, Meta];
        let limit = || DefaultBodyLimit::max(MAX_CONTROL_BYTES);
        let movers = || allow(MOVERS);
        let readers = || allow(READERS);
        Router::new()
            .route(
                META_REPAIR_CLAIM_PATH,
                post(claim_route).layer(limit()).route_layer(movers()),
            )
            .route(
                META_REPAIR_RELEASE_PATH,
                post(release_route).layer(limit()).route_layer(movers()),
            )
            .route(
                META_NODE_REPORT_PATH,
                post(report_route).layer(limit()).route_layer(movers()),
            )
            .route(
                META_DURABILITY_PATH,
                post(durability_route).layer(limit()).route_layer(readers()),
            )
            .route(
                META_REPAIR_STATUS_PATH,
                post(status_route).layer(limit()).route_layer(readers()),
            )
            .route(
                META_INSPECT_PATH,
                post(inspect_route).layer(limit()).route_layer(readers()),
            )
            .route(
                META_REBALANCE_STATUS_PATH,
                post(rebalance_status_route)
                    .layer(limit())
                    .route_layer(readers()),
            )
            .with_state(self.clone())
    }
}

/// Adds a sample of a growing counter, keeping `RATE_WINDOW` of them (a
/// counter that went down, restarted for a new epoch, starts afresh). An
/// idle stretch before the counter started growing is dropped but for its
/// last sample, so a rate is measured from when the work began.
fn sample(samples: &mut VecDeque<(Instant, u64)>, now: Instant, value: u64) {
    if samples.back().is_some_and(|(_, v)| *v > value) {
        samples.clear();
    }
    samples.push_back((now, value));
    while samples
        .front()
        .is_some_and(|(at, _)| now.duration_since(*at) > RATE_WINDOW)
    {
        samples.pop_front();
    }
    while samples.len() > 2 && samples[0].1 == samples[1].1 {
        samples.pop_front();
    }
}

/// The counter's growth per second over the samples.
fn rate_of(samples: &VecDeque<(Instant, u64)>) -> u64 {
    match (samples.front(), samples.back()) {
        (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => {
            let secs = t1.duration_since(*t0).as_secs_f64();
            ((b1.saturating_sub(*b0)) as f64 / secs) as u64
        }
        _ => 0,
    }
}

/// Sets the `cairn_chunks` / `cairn_objects` gauges from a report.
fn export_states(r: &DurabilityReport) {
    for (state, c) in [
        ("healthy", r.healthy),
        ("misplaced", r.misplaced),
        ("degraded", r.degraded),
        ("at_risk", r.at_risk),
        ("unreadable", r.unreadable),
    ] {
        metrics::gauge!(METRIC_CHUNKS, "state" => state).set(c.chunks as f64);
        metrics::gauge!(METRIC_OBJECTS, "state" => state).set(c.objects as f64);
    }
}

#[path = "repair_rebalance.rs"]
mod rebalance;
use cairn_rpc::rebalance_api::META_REBALANCE_STATUS_PATH;
use rebalance::rebalance_status_route;

/// A task as a mover receives it; a re-encode gets its new chunk key (a
/// version minted now, so newer than any collector's horizon) and that
/// key's owners in the current layout (None: the layout cannot place it;
/// its lease runs out).
fn wire_task(
    t: Task,
    addrs: &HashMap<NodeId, String>,
    layout: Option<&ClusterLayout>,
    lease: Duration,
) -> Option<RepairTask> {
    let reencode = match &t.reencode {
        None => None,
        Some(work) => {
            let layout = layout?;
            let new = ChunkKey {
                version: VersionId::new_random(),
                ..t.chunk
            };
            let width = work.redundancy.width();
            let partition = partition_of(&new.shard(0), layout.partitions);
            let owners = layout.nodes_for_partition(partition, width);
            let targets: Vec<(NodeId, String)> = owners
                .iter()
                .filter_map(|n| addrs.get(n).map(|a| (*n, a.clone())))
                .collect();
            if targets.len() < width {
                return None;
            }
            Some(ReencodeOrder {
                bucket: work.bucket.clone(),
                manifest: work.manifest,
                offset: work.offset,
                new,
                redundancy: work.redundancy,
                targets,
            })
        }
    };
    Some(RepairTask {
        chunk: t.chunk,
        record: t.record,
        piece: t.need.piece,
        replace: t.need.replace,
        reason: t.need.reason,
        sources: t
            .sources
            .into_iter()
            .filter_map(|(p, n)| addrs.get(&n).map(|a| (p, n, a.clone())))
            .collect(),
        lease_ms: lease.as_millis() as u64,
        reencode,
    })
}

fn decode<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    decode_postcard(body).map_err(|e| (StatusCode::BAD_REQUEST, e).into_response())
}

async fn claim_route(State(r): State<Repair>, body: Bytes) -> Response {
    match decode::<RepairClaim>(&body) {
        Ok(c) => postcard_response(&r.claim(&c)),
        Err(resp) => resp,
    }
}

async fn release_route(State(r): State<Repair>, body: Bytes) -> Response {
    match decode::<RepairRelease>(&body) {
        Ok(c) => postcard_response(&r.release(&c)),
        Err(resp) => resp,
    }
}

async fn report_route(State(r): State<Repair>, body: Bytes) -> Response {
    match decode::<NodeReport>(&body) {
        Ok(c) => postcard_response(&r.node_report(c)),
        Err(resp) => resp,
    }
}

async fn durability_route(State(r): State<Repair>) -> Response {
    postcard_response(&r.durability().await)
}

async fn status_route(State(r): State<Repair>) -> Response {
    postcard_response(&r.status())
}

async fn inspect_route(State(r): State<Repair>, body: Bytes) -> Response {
    match decode::<InspectRequest>(&body) {
        Ok(q) => postcard_response(&r.inspect(q).await),
        Err(resp) => resp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_counts_from_when_the_work_began() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut samples = VecDeque::new();
        for s in 0..30 {
            sample(&mut samples, at(s), 0);
        }
        assert_eq!(rate_of(&samples), 0);
        sample(&mut samples, at(30), 100);
        sample(&mut samples, at(31), 200);
        assert_eq!(rate_of(&samples), 100, "not averaged over the idle 30 s");
        // Idle again: the rate decays over the window.
        sample(&mut samples, at(33), 200);
        assert_eq!(rate_of(&samples), 50);
        // A counter restarted (a new epoch) starts afresh.
        sample(&mut samples, at(34), 0);
        assert_eq!(rate_of(&samples), 0);
    }
}
