//! `cairn admin object inspect BUCKET KEY`: one object version's placement,
//! chunk by chunk, as the meta leader judges it — each piece's node, zone and
//! state (`ok`, `missing`, `corrupt`, `on_down_node`, `surplus`) and the
//! chunk's recent holder changes — with, from each holder, when its scrub
//! last verified the piece. Meta answers `MAX_INSPECT_CHUNKS` chunks at a
//! time; the pages are read in order with the version pinned after the
//! first, and the holders are asked at most `STATUS_IN_FLIGHT` at a time.

use super::units::{age, human_bytes};
use cairn_meta::reconcile::report::MAX_INSPECT_CHUNKS;
use cairn_rpc::meta_reads as reads;
use cairn_rpc::repair_api::{InspectRequest, ObjectInspect};
use cairn_rpc::{MetaClient, MetaError, ShardClient, ShardError};
use cairn_types::{CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, NodeId, ShardId};
use clap::Subcommand;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use tokio::task::JoinSet;

/// Shard status requests to storage nodes in flight at once.
pub const STATUS_IN_FLIGHT: usize = 32;

#[derive(Subcommand)]
pub enum AdminObjectCommand {
    /// One object's placement, chunk by chunk: each piece's node, zone and
    /// state (ok, missing, corrupt, on_down_node, surplus), when the node's
    /// scrub last verified it, and the chunk's recent repairs.
    Inspect {
        /// A config file of the cluster (any role's).
        #[arg(long)]
        config: PathBuf,
        bucket: String,
        key: String,
        /// A version of the object [default: the current one].
        #[arg(long)]
        version_id: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The whole placement of `bucket`/`key` (its current version, or
/// `version_id`), every page of chunks; an error when there is no such
/// object version.
pub async fn fetch(
    meta: &MetaClient,
    bucket: &str,
    key: &str,
    version_id: Option<String>,
) -> anyhow::Result<ObjectInspect> {
    let missing = || {
        let version = version_id
            .as_deref()
            .map(|v| format!(" version {v}"))
            .unwrap_or_default();
        anyhow::anyhow!("no object {key:?}{version} in bucket {bucket:?}")
    };
    let mut request = InspectRequest {
        bucket: bucket.to_string(),
        key: key.to_string(),
        version_id: version_id.clone(),
        first_chunk: 0,
        max_chunks: MAX_INSPECT_CHUNKS,
    };
    let mut whole: Option<ObjectInspect> = None;
    loop {
        let page = match meta.call(&request).await {
            Ok(Some(page)) => page,
            Ok(None) | Err(MetaError::NoSuchKey | MetaError::NoSuchBucket) => {
                return Err(match whole {
                    None => missing(),
                    Some(_) => {
                        anyhow::anyhow!("{bucket}/{key} was deleted while it was being inspected")
                    }
                });
            }
            Err(e) => return Err(e.into()),
        };
        request.first_chunk = request
            .first_chunk
            .saturating_add(u64::from(MAX_INSPECT_CHUNKS));
        let total = page.total_chunks;
        match &mut whole {
            None => {
                // Later pages read this version, even if a newer one lands.
                request.version_id = Some(page.version_id.clone());
                whole = Some(page);
            }
            Some(w) => w.chunks.extend(page.chunks),
        }
        if request.first_chunk >= total {
            break;
        }
    }
    whole.ok_or_else(missing)
}

/// Asks each piece's holder when its scrub last verified the piece and
/// fills `last_verified_ms`. Holders not in `addrs`, or that do not answer,
/// are left unknown (None) and returned; each is asked at most once more
/// after its first failure (the requests already in flight).
pub async fn fill_last_verified(
    shards: &ShardClient,
    addrs: &HashMap<NodeId, String>,
    inspect: &mut ObjectInspect,
) -> HashSet<NodeId> {
    let mut wanted: Vec<(usize, usize, NodeId, ShardId)> = Vec::new();
    for (c, chunk) in inspect.chunks.iter().enumerate() {
        for (p, piece) in chunk.pieces.iter().enumerate() {
            if let Some(node) = piece.node {
                wanted.push((c, p, node, chunk.key.shard(piece.piece)));
            }
        }
    }
    let mut failed: HashSet<NodeId> = HashSet::new();
    let mut tasks: JoinSet<(usize, usize, NodeId, Result<Option<u64>, ShardError>)> =
        JoinSet::new();
    let mut queue = wanted.into_iter();
    loop {
        while tasks.len() < STATUS_IN_FLIGHT {
            let Some((c, p, node, id)) = queue.next() else {
                break;
            };
            if failed.contains(&node) {
                continue;
            }
            let Some(addr) = addrs.get(&node).cloned() else {
                failed.insert(node);
                continue;
            };
            let shards = shards.clone();
            tasks.spawn(async move {
                let answer = shards.status(&addr, &id).await;
                (
                    c,
                    p,
                    node,
                    answer.map(|s| s.and_then(|s| s.last_verified_ms)),
                )
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let Ok((c, p, node, answer)) = joined else {
            continue;
        };
        match answer {
            Ok(verified) => {
                if let Some(piece) = inspect
                    .chunks
                    .get_mut(c)
                    .and_then(|ch| ch.pieces.get_mut(p))
                {
                    piece.last_verified_ms = verified;
                }
            }
            Err(ShardError::Rpc(_)) => {
                failed.insert(node);
            }
            // Corrupt or gone: nothing verified to report.
            Err(_) => {}
        }
    }
    failed
}

/// The addresses of the registered nodes.
pub async fn node_addrs(meta: &MetaClient) -> anyhow::Result<HashMap<NodeId, String>> {
    Ok(meta
        .read(reads::ListNodes {})
        .await?
        .into_iter()
        .map(|n| (n.id, n.addr))
        .collect())
}

fn codec_name(codec: Option<u16>) -> String {
    match codec {
        None => "inline (stored in meta, no chunks)".into(),
        Some(CODEC_REPLICATION_V1) => "replication".into(),
        Some(CODEC_RS_GF256_V1) => "reed-solomon (erasure coded)".into(),
        Some(other) => format!("codec {other}"),
    }
}

/// A moment (ms since the epoch) as RFC 3339 in UTC, to the second.
fn timestamp(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

fn node_text(node: Option<NodeId>) -> String {
    node.map_or_else(|| "-".into(), |n| n.to_string())
}

/// The text of `cairn admin object inspect`; pieces on `unknown` nodes show
/// their last verification as unknown.
pub fn render(o: &ObjectInspect, unknown: &HashSet<NodeId>, now_ms: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "object   {}/{}", o.bucket, o.key);
    let _ = writeln!(out, "version  {}", o.version_id);
    let _ = writeln!(out, "size     {} ({} bytes)", human_bytes(o.size), o.size);
    let _ = writeln!(out, "codec    {}", codec_name(o.codec));
    let _ = writeln!(out, "chunks   {}", o.total_chunks);
    for c in &o.chunks {
        let _ = writeln!(
            out,
            "\nchunk {}  offset {}  len {} ({} bytes)  width {}  min {}",
            c.key,
            c.offset,
            human_bytes(c.len),
            c.len,
            c.width,
            c.min_pieces
        );
        let _ = writeln!(
            out,
            "  {:<6} {:<6} {:<12} {:<13} {}",
            "piece", "node", "zone", "state", "last verified"
        );
        for p in &c.pieces {
            let verified = match p.node {
                Some(n) if unknown.contains(&n) && p.last_verified_ms.is_none() => {
                    "unknown (node did not answer)".to_string()
                }
                _ => age(p.last_verified_ms, now_ms),
            };
            let _ = writeln!(
                out,
                "  {:<6} {:<6} {:<12} {:<13} {verified}",
                p.piece,
                node_text(p.node),
                p.zone.as_deref().unwrap_or("-"),
                p.state.to_string(),
            );
        }
        if !c.history.is_empty() {
            let _ = writeln!(out, "  history:");
            for e in &c.history {
                let _ = writeln!(
                    out,
                    "    {}  piece {}  node {} -> node {}  {}",
                    timestamp(e.at),
                    e.piece,
                    node_text(e.from),
                    e.to,
                    reason_text(&e.reason)
                );
            }
        }
    }
    if (o.chunks.len() as u64) < o.total_chunks {
        let _ = writeln!(
            out,
            "\n{} chunk(s) have no placement record (deleted while being read?)",
            o.total_chunks - o.chunks.len() as u64
        );
    }
    out
}

/// A move reason in its wire (snake_case) spelling.
fn reason_text(reason: &cairn_types::MoveReason) -> String {
    match serde_json::to_value(reason) {
        Ok(Value::String(s)) => s,
        _ => format!("{reason:?}"),
    }
}

/// `cairn admin object inspect --json`.
pub fn to_json(o: &ObjectInspect) -> Value {
    let chunks: Vec<Value> = o
        .chunks
        .iter()
        .map(|c| {
            let pieces: Vec<Value> = c
                .pieces
                .iter()
                .map(|p| {
                    json!({
                        "piece": p.piece,
                        "node": p.node,
                        "zone": p.zone,
                        "state": p.state.to_string(),
                        "last_verified_ms": p.last_verified_ms,
                    })
                })
                .collect();
            let history: Vec<Value> = c
                .history
                .iter()
                .map(|e| {
                    json!({
                        "at": e.at,
                        "piece": e.piece,
                        "from": e.from,
                        "to": e.to,
                        "reason": reason_text(&e.reason),
                    })
                })
                .collect();
            json!({
                "offset": c.offset,
                "len": c.len,
                "key": c.key.to_string(),
                "width": c.width,
                "min_pieces": c.min_pieces,
                "pieces": pieces,
                "history": history,
            })
        })
        .collect();
    json!({
        "bucket": o.bucket,
        "key": o.key,
        "version_id": o.version_id,
        "size": o.size,
        "codec": o.codec,
        "total_chunks": o.total_chunks,
        "chunks": chunks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_rpc::repair_api::{ChunkInspect, PieceInspect, PieceState};
    use cairn_types::{ChunkKey, MoveReason, PieceEvent, VersionId};

    const NOW: u64 = 1_800_000_000_000;

    fn sample() -> ObjectInspect {
        let key = ChunkKey {
            version: VersionId([7; 16]),
            part: 0,
            chunk: 1,
        };
        let piece = |piece, node: Option<NodeId>, state, verified| PieceInspect {
            piece,
            node,
            zone: node.map(|n| format!("z{n}")),
            state,
            last_verified_ms: verified,
        };
        ObjectInspect {
            bucket: "photos".into(),
            key: "cat.jpg".into(),
            version_id: "null".into(),
            size: 6 << 20,
            codec: Some(CODEC_RS_GF256_V1),
            total_chunks: 1,
            chunks: vec![ChunkInspect {
                offset: 4 << 20,
                key,
                len: 2 << 20,
                width: 3,
                min_pieces: 2,
                pieces: vec![
                    piece(0, Some(1), PieceState::Ok, Some(NOW - 180_000)),
                    piece(1, Some(2), PieceState::Corrupt, None),
                    piece(2, None, PieceState::Missing, None),
                ],
                history: vec![PieceEvent {
                    at: 1_800_000_000_000 - 60_000,
                    piece: 1,
                    from: Some(5),
                    to: 2,
                    reason: MoveReason::OnDownNode,
                }],
            }],
        }
    }

    #[test]
    fn json_has_the_interface_field_names() {
        let v = to_json(&sample());
        let key = format!("{}.0.1", VersionId([7; 16]));
        let expected = json!({
            "bucket": "photos",
            "key": "cat.jpg",
            "version_id": "null",
            "size": 6u64 << 20,
            "codec": 2,
            "total_chunks": 1,
            "chunks": [{
                "offset": 4u64 << 20,
                "len": 2u64 << 20,
                "key": key,
                "width": 3,
                "min_pieces": 2,
                "pieces": [
                    {"piece": 0, "node": 1, "zone": "z1", "state": "ok",
                     "last_verified_ms": NOW - 180_000},
                    {"piece": 1, "node": 2, "zone": "z2", "state": "corrupt",
                     "last_verified_ms": null},
                    {"piece": 2, "node": null, "zone": null, "state": "missing",
                     "last_verified_ms": null},
                ],
                "history": [{"at": 1_800_000_000_000i64 - 60_000, "piece": 1, "from": 5,
                             "to": 2, "reason": "on_down_node"}],
            }],
        });
        assert_eq!(v, expected);
    }

    #[test]
    fn text_shows_each_piece_and_the_history() {
        let unknown: HashSet<NodeId> = [2].into_iter().collect();
        let text = render(&sample(), &unknown, NOW);
        assert!(text.contains("object   photos/cat.jpg\n"), "{text}");
        assert!(text.contains("size     6.0 MiB (6291456 bytes)"), "{text}");
        assert!(text.contains("codec    reed-solomon"), "{text}");
        assert!(text.contains("width 3  min 2"), "{text}");
        let rows: Vec<String> = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert!(rows.contains(&"0 1 z1 ok 3m ago".to_string()), "{text}");
        assert!(
            rows.contains(&"1 2 z2 corrupt unknown (node did not answer)".to_string()),
            "{text}"
        );
        assert!(rows.contains(&"2 - - missing never".to_string()), "{text}");
        assert!(
            text.contains("2027-01-15T07:59:00Z  piece 1  node 5 -> node 2  on_down_node"),
            "{text}"
        );
    }
}
