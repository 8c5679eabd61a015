//! The Raft messages a voter decodes from its peers (append, vote,
//! snapshot, their answers, and the fault-injection switch), fed arbitrary
//! bytes: each decodes to a value or a typed error, never a panic.

use super::*;
use crate::raft::fault::FaultSetting;
use cairn_rpc::decode_postcard;
use openraft::error::InstallSnapshotError;
use proptest::prelude::*;

/// Longest random input tried.
const MAX_INPUT: usize = 512;

fn decode_all(bytes: &[u8]) {
    let bytes = axum::body::Bytes::copy_from_slice(bytes);
    let _ = decode_postcard::<AppendEntriesRequest<TypeConfig>>(&bytes);
    let _ = decode_postcard::<VoteRequest<NodeId>>(&bytes);
    let _ = decode_postcard::<InstallSnapshotRequest<TypeConfig>>(&bytes);
    let _ = decode_postcard::<Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>>(&bytes);
    let _ = decode_postcard::<Result<VoteResponse<NodeId>, RaftError<NodeId>>>(&bytes);
    let _ = decode_postcard::<
        Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>,
    >(&bytes);
    let _ = decode_postcard::<FaultSetting>(&bytes);
}

proptest! {
    #[test]
    fn raft_messages_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..MAX_INPUT)) {
        decode_all(&bytes);
    }
}
