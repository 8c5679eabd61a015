//! Least privilege on meta's write and read endpoints, which carry many
//! kinds of command: which role may send which. A storage node may only
//! register itself, propose its collector's horizon and report on the
//! pieces it holds or moves; a gateway may change buckets, objects and
//! uploads (what S3 clients ask for) and report damage it read; meta voters
//! (their lifecycle and reconciler jobs) and `admin` certificates may send
//! anything. Access keys — secrets — are read only by the roles that check
//! signatures or manage keys. The matches are exhaustive on purpose: a new
//! command does not compile until it is given its roles.

use crate::meta_api::{MetaCommand, MetaQuery};
use crate::repair_api::ReconcileCommand;
use crate::tls::PeerRole;

/// Whether `role` may propose `cmd`.
pub fn may_write(role: PeerRole, cmd: &MetaCommand) -> bool {
    use MetaCommand as C;
    match role {
        PeerRole::Meta | PeerRole::Admin => true,
        PeerRole::Node | PeerRole::Gateway => match cmd {
            // Wrappers are judged by what they wrap.
            C::Idempotent { command, .. } => may_write(role, command),
            C::Batch(cmds) => cmds.iter().all(|c| may_write(role, c)),
            C::RegisterNode(_) | C::ProposeGcHorizon { .. } => role == PeerRole::Node,
            C::Reconcile(r) => match r {
                ReconcileCommand::ReportDamage { .. } => true,
                ReconcileCommand::SetPieceHolder { .. }
                | ReconcileCommand::ReencodeChunk { .. } => role == PeerRole::Node,
                ReconcileCommand::DiskIdentity { .. }
                | ReconcileCommand::SetRepairSettings(_)
                | ReconcileCommand::SetRebalanceSettings(_)
                | ReconcileCommand::SetBucketRedundancy { .. }
                | ReconcileCommand::ReencodeDone { .. } => false,
            },
            // What S3 clients change through a gateway.
            C::CreateBucket(_)
            | C::CreateBucketOwned { .. }
            | C::SetBucketPolicy { .. }
            | C::DeleteBucket { .. }
            | C::PutObject { .. }
            | C::DeleteObject { .. }
            | C::CreateUpload(_)
            | C::PutPart { .. }
            | C::CompleteUpload { .. }
            | C::AbortUpload { .. }
            | C::SetBucketCors { .. }
            | C::SetBucketLifecycle { .. }
            | C::PutObjectWithExtras { .. }
            | C::SetObjectTags { .. }
            | C::SetBucketTags { .. }
            | C::CreateUploadWithExtras { .. }
            | C::PutPartWithChecksum { .. }
            | C::CompleteUploadWithChecksums { .. }
            | C::SetBucketVersioning { .. }
            | C::DeleteObjectVersion { .. }
            | C::SetObjectVersionTags { .. } => role == PeerRole::Gateway,
            // The lifecycle job's, the operator's and the collector's.
            C::ExpireObject { .. }
            | C::ExpireVersion { .. }
            | C::AdvanceGcHorizon { .. }
            | C::PauseGc
            | C::ResetGcHorizon { .. }
            | C::StageLayout(_)
            | C::ApplyLayout(_)
            | C::PutAccessKey(_)
            | C::SetGrant { .. }
            | C::DeleteAccessKey { .. } => false,
        },
    }
}

/// Whether `role` may run `query`.
pub fn may_read(role: PeerRole, query: &MetaQuery) -> bool {
    match query {
        MetaQuery::GetAccessKey { .. }
        | MetaQuery::ListAccessKeys
        | MetaQuery::GetGrants { .. } => {
            matches!(role, PeerRole::Meta | PeerRole::Gateway | PeerRole::Admin)
        }
        _ => true,
    }
}

/// What a refused command is, for the 403 message and the log.
pub fn command_name(cmd: &MetaCommand) -> String {
    if let MetaCommand::Idempotent { command, .. } = cmd {
        return command_name(command);
    }
    let debug = format!("{cmd:?}");
    let end = debug
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(debug.len());
    debug[..end].to_string()
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
