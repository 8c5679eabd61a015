//! Applying one log entry's command: `apply_command` hands it to the file
//! of its family, each command of a `Batch` (commands sharing one log entry)
//! in turn, and an idempotent write to `idempotency`, which applies it at
//! most once; then it lets `idempotency` expire old write records.

use super::entry_sharing::can_share_entry;
use super::idempotency::{EntryWrites, apply_once, finish_entry};
use super::outcome::{Applied, misrouted};
use super::{access, buckets, cluster, multipart, objects, reconcile};
use crate::store::db::MetaDb;
use cairn_rpc::{MetaCommand, MetaError, MetaResponse};
use rocksdb::WriteBatch;

/// Applies the command of one log entry into `batch`.
pub fn apply_command(db: &MetaDb, batch: &mut WriteBatch, cmd: &MetaCommand) -> Applied {
    let mut entry = EntryWrites::default();
    let answer = apply_one(db, batch, cmd, &mut entry)?;
    finish_entry(db, batch, &entry)?;
    Ok(answer)
}

fn apply_one(
    db: &MetaDb,
    batch: &mut WriteBatch,
    cmd: &MetaCommand,
    entry: &mut EntryWrites,
) -> Applied {
    match cmd {
        MetaCommand::Batch(cmds) => apply_batch(db, batch, cmds, entry),
        MetaCommand::Idempotent {
            id,
            stamped_ms,
            command,
        } => apply_once(db, batch, (id, *stamped_ms), command, entry, apply_plain),
        _ => apply_plain(db, batch, cmd),
    }
}

/// A command that is neither a batch nor an idempotent write.
fn apply_plain(db: &MetaDb, batch: &mut WriteBatch, cmd: &MetaCommand) -> Applied {
    match cmd {
        MetaCommand::Batch(_) | MetaCommand::Idempotent { .. } => misrouted(),
        MetaCommand::CreateBucket(_)
        | MetaCommand::DeleteBucket { .. }
        | MetaCommand::SetBucketVersioning { .. }
        | MetaCommand::SetBucketTags { .. }
        | MetaCommand::SetBucketLifecycle { .. }
        | MetaCommand::SetBucketCors { .. } => buckets::apply(db, batch, cmd),
        MetaCommand::PutObject { .. }
        | MetaCommand::PutObjectWithExtras { .. }
        | MetaCommand::SetObjectTags { .. }
        | MetaCommand::SetObjectVersionTags { .. }
        | MetaCommand::DeleteObject { .. }
        | MetaCommand::DeleteObjectVersion { .. }
        | MetaCommand::ExpireObject { .. }
        | MetaCommand::ExpireVersion { .. } => objects::apply(db, batch, cmd),
        MetaCommand::CreateUpload(_)
        | MetaCommand::CreateUploadWithExtras { .. }
        | MetaCommand::PutPart { .. }
        | MetaCommand::PutPartWithChecksum { .. }
        | MetaCommand::CompleteUpload { .. }
        | MetaCommand::CompleteUploadWithChecksums { .. }
        | MetaCommand::AbortUpload { .. } => multipart::apply(db, batch, cmd),
        MetaCommand::PutAccessKey(_)
        | MetaCommand::RegisterNode(_)
        | MetaCommand::StageLayout(_)
        | MetaCommand::ApplyLayout(_)
        | MetaCommand::AdvanceGcHorizon { .. }
        | MetaCommand::ProposeGcHorizon { .. }
        | MetaCommand::PauseGc
        | MetaCommand::ResetGcHorizon { .. } => cluster::apply(db, batch, cmd),
        MetaCommand::Reconcile(rc) => reconcile::apply(db, batch, rc),
        MetaCommand::SetGrant { .. }
        | MetaCommand::DeleteAccessKey { .. }
        | MetaCommand::CreateBucketOwned { .. }
        | MetaCommand::SetBucketPolicy { .. } => access::apply(db, batch, cmd),
    }
}

/// Applies a group of commands into one write batch. The batcher only groups
/// commands whose records are disjoint (`entry_sharing::conflict_keys`),
/// so each may read the state as it was before the batch: applying them one
/// after another would decide the same. That is checked here again, since a
/// log entry is the state machine's input and must never be trusted blindly.
fn apply_batch(
    db: &MetaDb,
    batch: &mut WriteBatch,
    cmds: &[MetaCommand],
    entry: &mut EntryWrites,
) -> Applied {
    if !can_share_entry(cmds) {
        return Ok(Err(MetaError::Internal(
            "a batch of conflicting commands was refused".into(),
        )));
    }
    let mut answers = Vec::with_capacity(cmds.len());
    for cmd in cmds {
        answers.push(apply_one(db, batch, cmd, entry)?);
    }
    Ok(Ok(MetaResponse::Batch(answers)))
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;
