//! Unit tests of the write batcher: how it groups commands (by conflicts
//! and by their real encoded size), that concurrent writes share entries,
//! and that a full queue refuses writes instead of growing.

use super::*;
use crate::test_support::{create_bucket_command, put_command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn pending(cmd: MetaCommand) -> Pending {
    Pending {
        bytes: encoded_size(&cmd),
        cmd,
        reply: oneshot::channel().0,
    }
}

/// A PutObject of `key` whose user metadata holds `bytes` bytes.
fn put_with_metadata(key: &str, bytes: usize) -> MetaCommand {
    let mut cmd = put_command(key);
    if let MetaCommand::PutObject { manifest, .. } = &mut cmd {
        manifest
            .headers
            .user_metadata
            .insert("big".into(), "m".repeat(bytes));
    }
    cmd
}

#[test]
fn entries_are_sized_by_the_real_encoded_size_of_their_commands() {
    // Large user metadata (the old estimate ignored it): 300 KB each, so at
    // most three share an entry, which stays under the batch size.
    let mut q: VecDeque<Pending> = (0..8)
        .map(|i| pending(put_with_metadata(&format!("k{i}"), 300_000)))
        .collect();
    let mut sizes = Vec::new();
    while !q.is_empty() {
        let group = next_group(&mut q);
        let bytes: usize = group.iter().map(|p| encoded_size(&p.cmd)).sum();
        assert!(bytes <= MAX_BATCH_BYTES, "an entry of {bytes} bytes");
        sizes.push(group.len());
    }
    assert_eq!(sizes, [3, 3, 2]);
    // A command over the batch size goes alone, and does not hold back the
    // small one behind it.
    let mut q: VecDeque<Pending> = vec![
        pending(put_with_metadata("big", MAX_BATCH_BYTES)),
        pending(put_command("small")),
    ]
    .into();
    assert_eq!(next_group(&mut q).len(), 1);
    assert_eq!(next_group(&mut q).len(), 1);
}

/// A commit that waits until `gate` opens, answering every command.
fn gated_commit(
    gate: Arc<tokio::sync::Notify>,
) -> impl Fn(MetaCommand) -> std::pin::Pin<Box<dyn Future<Output = Answer> + Send>>
+ Send
+ Sync
+ Clone
+ 'static {
    move |cmd: MetaCommand| {
        let gate = gate.clone();
        Box::pin(async move {
            gate.notified().await;
            gate.notify_one();
            Ok(match cmd {
                MetaCommand::Batch(cmds) => {
                    MetaResponse::Batch(cmds.iter().map(|c| Ok(echo(c))).collect())
                }
                c => echo(&c),
            })
        })
    }
}

type Submitted = tokio::task::JoinHandle<Answer>;

fn spawn_submit(
    batcher: &WriteBatcher,
    gate: &Arc<tokio::sync::Notify>,
    cmd: MetaCommand,
) -> Submitted {
    let (batcher, commit) = (batcher.clone(), gated_commit(gate.clone()));
    tokio::spawn(async move { batcher.submit(cmd, commit).await })
}

/// How long a refusal, or the queue reaching a state, may take.
const PROMPT: Duration = Duration::from_secs(5);

/// Yields until the batcher's state satisfies `check` (panics after `PROMPT`).
async fn until(batcher: &WriteBatcher, check: impl Fn(&State) -> bool) {
    let deadline = tokio::time::Instant::now() + PROMPT;
    while !check(&batcher.state.lock().expect("lock")) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the batcher's queue never got there"
        );
        tokio::task::yield_now().await;
    }
}

/// Starts `first` (its commit waits at the gate), then queues `queued`
/// behind it.
async fn stuck_with_queue(
    batcher: &WriteBatcher,
    gate: &Arc<tokio::sync::Notify>,
    first: MetaCommand,
    queued: Vec<MetaCommand>,
) -> Vec<Submitted> {
    let mut tasks = vec![spawn_submit(batcher, gate, first)];
    until(batcher, |st| st.running && st.queue.is_empty()).await;
    let n = queued.len();
    tasks.extend(queued.into_iter().map(|c| spawn_submit(batcher, gate, c)));
    until(batcher, |st| st.queue.len() == n).await;
    tasks
}

