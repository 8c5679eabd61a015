//! The node's HTTP server: the shard API (`/v1/shards/{id}`: PUT and GET;
//! there is no DELETE, shards go only through the node's own collector and
//! scrub; `/v1/shards/{id}/status`: a shard's size and when it was last
//! verified, without reading it) and `/health`. A shard PUT streams its body to disk; its limit is
//! `MAX_SHARD_BYTES`, which the store enforces as it reads (413 beyond), so
//! no body is ever held whole in memory and axum's default body limit plays
//! no part.

use crate::store::{ShardStore, StoreError};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cairn_rpc::auth::allow;
use cairn_rpc::shard_api::{
    CODEC_HEADER, CORRUPT_STATUS, HASH_HEADER, REPAIR_READ_HEADER, ShardStatus,
};
use cairn_rpc::tls::PeerRole;
use cairn_types::ShardId;

/// Who reads and writes shard data: gateways, and other nodes' movers.
const DATA_ROLES: &[PeerRole] = &[PeerRole::Gateway, PeerRole::Node];
/// Who asks whether a shard is here and sound (`cairn admin object inspect` too).
const STATUS_ROLES: &[PeerRole] = &[
    PeerRole::Gateway,
    PeerRole::Node,
    PeerRole::Admin,
    PeerRole::Meta,
];
use std::sync::Arc;

/// Metric: shards that failed blake3 verification on read.
pub const METRIC_CORRUPT_SHARDS: &str = "cairn_node_corrupt_shards_total";
pub const METRIC_SHARDS_WRITTEN: &str = "cairn_node_shards_written_total";
pub const METRIC_SHARDS_READ: &str = "cairn_node_shards_read_total";

#[derive(Clone)]
pub struct NodeState {
    pub store: Arc<ShardStore>,
    /// Repair reads served at once (`repair.moves_per_node`: this node's
    /// moves out); more wait their turn.
    pub repair_reads: Arc<tokio::sync::Semaphore>,
}

impl NodeState {
    pub fn new(store: Arc<ShardStore>, moves_out: usize) -> Self {
        Self {
            store,
            repair_reads: Arc::new(tokio::sync::Semaphore::new(moves_out.max(1))),
        }
    }
}

pub fn router(state: NodeState) -> Router {
    Router::new()
        .route(
            "/v1/shards/{id}",
            get(get_shard).put(put_shard).route_layer(allow(DATA_ROLES)),
        )
        .route(
            "/v1/shards/{id}/status",
            get(shard_status).route_layer(allow(STATUS_ROLES)),
        )
        .with_state(state)
}

fn bad_id() -> Response {
    (StatusCode::BAD_REQUEST, "malformed shard id").into_response()
}

fn store_error(id: &ShardId, e: StoreError) -> Response {
    match e {
        StoreError::NotFound => (StatusCode::NOT_FOUND, "no such shard").into_response(),
        StoreError::Corrupt(why) => {
            tracing::error!(shard = %id, error = %why, "corrupt shard detected on read");
            metrics::counter!(METRIC_CORRUPT_SHARDS).increment(1);
            let status =
                StatusCode::from_u16(CORRUPT_STATUS).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, why.to_string()).into_response()
        }
        StoreError::TransitMismatch => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        StoreError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
        StoreError::Body(_) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        StoreError::Io(io) => {
            tracing::error!(shard = %id, error = %io, "disk error");
            (StatusCode::INTERNAL_SERVER_ERROR, io.to_string()).into_response()
        }
    }
}

async fn put_shard(
    State(st): State<NodeState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(id) = ShardId::parse(&id) else {
        return bad_id();
    };
    let hash = headers
        .get(HASH_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| hex::decode(v).ok())
        .and_then(|v| <[u8; 32]>::try_from(v).ok());
    let Some(hash) = hash else {
        return (
            StatusCode::BAD_REQUEST,
            "missing or malformed x-cairn-blake3",
        )
            .into_response();
    };
    let codec = headers
        .get(CODEC_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u16>().ok());
    let Some(codec) = codec else {
        return (
            StatusCode::BAD_REQUEST,
            "missing or malformed x-cairn-codec",
        )
            .into_response();
    };
    let stream = body.into_data_stream();
    match st.store.write(&id, codec, hash, stream).await {
        Ok(_) => {
            metrics::counter!(METRIC_SHARDS_WRITTEN).increment(1);
            StatusCode::OK.into_response()
        }
        Err(e) => store_error(&id, e),
    }
}

