//! `cairn admin gc reset-horizon`: puts back a garbage-collection horizon
//! that was set wrongly (ahead of real time, so every PUT is refused with
//! 503 until the clock catches up — as a storage node with a fast clock
//! could do before the meta leader checked proposals). It pauses collection,
//! waits `GC_RESET_PAUSE` so no node still acts on a grant from before the
//! pause, then sets the horizon (by default to this machine's clock minus
//! the config's `gc.grace_secs`). Every node forgets the versions it judged
//! before, so nothing a PUT may still commit is deleted.

use cairn_rpc::{GcHorizonState, MetaClient, MetaCommand, MetaResponse};
use std::time::Duration;

fn gc_state(answer: MetaResponse) -> anyhow::Result<GcHorizonState> {
    match answer {
        MetaResponse::GcState(state) => Ok(state),
        other => anyhow::bail!("unexpected answer from meta: {other:?}"),
    }
}

/// A horizon (ms since the epoch) with how far it is from `now_ms`.
pub fn describe(horizon_ms: u64, now_ms: u64) -> String {
    let ahead = cairn_rpc::health_api::clock_offset(horizon_ms, now_ms);
    let secs = ahead.unsigned_abs() as f64 / 1000.0;
    if ahead > 0 {
        format!("{horizon_ms} ({secs:.1}s in the future)")
    } else {
        format!("{horizon_ms} ({secs:.1}s ago)")
    }
}

/// Pauses collection, waits `pause`, and sets the horizon to `target_ms`.
/// Answers the state before and after; `progress` hears each step.
pub async fn reset_horizon(
    meta: &MetaClient,
    target_ms: u64,
    pause: Duration,
    progress: impl Fn(&str),
) -> anyhow::Result<(GcHorizonState, GcHorizonState)> {
    let before = gc_state(meta.write(&MetaCommand::PauseGc).await?)?;
    progress(&format!(
        "garbage collection paused (horizon was {}); waiting {} s for nodes to stop acting on \
         earlier grants",
        before.horizon_ms,
        pause.as_secs()
    ));
    tokio::time::sleep(pause).await;
    let after = meta
        .write(&MetaCommand::ResetGcHorizon {
            horizon_ms: target_ms,
        })
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "setting the horizon failed ({e}); collection stays paused until \
                 `cairn admin gc reset-horizon` succeeds"
            )
        })?;
    Ok((before, gc_state(after)?))
}
