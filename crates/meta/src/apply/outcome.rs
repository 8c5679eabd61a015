//! What applying a command yields (`Applied`), for every file of `apply`.

use crate::store::db::DbError;
use cairn_rpc::{MetaError, MetaResponse};

/// The outcome of a command: the S3-level answer, or a storage failure that
/// must stop the state machine.
pub type Applied = Result<Result<MetaResponse, MetaError>, DbError>;

/// What a family's `apply` answers a command of another family. Never
/// answered: `dispatch` hands each command to its own family.
pub(super) fn misrouted() -> Applied {
    Ok(Err(MetaError::Internal(
        "a command reached the handler of another family".into(),
    )))
}
