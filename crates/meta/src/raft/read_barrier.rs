//! Batching of linearizable reads. Every read must wait for a read-index
//! confirmation (`ensure_linearizable`: the leader checks with a quorum that
//! it still leads, then waits until its state machine caught up). Concurrent
//! reads share one confirmation: a read joins the next round, which starts
//! only after the read arrived, so sharing never weakens linearizability.
//! At most `MAX_QUEUED_READS` wait for a round; a read beyond that is
//! refused at once with `SlowDown` instead of piling up.

use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Reads waiting for the next confirmation round on one voter, at most.
pub const MAX_QUEUED_READS: usize = 4096;
/// Metric: reads refused because the queue was full.
pub const METRIC_READS_REFUSED: &str = "cairn_meta_reads_refused_total";

/// The outcome of one confirmation round, handed to every read in it.
pub type RoundResult = Result<(), cairn_rpc::MetaError>;

#[derive(Default)]
struct State {
    /// A round is running (reads that arrive now wait for the one after it).
    running: bool,
    /// Reads waiting for the next round.
    next: Vec<oneshot::Sender<RoundResult>>,
}

/// Coalesces read barriers; `confirm` runs one round.
#[derive(Clone, Default)]
pub struct ReadBarrier {
    state: Arc<Mutex<State>>,
}

impl ReadBarrier {
    /// Waits until a confirmation that started after this call succeeded.
    pub async fn wait<F, Fut>(&self, confirm: F) -> RoundResult
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = RoundResult> + Send,
    {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut st = self.state.lock().map_err(|_| poisoned())?;
            if st.next.len() >= MAX_QUEUED_READS {
                metrics::counter!(METRIC_READS_REFUSED).increment(1);
                return Err(cairn_rpc::MetaError::SlowDown(format!(
                    "{} reads are waiting for a leadership confirmation",
                    st.next.len()
                )));
            }
            st.next.push(tx);
            !std::mem::replace(&mut st.running, true)
        };
        if lead {
            // This read drives rounds until nobody is waiting.
            let state = self.state.clone();
            tokio::spawn(async move {
                loop {
                    let waiters = match state.lock() {
                        Ok(mut st) => {
                            if st.next.is_empty() {
                                st.running = false;
                                return;
                            }
                            std::mem::take(&mut st.next)
                        }
                        Err(_) => return,
                    };
                    let result = confirm().await;
                    for w in waiters {
                        let _ = w.send(result.clone());
                    }
                }
            });
        }
        rx.await
            .map_err(|_| cairn_rpc::MetaError::Internal("read barrier dropped".into()))?
    }
}

fn poisoned() -> cairn_rpc::MetaError {
    cairn_rpc::MetaError::Internal("read barrier lock poisoned".into())
}

#[cfg(test)]
#[path = "read_barrier_tests.rs"]
mod tests;
