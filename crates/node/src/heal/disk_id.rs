//! The disk identity: a random number written to the shard directory at
//! the first start (`disk-id`, 32 hex digits, written durably). The node
//! reports it to meta; an identity other than the one meta recorded means
//! the directory was wiped or the disk replaced, and every piece meta
//! records on the node is then missing at once, without waiting for a
//! scrub pass. An unreadable file is treated as a new disk (the pieces are
//! rebuilt elsewhere, and what is still here becomes surplus).

use std::io::Write;
use std::path::Path;

/// Name of the identity file in the shard directory.
pub const DISK_ID_FILE: &str = "disk-id";

/// Reads the identity of the disk under `dir`, writing a new one when there
/// is none (or it cannot be parsed).
pub fn load_or_create(dir: &Path) -> std::io::Result<u128> {
    let path = dir.join(DISK_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => match u128::from_str_radix(text.trim(), 16) {
            Ok(id) if id != 0 => return Ok(id),
            _ => {
                tracing::warn!(path = %path.display(), "disk identity unreadable: treated as a new disk")
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let id = new_id();
    let tmp = dir.join(format!("{DISK_ID_FILE}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{id:032x}")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(dir)?.sync_all()?;
    tracing::info!(disk_id = %format!("{id:032x}"), "new disk identity written");
    Ok(id)
}

/// A random nonzero identity (UUIDv7 bytes: time and randomness).
fn new_id() -> u128 {
    let v = cairn_types::VersionId::new_random();
    u128::from_be_bytes(v.0).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_kept_and_a_wiped_directory_gets_a_new_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create(dir.path()).expect("create");
        assert_eq!(load_or_create(dir.path()).expect("again"), first);
        std::fs::remove_file(dir.path().join(DISK_ID_FILE)).expect("wipe");
        let second = load_or_create(dir.path()).expect("new");
        assert_ne!(second, first);
        std::fs::write(dir.path().join(DISK_ID_FILE), "garbage").expect("rot");
        let third = load_or_create(dir.path()).expect("replaced");
        assert_ne!(third, second);
        assert_eq!(load_or_create(dir.path()).expect("kept"), third);
    }
}
