//! Group commit of metadata writes. openraft 0.9 appends and fsyncs each log
//! entry before it takes the next client write, so one command per entry
//! would cost one fsync per S3 write. Instead, commands that arrive while an
//! entry is being committed wait in a queue and the next entry carries as
//! many of them as can share it (`MetaCommand::Batch`): one append, one fsync
//! and one replication round for all of them.
//!
//! Commands share an entry only when the records they touch are disjoint, so
//! each can be decided against the state before the entry and the outcome is
//! the same as applying them one by one. Bucket-level commands (which read a
//! whole bucket) and GC horizon moves (which change what later writes
//! decide) always go alone. Order is first come, first served: a command
//! that conflicts with the entry being filled closes it and opens the next.

use cairn_rpc::{MetaCommand, MetaError, MetaResponse};
use cairn_types::ObjectData;
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Most commands one log entry carries.
pub const MAX_COMMANDS_PER_ENTRY: usize = 256;
/// Rough bound on the bytes of one batched entry (inline object data
/// dominates), so entries stay small enough to replicate quickly.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// What every command is reckoned to weigh besides its inline data and chunks.
const COMMAND_BASE_BYTES: usize = 256;
/// What one chunk reference is reckoned to weigh.
const CHUNK_REF_BYTES: usize = 128;

/// The answer to one command.
pub type Answer = Result<MetaResponse, MetaError>;

/// The records a command reads or writes, or None when it must have an entry
/// of its own.
pub fn conflict_keys(cmd: &MetaCommand) -> Option<Vec<Vec<u8>>> {
    let object = |bucket: &str, key: &str| crate::keys::object_key(bucket, key);
    let tagged = |tag: u8, bytes: &[u8]| {
        let mut k = vec![tag];
        k.extend_from_slice(bytes);
        k
    };
    Some(match cmd {
        MetaCommand::CreateBucket(_) | MetaCommand::DeleteBucket { .. } => return None,
        // Moving the GC horizon changes what every later PutObject and
        // PutPart decide, so nothing may be decided beside it.
        MetaCommand::AdvanceGcHorizon { .. } => return None,
        MetaCommand::Batch(_) => return None,
        // Layout changes are rare and read the whole layout record.
        MetaCommand::StageLayout(_) | MetaCommand::ApplyLayout(_) => return None,
        MetaCommand::SetBucketCors { bucket, .. } => vec![tagged(b'c', bucket.as_bytes())],
        MetaCommand::SetBucketLifecycle { bucket, .. } => vec![tagged(b'l', bucket.as_bytes())],
        MetaCommand::ExpireObject { bucket, key, .. }
        | MetaCommand::ExpireVersion { bucket, key, .. }
        | MetaCommand::DeleteObjectVersion { bucket, key, .. }
        | MetaCommand::SetObjectVersionTags { bucket, key, .. } => {
            vec![tagged(b'o', &object(bucket, key))]
        }
        // Every object write of the bucket decides by its versioning state.
        MetaCommand::SetBucketVersioning { .. } => return None,
        MetaCommand::PutAccessKey(k) => vec![tagged(b'k', k.access_key_id.as_bytes())],
        MetaCommand::RegisterNode(n) => vec![tagged(b'n', &n.id.to_be_bytes())],
        MetaCommand::PutObject { manifest, .. }
        | MetaCommand::PutObjectWithExtras { manifest, .. } => {
            vec![tagged(b'o', &object(&manifest.bucket, &manifest.key))]
        }
        MetaCommand::SetObjectTags { bucket, key, .. } => {
            vec![tagged(b'o', &object(bucket, key))]
        }
        // Bucket tags are read by nothing else but their own queries; bucket
        // creation and deletion go alone anyway.
        MetaCommand::SetBucketTags { bucket, .. } => vec![tagged(b'B', bucket.as_bytes())],
        MetaCommand::CreateUploadWithExtras { upload, .. } => {
            vec![tagged(b'u', upload.upload_id.as_bytes())]
        }
        MetaCommand::DeleteObject { bucket, key, .. } => vec![tagged(b'o', &object(bucket, key))],
        MetaCommand::CreateUpload(u) => vec![tagged(b'u', u.upload_id.as_bytes())],
        MetaCommand::PutPart { upload_id, .. }
        | MetaCommand::PutPartWithChecksum { upload_id, .. }
        | MetaCommand::AbortUpload { upload_id, .. } => {
            vec![tagged(b'u', upload_id.as_bytes())]
        }
        MetaCommand::CompleteUpload {
            bucket,
            key,
            upload_id,
            ..
        }
        | MetaCommand::CompleteUploadWithChecksums {
            bucket,
            key,
            upload_id,
            ..
        } => vec![
            tagged(b'u', upload_id.as_bytes()),
            tagged(b'o', &object(bucket, key)),
        ],
    })
}

