//! The on-disk shard store. Each shard is one file: a `ShardHeader` (magic,
//! codec, length, blake3) followed by the payload. Writes go to a temporary
//! file that is fsynced and then renamed into place (and the directory
//! fsynced), so a shard is either absent or complete and durable; every read
//! verifies the payload against the header's hash.

use bytes::{Bytes, BytesMut};
use cairn_codec::{FrameError, SHARD_HEADER_LEN, ShardHeader};
use cairn_types::ShardId;
use futures::{Stream, StreamExt};
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Largest shard payload a node accepts.
pub use cairn_types::limits::MAX_SHARD_BYTES;
const TMP_DIR: &str = ".tmp";

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("shard not found")]
    NotFound,
    #[error("shard is corrupt: {0}")]
    Corrupt(FrameError),
    #[error("payload does not match the hash the sender gave")]
    TransitMismatch,
    #[error("shard payload exceeds {MAX_SHARD_BYTES} bytes")]
    TooLarge,
    #[error("body stream failed: {0}")]
    Body(String),
    #[error("disk error: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug)]
pub struct ShardStore {
    root: PathBuf,
}

impl ShardStore {
    /// Opens (creating if needed) a store under `root`, discarding temporary
    /// files left by writes that never finished.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        let tmp = root.join(TMP_DIR);
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        private_dir(&tmp)?;
        // Every fan-out directory exists, durably, before the first shard is
        // acknowledged: a shard renamed into a directory that another writer
        // had just created could otherwise be acknowledged before that
        // directory's own entry reached the disk.
        for fan in 0..=u8::MAX {
            private_dir(&root.join(fan_dir(fan)))?;
        }
        sync_dir(&root)?;
        Ok(Self { root })
    }

    fn path_of(&self, id: &ShardId) -> PathBuf {
        let fan = blake3::hash(&id.to_bytes()).as_bytes()[0];
        self.root.join(fan_dir(fan)).join(id.to_string())
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Fan-out directory number `fan`.
    pub fn fan_path(&self, fan: u8) -> PathBuf {
        self.root.join(fan_dir(fan))
    }

    /// The file a shard is stored in (for tests and repair tools).
    pub fn file_of(&self, id: &ShardId) -> PathBuf {
        self.path_of(id)
    }

    /// Streams `body` into the shard `id`. The payload must hash to
    /// `expected_hash`; the shard is durable when this returns Ok.
    pub async fn write<S, E>(
        &self,
        id: &ShardId,
        codec: u16,
        expected_hash: [u8; 32],
        mut body: S,
    ) -> Result<u64, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let tmp_path = self
            .root
            .join(TMP_DIR)
            .join(format!("{id}.{}", uuid_suffix()));
        let result = async {
            let mut file = tokio::fs::File::create(&tmp_path).await?;
            file.write_all(&[0u8; SHARD_HEADER_LEN]).await?;
            let mut hasher = blake3::Hasher::new();
            let mut len = 0u64;
            while let Some(piece) = body.next().await {
                let piece = piece.map_err(|e| StoreError::Body(e.to_string()))?;
                len += piece.len() as u64;
                if len > MAX_SHARD_BYTES {
                    return Err(StoreError::TooLarge);
                }
                hasher.update(&piece);
                file.write_all(&piece).await?;
            }
            if *hasher.finalize().as_bytes() != expected_hash {
                return Err(StoreError::TransitMismatch);
            }
            let header = ShardHeader {
                codec,
                payload_len: len,
                hash: expected_hash,
            };
            file.seek(SeekFrom::Start(0)).await?;
            file.write_all(&header.encode()).await?;
            finish_durably(&mut file).await?;
            Ok(len)
        }
        .await;
        let len = match result {
            Ok(len) => len,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp_path).await;
                return Err(e);
            }
        };
        let final_path = self.path_of(id);
        let dir = final_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            match std::fs::rename(&tmp_path, &final_path) {
                // The fan-out directory is gone (removed while the node ran):
                // made again, its entry synced before the shard goes in.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.exists() => {
                    private_dir(&dir)?;
                    sync_dir(&root)?;
                    std::fs::rename(&tmp_path, &final_path)?;
                }
                other => other?,
            }
            sync_dir(&dir)
        })
        .await
        .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        Ok(len)
    }

    /// Reads and verifies a shard's payload.
    pub async fn read(&self, id: &ShardId) -> Result<Bytes, StoreError> {
        let path = self.path_of(id);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StoreError::NotFound),
            Err(e) => return Err(e.into()),
        };
        let mut head = [0u8; SHARD_HEADER_LEN];
        if let Err(e) = file.read_exact(&mut head).await {
            return Err(if e.kind() == std::io::ErrorKind::UnexpectedEof {
                StoreError::Corrupt(FrameError::Truncated(0))
            } else {
                e.into()
            });
        }
        let header = ShardHeader::decode(&head).map_err(StoreError::Corrupt)?;
        if header.payload_len > MAX_SHARD_BYTES {
            return Err(StoreError::Corrupt(FrameError::LengthMismatch {
                expected: header.payload_len,
                actual: 0,
            }));
        }
        let mut buf = BytesMut::zeroed(header.payload_len as usize);
        let mut filled = 0;
        while filled < buf.len() {
            let n = file.read(&mut buf[filled..]).await?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        header.verify(&buf).map_err(StoreError::Corrupt)?;
        Ok(buf.freeze())
    }

    /// Removes a shard; a missing shard is not an error.
    pub async fn delete(&self, id: &ShardId) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path_of(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The name of fan-out directory `fan`: two hex digits.
fn fan_dir(fan: u8) -> String {
    format!("{fan:02x}")
}

/// Mode of the store's directories: private to the node's user.
pub const STORE_DIR_MODE: u32 = 0o700;

/// Creates `dir` (and parents) private to this user, if missing.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(STORE_DIR_MODE)
        .create(dir)
}

