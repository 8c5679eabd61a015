//! Storage: the one RocksDB database of a meta voter and its column families
//! (`db`), the byte encodings of their keys (`keys`), and the tables and
//! indexes that take more than a plain get or put, each in a file named for
//! what it holds: the versions of keys (`object_versions`), the index that
//! finds one of them by id (`version_index`), the index of referenced data
//! versions with the GC horizon (`data_refs`), the layout records (`layout`)
//! the parts of uploads (`parts`), and the one-time correction of codecs
//! older builds recorded wrongly (`manifest_codecs`). Nothing here decides an S3 answer:
//! `apply` and `query` do, on top of this.

pub mod data_refs;
pub mod db;
pub mod keys;
pub mod layout;
pub mod manifest_codecs;
pub mod object_versions;
pub mod parts;
pub mod version_index;
