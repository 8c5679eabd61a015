//! The garbage-collection horizon as storage nodes and operators see it:
//! its state (`GcHorizonState`), how long a node may act on a grant of it
//! (`GC_GRANT_LEASE`), and how long an operator's reset pauses collection
//! before it lowers the horizon (`GC_RESET_PAUSE`).
//!
//! A node asks the meta leader to move the horizon to its clock minus its
//! grace (`MetaCommand::ProposeGcHorizon`); the leader refuses a node whose
//! clock differs from its own by more than `meta.max_node_clock_skew_ms` and
//! never grants a horizon later than its own clock minus that grace. The
//! answer is the state in force, and the node acts on it (asks which old
//! versions are unreferenced, deletes what waited out the grace) for at most
//! `GC_GRANT_LEASE` from when it sent the request. An operator who finds the
//! horizon set wrongly (ahead of real time, so every PUT is refused) pauses
//! collection (`PauseGc`), waits `GC_RESET_PAUSE` so every grant given
//! before the pause has expired, and lowers it (`ResetGcHorizon`); each of
//! the two bumps the generation, and a node forgets every version it judged
//! under another generation.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long after sending its proposal a node may act on the grant it got:
/// it deletes nothing later than that, and renews the grant after half of
/// it during a long sweep.
pub const GC_GRANT_LEASE: Duration = Duration::from_secs(10);
/// How long `cairn admin gc reset-horizon` keeps collection paused before
/// it lowers the horizon: longer than `GC_GRANT_LEASE`, so no node still
/// acts on a grant from before the pause.
pub const GC_RESET_PAUSE: Duration = Duration::from_secs(12);

/// The garbage-collection horizon and what goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GcHorizonState {
    /// Data versions created at or before this (ms since the epoch) can no
    /// longer be committed; 0 before any collector ran.
    pub horizon_ms: u64,
    /// Bumped by every pause and reset: a node drops the unreferenced
    /// versions it is waiting on when it changes.
    pub generation: u64,
    /// Collection is paused by an operator's reset: nodes judge and delete
    /// nothing until the reset lowers the horizon.
    pub paused: bool,
}
