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
pub const MAX_SHARD_BYTES: u64 = 64 * 1024 * 1024;
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
        std::fs::create_dir_all(&tmp)?;
        sync_dir(&root)?;
        Ok(Self { root })
    }

    fn path_of(&self, id: &ShardId) -> PathBuf {
        let fan = blake3::hash(&id.to_bytes()).as_bytes()[0];
        self.root.join(format!("{fan:02x}")).join(id.to_string())
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
            file.sync_all().await?;
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
            if !dir.exists() {
                std::fs::create_dir_all(&dir)?;
                sync_dir(&root)?;
            }
            std::fs::rename(&tmp_path, &final_path)?;
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
