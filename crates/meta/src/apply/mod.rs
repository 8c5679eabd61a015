//! Applying `MetaCommand`s to the state machine's tables. This is where
//! every metadata decision is made (bucket exists? precondition holds? parts
//! valid?), from the command and the current state only, so every voter that
//! applies the same log reaches the same state and the same answers. Writes
//! go into the `WriteBatch` the caller commits atomically with the applied id.
//!
//! `dispatch` hands a command to the file of its family: `buckets`,
//! `objects` (whose keys' versions `versioning` changes through
//! `key_versions`), `multipart` (with S3's multipart `checksums`) and
//! `cluster` (access keys, nodes, the `layout`, the GC horizon) and
//! `reconcile` (chunk placement records: a mover's compare-and-swap,
//! damage reports, disk identities, repair settings; a bucket's change of
//! redundancy and its chunks re-encoded, in `reencode`). `extras`
//! keeps what records carry besides themselves (tags, checksums),
//! `entry_sharing` says which commands may share one log entry, and
//! `idempotency` applies a write sent under an idempotency id at most once.
//! `access` holds the tenants' commands (grants, key deletion, a bucket
//! created with its owner).

mod access;
mod buckets;
pub mod checksums;
mod cluster;
mod dispatch;
pub mod entry_sharing;
mod extras;
mod idempotency;
mod key_versions;
pub mod layout;
mod multipart;
mod objects;
mod outcome;
mod reconcile;
mod reencode;
mod versioning;

pub use dispatch::apply_command;
pub use idempotency::completion_id;
pub use outcome::Applied;
