//! The re-encode walk: after `cairn admin bucket set-redundancy`, the
//! chunks of the bucket stored otherwise than its redundancy says are
//! re-encoded. Chunk records do not know their bucket, so the leader walks
//! the bucket's manifests (current objects, then versions) with a cursor,
//! at most `REENCODE_ROWS_PER_PASS` chunk rows per plan pass, and plans a
//! task for each such chunk whose pieces are all usable (a degraded one is
//! repaired first): the mover reads the chunk, encodes it anew under a key
//! minted at the claim, writes every piece to the new key's owners and
//! commits the swap (`ReconcileCommand::ReencodeChunk`). Uploads in
//! progress are not walked: their parts keep their shape, and the object
//! they complete marks the bucket again. A walk that began at the bucket's
//! generation and ends having found nothing proves it re-encoded
//! (`ReencodeDone`).

use super::plan::{ChunkState, Need, NodeViews, judge, owners_of};
use super::planner::Plan;
use super::queue::{ReencodeWork, Task};
use super::rebalance::SweepContext;
use crate::store::chunks::{chunk_record, object_chunks};
use crate::store::db::{CF_OBJECT_VERSIONS, CF_OBJECTS, DbError, decode};
use crate::store::keys::bucket_prefix;
use crate::store::object_versions::{StoredVersion, VersionEntry};
use crate::store::reencode_rows::{ReencodeState, reencoding};
use crate::store::repair_rows::damage_of;
use cairn_rpc::repair_api::REENCODE_PIECE;
use cairn_types::{MoveReason, NodeId, ObjectData, ObjectManifest, Redundancy, VersionId};
use std::collections::{BTreeMap, HashSet};

/// Chunk rows one plan pass looks at for re-encoding, at most (a manifest
/// is looked at whole).
pub const REENCODE_ROWS_PER_PASS: usize = 20_000;
/// Re-encode tasks one plan pass queues, at most.
pub const REENCODE_TASKS_PER_PASS: usize = 2_000;

/// Which table of the bucket the walk is in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Phase {
    #[default]
    Objects,
    Versions,
}

/// A finished walk of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Walked {
    /// Chunks (and their bytes) found stored the old way.
    pub chunks: u64,
    pub bytes: u64,
    /// The bucket's re-encoded counters when the walk ended.
    pub reencoded_chunks: u64,
    pub reencoded_bytes: u64,
}

/// Where the walk of one bucket is (the leader's soft state).
#[derive(Debug, Clone, Default)]
pub struct BucketWalk {
    /// The generation the walk under way began at.
    pub generation: u64,
    phase: Phase,
    /// The last table key visited (None: from the bucket's start).
    after: Option<Vec<u8>>,
    /// Found by the walk under way.
    pub chunks: u64,
    pub bytes: u64,
    /// The last complete walk.
    pub last: Option<Walked>,
}

/// Every bucket being walked, by name.
pub type Walks = BTreeMap<String, BucketWalk>;

/// One pass of the walks: up to `budget` chunk rows over the buckets being
/// re-encoded, planning tasks into `out`. Answers the buckets a complete
/// walk proved re-encoded, with the generation it began at.
pub fn walk(
    cx: &SweepContext,
    walks: &mut Walks,
    out: &mut Plan,
    budget: usize,
) -> Result<Vec<(String, u64)>, DbError> {
    let buckets = reencoding(cx.db)?;
    walks.retain(|name, _| buckets.iter().any(|(b, _)| b == name));
    let mut left = budget;
    let mut planned = HashSet::new();
    let mut done = Vec::new();
    for (bucket, state) in &buckets {
        let w = walks.entry(bucket.clone()).or_default();
        if w.generation != state.generation {
            *w = BucketWalk {
                generation: state.generation,
                ..BucketWalk::default()
            };
        }
        if left == 0 {
            break;
        }
        let complete = walk_bucket(cx, bucket, state, w, out, &mut left, &mut planned)?;
        if complete {
            w.last = Some(Walked {
                chunks: w.chunks,
                bytes: w.bytes,
                reencoded_chunks: state.chunks,
                reencoded_bytes: state.bytes,
            });
            if w.chunks == 0 {
                done.push((bucket.clone(), w.generation));
            }
            w.chunks = 0;
            w.bytes = 0;
        }
    }
    Ok(done)
}

