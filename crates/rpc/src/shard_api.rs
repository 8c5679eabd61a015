//! The shard API between gateways and storage nodes: PUT and GET of one
//! shard by id (no DELETE: only a node's own garbage collector removes
//! shards), with the payload as the raw HTTP body. The PUT carries the
//! payload's blake3 so the node can refuse bytes damaged in transit; the GET
//! answers only after the node verified the stored hash.

use crate::transport::{RpcClient, RpcError};
use bytes::Bytes;
use cairn_types::ShardId;
use thiserror::Error;

/// Header carrying the hex blake3 of a shard payload.
pub const HASH_HEADER: &str = "x-cairn-blake3";
/// Header carrying the codec id of a shard.
pub const CODEC_HEADER: &str = "x-cairn-codec";
/// Header marking a shard GET made by a repair mover (the node bounds how
/// many it serves at once: moves out).
pub const REPAIR_READ_HEADER: &str = "x-cairn-repair";
/// Status a node answers when a stored shard failed verification.
pub const CORRUPT_STATUS: u16 = 422;

/// Path of one shard on a node.
pub fn shard_path(id: &ShardId) -> String {
    format!("/v1/shards/{id}")
}

/// Path of one shard's status on a node (`ShardStatus`, postcard).
pub fn shard_status_path(id: &ShardId) -> String {
    format!("/v1/shards/{id}/status")
}

/// What a node knows of one shard it holds, without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShardStatus {
    /// Size of the shard file (header included).
    pub file_len: u64,
    /// When the node's scrub last verified it (None: not since it was written).
    pub last_verified_ms: Option<u64>,
}

#[derive(Debug, Error)]
pub enum ShardError {
    #[error("shard not found on {addr}")]
    NotFound { addr: String },
    #[error("shard on {addr} failed verification")]
    Corrupt { addr: String },
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

#[derive(Clone, Debug)]
pub struct ShardClient {
    rpc: RpcClient,
}

impl ShardClient {
    pub fn new(rpc: RpcClient) -> Self {
        Self { rpc }
    }

    /// Stores a shard; returns once the node has it on stable storage.
    pub async fn put(
        &self,
        addr: &str,
        id: &ShardId,
        codec: u16,
        hash: &[u8; 32],
        payload: Bytes,
    ) -> Result<(), ShardError> {
        let resp = self
            .rpc
            .http
            .put(self.rpc.url(addr, &shard_path(id)))
            .header(HASH_HEADER, hex::encode(hash))
            .header(CODEC_HEADER, codec.to_string())
            .body(payload)
            .send()
            .await
            .map_err(|e| RpcError::from_reqwest(addr, e))?;
        check_status(addr, resp).await.map(|_| ())
    }

    /// Reads a shard's payload, verified by the node against its stored hash.
    pub async fn get(&self, addr: &str, id: &ShardId) -> Result<Bytes, ShardError> {
        self.get_marked(addr, id, false).await
    }

    /// As `get`, for a repair mover: the node serves a bounded number of
    /// these at once (its moves out), queueing the rest.
    pub async fn get_for_repair(&self, addr: &str, id: &ShardId) -> Result<Bytes, ShardError> {
        self.get_marked(addr, id, true).await
    }

    async fn get_marked(
        &self,
        addr: &str,
        id: &ShardId,
        repair: bool,
    ) -> Result<Bytes, ShardError> {
        let mut request = self.rpc.http.get(self.rpc.url(addr, &shard_path(id)));
        if repair {
            request = request.header(REPAIR_READ_HEADER, "1");
        }
        let resp = request
            .send()
            .await
            .map_err(|e| RpcError::from_reqwest(addr, e))?;
        let resp = check_status(addr, resp).await?;
        Ok(resp
            .bytes()
            .await
            .map_err(|e| RpcError::from_reqwest(addr, e))?)
    }

    /// What `addr` knows of shard `id` without reading it: None when the
    /// node has no such shard.
    pub async fn status(
        &self,
        addr: &str,
        id: &ShardId,
    ) -> Result<Option<ShardStatus>, ShardError> {
        let resp = self
            .rpc
            .http
            .get(self.rpc.url(addr, &shard_status_path(id)))
            .send()
            .await
            .map_err(|e| RpcError::from_reqwest(addr, e))?;
        let resp = match check_status(addr, resp).await {
            Ok(r) => r,
            Err(ShardError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let body = resp
            .bytes()
            .await
            .map_err(|e| RpcError::from_reqwest(addr, e))?;
        crate::decode_postcard(&body).map(Some).map_err(|message| {
            ShardError::Rpc(RpcError::Decode {
                addr: addr.to_string(),
                message,
            })
        })
    }
}

async fn check_status(
    addr: &str,
    resp: reqwest::Response,
) -> Result<reqwest::Response, ShardError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(ShardError::NotFound {
            addr: addr.to_string(),
        });
    }
    if status.as_u16() == CORRUPT_STATUS {
        return Err(ShardError::Corrupt {
            addr: addr.to_string(),
        });
    }
    let message = resp.text().await.unwrap_or_default();
    Err(ShardError::Rpc(RpcError::Status {
        addr: addr.to_string(),
        status: status.as_u16(),
        message,
    }))
}
