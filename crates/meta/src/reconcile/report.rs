//! What operators read about durability: every chunk judged and counted in
//! its state (an object counts in the worst state of its chunks), and one
//! object version's placement, chunk by chunk (`inspect`). Both read the
//! records as this voter applied them and take the node views from the
//! leader.

use super::plan::{ChunkState, NodeViews, judge, owners_of};
use crate::query::run_query;
use crate::store::chunks::{chunk_record, for_each_object_chunk, object_chunks, scan_records};
use crate::store::db::{DbError, MetaDb};
use crate::store::repair_rows::damage_of;
use cairn_rpc::repair_api::{
    ChunkInspect, DurabilityReport, InspectRequest, ObjectInspect, PieceInspect, StateCount,
};
use cairn_rpc::{MetaError, MetaQuery, QueryResult, VersionLookup};
use cairn_types::{ChunkKey, ClusterLayout, ObjectData, ObjectVersionId, VersionId};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Records read at a time while counting.
const PAGE: usize = 4096;
/// Chunks one inspect answer describes at most.
pub const MAX_INSPECT_CHUNKS: u32 = 256;

fn add(c: &mut StateCount, chunks: u64, objects: u64, bytes: u64) {
    c.chunks += chunks;
    c.objects += objects;
    c.bytes += bytes;
}

fn count_of(r: &mut DurabilityReport, state: ChunkState) -> &mut StateCount {
    match state {
        ChunkState::Healthy => &mut r.healthy,
        ChunkState::Misplaced => &mut r.misplaced,
        ChunkState::Degraded(_) => &mut r.degraded,
        ChunkState::AtRisk => &mut r.at_risk,
        ChunkState::Unreadable => &mut r.unreadable,
    }
}

/// Counts every chunk (and every object version, by its worst chunk) in its
/// state. The repair and scrub parts are the caller's.
pub fn durability(
    db: &MetaDb,
    nodes: &NodeViews,
    layout: Option<&ClusterLayout>,
    after_down: Duration,
) -> Result<DurabilityReport, DbError> {
    let mut report = DurabilityReport::default();
    let mut by_missing: BTreeMap<u32, StateCount> = BTreeMap::new();
    let mut states: HashMap<ChunkKey, ChunkState> = HashMap::new();
    let mut after = None;
    loop {
        let page = scan_records(db, after.as_ref(), PAGE)?;
        for (key, record) in &page {
            let damage = damage_of(db, key)?;
            let j = judge(
                record,
                &damage,
                nodes,
                layout.map(|l| owners_of(l, key, record)),
                after_down,
            );
            add(count_of(&mut report, j.state), 1, 0, record.chunk.len);
            if let ChunkState::Degraded(n) = j.state {
                add(by_missing.entry(n).or_default(), 1, 0, record.chunk.len);
            }
            states.insert(*key, j.state);
        }
        match page.last() {
            Some((last, _)) if page.len() == PAGE => after = Some(*last),
            _ => break,
        }
    }
    // Each object version in the worst state of its chunks.
    let mut worst: HashMap<VersionId, ChunkState> = HashMap::new();
    for_each_object_chunk(db, |manifest, row| {
        if let Some(s) = states.get(&row.key) {
            let w = worst.entry(manifest).or_insert(*s);
            if s.severity() > w.severity() {
                *w = *s;
            }
        }
    })?;
    for state in worst.values() {
        add(count_of(&mut report, *state), 0, 1, 0);
        if let ChunkState::Degraded(n) = state {
            add(by_missing.entry(*n).or_default(), 0, 1, 0);
        }
    }
    report.degraded_by_missing = by_missing.into_iter().collect();
    Ok(report)
}

/// One object version's chunks from `req.first_chunk` on (at most
/// `MAX_INSPECT_CHUNKS`), each piece with its state; None when there is no
/// such object version.
pub fn inspect(
    db: &MetaDb,
    req: &InspectRequest,
    nodes: &NodeViews,
    layout: Option<&ClusterLayout>,
    after_down: Duration,
) -> Result<Result<Option<ObjectInspect>, MetaError>, DbError> {
    let version = match req.version_id.as_deref() {
        None => None,
        Some(v) => match ObjectVersionId::parse(v) {
            Some(v) => Some(v),
            None => {
                return Ok(Err(MetaError::InvalidRequest(format!(
                    "bad version id {v}"
                ))));
            }
        },
    };
    let query = MetaQuery::GetObjectVersion {
        bucket: req.bucket.clone(),
        key: req.key.clone(),
        version,
    };
    let lookup = match run_query(db, &query) {
        Ok(QueryResult::ObjectVersion(l)) => l,
        Ok(_) => return Ok(Err(MetaError::Internal("unexpected answer".into()))),
        Err(MetaError::NoSuchBucket) => return Ok(Ok(None)),
        Err(e) => return Ok(Err(e)),
    };
    let VersionLookup::Object {
        manifest,
        version_id,
        ..
    } = lookup
    else {
        return Ok(Ok(None));
    };
    let (mut codec, total_chunks) = match &manifest.data {
        ObjectData::Inline(_) => (None, 0),
        ObjectData::Chunked { codec, chunks } => (Some(*codec), chunks.len() as u64),
        ObjectData::Placed { codec, chunks } => (Some(*codec), *chunks),
    };
    let max = req.max_chunks.clamp(1, MAX_INSPECT_CHUNKS) as usize;
    let mut chunks = Vec::new();
    let rows = object_chunks(
        db,
        &manifest.version,
        0,
        u64::MAX,
        (req.first_chunk as usize).saturating_add(max),
    )?;
    for (offset, row) in rows.into_iter().skip(req.first_chunk as usize) {
        let Some(record) = chunk_record(db, &row.key)? else {
            continue;
        };
        // The codec its chunks are stored with now (the manifest keeps the
        // one it was written with; a re-encode changes the chunks).
        if chunks.is_empty() {
            codec = Some(record.codec);
        }
        let damage = damage_of(db, &row.key)?;
        let j = judge(
            &record,
            &damage,
            nodes,
            layout.map(|l| owners_of(l, &row.key, &record)),
            after_down,
        );
        let mut pieces: Vec<PieceInspect> = j
            .pieces
            .iter()
            .map(|(piece, node, state)| PieceInspect {
                piece: *piece,
                node: Some(*node),
                zone: nodes.get(node).map(|v| v.zone.clone()),
                state: *state,
                last_verified_ms: None,
            })
            .collect();
        if record.chunk.data_pieces > 0 {
            for (i, slot) in record.chunk.pieces.iter().enumerate() {
                if slot.is_none() {
                    pieces.push(PieceInspect {
                        piece: i as u16,
                        node: None,
                        zone: None,
                        state: cairn_rpc::repair_api::PieceState::Missing,
                        last_verified_ms: None,
                    });
                }
            }
            pieces.sort_by_key(|p| p.piece);
        }
        chunks.push(ChunkInspect {
            offset,
            key: row.key,
            len: row.len,
            width: record.width,
            min_pieces: u8::try_from(record.min_pieces()).unwrap_or(u8::MAX),
            pieces,
            history: record.history.clone(),
        });
    }
    Ok(Ok(Some(ObjectInspect {
        bucket: req.bucket.clone(),
        key: req.key.clone(),
        version_id: version_id.map_or_else(|| "null".to_string(), |v| v.to_string()),
        size: manifest.size,
        codec,
        total_chunks,
        chunks,
    })))
}
