//! The storage node's heartbeat: every `node.heartbeat_interval_ms` it tells
//! the meta leader it is alive, with the used and free bytes of the file
//! system holding its shards (statvfs) and its clock (the leader reports
//! how far it is off its own). A failed heartbeat is logged and the
//! next one is sent on schedule; meta decides liveness from their arrival.

use cairn_rpc::{Heartbeat, MetaClient};
use cairn_types::NodeId;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Used and free bytes of the file system that holds `dir`.
pub fn disk_usage(dir: &Path) -> std::io::Result<(u64, u64)> {
    let st = rustix::fs::statvfs(dir).map_err(std::io::Error::from)?;
    let block = st.f_frsize;
    let total = st.f_blocks.saturating_mul(block);
    let free_all = st.f_bfree.saturating_mul(block);
    // What unprivileged writers may still use.
    let free = st.f_bavail.saturating_mul(block);
    Ok((total.saturating_sub(free_all), free))
}

/// Sends heartbeats for `node` until the returned task is aborted or the
/// runtime stops; its clock is shifted by `clock_offset_ms` (0 but in tests).
pub fn spawn_heartbeats(
    meta: MetaClient,
    node: NodeId,
    dir: PathBuf,
    interval: Duration,
    clock_offset_ms: i64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let (used_bytes, free_bytes) = match disk_usage(&dir) {
                Ok(u) => u,
                Err(e) => {
                    tracing::warn!(error = %e, dir = %dir.display(), "cannot read disk usage");
                    (0, 0)
                }
            };
            let beat = Heartbeat {
                node,
                used_bytes,
                free_bytes,
                clock_ms: cairn_types::shifted_now_ms(clock_offset_ms),
            };
            // One heartbeat may retry for a while when meta is electing; the
            // next waits for it, so they never pile up.
            if let Err(e) = meta.call(&beat).await {
                tracing::warn!(error = %e, "heartbeat to meta failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_usage_of_a_real_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (used, free) = disk_usage(dir.path()).expect("statvfs");
        assert!(used > 0 && free > 0, "used {used}, free {free}");
        assert!(disk_usage(&dir.path().join("missing")).is_err());
    }
}