/// Whether `cmds` may be one batched entry: no nesting, no command that must
/// go alone (unless it is the only one), and pairwise disjoint records.
pub fn can_share_entry(cmds: &[MetaCommand]) -> bool {
    if cmds.len() > MAX_COMMANDS_PER_ENTRY {
        return false;
    }
    let mut seen = HashSet::new();
    for cmd in cmds {
        match conflict_keys(cmd) {
            None => return false,
            Some(keys) => {
                if !keys.into_iter().all(|k| seen.insert(k)) {
                    return false;
                }
            }
        }
    }
    true
}

/// Roughly how many bytes a command adds to an entry.
fn approx_bytes(cmd: &MetaCommand) -> usize {
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
mod tests {
    use super::*;
    use cairn_rpc::WriteCondition;
    use cairn_types::{Bucket, HttpHeaders, ObjectManifest, Redundancy, VersionId};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn put(key: &str) -> MetaCommand {
        MetaCommand::PutObject {
            manifest: ObjectManifest {
                bucket: "b".into(),
                key: key.into(),
                version: VersionId::new_random(),
                size: 0,
                etag: String::new(),
                last_modified: 0,
                headers: HttpHeaders::default(),
                data: ObjectData::Inline(Vec::new()),
                part_sizes: Vec::new(),
            },
            condition: WriteCondition::Always,
        }
    }

    fn create_bucket() -> MetaCommand {
        MetaCommand::CreateBucket(Bucket {
            name: "b".into(),
            created: 0,
            redundancy: Redundancy::Replicas(1),
        })
    }

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
            .map(|k| pending(put(k)))
            .collect();
        // "a" twice: the second closes the first group.
        assert_eq!(next_group(&mut q).len(), 2);
        assert_eq!(next_group(&mut q).len(), 2);
        assert!(next_group(&mut q).is_empty());

        let mut q: VecDeque<Pending> = vec![
            pending(put("a")),
            pending(create_bucket()),
            pending(put("b")),
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
            .map(|i| pending(put(&i.to_string())))
            .collect();
        assert_eq!(next_group(&mut q).len(), MAX_COMMANDS_PER_ENTRY);
        assert_eq!(next_group(&mut q).len(), 5);
    }

    #[test]
    fn shared_entries_are_checked_again_when_applied() {
        assert!(can_share_entry(&[put("a"), put("b")]));
        assert!(!can_share_entry(&[put("a"), put("a")]));
        assert!(!can_share_entry(&[put("a"), create_bucket()]));
        assert!(!can_share_entry(&[MetaCommand::Batch(vec![put("a")])]));
        assert!(!can_share_entry(&[
            put("a"),
            MetaCommand::AdvanceGcHorizon { horizon_ms: 1 }
        ]));
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
                let cmd = put(&format!("k{i}"));
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
            MetaCommand::PutObject { manifest, .. } => {
                MetaResponse::Replaced(Some(manifest.clone()))
            }
            _ => MetaResponse::Done,
        }
    }
}
