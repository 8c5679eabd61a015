//! Unit tests of the read barrier: reads share rounds, each round starts
//! after its reads, a failed round fails them, and a full queue refuses.

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

#[tokio::test]
async fn a_full_queue_refuses_reads_with_slow_down_and_drains() {
    /// How long a refusal may take: it must not wait for a round.
    const PROMPT: std::time::Duration = std::time::Duration::from_secs(5);
    let barrier = ReadBarrier::default();
    let gate = Arc::new(tokio::sync::Notify::new());
    let confirm = {
        let gate = gate.clone();
        move || {
            let gate = gate.clone();
            async move {
                gate.notified().await;
                gate.notify_one();
                Ok(())
            }
        }
    };
    let spawn = |barrier: &ReadBarrier| {
        let (barrier, confirm) = (barrier.clone(), confirm.clone());
        tokio::spawn(async move { barrier.wait(confirm).await })
    };
    // One round running (stuck at the gate), a full queue behind it.
    let mut reads = vec![spawn(&barrier)];
    let state = |b: &ReadBarrier| {
        let st = b.state.lock().expect("lock");
        (st.running, st.next.len())
    };
    while state(&barrier) != (true, 0) {
        tokio::task::yield_now().await;
    }
    reads.extend((0..MAX_QUEUED_READS).map(|_| spawn(&barrier)));
    while state(&barrier).1 < MAX_QUEUED_READS {
        tokio::task::yield_now().await;
    }
    let refused = tokio::time::timeout(PROMPT, barrier.wait(confirm.clone()))
        .await
        .expect("a read to a full queue is answered at once");
    assert!(
        matches!(refused, Err(cairn_rpc::MetaError::SlowDown(_))),
        "{refused:?}"
    );
    gate.notify_one();
    for r in reads {
        assert_eq!(r.await.expect("read"), Ok(()));
    }
}
