//! Batching of linearizable reads. Every read must wait for a read-index
//! confirmation (`ensure_linearizable`: the leader checks with a quorum that
//! it still leads, then waits until its state machine caught up). Concurrent
//! reads share one confirmation: a read joins the next round, which starts
//! only after the read arrived, so sharing never weakens linearizability.

use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

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
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reads_share_rounds_and_each_round_starts_after_its_reads() {
        /// Concurrent reads, and how long one confirmation takes.
        const READS: usize = 200;
        const ROUND_TIME: Duration = Duration::from_millis(20);
        let barrier = ReadBarrier::default();
        let rounds = Arc::new(AtomicUsize::new(0));
        // Each round records when it started; each read records when it arrived.
        let started: Arc<Mutex<Vec<std::time::Instant>>> = Arc::default();
        let mut reads = Vec::new();
        for _ in 0..READS {
            let (barrier, rounds, started) = (barrier.clone(), rounds.clone(), started.clone());
            let round_starts = started.clone();
            reads.push(tokio::spawn(async move {
                let arrived = std::time::Instant::now();
                let seen_before = started.lock().expect("lock").len();
                barrier
                    .wait(move || {
                        let (rounds, started) = (rounds.clone(), round_starts.clone());
                        async move {
                            started
                                .lock()
                                .expect("lock")
                                .push(std::time::Instant::now());
                            rounds.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(ROUND_TIME).await;
                            Ok(())
                        }
                    })
                    .await
                    .expect("barrier");
                // Some round that started after this read arrived has completed.
                let starts = started.lock().expect("lock");
                assert!(starts[seen_before..].iter().any(|s| *s >= arrived));
            }));
        }
        for r in reads {
            r.await.expect("read");
        }
        let n = rounds.load(Ordering::SeqCst);
        assert!((1..READS / 4).contains(&n), "{READS} reads used {n} rounds");
    }

    #[tokio::test]
    async fn a_failed_round_fails_its_reads() {
        let barrier = ReadBarrier::default();
        let r = barrier
            .wait(|| async { Err(cairn_rpc::MetaError::Unavailable("no quorum".into())) })
            .await;
        assert_eq!(
            r,
            Err(cairn_rpc::MetaError::Unavailable("no quorum".into()))
        );
        // And the next read starts a fresh round.
        assert_eq!(barrier.wait(|| async { Ok(()) }).await, Ok(()));
    }
}
