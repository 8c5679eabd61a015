//! Unit tests of the read barrier: reads share rounds, each round starts
//! after its reads, and a failed round fails them.

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
