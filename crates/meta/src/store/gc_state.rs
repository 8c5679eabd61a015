//! The garbage-collection horizon with what this build adds to it, kept in
//! the `gc` table beside the horizon itself (`data_refs`): a generation,
//! bumped by every pause and reset, and whether an operator's reset has
//! paused collection. See `cairn_rpc::gc_api` for how nodes use them.

use crate::store::data_refs::{advance_horizon, horizon, set_horizon};
use crate::store::db::{CF_GC, DbError, MetaDb, encode};
use cairn_rpc::{GcHorizonState, MetaError};
use rocksdb::WriteBatch;

const KEY_GENERATION: &[u8] = b"horizon_generation";
const KEY_PAUSED: &[u8] = b"gc_paused";

/// The state in force (horizon 0, generation 0, running before any change).
pub fn state(db: &MetaDb) -> Result<GcHorizonState, DbError> {
    Ok(GcHorizonState {
        horizon_ms: horizon(db)?,
        generation: db.get::<u64>(CF_GC, KEY_GENERATION)?.unwrap_or(0),
        paused: db.get::<bool>(CF_GC, KEY_PAUSED)?.unwrap_or(false),
    })
}

/// A node's proposal, as the leader decided it: moves the horizon forward
/// to `horizon_ms` unless collection is paused. Answers the state after.
pub fn propose(
    db: &MetaDb,
    batch: &mut WriteBatch,
    horizon_ms: u64,
) -> Result<GcHorizonState, DbError> {
    let mut st = state(db)?;
    if !st.paused {
        st.horizon_ms = advance_horizon(db, batch, horizon_ms)?;
    }
    Ok(st)
}

fn put_flags(db: &MetaDb, batch: &mut WriteBatch, st: &GcHorizonState) -> Result<(), DbError> {
    let cf = db.cf(CF_GC)?;
    batch.put_cf(cf, KEY_GENERATION, encode(&st.generation)?);
    batch.put_cf(cf, KEY_PAUSED, encode(&st.paused)?);
    Ok(())
}

/// Step one of a reset: pauses collection and bumps the generation.
pub fn pause(db: &MetaDb, batch: &mut WriteBatch) -> Result<GcHorizonState, DbError> {
    let mut st = state(db)?;
    st.generation += 1;
    st.paused = true;
    put_flags(db, batch, &st)?;
    Ok(st)
}

/// Step two: sets the horizon (even backwards), bumps the generation and
/// resumes collection. Refused unless paused, so every grant given before
/// the pause has had the pause to expire.
pub fn reset(
    db: &MetaDb,
    batch: &mut WriteBatch,
    horizon_ms: u64,
) -> Result<Result<GcHorizonState, MetaError>, DbError> {
    let mut st = state(db)?;
    if !st.paused {
        return Ok(Err(MetaError::InvalidRequest(
            "garbage collection must be paused (PauseGc) before the horizon is reset".into(),
        )));
    }
    st.horizon_ms = horizon_ms;
    st.generation += 1;
    st.paused = false;
    set_horizon(db, batch, horizon_ms)?;
    put_flags(db, batch, &st)?;
    Ok(Ok(st))
}

#[cfg(test)]
#[path = "gc_state_tests.rs"]
mod tests;
