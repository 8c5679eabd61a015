//! Storage: the one RocksDB database of a meta voter and its column families
//! (`db`), the byte encodings of their keys (`keys`), and the tables and
//! indexes that take more than a plain get or put, each in a file named for
//! what it holds: the versions of keys (`object_versions`), the index that
//! finds one of them by id (`version_index`), the index of referenced data
//! versions with the GC horizon (`data_refs`), the layout records (`layout`)
//! the parts of uploads (`parts`), the one-time correction of codecs
//! older builds recorded wrongly (`manifest_codecs`), the horizon's
//! generation and pause (`gc_state`) and the answers of idempotent writes
//! (`write_ids`), the chunk placement records (`chunks`) and the
//! reconciler's rows beside them (`repair_rows`, and re-encoding's:
//! `reencode_rows`), and the tenants' grants (`access`). Nothing here decides an S3 answer: `apply` and `query`
//! do, on top of this.

pub mod access;
pub mod chunk_migration;
pub mod chunks;
pub mod data_refs;
pub mod db;
pub mod gc_state;
pub mod keys;
pub mod layout;
pub mod manifest_codecs;
pub mod object_versions;
pub mod parts;
pub mod reencode_rows;
pub mod repair_rows;
pub mod version_index;
pub mod write_ids;
