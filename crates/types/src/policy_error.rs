//! Why a bucket policy is refused when it is put: malformed (400
//! MalformedPolicy) or outside the subset cairn implements (501
//! NotImplemented). Shared by the policy parser and its conditions.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    NotImplemented(String),
}