#[tokio::test]
async fn a_full_queue_refuses_writes_with_slow_down_and_drains() {
    let batcher = WriteBatcher::default();
    let gate = Arc::new(tokio::sync::Notify::new());
    let queued = (0..MAX_QUEUED_WRITES)
        .map(|i| put_command(&format!("k{i}")))
        .collect();
    let waiting = stuck_with_queue(&batcher, &gate, put_command("first"), queued).await;
    let refused = tokio::time::timeout(
        PROMPT,
        batcher.submit(put_command("one-too-many"), gated_commit(gate.clone())),
    )
    .await
    .expect("a write to a full queue is answered at once");
    assert!(
        matches!(refused, Err(MetaError::SlowDown(_))),
        "{refused:?}"
    );
    // Once the log moves again, every queued write is committed.
    gate.notify_one();
    for w in waiting {
        assert!(w.await.expect("task").is_ok());
    }
    let st = batcher.state.lock().expect("lock");
    assert!(st.queue.is_empty() && st.queued_bytes == 0);
}

#[tokio::test]
async fn the_queue_is_bounded_by_bytes_too() {
    /// Commands of nearly this many bytes: eight fill the queue.
    const BIG: usize = MAX_QUEUED_WRITE_BYTES / 8 - 1000;
    let batcher = WriteBatcher::default();
    let gate = Arc::new(tokio::sync::Notify::new());
    let big = |i: usize| put_with_metadata(&format!("k{i}"), BIG);
    let waiting = stuck_with_queue(&batcher, &gate, big(0), (1..=8).map(big).collect()).await;
    let refused = tokio::time::timeout(PROMPT, batcher.submit(big(9), gated_commit(gate.clone())))
        .await
        .expect("a write to a queue full by bytes is answered at once");
    assert!(
        matches!(refused, Err(MetaError::SlowDown(_))),
        "{refused:?}"
    );
    // A small one still fits.
    let small = spawn_submit(&batcher, &gate, put_command("small"));
    until(&batcher, |st| st.queue.len() == 9).await;
    gate.notify_one();
    for w in waiting {
        assert!(w.await.expect("task").is_ok());
    }
    assert!(small.await.expect("task").is_ok());
}

#[tokio::test]
async fn a_command_over_the_largest_size_is_refused() {
    let batcher = WriteBatcher::default();
    let cmd = put_with_metadata("huge", MAX_META_COMMAND_BYTES);
    let answer = batcher
        .submit(cmd, |_| async { Ok(MetaResponse::Done) })
        .await;
    assert!(matches!(answer, Err(MetaError::TooLarge(_))), "{answer:?}");
}

#[test]
fn groups_are_disjoint_first_come_first_served_and_bounded() {
    let mut q: VecDeque<Pending> = ["a", "b", "a", "c"]
        .into_iter()
        .map(|k| pending(put_command(k)))
        .collect();
    // "a" twice: the second closes the first group.
    assert_eq!(next_group(&mut q).len(), 2);
    assert_eq!(next_group(&mut q).len(), 2);
    assert!(next_group(&mut q).is_empty());

    let mut q: VecDeque<Pending> = vec![
        pending(put_command("a")),
        pending(create_bucket_command()),
        pending(put_command("b")),
    ]
    .into();
    assert_eq!(
        next_group(&mut q).len(),
        1,
        "a bucket command closes the group"
    );
    let alone = next_group(&mut q);
    assert!(matches!(alone[0].cmd, MetaCommand::CreateBucket(_)) && alone.len() == 1);
    assert_eq!(next_group(&mut q).len(), 1);

    let mut q: VecDeque<Pending> = (0..MAX_COMMANDS_PER_ENTRY + 5)
        .map(|i| pending(put_command(&i.to_string())))
        .collect();
    assert_eq!(next_group(&mut q).len(), MAX_COMMANDS_PER_ENTRY);
    assert_eq!(next_group(&mut q).len(), 5);
}

#[tokio::test]
async fn concurrent_writes_share_entries_and_get_their_own_answers() {
    let batcher = WriteBatcher::default();
    let entries = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let batcher = batcher.clone();
        let entries = entries.clone();
        tasks.push(tokio::spawn(async move {
            let commit = move |cmd: MetaCommand| {
                let entries = entries.clone();
                async move {
                    entries.fetch_add(1, Ordering::SeqCst);
                    // A slow "fsync", so that later writes queue up.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(match cmd {
                        MetaCommand::Batch(cmds) => {
                            MetaResponse::Batch(cmds.iter().map(|c| Ok(echo(c))).collect())
                        }
                        c => echo(&c),
                    })
                }
            };
            let cmd = put_command(&format!("k{i}"));
            let want = echo(&cmd);
            assert_eq!(batcher.submit(cmd, commit).await, Ok(want));
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let used = entries.load(Ordering::SeqCst);
    assert!(used < 50, "50 concurrent writes used {used} entries");
}

/// A stand-in answer that identifies the command it answers.
fn echo(cmd: &MetaCommand) -> MetaResponse {
    match cmd {
        MetaCommand::PutObject { manifest, .. } => MetaResponse::Replaced(Some(manifest.clone())),
        _ => MetaResponse::Done,
    }
}