/// Makes a written file durable: flushes the last write tokio still holds
/// (whose error `sync_all` alone would drop), then fsyncs.
async fn finish_durably(file: &mut tokio::fs::File) -> std::io::Result<()> {
    file.flush().await?;
    file.sync_all().await
}

/// A shard file found by `ShardStore::list_dir`.
#[derive(Debug, Clone)]
pub struct StoredShard {
    pub id: ShardId,
    pub path: PathBuf,
    /// Size of the file on disk (header included).
    pub file_len: u64,
    /// Its modification time when listed: when it was written or last
    /// verified by the scrub (None: the filesystem keeps none).
    pub modified: Option<std::time::SystemTime>,
}

/// A temporary file of an unfinished write, found by `ShardStore::temp_files`.
#[derive(Debug, Clone)]
pub struct TempFile {
    pub path: PathBuf,
    /// The shard being written, when the name parses.
    pub id: Option<ShardId>,
    pub modified: Option<std::time::SystemTime>,
}

impl ShardStore {
    /// The fan-out directories shard files live in (blocking I/O).
    pub fn fan_dirs(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name();
            let is_fan = name
                .to_str()
                .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_hexdigit()));
            if is_fan && entry.file_type()?.is_dir() {
                out.push(entry.path());
            }
        }
        out.sort();
        Ok(out)
    }

    /// The shard files in one fan-out directory (blocking I/O). Files whose
    /// names are not shard ids are skipped: they are not ours to judge.
    pub fn list_dir(dir: &Path) -> std::io::Result<Vec<StoredShard>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let Some(id) = entry.file_name().to_str().and_then(ShardId::parse) else {
                continue;
            };
            let meta = match entry.metadata() {
                Ok(m) => m,
                // Deleted since the directory was read.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.is_file() {
                out.push(StoredShard {
                    id,
                    path: entry.path(),
                    file_len: meta.len(),
                    modified: meta.modified().ok(),
                });
            }
        }
        Ok(out)
    }

    /// Temporary files of writes in progress or abandoned (blocking I/O).
    pub fn temp_files(&self) -> std::io::Result<Vec<TempFile>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.root.join(TMP_DIR))? {
            let entry = entry?;
            let id = entry
                .file_name()
                .to_str()
                .and_then(|n| n.split_once('.'))
                .and_then(|(id, _)| ShardId::parse(id));
            let modified = entry.metadata().ok().and_then(|m| m.modified().ok());
            out.push(TempFile {
                path: entry.path(),
                id,
                modified,
            });
        }
        Ok(out)
    }
}