async fn get_shard(
    State(st): State<NodeState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = ShardId::parse(&id) else {
        return bad_id();
    };
    // A mover's read waits for one of this node's moves-out slots.
    let _slot = if headers.contains_key(REPAIR_READ_HEADER) {
        match st.repair_reads.clone().acquire_owned().await {
            Ok(p) => Some(p),
            Err(_) => None,
        }
    } else {
        None
    };
    // Read and verified in a task of its own, so a requester that stops
    // waiting (a gateway whose hedged read was answered elsewhere) does not
    // cancel it: bit rot that is found is always logged and counted.
    let read = tokio::spawn(async move {
        match st.store.read(&id).await {
            Ok(bytes) => {
                metrics::counter!(METRIC_SHARDS_READ).increment(1);
                Ok(bytes)
            }
            Err(e) => Err(store_error(&id, e)),
        }
    });
    match read.await {
        Ok(Ok(bytes)) => Body::from(bytes).into_response(),
        Ok(Err(refusal)) => refusal,
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn shard_status(State(st): State<NodeState>, Path(id): Path<String>) -> Response {
    let Some(id) = ShardId::parse(&id) else {
        return bad_id();
    };
    match tokio::fs::metadata(st.store.file_of(&id)).await {
        Ok(meta) => {
            // A shard is verified as it is written, and the scrub stamps
            // the file's modification time each time it verifies it again.
            let last_verified_ms = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as u64);
            cairn_rpc::postcard_response(&ShardStatus {
                file_len: meta.len(),
                last_verified_ms,
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (StatusCode::NOT_FOUND, "no such shard").into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{Method, Request};
    use cairn_types::VersionId;
    use tower::ServiceExt;

    /// A store under `dir` holding one shard with `payload`.
    async fn one_shard(
        dir: &std::path::Path,
        payload: &'static [u8],
    ) -> (Arc<ShardStore>, ShardId) {
        let store = Arc::new(ShardStore::open(dir).expect("open"));
        let id = ShardId {
            version: VersionId::new_random(),
            part: 0,
            chunk: 0,
            piece: 0,
        };
        let payload = bytes::Bytes::from_static(payload);
        let hash = *blake3::hash(&payload).as_bytes();
        store
            .write(
                &id,
                1,
                hash,
                futures::stream::iter([Ok::<_, std::io::Error>(payload)]),
            )
            .await
            .expect("stored");
        (store, id)
    }

    /// The shard route takes PUT and GET only: a DELETE (which any holder of
    /// the cluster secret could send to remove a shard outside the
    /// collector's checks) is refused and the shard stays.
    #[tokio::test]
    async fn a_shard_cannot_be_deleted_over_the_api() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, id) = one_shard(dir.path(), b"shard bytes").await;
        let app = router(NodeState::new(store.clone(), 1));
        let request = |method: Method| {
            as_peer(
                Request::builder()
                    .method(method)
                    .uri(cairn_rpc::shard_api::shard_path(&id))
                    .body(Body::empty())
                    .expect("request"),
                PeerRole::Gateway,
            )
        };
        let deleted = app
            .clone()
            .oneshot(request(Method::DELETE))
            .await
            .expect("answer");
        assert_eq!(deleted.status(), StatusCode::METHOD_NOT_ALLOWED);
        let read = app
            .clone()
            .oneshot(request(Method::GET))
            .await
            .expect("answer");
        assert_eq!(read.status(), StatusCode::OK);
        assert!(store.read(&id).await.is_ok());
        // Shard data is for gateways and nodes only: an admin or a meta
        // certificate may ask for a shard's status, not its bytes.
        let mut by_admin = request(Method::GET);
        by_admin
            .extensions_mut()
            .insert(cairn_rpc::auth::Peer::Role(PeerRole::Admin));
        let refused = app.oneshot(by_admin).await.expect("answer");
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }

    fn as_peer(mut req: Request<Body>, role: PeerRole) -> Request<Body> {
        req.extensions_mut()
            .insert(cairn_rpc::auth::Peer::Role(role));
        req
    }

    /// Repair reads are bounded per node (moves out): with its one slot
    /// taken, a mover's read waits while a client's read is answered.
    #[tokio::test]
    async fn repair_reads_wait_for_a_moves_out_slot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, id) = one_shard(dir.path(), b"piece").await;
        let state = NodeState::new(store, 1);
        let app = router(state.clone());
        let get = |repair: bool| {
            let mut b = Request::builder().uri(cairn_rpc::shard_api::shard_path(&id));
            if repair {
                b = b.header(REPAIR_READ_HEADER, "1");
            }
            as_peer(b.body(Body::empty()).expect("request"), PeerRole::Node)
        };
        let held = state
            .repair_reads
            .clone()
            .acquire_owned()
            .await
            .expect("slot");
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            app.clone().oneshot(get(true)),
        )
        .await;
        assert!(waiting.is_err(), "the repair read waited for the slot");
        let client = app.clone().oneshot(get(false)).await.expect("answer");
        assert_eq!(client.status(), StatusCode::OK);
        drop(held);
        let repair = app.oneshot(get(true)).await.expect("answer");
        assert_eq!(repair.status(), StatusCode::OK);
    }
}
