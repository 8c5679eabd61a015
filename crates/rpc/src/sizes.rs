//! How big a message of the internal transport may be. Every internal route
//! takes a body up to an explicit limit (axum's `DefaultBodyLimit`, set per
//! route from these constants), and every sender keeps under the limit of
//! the route it calls: the write batcher sizes log entries by the real
//! encoded size of their commands, the Raft log reader caps an append by
//! bytes, openraft cuts snapshots into chunks of `SNAPSHOT_CHUNK_BYTES`, and
//! the garbage collector splits its questions (`split_by_encoded_size`). A
//! body over a limit is answered 413, which the transport reports as
//! `RpcError::TooLarge`: the same request is never retried as it is.

use serde::Serialize;

pub use cairn_types::limits::MAX_META_COMMAND_BYTES;

/// Room for what wraps a payload: Raft votes and log ids, snapshot metadata,
/// enum tags and length prefixes.
pub const ENVELOPE_BYTES: usize = 64 * 1024;
/// Body limit of `/v1/meta/write`: one command.
pub const MAX_WRITE_BODY_BYTES: usize = MAX_META_COMMAND_BYTES;
/// Body limit of `/v1/meta/read`: one query. Only the garbage collector's
/// questions grow with the data; they are split below it.
pub const MAX_QUERY_BYTES: usize = 1024 * 1024;
/// Chunk references one `ChunkRefs` or `PiecesOnNode` answer carries at
/// most (a reader asks again from where the page ended).
pub const MAX_CHUNK_REFS_PER_QUERY: usize = 1024;
/// Shards one `ShardsOnNode` question or one damage report names at most
/// (each well under 64 bytes encoded, so far below the body limits).
pub const MAX_SHARDS_PER_QUESTION: usize = 8192;
/// Body limit of the small control messages: Raft votes, heartbeats, the
/// node list, membership changes, fault injection.
pub const MAX_CONTROL_BYTES: usize = 64 * 1024;
/// Bytes of log entries one Raft AppendEntries carries (at least one entry,
/// whatever its size), so a lagging voter catches up in steps that each
/// replicate well within a heartbeat interval.
pub const RAFT_APPEND_TARGET_BYTES: usize = 1024 * 1024;
/// Largest Raft log entry: one command of the largest size, alone (the
/// write batcher puts several in one entry only up to a smaller size).
pub const MAX_ENTRY_BYTES: usize = MAX_META_COMMAND_BYTES + ENVELOPE_BYTES;
/// Body limit of Raft AppendEntries: one largest entry and its envelope
/// (appends of several entries stay near `RAFT_APPEND_TARGET_BYTES`).
pub const MAX_RAFT_APPEND_BYTES: usize = MAX_ENTRY_BYTES + ENVELOPE_BYTES;
/// Bytes of snapshot data per InstallSnapshot request.
pub const SNAPSHOT_CHUNK_BYTES: usize = 1024 * 1024;
/// Body limit of Raft InstallSnapshot: one chunk and the snapshot's metadata.
pub const MAX_RAFT_SNAPSHOT_BYTES: usize = SNAPSHOT_CHUNK_BYTES + ENVELOPE_BYTES;

const _: () = assert!(RAFT_APPEND_TARGET_BYTES + ENVELOPE_BYTES <= MAX_RAFT_APPEND_BYTES);
const _: () = assert!(MAX_QUERY_BYTES > ENVELOPE_BYTES);

/// Bytes of a postcard length prefix, at most (a varint of a `usize`).
const LENGTH_PREFIX_BYTES: usize = 10;

/// The postcard-encoded size of `value` (what it weighs on the wire and in
/// the Raft log); `usize::MAX` when it cannot be encoded, so it never fits.
pub fn encoded_size<T: Serialize + ?Sized>(value: &T) -> usize {
    postcard::experimental::serialized_size(value).unwrap_or(usize::MAX)
}

/// Splits `items`, in order, into runs of at most `max_items` whose encoding
/// as a list stays within `max_bytes`. An item that alone is larger than
/// `max_bytes` gets a run of its own (the receiver refuses it; nothing else
/// is held back by it).
pub fn split_by_encoded_size<T: Serialize>(
    items: Vec<T>,
    max_items: usize,
    max_bytes: usize,
) -> Vec<Vec<T>> {
    let max_items = max_items.max(1);
    let mut runs = Vec::new();
    let mut run: Vec<T> = Vec::new();
    let mut bytes = LENGTH_PREFIX_BYTES;
    for item in items {
        let size = encoded_size(&item);
        if !run.is_empty() && (run.len() >= max_items || bytes.saturating_add(size) > max_bytes) {
            runs.push(std::mem::take(&mut run));
            bytes = LENGTH_PREFIX_BYTES;
        }
        bytes = bytes.saturating_add(size);
        run.push(item);
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

#[cfg(test)]
#[path = "sizes_tests.rs"]
mod tests;
