//! Where the scrub stands, kept in the shard directory (`scrub-state`, a
//! few `key=value` lines, replaced atomically) so that a restarted node
//! resumes its pass where it stopped instead of starting again, and knows
//! when its last full pass ended.

use std::path::Path;

/// Name of the state file in the shard directory.
pub const SCRUB_STATE_FILE: &str = "scrub-state";

/// The scrub's position and its pass's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrubCursor {
    /// When the current pass started (0: no pass in progress).
    pub pass_started_ms: u64,
    /// The fan-out directory being walked (0..=255; 256: the files are
    /// done and the pieces meta records are being checked).
    pub fan: u16,
    /// The last shard file name done in that directory.
    pub after: Option<String>,
    /// Bytes verified in the current pass.
    pub pass_bytes_verified: u64,
    /// Bytes of shard files when the pass started.
    pub pass_bytes_total: u64,
    /// When the last full pass ended (0: none yet).
    pub last_pass_finished_ms: u64,
}

impl ScrubCursor {
    fn render(&self) -> String {
        format!(
            "pass_started_ms={}\nfan={}\nafter={}\npass_bytes_verified={}\npass_bytes_total={}\nlast_pass_finished_ms={}\n",
            self.pass_started_ms,
            self.fan,
            self.after.as_deref().unwrap_or(""),
            self.pass_bytes_verified,
            self.pass_bytes_total,
            self.last_pass_finished_ms,
        )
    }

    fn parse(text: &str) -> Option<Self> {
        let mut c = ScrubCursor::default();
        for line in text.lines() {
            let (k, v) = line.split_once('=')?;
            match k {
                "pass_started_ms" => c.pass_started_ms = v.parse().ok()?,
                "fan" => c.fan = v.parse().ok()?,
                "after" => c.after = (!v.is_empty()).then(|| v.to_string()),
                "pass_bytes_verified" => c.pass_bytes_verified = v.parse().ok()?,
                "pass_bytes_total" => c.pass_bytes_total = v.parse().ok()?,
                "last_pass_finished_ms" => c.last_pass_finished_ms = v.parse().ok()?,
                _ => {}
            }
        }
        (c.fan <= 256).then_some(c)
    }

    /// The saved cursor under `dir`; a missing or unreadable file starts afresh.
    pub fn load(dir: &Path) -> Self {
        match std::fs::read_to_string(dir.join(SCRUB_STATE_FILE)) {
            Ok(text) => Self::parse(&text).unwrap_or_else(|| {
                tracing::warn!("scrub state unreadable: the scrub starts a new pass");
                Self::default()
            }),
            Err(_) => Self::default(),
        }
    }

    /// Saves the cursor under `dir` (write, fsync, rename).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join(format!("{SCRUB_STATE_FILE}.tmp"));
        std::fs::write(&tmp, self.render())?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, dir.join(SCRUB_STATE_FILE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(ScrubCursor::load(dir.path()), ScrubCursor::default());
        let c = ScrubCursor {
            pass_started_ms: 17,
            fan: 0x3a,
            after: Some("0192-abc.0.1.2".into()),
            pass_bytes_verified: 1 << 20,
            pass_bytes_total: 1 << 30,
            last_pass_finished_ms: 9,
        };
        c.save(dir.path()).expect("save");
        assert_eq!(ScrubCursor::load(dir.path()), c);
        std::fs::write(dir.path().join(SCRUB_STATE_FILE), "fan=999\n").expect("rot");
        assert_eq!(ScrubCursor::load(dir.path()), ScrubCursor::default());
    }
}
