//! Data directories are private to the user cairn runs as: created `0700`
//! (RocksDB keeps access keys in them, shard files hold object data), and an
//! existing one left more open by an older build is tightened at start.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Mode of every directory cairn creates for its data.
pub const DATA_DIR_MODE: u32 = 0o700;

/// Creates `path` (and missing parents) with `DATA_DIR_MODE`, or narrows an
/// existing directory to it.
pub fn ensure_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DATA_DIR_MODE)
        .create(path)?;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode != DATA_DIR_MODE {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(DATA_DIR_MODE))?;
        tracing::info!(dir = %path.display(), from = format!("{mode:o}"), "data directory made private (0700)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_existing_directories_end_private() {
        let root = tempfile::tempdir().expect("tempdir");
        let fresh = root.path().join("a/b");
        ensure_private_dir(&fresh).expect("create");
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&fresh), DATA_DIR_MODE);
        let open = root.path().join("open");
        std::fs::create_dir(&open).expect("mkdir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        ensure_private_dir(&open).expect("tighten");
        assert_eq!(mode(&open), DATA_DIR_MODE);
    }
}
