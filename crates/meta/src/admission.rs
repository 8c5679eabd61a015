//! What the voter that proposes a write decides before the command enters
//! the log, from its own clock: the state machine must never read a clock,
//! so whatever depends on the time is fixed here and carried in the entry.
//!
//! - An idempotent write is stamped with the voter's clock (the write-id
//!   table expires records by these stamps).
//! - A storage node's horizon proposal is refused when the node's clock is
//!   more than `meta.max_node_clock_skew_ms` off the voter's, and otherwise
//!   gets the horizon `min(node clock, voter clock) − grace`: a node whose
//!   clock runs ahead can no longer move the horizon past the voter's time
//!   (which used to refuse every PUT in the cluster).
//! - An operator's reset may not set the horizon later than the voter's clock.
//! - Batches (formed by the voter) and the older `AdvanceGcHorizon` (which
//!   took a node's clock on trust) are refused from clients.
//!
//! A follower decides the same way and then answers "not leader"; only the
//! leader's decision reaches the log.

use cairn_rpc::MetaCommand;
use cairn_rpc::MetaError;
use cairn_types::config::MIN_GC_GRACE_SECS;

/// The proposing voter's view: its clock and the skew bound.
#[derive(Debug, Clone, Copy)]
pub struct Admission {
    /// The voter's clock, ms since the epoch.
    pub now_ms: u64,
    /// `meta.max_node_clock_skew_ms`.
    pub max_node_clock_skew_ms: u64,
}

impl Admission {
    /// The command to propose for `cmd` as a client sent it, or why not.
    pub fn admit(&self, cmd: MetaCommand) -> Result<MetaCommand, MetaError> {
        match cmd {
            MetaCommand::Batch(_) => Err(MetaError::InvalidRequest(
                "batches are formed by the voter, not sent to it".into(),
            )),
            MetaCommand::Idempotent { id, command, .. } => {
                if matches!(
                    *command,
                    MetaCommand::Batch(_) | MetaCommand::Idempotent { .. }
                ) {
                    return Err(MetaError::InvalidRequest(
                        "an idempotent write may hold neither a batch nor another idempotent write"
                            .into(),
                    ));
                }
                Ok(MetaCommand::Idempotent {
                    id,
                    stamped_ms: self.now_ms,
                    command: Box::new(self.admit(*command)?),
                })
            }
            MetaCommand::AdvanceGcHorizon { .. } => Err(MetaError::InvalidRequest(
                "AdvanceGcHorizon trusts a node's clock and is no longer accepted; \
                 storage nodes of this build send ProposeGcHorizon"
                    .into(),
            )),
            MetaCommand::ProposeGcHorizon {
                node,
                node_clock_ms,
                grace_ms,
                ..
            } => self.horizon_proposal(node, node_clock_ms, grace_ms),
            MetaCommand::ResetGcHorizon { horizon_ms } if horizon_ms > self.now_ms => {
                Err(MetaError::InvalidRequest(format!(
                    "a horizon of {horizon_ms} ms is later than the meta leader's clock \
                     ({} ms): it would refuse every new PUT",
                    self.now_ms
                )))
            }
            other => Ok(other),
        }
    }

    fn horizon_proposal(
        &self,
        node: u64,
        node_clock_ms: u64,
        grace_ms: u64,
    ) -> Result<MetaCommand, MetaError> {
        let min_grace_ms = MIN_GC_GRACE_SECS * 1000;
        if grace_ms < min_grace_ms {
            return Err(MetaError::InvalidRequest(format!(
                "a garbage-collection grace of {grace_ms} ms is below the least allowed \
                 ({min_grace_ms} ms)"
            )));
        }
        let offset = cairn_rpc::health_api::clock_offset(node_clock_ms, self.now_ms);
        if offset.unsigned_abs() > self.max_node_clock_skew_ms {
            return Err(MetaError::InvalidRequest(format!(
                "node {node}'s clock is {offset} ms off the meta leader's, more than \
                 meta.max_node_clock_skew_ms ({} ms): it may not move the \
                 garbage-collection horizon until its clock is fixed",
                self.max_node_clock_skew_ms
            )));
        }
        Ok(MetaCommand::ProposeGcHorizon {
            node,
            node_clock_ms,
            grace_ms,
            horizon_ms: node_clock_ms.min(self.now_ms).saturating_sub(grace_ms),
        })
    }
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
