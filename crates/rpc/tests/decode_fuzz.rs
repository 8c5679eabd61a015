//! Every postcard message the internal transport decodes, fed arbitrary
//! bytes and damaged encodings of real messages: decoding answers a value or
//! a typed error, never a panic (a voter, node or gateway decodes what any
//! peer sends it). Seeded by proptest; a failure prints the input that
//! reproduces it.

use cairn_rpc::health_api::{Heartbeat, NodeStatus, NodeStatusRequest};
use cairn_rpc::{
    CompletedPart, ListObjectsQuery, MembershipChange, MetaCommand, MetaError, MetaQuery,
    MetaResponse, QueryResult, WriteCondition, WriteId, decode_postcard,
};
use cairn_types::{
    Bucket, ChunkRef, HttpHeaders, ObjectData, ObjectManifest, PieceRef, Redundancy, VersionId,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;

/// Longest random input tried.
const MAX_INPUT: usize = 512;

/// Decodes `bytes` as `T`; a panic fails the test, a typed error is fine.
fn decodes_or_refuses<T: DeserializeOwned>(bytes: &[u8]) {
    let _ = decode_postcard::<T>(&bytes::Bytes::copy_from_slice(bytes));
}

/// Every message type the roles decode from a peer.
fn decode_all(bytes: &[u8]) {
    decodes_or_refuses::<MetaCommand>(bytes);
    decodes_or_refuses::<MetaQuery>(bytes);
    decodes_or_refuses::<Result<MetaResponse, MetaError>>(bytes);
    decodes_or_refuses::<Result<QueryResult, MetaError>>(bytes);
    decodes_or_refuses::<MembershipChange>(bytes);
    decodes_or_refuses::<Heartbeat>(bytes);
    decodes_or_refuses::<NodeStatusRequest>(bytes);
    decodes_or_refuses::<Result<Vec<NodeStatus>, MetaError>>(bytes);
    decodes_or_refuses::<Result<Vec<u64>, MetaError>>(bytes);
}

/// Real messages whose encodings the damage tests start from.
fn samples() -> Vec<Vec<u8>> {
    let version = VersionId::new_random();
    let manifest = ObjectManifest {
        bucket: "bucket".into(),
        key: "a/key".into(),
        version,
        size: 3 << 20,
        etag: "0123456789abcdef0123456789abcdef-2".into(),
        last_modified: 1_700_000_000_000,
        headers: HttpHeaders {
            content_type: Some("text/plain".into()),
            user_metadata: [("k".to_string(), "v".to_string())].into_iter().collect(),
            ..Default::default()
        },
        data: ObjectData::Chunked {
            codec: 2,
            chunks: vec![ChunkRef {
                version,
                part: 1,
                index: 0,
                len: 1 << 20,
                hash: [7; 32],
                nodes: Vec::new(),
                pieces: vec![
                    Some(PieceRef {
                        node: 3,
                        hash: [9; 32],
                    }),
                    None,
                ],
                data_pieces: 1,
            }],
        },
        part_sizes: vec![5 << 20, 1],
    };
    let enc = |v: &dyn erased::Encode| v.encode();
    vec![
        enc(&MetaCommand::PutObject {
            manifest: manifest.clone(),
            condition: WriteCondition::IfMatch("abc".into()),
        }),
        enc(&MetaCommand::CompleteUpload {
            bucket: "b".into(),
            key: "k".into(),
            upload_id: version,
            parts: vec![
                CompletedPart {
                    part_number: 1,
                    etag: "e".into()
                };
                3
            ],
            version,
            last_modified: 1,
            condition: WriteCondition::Always,
        }),
        enc(&MetaCommand::Idempotent {
            id: WriteId::new_random(),
            stamped_ms: 1_700_000_000_000,
            command: Box::new(MetaCommand::PutObject {
                manifest: manifest.clone(),
                condition: WriteCondition::Always,
            }),
        }),
        enc(&MetaCommand::CreateBucket(Bucket {
            name: "b".into(),
            created: 1,
            redundancy: Redundancy::ErasureCoded { data: 4, parity: 2 },
        })),
        enc(&MetaQuery::ListObjects(ListObjectsQuery {
            bucket: "b".into(),
            prefix: "p/".into(),
            delimiter: Some("/".into()),
            start_after: None,
            max_keys: 1000,
        })),
        enc(&Ok::<_, MetaError>(QueryResult::Object(Some(manifest)))),
        enc(&Heartbeat {
            node: 4,
            used_bytes: 1,
            free_bytes: 2,
            clock_ms: 1_700_000_000_000,
        }),
    ]
}

/// Encoding without naming the type at each call.
mod erased {
    pub trait Encode {
        fn encode(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Encode for T {
        fn encode(&self) -> Vec<u8> {
            postcard::to_allocvec(self).expect("encode")
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..MAX_INPUT)) {
        decode_all(&bytes);
    }

    #[test]
    fn damaged_messages_decode_or_are_refused(
        which in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let samples = samples();
        let mut bytes = samples[which.index(samples.len())].clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        decode_all(&bytes);
        let keep = cut.index(bytes.len() + 1);
        decode_all(&bytes[..keep]);
    }
}

#[test]
fn samples_round_trip() {
    let samples = samples();
    let cmd: MetaCommand =
        decode_postcard(&bytes::Bytes::copy_from_slice(&samples[0])).expect("decodes");
    assert!(matches!(cmd, MetaCommand::PutObject { .. }));
}
