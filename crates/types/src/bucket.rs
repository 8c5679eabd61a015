//! Buckets and access keys as meta stores them.

use crate::{Redundancy, UnixMillis};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub created: UnixMillis,
    pub redundancy: Redundancy,
}

/// An S3 access key pair. Every key currently has full access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_key: String,
    pub name: String,
    pub created: UnixMillis,
}
