//! Applying the reconciler's commands (`ReconcileCommand`): the
//! compare-and-swap of one piece's holder, damage reports, disk identities
//! and the live repair settings. Every decision is made from the command
//! and the chunk's record as applied, so a move planned from an old record
//! (a second mover, a leader that changed) is refused, never applied twice;
//! a rebalancing move (`MoveReason::Misplaced`) is also checked against the
//! layout as applied, so one planned under an older epoch is refused.
//! Re-encoding's commands are applied in `reencode`.

use super::outcome::Applied;
use crate::store::chunks::{chunk_record, node_piece_key, put_record, shard_from_bytes};
use crate::store::db::{CF_NODE_PIECES, DbError, MetaDb};
use crate::store::layout::state as layout_state;
use crate::store::repair_rows::{
    add_candidate, add_done, add_rebalanced, clear_damage, damage_of, disk_id, put_damage,
    set_disk_id, set_rebalance_settings, set_settings, settle_candidate,
};
use cairn_placement::partition_of;
use cairn_rpc::repair_api::{DamageKind, DamageRecord, DamageReport, ReconcileCommand};
use cairn_rpc::{MetaError, MetaResponse};
use cairn_types::{ChunkKey, ChunkRecord, MoveReason, NodeId, PieceEvent, PieceRef, UnixMillis};
use rocksdb::WriteBatch;

pub(super) fn apply(db: &MetaDb, batch: &mut WriteBatch, cmd: &ReconcileCommand) -> Applied {
    match cmd {
        ReconcileCommand::SetPieceHolder {
            chunk,
            piece,
            from,
            hash,
            to,
            reason,
        } => set_piece_holder(
            db,
            batch,
            chunk,
            Move {
                piece: *piece,
                from: *from,
                hash: *hash,
                to: *to,
                reason: *reason,
            },
        ),
        ReconcileCommand::ReportDamage { reports } => {
            report_damage(db, batch, reports)?;
            Ok(Ok(MetaResponse::Done))
        }
        ReconcileCommand::DiskIdentity { node, disk_id } => {
            disk_identity(db, batch, *node, *disk_id)?;
            Ok(Ok(MetaResponse::Done))
        }
        ReconcileCommand::SetRepairSettings(s) => {
            set_settings(db, batch, s)?;
            Ok(Ok(MetaResponse::Done))
        }
        ReconcileCommand::SetRebalanceSettings(s) => {
            set_rebalance_settings(db, batch, s)?;
            Ok(Ok(MetaResponse::Done))
        }
        ReconcileCommand::SetBucketRedundancy { .. }
        | ReconcileCommand::ReencodeChunk { .. }
        | ReconcileCommand::ReencodeDone { .. } => super::reencode::apply(db, batch, cmd),
    }
}

/// One piece's change of holder, as a mover asks for it.
#[derive(Debug, Clone, Copy)]
struct Move {
    piece: u16,
    from: Option<NodeId>,
    hash: [u8; 32],
    to: NodeId,
    reason: MoveReason,
}

/// A compare-and-swap that does not hold: `PreconditionFailed`.
fn refused(why: String) -> Applied {
    tracing::debug!(why, "piece move refused");
    Ok(Err(MetaError::PreconditionFailed))
}

