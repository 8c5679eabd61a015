//! Tenants: what an access key may do in a bucket. A key holds a `Grant`
//! per bucket (`cairn admin key allow`); the creator of a bucket owns it; a
//! grant on `ALL_BUCKETS` (the root key of `cairn server`) covers every
//! bucket. `Need` is what an S3 operation asks of the key.

use serde::{Deserialize, Serialize};

/// The bucket name of a grant covering every bucket (no bucket is named so).
pub const ALL_BUCKETS: &str = "*";

/// What one key may do in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Grant {
    /// Read objects and list them.
    pub read: bool,
    /// Write and delete objects (uploads included).
    pub write: bool,
    /// Everything: the bucket's configuration, its deletion, and grants.
    pub owner: bool,
}

impl Grant {
    /// Full access (an owner, or the root key on `ALL_BUCKETS`).
    pub const FULL: Grant = Grant {
        read: true,
        write: true,
        owner: true,
    };

    pub fn is_empty(&self) -> bool {
        !self.read && !self.write && !self.owner
    }

    /// Whether this grant covers `need` (an owner may do everything).
    pub fn allows(&self, need: Need) -> bool {
        self.owner
            || match need {
                Need::Read => self.read,
                Need::Write => self.write,
                Need::Owner => false,
                Need::Any => self.read || self.write,
            }
    }

    /// `read,write,owner` as granted (`-` for none).
    pub fn describe(&self) -> String {
        let parts: Vec<&str> = [
            (self.read, "read"),
            (self.write, "write"),
            (self.owner, "owner"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if parts.is_empty() {
            "-".into()
        } else {
            parts.join(",")
        }
    }
}

/// What an operation asks of the key on its bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Read,
    Write,
    Owner,
    /// Any grant at all (HeadBucket, GetBucketLocation, listing it).
    Any,
}

/// Whether `grants` (bucket, grant) let a key do `need` in `bucket`.
pub fn permits(grants: &[(String, Grant)], bucket: &str, need: Need) -> bool {
    grants
        .iter()
        .any(|(b, g)| (b == bucket || b == ALL_BUCKETS) && g.allows(need))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_cover_what_they_say_and_owners_everything() {
        let ro = Grant {
            read: true,
            ..Grant::default()
        };
        assert!(ro.allows(Need::Read) && ro.allows(Need::Any));
        assert!(!ro.allows(Need::Write) && !ro.allows(Need::Owner));
        assert!(Grant::FULL.allows(Need::Owner));
        let grants = vec![("photos".to_string(), ro)];
        assert!(permits(&grants, "photos", Need::Read));
        assert!(!permits(&grants, "photos", Need::Write));
        assert!(!permits(&grants, "other", Need::Read));
        let root = vec![(ALL_BUCKETS.to_string(), Grant::FULL)];
        assert!(permits(&root, "anything", Need::Owner));
        assert_eq!(ro.describe(), "read");
        assert_eq!(Grant::default().describe(), "-");
    }
}
