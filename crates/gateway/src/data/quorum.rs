//! Waiting for a chunk write's quorum without waiting for stragglers: all
//! writes run at once; once `quorum` of them succeeded, the others get a
//! grace period — the configured grace or as long again as the quorum took,
//! whichever is longer, so a uniformly slow cluster keeps full redundancy —
//! and are then abandoned (counted; a shard that lands later is unreferenced
//! garbage for the collector). Once the quorum can no longer be reached,
//! waiting stops at once.

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::future::Future;
use std::time::Duration;

/// Metric: shard writes abandoned because their node was still busy after
/// the chunk's quorum and grace period.
pub const METRIC_ABANDONED_WRITES: &str = "cairn_gateway_abandoned_shard_writes_total";

/// Runs `writes` concurrently and returns each one's outcome by position
/// (None: failed, skipped or abandoned).
pub(super) async fn gather_quorum<T, F>(
    writes: Vec<F>,
    quorum: usize,
    grace: Duration,
) -> Vec<Option<T>>
where
    F: Future<Output = Option<T>>,
{
    let total = writes.len();
    let started = tokio::time::Instant::now();
    let mut results: Vec<Option<T>> = (0..total).map(|_| None).collect();
    let mut pending: FuturesUnordered<_> = writes
        .into_iter()
        .enumerate()
        .map(|(i, f)| async move { (i, f.await) })
        .collect();
    let (mut succeeded, mut finished) = (0usize, 0usize);
    let mut deadline = None;
    while succeeded + (total - finished) >= quorum {
        let next = match deadline {
            None => pending.next().await,
            Some(at) => match tokio::time::timeout_at(at, pending.next()).await {
                Ok(next) => next,
                Err(_) => {
                    metrics::counter!(METRIC_ABANDONED_WRITES).increment(pending.len() as u64);
                    break;
                }
            },
        };
        let Some((i, outcome)) = next else { break };
        finished += 1;
        if outcome.is_some() {
            succeeded += 1;
            results[i] = outcome;
            if succeeded >= quorum && deadline.is_none() {
                let now = tokio::time::Instant::now();
                deadline = Some(now + grace.max(now - started));
            }
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::BoxFuture;

    fn after(ms: u64, value: Option<u32>) -> BoxFuture<'static, Option<u32>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            value
        })
    }

    #[tokio::test]
    async fn waits_for_all_within_the_grace_period() {
        let got = gather_quorum(
            vec![after(1, Some(1)), after(20, Some(2)), after(5, None)],
            2,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(got, vec![Some(1), Some(2), None]);
    }

    #[tokio::test]
    async fn abandons_a_straggler_after_the_quorum_and_grace() {
        let started = std::time::Instant::now();
        let got = gather_quorum(
            vec![after(1, Some(1)), after(60_000, Some(2)), after(2, Some(3))],
            2,
            Duration::from_millis(50),
        )
        .await;
        assert_eq!(got, vec![Some(1), None, Some(3)]);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "did not wait for the straggler"
        );
    }

    #[tokio::test]
    async fn stops_as_soon_as_the_quorum_is_impossible() {
        let started = std::time::Instant::now();
        let got = gather_quorum(
            vec![after(1, None), after(2, None), after(60_000, Some(3))],
            2,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(got, vec![None, None, None]);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "did not wait for a hopeless write"
        );
    }
}
