//! One planning pass of the leader: which chunks need a piece re-created,
//! and where. Chunks are found without scanning every record: the repair
//! candidates (chunks written under width or with damage reported) and the
//! pieces recorded on nodes down longer than `repair.after_down_secs`.
//! Each is judged (`plan::judge`); every lacking piece not already leased
//! becomes a task on a target chosen among the chunk's owners
//! (`plan::choose_target`), or, when every up owner holds a piece, on the
//! holder that lost it, in place (`plan::in_place_target`), or on the next
//! nodes of the partition's entry. Tasks are
//! ordered repair first, most endangered first (the fewest usable pieces
//! beyond the minimum, then the most lacking), moves of misplaced pieces
//! (planned by the rebalance sweep through `plan_chunk`) last.

use super::plan::{
    ChunkState, Judgement, NodeViews, choose_target, in_place_target, judge, owners_of,
};
use super::queue::{Task, WorkQueue, piece_bytes};
use crate::store::chunks::{chunk_record, pieces_on_node};
use crate::store::db::{DbError, MetaDb};
use crate::store::repair_rows::{candidates, damage_of};
use cairn_placement::partition_of;
use cairn_types::{ChunkKey, ChunkRecord, ClusterLayout, MoveReason, NodeId};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

/// Chunks one pass looks at, at most (the rest wait for the next pass).
pub const MAX_CHUNKS_PER_PASS: usize = 100_000;
/// Rows read from a table at a time.
const PAGE: usize = 4096;

/// What a pass found.
#[derive(Debug, Default)]
pub struct Plan {
    /// Tasks to hand out, most endangered first.
    pub tasks: Vec<Task>,
    /// Every lacking (chunk, piece, replaced holder), leased or not.
    pub needed: HashSet<(ChunkKey, u16, Option<NodeId>)>,
    /// Chunks below their minimum: nothing can rebuild them.
    pub unreadable: u64,
    /// Lacking pieces no owner can take now (every up owner holds one).
    pub unplaceable: u64,
    /// Every chunk judged (leases on other chunks are kept as they are).
    pub judged: HashSet<ChunkKey>,
}

/// The chunks to judge: candidates, and what long-down nodes hold.
fn chunks_to_judge(
    db: &MetaDb,
    nodes: &NodeViews,
    after_down: Duration,
) -> Result<BTreeSet<ChunkKey>, DbError> {
    let mut out = BTreeSet::new();
    let mut after = None;
    while out.len() < MAX_CHUNKS_PER_PASS {
        let page = candidates(db, after.as_ref(), PAGE)?;
        out.extend(page.iter().copied());
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(*last),
            _ => break,
        }
    }
    for (id, view) in nodes {
        if view.up || view.silent_for <= after_down {
            continue;
        }
        let mut after = None;
        while out.len() < MAX_CHUNKS_PER_PASS {
            let page = pieces_on_node(db, *id, after.as_ref(), PAGE)?;
            out.extend(page.iter().map(ChunkKey::of_shard));
            match page.last() {
                Some(last) if page.len() == PAGE => after = Some(*last),
                _ => break,
            }
        }
    }
    Ok(out)
}

/// Plans repair from the records as this voter has applied them: the
/// repair needs of the candidates and of what long-down nodes hold (moves
/// of misplaced pieces are planned by the rebalance sweep, `rebalance`).
pub fn plan(
    db: &MetaDb,
    nodes: &NodeViews,
    layout: Option<&ClusterLayout>,
    after_down: Duration,
    queue: &WorkQueue,
) -> Result<Plan, DbError> {
    let mut out = Plan::default();
    let Some(layout) = layout else {
        return Ok(out);
    };
    for key in chunks_to_judge(db, nodes, after_down)? {
        let Some(record) = chunk_record(db, &key)? else {
            continue;
        };
        out.judged.insert(key);
        let damage = damage_of(db, &key)?;
        let owners = owners_of(layout, &key, &record);
        let j = judge(&record, &damage, nodes, Some(owners), after_down);
        if j.state == ChunkState::Misplaced {
            // The sweep plans it (and counts it).
            continue;
        }
        plan_chunk(&mut out, layout, key, &record, &j, nodes, queue);
    }
    out.tasks.sort_by_key(Task::order);
    Ok(out)
}

/// Plans the needs of one judged chunk into `out`: each not already leased
/// becomes a task. A misplaced piece goes to one of the chunk's owners; a
/// lost one to an owner, else in place on its holder (missing or corrupt
/// there, and up), else to the next nodes of the partition's entry.
pub fn plan_chunk(
    out: &mut Plan,
    layout: &ClusterLayout,
    key: ChunkKey,
    record: &ChunkRecord,
    j: &Judgement,
    nodes: &NodeViews,
    queue: &WorkQueue,
) {
    out.judged.insert(key);
    if j.margin < 0 {
        out.unreadable += 1;
        return;
    }
    let owners = owners_of(layout, &key, record);
    let partition = partition_of(&key.shard(0), layout.partitions);
    let entry: &[NodeId] = layout
        .table
        .get(partition as usize)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut taken = queue.taken_for(&key);
    // Needs of one identity (an empty replica slot may lack twice)
    // already leased are left out, as many as are leased.
    let mut leased_left: HashMap<(ChunkKey, u16, Option<NodeId>), usize> = HashMap::new();
    let lacking = j.needs.len() as i64;
    for need in &j.needs {
        let id = (key, need.piece, need.replace);
        out.needed.insert(id);
        let covered = leased_left
            .entry(id)
            .or_insert_with(|| queue.leased(&key, need));
        if *covered > 0 {
            *covered -= 1;
            continue;
        }
        // Owners first; then the holder that lost its copy, in place (a
        // wiped owner gets its pieces back rather than a node past the
        // width, which would make them misplaced, to move again); then
        // the next nodes of the entry.
        let target = if need.reason == MoveReason::Misplaced {
            choose_target(record, &j.sources, owners, nodes, &taken)
        } else {
            choose_target(record, &j.sources, owners, nodes, &taken)
                .or_else(|| in_place_target(need, nodes, &taken))
                .or_else(|| choose_target(record, &j.sources, entry, nodes, &taken))
        };
        let Some(target) = target else {
            out.unplaceable += 1;
            continue;
        };
        taken.insert(target);
        out.tasks.push(Task {
            chunk: key,
            record: record.clone(),
            need: *need,
            target,
            sources: j.sources.clone(),
            margin: j.margin * 1_000 - lacking,
            bytes: piece_bytes(record),
            reencode: None,
        });
    }
}