/// Walks one bucket from its cursor while `left` lasts; answers whether
/// the walk reached the bucket's end.
fn walk_bucket(
    cx: &SweepContext,
    bucket: &str,
    state: &ReencodeState,
    w: &mut BucketWalk,
    out: &mut Plan,
    left: &mut usize,
    planned: &mut HashSet<cairn_types::ChunkKey>,
) -> Result<bool, DbError> {
    let prefix = bucket_prefix(bucket);
    loop {
        let table = match w.phase {
            Phase::Objects => CF_OBJECTS,
            Phase::Versions => CF_OBJECT_VERSIONS,
        };
        let mut it = cx.db.db.raw_iterator_cf(cx.db.cf(table)?);
        match &w.after {
            Some(a) => {
                it.seek(a);
                if it.key() == Some(a.as_slice()) {
                    it.next();
                }
            }
            None => it.seek(&prefix),
        }
        let mut ended = true;
        while let Some((k, v)) = it.item() {
            if !k.starts_with(&prefix) {
                break;
            }
            if *left == 0 {
                ended = false;
                break;
            }
            let manifest = match w.phase {
                Phase::Objects => Some(decode::<ObjectManifest>(v)?),
                Phase::Versions => match decode::<StoredVersion>(v)?.entry {
                    VersionEntry::Object { manifest, .. } => Some(manifest),
                    _ => None,
                },
            };
            if let Some(m) = manifest
                && matches!(m.data, ObjectData::Placed { .. })
            {
                let job = Job {
                    bucket,
                    redundancy: state.redundancy,
                    manifest: m.version,
                };
                visit_manifest(cx, &job, w, out, left, planned)?;
            }
            w.after = Some(k.to_vec());
            it.next();
        }
        it.status()?;
        if !ended {
            return Ok(false);
        }
        w.after = None;
        match w.phase {
            Phase::Objects => w.phase = Phase::Versions,
            Phase::Versions => {
                w.phase = Phase::Objects;
                return Ok(true);
            }
        }
    }
}

/// The manifest a walk looks at.
struct Job<'a> {
    bucket: &'a str,
    redundancy: Redundancy,
    manifest: VersionId,
}

/// Counts and plans the chunks of one manifest stored otherwise than
/// `job.redundancy` says.
fn visit_manifest(
    cx: &SweepContext,
    job: &Job,
    w: &mut BucketWalk,
    out: &mut Plan,
    left: &mut usize,
    planned: &mut HashSet<cairn_types::ChunkKey>,
) -> Result<(), DbError> {
    for (offset, row) in object_chunks(cx.db, &job.manifest, 0, u64::MAX, usize::MAX)? {
        *left = left.saturating_sub(1);
        let Some(record) = chunk_record(cx.db, &row.key)? else {
            continue;
        };
        if job.redundancy.describes(&record) {
            continue;
        }
        w.chunks += 1;
        w.bytes += record.chunk.len;
        let need = (row.key, REENCODE_PIECE, None);
        out.needed.insert(need);
        // Once per chunk (a versioned object's row and its version row
        // name the same manifest), and not while anything is leased on it.
        if planned.len() >= REENCODE_TASKS_PER_PASS
            || planned.contains(&row.key)
            || !cx.queue.taken_for(&row.key).is_empty()
        {
            continue;
        }
        let damage = damage_of(cx.db, &row.key)?;
        let owners = owners_of(cx.layout, &row.key, &record);
        let j = judge(&record, &damage, cx.nodes, Some(owners), cx.after_down);
        if !matches!(j.state, ChunkState::Healthy | ChunkState::Misplaced) {
            continue;
        }
        let Some(target) = mover_for(&row.key, &j.sources, cx.nodes) else {
            continue;
        };
        planned.insert(row.key);
        out.tasks.push(Task {
            chunk: row.key,
            record: record.clone(),
            need: Need {
                piece: REENCODE_PIECE,
                replace: None,
                reason: MoveReason::Reencoded,
            },
            target,
            sources: j.sources.clone(),
            margin: i64::MAX,
            bytes: record.chunk.len,
            reencode: Some(ReencodeWork {
                bucket: job.bucket.to_string(),
                manifest: job.manifest,
                offset,
                redundancy: job.redundancy,
            }),
        });
    }
    Ok(())
}

/// The node that re-encodes a chunk: one of its holders that is up (it
/// reads a piece from its own disk), spread over the holders by chunk.
fn mover_for(
    key: &cairn_types::ChunkKey,
    sources: &[(u16, NodeId)],
    nodes: &NodeViews,
) -> Option<NodeId> {
    let mut up: Vec<NodeId> = sources
        .iter()
        .map(|(_, n)| *n)
        .filter(|n| nodes.get(n).is_some_and(|v| v.up))
        .collect();
    up.sort_unstable();
    up.dedup();
    if up.is_empty() {
        return None;
    }
    let spread = (key.chunk as usize) ^ usize::from(key.version.0[15]);
    Some(up[spread % up.len()])
}

#[cfg(test)]
#[path = "reencode_tests.rs"]
mod tests;
