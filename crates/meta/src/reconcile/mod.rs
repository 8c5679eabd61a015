//! The reconciler's thinking, on the meta leader: judging chunks (`plan`),
//! planning repair work (`planner`), finding misplaced pieces after a
//! layout change (`rebalance`), finding chunks to re-encode after a
//! bucket's redundancy changed (`reencode`), the leased work queue (`queue`) and
//! the reports operators read (`report`). The role file `repair` (at the
//! crate root) runs it: the plan loop, the endpoints, the metrics.

pub mod plan;
pub mod planner;
pub mod queue;
pub mod rebalance;
pub mod reencode;
pub mod report;
