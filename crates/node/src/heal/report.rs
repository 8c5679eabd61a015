//! The node's report to the meta leader, every heartbeat interval beside
//! the heartbeat: its disk identity, its scrub pass and what its mover
//! wrote (`NodeReport`). The leader records a new disk identity (a wiped
//! or replaced disk) and sums the scrub figures for `cairn admin
//! durability`. A failed report is logged; the next goes on schedule.

use super::HealState;
use cairn_rpc::MetaClient;
use cairn_rpc::repair_api::NodeReport;
use cairn_types::NodeId;
use std::sync::Arc;
use std::time::Duration;

/// Sends reports until the task is dropped.
pub async fn run(meta: MetaClient, node: NodeId, heal: Arc<HealState>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let report = NodeReport {
            node,
            disk_id: heal.disk_id,
            scrub: heal.scrub_progress(),
            repair_bytes_written: heal.repair_bytes_written(),
        };
        if let Err(e) = meta.call(&report).await {
            tracing::debug!(error = %e, "node report to meta failed");
        }
    }
}