/// Removes a file; answers whether it was there.
pub async fn remove_if_present(path: &Path) -> std::io::Result<bool> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// A process-unique suffix so concurrent writes of one shard id never share a temp file.
fn uuid_suffix() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_types::VersionId;

    /// All 256 fan-out directories exist once the store is open (they were
    /// made by the first shard that needed one), private to the user.
    #[test]
    fn open_makes_every_fan_out_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("shards");
        ShardStore::open(&root).expect("open");
        for fan in 0..=u8::MAX {
            let d = root.join(fan_dir(fan));
            let meta = std::fs::metadata(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
            assert!(meta.is_dir());
            assert_eq!(meta.permissions().mode() & 0o777, STORE_DIR_MODE);
        }
    }

    /// A write whose last bytes tokio still holds fails at `finish_durably`
    /// (`sync_all` alone drops that write's error and answers Ok, and the
    /// shard would be acknowledged short). /dev/full fails every write.
    #[tokio::test]
    async fn an_error_of_the_last_write_is_not_lost() {
        let mut f = tokio::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .await
            .expect("open /dev/full");
        f.write_all(b"the last bytes of a shard")
            .await
            .expect("queued by tokio");
        let err = finish_durably(&mut f).await.expect_err("the write failed");
        assert_eq!(err.raw_os_error(), Some(28), "ENOSPC: {err}");
    }

    fn body(parts: &[&[u8]]) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::copy_from_slice(p)))
                .collect::<Vec<_>>(),
        )
    }

    fn id() -> ShardId {
        ShardId {
            version: VersionId::new_random(),
            part: 0,
            chunk: 3,
            piece: 0,
        }
    }

    #[tokio::test]
    async fn write_read_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ShardStore::open(dir.path()).expect("open");
        let id = id();
        let hash = *blake3::hash(b"hello world").as_bytes();
        store
            .write(&id, 1, hash, body(&[b"hello ", b"world"]))
            .await
            .expect("write");
        assert_eq!(&store.read(&id).await.expect("read")[..], b"hello world");
        store.delete(&id).await.expect("delete");
        assert!(matches!(store.read(&id).await, Err(StoreError::NotFound)));
        store.delete(&id).await.expect("second delete is fine");
    }

    #[tokio::test]
    async fn transit_damage_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ShardStore::open(dir.path()).expect("open");
        let id = id();
        let hash = *blake3::hash(b"expected").as_bytes();
        let r = store.write(&id, 1, hash, body(&[b"different"])).await;
        assert!(matches!(r, Err(StoreError::TransitMismatch)));
        assert!(matches!(store.read(&id).await, Err(StoreError::NotFound)));
        let leftovers = std::fs::read_dir(dir.path().join(TMP_DIR))
            .expect("tmp")
            .count();
        assert_eq!(leftovers, 0);
    }

    #[tokio::test]
    async fn listing_finds_shards_and_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ShardStore::open(dir.path()).expect("open");
        let ids: Vec<ShardId> = (0..20).map(|_| id()).collect();
        for i in &ids {
            store
                .write(i, 1, *blake3::hash(b"x").as_bytes(), body(&[b"x"]))
                .await
                .expect("write");
        }
        std::fs::write(dir.path().join("stray.txt"), b"not a shard").expect("stray");
        let tmp = dir.path().join(TMP_DIR).join(format!("{}.1-2", ids[0]));
        std::fs::write(&tmp, b"half").expect("temp");
        let mut found = Vec::new();
        for fan in store.fan_dirs().expect("fans") {
            for s in ShardStore::list_dir(&fan).expect("list") {
                assert_eq!(s.file_len, SHARD_HEADER_LEN as u64 + 1);
                assert_eq!(s.path, store.file_of(&s.id));
                found.push(s.id);
            }
        }
        found.sort();
        let mut want = ids.clone();
        want.sort();
        assert_eq!(found, want);
        let temps = store.temp_files().expect("temps");
        assert_eq!(temps.len(), 1);
        assert_eq!(temps[0].id, Some(ids[0]));
        assert!(remove_if_present(&temps[0].path).await.expect("remove"));
        assert!(!remove_if_present(&temps[0].path).await.expect("again"));
    }

    #[tokio::test]
    async fn bitrot_is_detected_on_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ShardStore::open(dir.path()).expect("open");
        let id = id();
        let data = vec![7u8; 10_000];
        store
            .write(&id, 1, *blake3::hash(&data).as_bytes(), body(&[&data]))
            .await
            .expect("write");
        let path = store.file_of(&id);
        let mut raw = std::fs::read(&path).expect("raw");
        raw[SHARD_HEADER_LEN + 5000] ^= 0x40;
        std::fs::write(&path, raw).expect("rewrite");
        assert!(matches!(
            store.read(&id).await,
            Err(StoreError::Corrupt(FrameError::HashMismatch))
        ));
    }
}
