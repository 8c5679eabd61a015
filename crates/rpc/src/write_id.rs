//! The idempotency id of a metadata write. `MetaClient::write` gives every
//! write a fresh random id and sends it with every attempt of that write
//! (`MetaCommand::Idempotent`); the state machine remembers the answer of
//! the first application under the id for a window far longer than any
//! retry, and answers a repeat with it instead of applying the command
//! again. So a write whose first attempt was applied unseen (a voter's
//! "unavailable" after appending it, a timeout, a broken connection) takes
//! effect exactly once, whatever other clients did in between.

use cairn_types::VersionId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// 16 bytes: a UUIDv7 (48 bits of time, 74 random bits), so two writes never
/// share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WriteId(pub [u8; 16]);

impl WriteId {
    pub fn new_random() -> Self {
        Self(VersionId::new_random().0)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for WriteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct() {
        let ids: std::collections::HashSet<WriteId> =
            (0..1000).map(|_| WriteId::new_random()).collect();
        assert_eq!(ids.len(), 1000);
    }
}
