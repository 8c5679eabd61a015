//! What answering a query yields (`Answered`), for every file of `query`.

use crate::store::db::DbError;
use cairn_rpc::{MetaError, QueryResult};

/// The answer to a query, or a storage failure.
pub type Answered = Result<Result<QueryResult, MetaError>, DbError>;

/// What a family's `answer` gives a query of another family. Never given:
/// `dispatch` hands each query to its own family.
pub(super) fn misrouted() -> Answered {
    Ok(Err(MetaError::Internal(
        "a query reached the handler of another family".into(),
    )))
}
