//! Identifiers: nodes, object versions and shards. Every identifier that ends up
//! in a file name or a hash input has an explicit byte encoding here.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A storage node or meta voter in the cluster.
pub type NodeId = u64;

/// The version nibble of a UUIDv7 (high nibble of byte 6).
const UUID_VERSION_7: u8 = 7;

/// One stored version of an object or one multipart upload: a random UUIDv7, so
/// ids sort roughly by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VersionId(pub [u8; 16]);

impl VersionId {
    pub fn new_random() -> Self {
        Self(*uuid::Uuid::now_v7().as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// When the version was created, in milliseconds since the Unix epoch:
    /// the 48-bit timestamp of the UUIDv7. An id that is not a UUIDv7 answers
    /// 0 (as old as can be), so it is never mistaken for a fresh one.
    pub fn created_millis(&self) -> u64 {
        if self.0[6] >> 4 != UUID_VERSION_7 {
            return 0;
        }
        let mut ms = [0u8; 8];
        ms[2..].copy_from_slice(&self.0[..6]);
        u64::from_be_bytes(ms)
    }

    /// Parses the 32-hex-digit form produced by `Display`.
    pub fn parse(s: &str) -> Option<Self> {
        let bytes = hex::decode(s).ok()?;
        let arr: [u8; 16] = bytes.try_into().ok()?;
        Some(Self(arr))
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// One shard: piece `piece` of chunk `chunk` of part `part` of a version.
/// For a plain PUT `part` is 0; multipart parts use their part number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ShardId {
    pub version: VersionId,
    pub part: u32,
    pub chunk: u32,
    pub piece: u16,
}

impl ShardId {
    /// The stable byte form (used for placement hashing).
    pub fn to_bytes(&self) -> [u8; 26] {
        let mut out = [0u8; 26];
        out[..16].copy_from_slice(&self.version.0);
        out[16..20].copy_from_slice(&self.part.to_be_bytes());
        out[20..24].copy_from_slice(&self.chunk.to_be_bytes());
        out[24..26].copy_from_slice(&self.piece.to_be_bytes());
        out
    }

    /// Parses the `Display` form: `<version>-<part>-<chunk>-<piece>`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.split('-');
        let version = VersionId::parse(it.next()?)?;
        let part = it.next()?.parse().ok()?;
        let chunk = it.next()?.parse().ok()?;
        let piece = it.next()?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        Some(Self {
            version,
            part,
            chunk,
            piece,
        })
    }
}

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}-{}",
            self.version, self.part, self.chunk, self.piece
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_carry_their_creation_time() {
        let before = crate::now_millis() as u64;
        let v = VersionId::new_random();
        let after = crate::now_millis() as u64;
        assert!((before..=after).contains(&v.created_millis()));
        // Not a UUIDv7: treated as infinitely old.
        assert_eq!(VersionId([0xAB; 16]).created_millis(), 0);
    }

    proptest::proptest! {
        /// Shard file names and version ids come from disks and clients:
        /// any text parses to an id that prints back to it, or to None.
        #[test]
        fn any_text_parses_to_an_id_or_none(s in "\\PC{0,80}", hexish in "[0-9a-f-]{0,70}") {
            for input in [s.as_str(), hexish.as_str()] {
                if let Some(id) = ShardId::parse(input) {
                    proptest::prop_assert_eq!(ShardId::parse(&id.to_string()), Some(id));
                }
                if let Some(v) = VersionId::parse(input) {
                    proptest::prop_assert_eq!(v.to_string(), input.to_ascii_lowercase());
                }
            }
        }
    }

    #[test]
    fn shard_id_round_trips_through_text() {
        let id = ShardId {
            version: VersionId::new_random(),
            part: 7,
            chunk: 12,
            piece: 3,
        };
        assert_eq!(ShardId::parse(&id.to_string()), Some(id));
        assert_eq!(ShardId::parse("zz-1-2-3"), None);
        assert_eq!(ShardId::parse(&format!("{}-1-2", id.version)), None);
        assert_eq!(ShardId::parse(&format!("{}-1-2-3-4", id.version)), None);
    }
}
