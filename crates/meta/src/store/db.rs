//! The one RocksDB database of a meta voter and its column families: the Raft
//! log and vote, and the state machine's tables; reading a whole table
//! (`scan_all`).

use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB, Options, WriteOptions};
use std::path::Path;
use std::sync::Arc;

pub const CF_LOG: &str = "log";
pub const CF_RAFT: &str = "raft";
pub const CF_SM_META: &str = "sm_meta";
pub const CF_BUCKETS: &str = "buckets";
pub const CF_KEYS: &str = "access_keys";
pub const CF_NODES: &str = "nodes";
pub const CF_OBJECTS: &str = "objects";
pub const CF_UPLOADS: &str = "uploads";
pub const CF_PARTS: &str = "parts";
/// Index of the data versions that object manifests and parts reference
/// (derived from `objects` and `parts`; see `data_refs`).
pub const CF_DATA_REFS: &str = "data_refs";
/// Garbage-collection state: the horizon and the index format marker.
pub const CF_GC: &str = "gc";
/// The applied cluster layout and the staged changes (see `store::layout`).
pub const CF_LAYOUT: &str = "layout";
/// Bucket CORS configurations, by bucket name.
pub const CF_BUCKET_CORS: &str = "bucket_cors";
/// Bucket lifecycle configurations, by bucket name.
pub const CF_BUCKET_LIFECYCLE: &str = "bucket_lifecycle";

/// What objects carry besides their manifests (`ObjectExtras`: tags,
/// checksums), keyed like `objects`.
pub const CF_OBJECT_EXTRAS: &str = "object_extras";
/// What uploads will give their object (`UploadExtras`), keyed like `uploads`.
pub const CF_UPLOAD_EXTRAS: &str = "upload_extras";
/// Bucket tag sets (`Vec<Tag>`), keyed by bucket name.
pub const CF_BUCKET_TAGS: &str = "bucket_tags";
/// The verified checksum (`StoredChecksum`) of an uploaded part of an upload
/// with a checksum algorithm, keyed like `parts`.
pub const CF_PART_CHECKSUMS: &str = "part_checksums";
/// Bucket versioning states (`VersioningStatus`), by bucket name; a bucket
/// without a row never had versioning.
pub const CF_BUCKET_VERSIONING: &str = "bucket_versioning";
/// Every version of every key of a bucket that has versioning (object
/// versions and delete markers, `object_versions::StoredVersion`), keyed by
/// `keys::version_key`: by key, newest first.
pub const CF_OBJECT_VERSIONS: &str = "object_versions";
/// Finds a version of a key by its id or its write's id (derived from
/// `object_versions`; see `version_index`).
pub const CF_VERSION_INDEX: &str = "version_index";

/// The answers of idempotent writes by their id, with their expiry order
/// and clock (see `write_ids`).
pub const CF_WRITE_IDS: &str = "write_ids";

/// The state machine's data tables: exactly what a snapshot holds. New
/// tables go at the end: a snapshot names tables by their index here.
/// Chunk placement records (`chunks`): `ChunkKey` → `ChunkRecord`.
pub const CF_CHUNKS: &str = "chunks";
/// A manifest's chunks in object order: manifest version | offset → `ObjectChunk`.
pub const CF_OBJECT_CHUNKS: &str = "object_chunks";
/// The pieces recorded on each node: node | shard id → ().
pub const CF_NODE_PIECES: &str = "node_pieces";
/// Damage reported per piece: chunk | piece | node → `DamageRecord`.
pub const CF_CHUNK_DAMAGE: &str = "chunk_damage";
/// The reconciler's own rows: repair candidates, released versions, disk
/// identities, settings and counters (`store::chunks`).
pub const CF_REPAIR: &str = "repair";
/// Tenants: grants of access keys on buckets (`store::access`).
pub const CF_ACCESS: &str = "access";
pub const DATA_CFS: [&str; 25] = [
    CF_BUCKETS,
    CF_KEYS,
    CF_NODES,
    CF_OBJECTS,
    CF_UPLOADS,
    CF_PARTS,
    CF_DATA_REFS,
    CF_GC,
    CF_LAYOUT,
    CF_BUCKET_CORS,
    CF_BUCKET_LIFECYCLE,
    CF_OBJECT_EXTRAS,
    CF_UPLOAD_EXTRAS,
    CF_BUCKET_TAGS,
    CF_PART_CHECKSUMS,
    CF_BUCKET_VERSIONING,
    CF_OBJECT_VERSIONS,
    CF_VERSION_INDEX,
    CF_WRITE_IDS,
    CF_CHUNKS,
    CF_OBJECT_CHUNKS,
    CF_NODE_PIECES,
    CF_CHUNK_DAMAGE,
    CF_REPAIR,
    CF_ACCESS,
];
/// The Raft log's tables; every column family is these plus `DATA_CFS`.
const RAFT_CFS: [&str; 3] = [CF_LOG, CF_RAFT, CF_SM_META];

/// A shared handle to the database.
#[derive(Clone, Debug)]
pub struct MetaDb {
    pub db: Arc<DB>,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("column family {0} is missing")]
    MissingCf(&'static str),
    #[error("stored record does not decode: {0}")]
    Decode(String),
}

impl MetaDb {
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let cfs = RAFT_CFS.iter().chain(DATA_CFS.iter()).map(|name| {
            let mut cf_opts = Options::default();
            cf_opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
            ColumnFamilyDescriptor::new(*name, cf_opts)
        });
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        Ok(Self { db: Arc::new(db) })
    }

    pub fn cf(&self, name: &'static str) -> Result<&ColumnFamily, DbError> {
        self.db.cf_handle(name).ok_or(DbError::MissingCf(name))
    }

    /// Write options that make the write durable before returning.
    pub fn sync_writes() -> WriteOptions {
        let mut w = WriteOptions::default();
        w.set_sync(true);
        w
    }

    pub fn get<T: serde::de::DeserializeOwned>(
        &self,
        cf: &'static str,
        key: &[u8],
    ) -> Result<Option<T>, DbError> {
        match self.db.get_pinned_cf(self.cf(cf)?, key)? {
            None => Ok(None),
            Some(v) => decode(&v).map(Some),
        }
    }
}

pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DbError> {
    postcard::from_bytes(bytes).map_err(|e| DbError::Decode(e.to_string()))
}

pub fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, DbError> {
    postcard::to_stdvec(value).map_err(|e| DbError::Decode(e.to_string()))
}

/// Every record of table `cf`, in key order.
pub fn scan_all<T: serde::de::DeserializeOwned>(
    db: &MetaDb,
    cf: &'static str,
) -> Result<Vec<T>, DbError> {
    let mut out = Vec::new();
    for item in db.db.iterator_cf(db.cf(cf)?, rocksdb::IteratorMode::Start) {
        let (_, v) = item?;
        out.push(decode(&v)?);
    }
    Ok(out)
}
