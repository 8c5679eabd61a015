//! Commands about the cluster rather than its data: access keys, storage
//! node records, the layout (`layout`), and the garbage collector's horizon
//! (`store::data_refs`, with its generation and pause in `store::gc_state`).

use super::layout;
use super::outcome::{Applied, misrouted};
use crate::store::data_refs::advance_horizon;
use crate::store::db::{CF_KEYS, CF_NODES, MetaDb, encode};
use crate::store::gc_state;
use cairn_rpc::{MetaCommand, MetaResponse};
use rocksdb::WriteBatch;

/// Applies a cluster command (see `dispatch`).
pub(super) fn apply(db: &MetaDb, batch: &mut WriteBatch, cmd: &MetaCommand) -> Applied {
    match cmd {
        MetaCommand::PutAccessKey(key) => {
            batch.put_cf(db.cf(CF_KEYS)?, key.access_key_id.as_bytes(), encode(key)?);
            Ok(Ok(MetaResponse::Done))
        }
        MetaCommand::RegisterNode(node) => {
            batch.put_cf(db.cf(CF_NODES)?, node.id.to_be_bytes(), encode(node)?);
            Ok(Ok(MetaResponse::Done))
        }
        MetaCommand::StageLayout(change) => layout::stage(db, batch, change),
        MetaCommand::ApplyLayout(planned) => layout::apply(db, batch, planned),
        MetaCommand::AdvanceGcHorizon { horizon_ms } => Ok(Ok(MetaResponse::GcHorizon(
            advance_horizon(db, batch, *horizon_ms)?,
        ))),
        // The proposing voter decided `horizon_ms` from its clock and the
        // node's (`crate::admission`); the log only orders it.
        // Each horizon move also drops the chunk rows of data versions
        // released at least a grace ago that nothing references any more
        // (a bounded number per entry; `data_refs::sweep_released`).
        MetaCommand::ProposeGcHorizon {
            horizon_ms,
            grace_ms,
            ..
        } => {
            if !gc_state::state(db)?.paused {
                crate::store::data_refs::sweep_released(db, batch, *horizon_ms, *grace_ms)?;
            }
            Ok(Ok(MetaResponse::GcState(gc_state::propose(
                db,
                batch,
                *horizon_ms,
            )?)))
        }
        MetaCommand::PauseGc => Ok(Ok(MetaResponse::GcState(gc_state::pause(db, batch)?))),
        MetaCommand::ResetGcHorizon { horizon_ms } => {
            Ok(gc_state::reset(db, batch, *horizon_ms)?.map(MetaResponse::GcState))
        }
        _ => misrouted(),
    }
}