/// The time the state machine stamps on events: the largest idempotent
/// write stamp applied (never a voter's wall clock), else 0.
fn applied_clock(db: &MetaDb) -> Result<UnixMillis, DbError> {
    let ms = crate::store::write_ids::clock(db)?;
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn set_piece_holder(db: &MetaDb, batch: &mut WriteBatch, key: &ChunkKey, mv: Move) -> Applied {
    let Some(old) = chunk_record(db, key)? else {
        return refused(format!("chunk {key} has no record (its data was deleted)"));
    };
    // A piece re-created in place (its holder's copy was missing or
    // corrupt) replaces itself; any other piece on `to` refuses the move.
    let in_place = |p: u16, n: NodeId| Some(n) == mv.from && p == mv.piece;
    if old
        .holders()
        .iter()
        .any(|(p, n, _)| *n == mv.to && !in_place(*p, *n))
    {
        return refused(format!("node {} already holds a piece of {key}", mv.to));
    }
    if mv.reason == MoveReason::Misplaced
        && let Some(why) = not_a_rebalancing_move(db, key, &old, mv)?
    {
        return refused(why);
    }
    let mut record = old.clone();
    let bytes;
    if record.chunk.data_pieces > 0 {
        let Some(slot) = record.chunk.pieces.get_mut(usize::from(mv.piece)) else {
            return refused(format!("chunk {key} has no piece {}", mv.piece));
        };
        match (&*slot, mv.from) {
            (Some(p), Some(from)) if p.node == from && p.hash == mv.hash => {}
            (None, None) => {}
            _ => {
                return refused(format!(
                    "piece {} of {key} is no longer what the mover read",
                    mv.piece
                ));
            }
        }
        *slot = Some(PieceRef {
            node: mv.to,
            hash: mv.hash,
        });
        bytes = record
            .chunk
            .len
            .div_ceil(u64::from(record.chunk.data_pieces));
    } else {
        if mv.piece != 0 || mv.hash != record.chunk.hash {
            return refused(format!("replica of {key} does not match the record"));
        }
        match mv.from {
            Some(from) => match record.chunk.nodes.iter_mut().find(|n| **n == from) {
                Some(n) => *n = mv.to,
                None => return refused(format!("node {from} holds no replica of {key}")),
            },
            None if record.chunk.nodes.len() < usize::from(record.width) => {
                record.chunk.nodes.push(mv.to)
            }
            None => return refused(format!("chunk {key} has all its replicas")),
        }
        bytes = record.chunk.len;
    }
    record.record(PieceEvent {
        at: applied_clock(db)?,
        piece: mv.piece,
        from: mv.from,
        to: mv.to,
        reason: mv.reason,
    });
    put_record(db, batch, key, Some(&old), &record)?;
    let mut damage_left = 0;
    for d in damage_of(db, key)? {
        if Some(d.node) == mv.from && d.piece == mv.piece {
            clear_damage(db, batch, key, d.piece, d.node)?;
        } else {
            damage_left += 1;
        }
    }
    settle_candidate(db, batch, key, &record, damage_left)?;
    if mv.reason == MoveReason::Misplaced {
        add_rebalanced(db, batch, bytes)?;
    } else {
        add_done(db, batch, bytes)?;
    }
    Ok(Ok(MetaResponse::Done))
}

/// Why a move of a misplaced piece no longer makes sense under the layout
/// as applied (None: it does). The piece must leave a node that is not
/// among the chunk's owners for a node that is: a move planned under an
/// older layout (a second `layout apply` meanwhile) is refused rather than
/// committed, so no piece is moved twice or back.
fn not_a_rebalancing_move(
    db: &MetaDb,
    key: &ChunkKey,
    record: &ChunkRecord,
    mv: Move,
) -> Result<Option<String>, DbError> {
    let Some(layout) = layout_state(db)?.current else {
        return Ok(Some("no layout is applied".into()));
    };
    let partition = partition_of(&key.shard(0), layout.partitions);
    let width = usize::from(record.width).max(record.min_pieces());
    let owners = layout.nodes_for_partition(partition, width);
    if !owners.contains(&mv.to) {
        return Ok(Some(format!(
            "node {} is not an owner of {key} at layout epoch {}",
            mv.to, layout.epoch
        )));
    }
    match mv.from {
        Some(from) if owners.contains(&from) => Ok(Some(format!(
            "node {from} is an owner of {key} again at layout epoch {}",
            layout.epoch
        ))),
        Some(_) => Ok(None),
        None => Ok(Some(
            "a rebalancing move names the holder it replaces".into(),
        )),
    }
}

/// Whether `record` names `node` as the holder of piece `piece`.
fn holds(record: &ChunkRecord, piece: u16, node: NodeId) -> bool {
    record
        .holders()
        .iter()
        .any(|(p, n, _)| *p == piece && *n == node)
}

fn report_damage(
    db: &MetaDb,
    batch: &mut WriteBatch,
    reports: &[DamageReport],
) -> Result<(), DbError> {
    let at = applied_clock(db)?;
    for r in reports {
        let key = ChunkKey::of_shard(&r.shard);
        let Some(record) = chunk_record(db, &key)? else {
            continue;
        };
        if !holds(&record, r.shard.piece, r.node) {
            continue;
        }
        let record = DamageRecord {
            node: r.node,
            piece: r.shard.piece,
            kind: r.kind,
            reported_at: at,
        };
        put_damage(db, batch, &key, &record)?;
        add_candidate(db, batch, &key)?;
    }
    Ok(())
}

/// A node's disk identity: recorded the first time; another one later
/// means every piece recorded on the node is gone.
fn disk_identity(
    db: &MetaDb,
    batch: &mut WriteBatch,
    node: NodeId,
    id: u128,
) -> Result<(), DbError> {
    let known = disk_id(db, node)?;
    set_disk_id(db, batch, node, id)?;
    if known.is_none() || known == Some(id) {
        return Ok(());
    }
    tracing::warn!(node, "node reports a new disk: its pieces are missing");
    let at = applied_clock(db)?;
    let prefix = node.to_be_bytes();
    let mut it = db.db.raw_iterator_cf(db.cf(CF_NODE_PIECES)?);
    it.seek(prefix);
    while let Some(k) = it.key() {
        if !k.starts_with(&prefix) {
            break;
        }
        if let Some(shard) = shard_from_bytes(&k[8..]) {
            debug_assert_eq!(k, node_piece_key(node, &shard).as_slice());
            let key = ChunkKey::of_shard(&shard);
            let d = DamageRecord {
                node,
                piece: shard.piece,
                kind: DamageKind::Missing,
                reported_at: at,
            };
            put_damage(db, batch, &key, &d)?;
            add_candidate(db, batch, &key)?;
        }
        it.next();
    }
    it.status()?;
    Ok(())
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
