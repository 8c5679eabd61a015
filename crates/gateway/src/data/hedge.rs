//! Hedged reads. A read starts with the fewest requests that can answer it
//! (one replica; the k data pieces of an erasure-coded chunk) on the best
//! candidates; when nothing has answered for `data_path.hedge_after_ms`, one
//! more candidate is asked (another replica; a parity piece) and whichever
//! answers first is used. A failed request is replaced at once, without
//! waiting. Every request started by the timer counts in
//! `cairn_gateway_hedged_requests_total`; the losers are dropped (cancelled).

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::future::Future;
use std::time::Duration;

/// Metric: shard requests sent because another was slower than the hedge threshold.
pub const METRIC_HEDGED_REQUESTS: &str = "cairn_gateway_hedged_requests_total";

/// Asks `candidates` for `needed` answers: starts `needed` of them, starts the
/// next one whenever a request fails or nothing has answered for
/// `hedge_after`, and returns the answers as soon as `needed` arrived — or
/// every answer there was once all candidates have been tried.
pub(super) async fn hedged<C, T, F, Fut>(
    candidates: Vec<C>,
    needed: usize,
    hedge_after: Duration,
    attempt: F,
) -> Vec<T>
where
    F: Fn(C) -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let mut rest = candidates.into_iter();
    let mut running = FuturesUnordered::new();
    for c in rest.by_ref().take(needed) {
        running.push(attempt(c));
    }
    let mut answers = Vec::with_capacity(needed);
    while answers.len() < needed && !running.is_empty() {
        let hedge_timer = tokio::time::sleep(hedge_after);
        tokio::select! {
            outcome = running.next() => match outcome {
                Some(Some(answer)) => answers.push(answer),
                Some(None) => {
                    if let Some(c) = rest.next() {
                        running.push(attempt(c));
                    }
                }
                None => break,
            },
            _ = hedge_timer, if !rest.as_slice().is_empty() => {
                if let Some(c) = rest.next() {
                    metrics::counter!(METRIC_HEDGED_REQUESTS).increment(1);
                    running.push(attempt(c));
                }
            }
        }
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::BoxFuture;
    use std::time::Instant;

    /// A candidate: (answer, delay in ms).
    fn ask(c: (Option<u32>, u64)) -> BoxFuture<'static, Option<u32>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(c.1)).await;
            c.0
        })
    }

    const HEDGE: Duration = Duration::from_millis(30);
    const NEVER: u64 = 60_000;

    #[tokio::test]
    async fn a_fast_first_candidate_is_all_it_takes() {
        let got = hedged(vec![(Some(1), 1), (Some(2), 1)], 1, HEDGE, ask).await;
        assert_eq!(got, vec![1]);
    }

    #[tokio::test]
    async fn a_slow_candidate_is_hedged_by_the_next() {
        let started = Instant::now();
        let got = hedged(vec![(Some(1), NEVER), (Some(2), 1)], 1, HEDGE, ask).await;
        assert_eq!(got, vec![2]);
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[tokio::test]
    async fn a_failure_is_replaced_and_exhaustion_returns_what_there_is() {
        let got = hedged(
            vec![(None, 1), (Some(2), 1)],
            1,
            Duration::from_secs(600),
            ask,
        )
        .await;
        assert_eq!(got, vec![2]);
        let got = hedged(
            vec![(None, 1), (Some(2), 1), (None, 1)],
            2,
            Duration::from_secs(600),
            ask,
        )
        .await;
        assert_eq!(got, vec![2]);
    }

    #[tokio::test]
    async fn several_needed_with_one_slow_piece() {
        // Four data pieces, one on a stalled node; two parity pieces.
        let pieces = vec![
            (Some(0), 1),
            (Some(1), NEVER),
            (Some(2), 1),
            (Some(3), 1),
            (Some(4), 1),
            (Some(5), 1),
        ];
        let started = Instant::now();
        let mut got = hedged(pieces, 4, HEDGE, ask).await;
        got.sort_unstable();
        assert_eq!(got, vec![0, 2, 3, 4]);
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
