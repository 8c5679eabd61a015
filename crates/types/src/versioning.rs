//! Bucket versioning vocabulary: a bucket's versioning state and the id S3
//! clients see for an object version. A bucket that never had versioning
//! keeps one version per key, whose id is `null` (S3 does not even send it);
//! once versioning was enabled it can only be suspended, never turned off,
//! and while suspended every write becomes (and replaces) the `null` version.

use crate::ids::VersionId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A bucket's versioning state, once it was set (a bucket without a stored
/// state has never had versioning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersioningStatus {
    Enabled,
    Suspended,
}

impl VersioningStatus {
    /// S3's name (`<Status>` of a VersioningConfiguration).
    pub fn name(self) -> &'static str {
        match self {
            VersioningStatus::Enabled => "Enabled",
            VersioningStatus::Suspended => "Suspended",
        }
    }

    /// The state of an S3 name (exact, as S3 compares it).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "Enabled" => Some(VersioningStatus::Enabled),
            "Suspended" => Some(VersioningStatus::Suspended),
            _ => None,
        }
    }
}

/// The id of one version of an object as S3 names it: `null`, or the id of
/// the write that made it (the manifest's version, or a delete marker's own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ObjectVersionId {
    Null,
    Id(VersionId),
}

/// The S3 spelling of the null version id.
pub const NULL_VERSION_ID: &str = "null";

impl ObjectVersionId {
    /// Parses what `Display` produces; None for anything else (S3 answers
    /// such a `versionId` with InvalidArgument).
    pub fn parse(s: &str) -> Option<Self> {
        if s == NULL_VERSION_ID {
            return Some(ObjectVersionId::Null);
        }
        VersionId::parse(s).map(ObjectVersionId::Id)
    }
}

impl fmt::Display for ObjectVersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectVersionId::Null => f.write_str(NULL_VERSION_ID),
            ObjectVersionId::Id(v) => v.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_round_trip() {
        let v = VersionId::new_random();
        for id in [ObjectVersionId::Null, ObjectVersionId::Id(v)] {
            assert_eq!(ObjectVersionId::parse(&id.to_string()), Some(id));
        }
        assert_eq!(ObjectVersionId::parse("NULL"), None);
        assert_eq!(ObjectVersionId::parse("abc"), None);
        assert_eq!(ObjectVersionId::parse(""), None);
    }

    #[test]
    fn status_names_are_exact() {
        for s in [VersioningStatus::Enabled, VersioningStatus::Suspended] {
            assert_eq!(VersioningStatus::from_name(s.name()), Some(s));
        }
        assert_eq!(VersioningStatus::from_name("enabled"), None);
    }
}
