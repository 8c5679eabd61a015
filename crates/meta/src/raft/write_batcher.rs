//! Group commit of metadata writes. openraft 0.9 appends and fsyncs each log
//! entry before it takes the next client write, so one command per entry
//! would cost one fsync per S3 write. Instead, commands that arrive while an
//! entry is being committed wait in a queue and the next entry carries as
//! many of them as can share it (`MetaCommand::Batch`): one append, one fsync
//! and one replication round for all of them.
//!
//! Commands share an entry only when the records they touch are disjoint
//! (`apply::entry_sharing`, whose rule the state machine checks again), and
//! only up to `MAX_BATCH_BYTES` of their real encoded size, so every entry
//! stays within what a follower takes (`cairn_rpc::sizes`). Order is first
//! come, first served: a command that conflicts with the entry being filled,
//! or does not fit in it, closes it and opens the next. The queue is bounded
//! (`MAX_QUEUED_WRITES`, `MAX_QUEUED_WRITE_BYTES`): when it is full a write
//! is refused at once with `SlowDown` instead of piling up.

use crate::apply::entry_sharing::{MAX_COMMANDS_PER_ENTRY, conflict_keys};
use cairn_rpc::sizes::{MAX_META_COMMAND_BYTES, encoded_size};
use cairn_rpc::{MetaCommand, MetaError, MetaResponse};
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Encoded bytes of the commands one shared entry carries at most (a
/// larger command goes alone), so entries replicate quickly.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Writes waiting for an entry on one voter, at most; beyond, `SlowDown`.
pub const MAX_QUEUED_WRITES: usize = 4096;
/// Encoded bytes of the writes waiting, at most; beyond, `SlowDown` (a
/// write of any allowed size is taken when nothing waits).
pub const MAX_QUEUED_WRITE_BYTES: usize = 64 * 1024 * 1024;
/// Metric: writes refused because the queue was full.
pub const METRIC_WRITES_REFUSED: &str = "cairn_meta_writes_refused_total";

const _: () = assert!(MAX_BATCH_BYTES <= MAX_META_COMMAND_BYTES);
const _: () = assert!(MAX_META_COMMAND_BYTES <= MAX_QUEUED_WRITE_BYTES);

/// The answer to one command.
pub type Answer = Result<MetaResponse, MetaError>;

struct Pending {
    cmd: MetaCommand,
    /// Its encoded size.
    bytes: usize,
    reply: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct State {
    /// An entry is being committed; new commands wait for the next one.
    running: bool,
    queue: VecDeque<Pending>,
    /// Encoded bytes of the commands in `queue`.
    queued_bytes: usize,
}

impl State {
    /// Queues a command unless the queue is full.
    fn admit(&mut self, pending: Pending) -> Result<(), MetaError> {
        let full = self.queue.len() >= MAX_QUEUED_WRITES
            || (!self.queue.is_empty()
                && self.queued_bytes + pending.bytes > MAX_QUEUED_WRITE_BYTES);
        if full {
            metrics::counter!(METRIC_WRITES_REFUSED).increment(1);
            return Err(MetaError::SlowDown(format!(
                "{} writes ({} bytes) are waiting for the Raft log",
                self.queue.len(),
                self.queued_bytes
            )));
        }
        self.queued_bytes += pending.bytes;
        self.queue.push_back(pending);
        Ok(())
    }

    /// Takes the next group from the front of the queue.
    fn take_group(&mut self) -> Vec<Pending> {
        let group = next_group(&mut self.queue);
        let taken: usize = group.iter().map(|p| p.bytes).sum();
        self.queued_bytes = self.queued_bytes.saturating_sub(taken);
        group
    }
}

/// Takes the next group from the front of the queue.
fn next_group(queue: &mut VecDeque<Pending>) -> Vec<Pending> {
    let mut group: Vec<Pending> = Vec::new();
    let mut keys = HashSet::new();
    let mut bytes = 0usize;
    while let Some(front) = queue.front() {
        let Some(front_keys) = conflict_keys(&front.cmd) else {
            if group.is_empty() {
                group.extend(queue.pop_front());
            }
            break;
        };
        let weight = front.bytes;
        let fits = group.is_empty()
            || (group.len() < MAX_COMMANDS_PER_ENTRY
                && bytes + weight <= MAX_BATCH_BYTES
                && front_keys.iter().all(|k| !keys.contains(k)));
        if !fits {
            break;
        }
        keys.extend(front_keys);
        bytes += weight;
        group.extend(queue.pop_front());
    }
    group
}

/// Queues commands and commits them in groups through `commit`.
#[derive(Clone, Default)]
pub struct WriteBatcher {
    state: Arc<Mutex<State>>,
}

impl WriteBatcher {
    /// Commits `cmd` (alone or with others) and returns its own answer.
    /// `commit` sends one command — possibly a `Batch` — through Raft.
    pub async fn submit<F, Fut>(&self, cmd: MetaCommand, commit: F) -> Answer
    where
        F: Fn(MetaCommand) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Answer> + Send,
    {
        let bytes = encoded_size(&cmd);
        if bytes > MAX_META_COMMAND_BYTES {
            return Err(MetaError::TooLarge(format!(
                "a command of {bytes} bytes; meta takes at most {MAX_META_COMMAND_BYTES}"
            )));
        }
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut st = self.state.lock().map_err(|_| poisoned())?;
            st.admit(Pending { cmd, bytes, reply })?;
            !std::mem::replace(&mut st.running, true)
        };
        if lead {
            // This caller drives entries until the queue is empty.
            let state = self.state.clone();
            tokio::spawn(async move {
                loop {
                    let group = match state.lock() {
                        Ok(mut st) => {
                            let group = st.take_group();
                            if group.is_empty() {
                                st.running = false;
                                return;
                            }
                            group
                        }
                        Err(_) => return,
                    };
                    commit_group(group, &commit).await;
                }
            });
        }
        answer
            .await
            .unwrap_or_else(|_| Err(MetaError::Internal("the write batcher stopped".into())))
    }
}

async fn commit_group<F, Fut>(mut group: Vec<Pending>, commit: &F)
where
    F: Fn(MetaCommand) -> Fut,
    Fut: Future<Output = Answer>,
{
    if group.len() == 1 {
        if let Some(p) = group.pop() {
            let _ = p.reply.send(commit(p.cmd).await);
        }
        return;
    }
    let (cmds, replies): (Vec<_>, Vec<_>) = group.into_iter().map(|p| (p.cmd, p.reply)).unzip();
    let count = cmds.len();
    match commit(MetaCommand::Batch(cmds)).await {
        Ok(MetaResponse::Batch(answers)) if answers.len() == count => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        }
        Ok(other) => {
            let e = MetaError::Internal(format!("a batch was answered with {other:?}"));
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
        Err(e) => {
            // Not leader, no majority, ...: the same for every command in it.
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

fn poisoned() -> MetaError {
    MetaError::Internal("write batcher lock poisoned".into())
}

#[cfg(test)]
#[path = "write_batcher_tests.rs"]
mod tests;
