//! Reads of chunk placement records: a GET's chunks of a byte range
//! (`ChunkRefs`), and a scrub's questions about the pieces of one node
//! (`ShardsOnNode`, `PiecesOnNode`).

use super::outcome::{Answered, misrouted};
use crate::store::chunks::{chunk_record, chunk_refs, is_full_width, pieces_on_node};
use crate::store::db::MetaDb;
use crate::store::reencode_rows::retired_at;
use crate::store::repair_rows::damage_of;
use cairn_rpc::repair_api::ShardVerdict;
use cairn_rpc::sizes::MAX_CHUNK_REFS_PER_QUERY;
use cairn_rpc::{MetaQuery, QueryResult};
use cairn_types::ChunkKey;

pub fn answer(db: &MetaDb, q: &MetaQuery) -> Answered {
    Ok(Ok(match q {
        MetaQuery::ChunkRefs {
            manifest,
            start,
            end,
            max,
        } => {
            let max = (*max as usize).min(MAX_CHUNK_REFS_PER_QUERY);
            QueryResult::ChunkRefs(chunk_refs(db, manifest, *start, *end, max)?)
        }
        MetaQuery::ShardsOnNode { node, shards } => {
            let mut out = Vec::with_capacity(shards.len());
            for s in shards {
                let verdict = match chunk_record(db, &ChunkKey::of_shard(s))? {
                    None => match retired_at(db, &ChunkKey::of_shard(s))? {
                        Some(since_ms) => ShardVerdict::Retired { since_ms },
                        None => ShardVerdict::Unknown,
                    },
                    Some(r)
                        if r.holders()
                            .iter()
                            .any(|(p, n, _)| *p == s.piece && n == node) =>
                    {
                        ShardVerdict::Recorded
                    }
                    // Whole: every piece recorded and none reported damaged.
                    Some(r) => ShardVerdict::Surplus {
                        chunk_full: is_full_width(&r)
                            && damage_of(db, &ChunkKey::of_shard(s))?.is_empty(),
                    },
                };
                out.push(verdict);
            }
            QueryResult::ShardVerdicts(out)
        }
        MetaQuery::PiecesOnNode { node, after, max } => {
            let max = (*max as usize).min(MAX_CHUNK_REFS_PER_QUERY);
            QueryResult::PiecesOnNode(pieces_on_node(db, *node, after.as_ref(), max)?)
        }
        _ => return misrouted(),
    }))
}
