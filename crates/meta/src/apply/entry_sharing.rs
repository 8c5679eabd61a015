//! Which commands may share one log entry (`MetaCommand::Batch`, formed by
//! the write batcher's group commit and checked again when applied).
//!
//! Commands share an entry only when the records they touch are disjoint, so
//! each can be decided against the state before the entry and the outcome is
//! the same as applying them one by one. Bucket-level commands (which read a
//! whole bucket) and GC horizon moves (which change what later writes
//! decide) always go alone.

use crate::store::keys::object_key;
use cairn_rpc::MetaCommand;
use cairn_rpc::repair_api::ReconcileCommand;
use std::collections::HashSet;

/// Most commands one log entry carries.
pub const MAX_COMMANDS_PER_ENTRY: usize = 256;

/// The records a command reads or writes, or None when it must have an entry
/// of its own.
pub fn conflict_keys(cmd: &MetaCommand) -> Option<Vec<Vec<u8>>> {
    let object = |bucket: &str, key: &str| object_key(bucket, key);
    let tagged = |tag: u8, bytes: &[u8]| {
        let mut k = vec![tag];
        k.extend_from_slice(bytes);
        k
    };
    Some(match cmd {
        MetaCommand::CreateBucket(_) | MetaCommand::DeleteBucket { .. } => return None,
        // Moving the GC horizon changes what every later PutObject and
        // PutPart decide, so nothing may be decided beside it.
        MetaCommand::AdvanceGcHorizon { .. }
        | MetaCommand::ProposeGcHorizon { .. }
        | MetaCommand::PauseGc
        | MetaCommand::ResetGcHorizon { .. } => return None,
        MetaCommand::Batch(_) => return None,
        // Grants and keys are rare; bucket creation goes alone anyway.
        MetaCommand::SetGrant { .. }
        | MetaCommand::DeleteAccessKey { .. }
        | MetaCommand::CreateBucketOwned { .. }
        | MetaCommand::SetBucketPolicy { .. } => return None,
        // A compare-and-swap of one chunk record shares an entry with
        // anything that does not touch that chunk; the others stand alone.
        // (All of them count into one `done` row, read when applied.)
        MetaCommand::Reconcile(ReconcileCommand::SetPieceHolder { chunk, .. }) => {
            vec![tagged(b'c', &chunk.to_bytes()), b"repair-done".to_vec()]
        }
        MetaCommand::Reconcile(_) => return None,
        // The inner command's records, and the id itself (two attempts of
        // one write must be decided one after the other).
        MetaCommand::Idempotent { id, command, .. } => {
            if matches!(
                **command,
                MetaCommand::Batch(_) | MetaCommand::Idempotent { .. }
            ) {
                return None;
            }
            let mut keys = conflict_keys(command)?;
            keys.push(tagged(b'i', id.as_bytes()));
            keys
        }
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

#[cfg(test)]
#[path = "entry_sharing_tests.rs"]
mod tests;
