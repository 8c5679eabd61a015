//! Unit tests of the write batcher: how it groups commands, and that
//! concurrent writes share entries.

use super::*;
use crate::test_support::{create_bucket_command, put_command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn pending(cmd: MetaCommand) -> Pending {
    Pending {
        cmd,
        reply: oneshot::channel().0,
    }
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
