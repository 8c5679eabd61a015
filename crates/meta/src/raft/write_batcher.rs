//! Group commit of metadata writes. openraft 0.9 appends and fsyncs each log
//! entry before it takes the next client write, so one command per entry
//! would cost one fsync per S3 write. Instead, commands that arrive while an
//! entry is being committed wait in a queue and the next entry carries as
//! many of them as can share it (`MetaCommand::Batch`): one append, one fsync
//! and one replication round for all of them.
//!
//! Commands share an entry only when the records they touch are disjoint
//! (`apply::entry_sharing`, whose rule the state machine checks again).
//! Order is first come, first served: a command that conflicts with the
//! entry being filled closes it and opens the next.

use crate::apply::entry_sharing::{MAX_COMMANDS_PER_ENTRY, conflict_keys};
use cairn_rpc::{MetaCommand, MetaError, MetaResponse};
use cairn_types::ObjectData;
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Rough bound on the bytes of one batched entry (inline object data
/// dominates), so entries stay small enough to replicate quickly.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// What every command is reckoned to weigh besides its inline data and chunks.
const COMMAND_BASE_BYTES: usize = 256;
/// What one chunk reference is reckoned to weigh.
const CHUNK_REF_BYTES: usize = 128;

/// The answer to one command.
pub type Answer = Result<MetaResponse, MetaError>;

/// Roughly how many bytes a command adds to an entry.
fn approx_bytes(cmd: &MetaCommand) -> usize {
    if let MetaCommand::Idempotent { command, .. } = cmd {
        return approx_bytes(command);
    }
    COMMAND_BASE_BYTES
        + match cmd {
            MetaCommand::PutObject { manifest, .. }
            | MetaCommand::PutObjectWithExtras { manifest, .. } => match &manifest.data {
                ObjectData::Inline(bytes) => bytes.len(),
                ObjectData::Chunked { chunks, .. } => chunks.len() * CHUNK_REF_BYTES,
            },
            MetaCommand::PutPart { part, .. } | MetaCommand::PutPartWithChecksum { part, .. } => {
                part.chunks.len() * CHUNK_REF_BYTES
            }
            _ => 0,
        }
}

struct Pending {
    cmd: MetaCommand,
    reply: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct State {
    /// An entry is being committed; new commands wait for the next one.
    running: bool,
    queue: VecDeque<Pending>,
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
        let weight = approx_bytes(&front.cmd);
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
        let (reply, answer) = oneshot::channel();
        let lead = {
            let mut st = self.state.lock().map_err(|_| poisoned())?;
            st.queue.push_back(Pending { cmd, reply });
            !std::mem::replace(&mut st.running, true)
        };
        if lead {
            // This caller drives entries until the queue is empty.
            let state = self.state.clone();
            tokio::spawn(async move {
                loop {
                    let group = match state.lock() {
                        Ok(mut st) => {
                            let group = next_group(&mut st.queue);
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
