//! Answering `MetaQuery` reads from the state machine's tables. Called only
//! after the read barrier, so what they see includes every acknowledged
//! write. `dispatch` hands a query to the file of its family: `buckets`,
//! `objects` (with the paged `listing` of objects and the
//! `version_listing`), `uploads`, and `cluster` (access keys, nodes, the
//! layout with its `layout_usage`, unreferenced data versions) and
//! `chunks` (chunk placement records: a GET's range, a scrub's questions).

pub mod buckets;
pub mod chunks;
pub mod cluster;
pub mod dispatch;
pub mod layout_usage;
pub mod listing;
pub mod objects;
pub mod outcome;
pub mod uploads;
pub mod version_listing;

pub use dispatch::run_query;
