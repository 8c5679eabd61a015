//! Raft's network: how a voter sends AppendEntries, Vote and InstallSnapshot
//! to another voter, as postcard over the internal HTTP transport. The
//! receiving side is in `crate::server`, each route with its body limit from
//! `cairn_rpc::sizes`. An append too large for the follower's route (which
//! the log reader's byte cap normally prevents) is answered to openraft as
//! `PayloadTooLarge` with a smaller entry count, never resent as it is.

use super::fault::Isolation;
use super::type_config::TypeConfig;
use cairn_rpc::sizes::{MAX_CONTROL_BYTES, MAX_RAFT_APPEND_BYTES, MAX_RAFT_SNAPSHOT_BYTES};
use cairn_rpc::{RpcClient, RpcError};
use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError,
    Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

type NodeId = u64;

pub const RAFT_APPEND_PATH: &str = "/v1/raft/append";
pub const RAFT_VOTE_PATH: &str = "/v1/raft/vote";
pub const RAFT_SNAPSHOT_PATH: &str = "/v1/raft/snapshot";

/// Creates a connection per target voter.
#[derive(Clone)]
pub struct Network {
    rpc: RpcClient,
    isolation: Isolation,
}

impl Network {
    /// `isolation` cuts every outgoing RPC while it is switched on.
    pub fn new(rpc: RpcClient, isolation: Isolation) -> Self {
        Self { rpc, isolation }
    }
}

pub struct Connection {
    rpc: RpcClient,
    isolation: Isolation,
    target: NodeId,
    addr: String,
}

/// Why an isolated voter's RPC did not leave it.
#[derive(Debug, thiserror::Error)]
#[error("this voter is isolated by fault injection")]
struct Isolated;

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Self::Network {
        Connection {
            rpc: self.rpc.clone(),
            isolation: self.isolation.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

/// What a Raft RPC to a peer came back with.
type Outcome<Resp, E> = Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

impl Connection {
    /// Sends `req` to `path`, whose route takes at most `max_body` bytes.
    /// The transport's error is kept, so a caller can tell "too large".
    async fn send<Req, Resp, E>(
        &self,
        path: &str,
        req: &Req,
        max_body: usize,
    ) -> Result<Outcome<Resp, E>, RpcError>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        if self.isolation.is_isolated() {
            return Ok(Err(RPCError::Unreachable(Unreachable::new(&Isolated))));
        }
        match self
            .rpc
            .call_bounded::<Req, Result<Resp, RaftError<NodeId, E>>>(
                &self.addr, path, req, max_body,
            )
            .await
        {
            Ok(Ok(resp)) => Ok(Ok(resp)),
            Ok(Err(remote)) => Ok(Err(RPCError::RemoteError(RemoteError::new(
                self.target,
                remote,
            )))),
            Err(e) => Err(e),
        }
    }

    /// How openraft hears of a transport failure.
    fn failed<Resp, E: std::error::Error>(&self, e: RpcError) -> Outcome<Resp, E> {
        match e {
            RpcError::Unreachable { .. } | RpcError::Broken { .. } | RpcError::Timeout { .. } => {
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            RpcError::TooLarge { .. } => {
                // The routes take what this voter sends (`cairn_rpc::sizes`);
                // a peer with smaller limits cannot be helped from here.
                tracing::error!(target = self.target, error = %e, "raft message too large for the peer");
                Err(RPCError::Network(NetworkError::new(&e)))
            }
            RpcError::Status { .. } | RpcError::Decode { .. } => {
                Err(RPCError::Network(NetworkError::new(&e)))
            }
        }
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let entries = rpc.entries.len() as u64;
        match self
            .send(RAFT_APPEND_PATH, &rpc, MAX_RAFT_APPEND_BYTES)
            .await
        {
            Ok(outcome) => outcome,
            // Too large for the follower's route: openraft retries at once
            // with fewer entries, never with the same payload.
            Err(RpcError::TooLarge { .. }) if entries > 1 => Err(RPCError::PayloadTooLarge(
                PayloadTooLarge::new_entries_hint(entries / 2),
            )),
            Err(e) => self.failed(e),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        match self
            .send(RAFT_SNAPSHOT_PATH, &rpc, MAX_RAFT_SNAPSHOT_BYTES)
            .await
        {
            Ok(outcome) => outcome,
            Err(e) => self.failed(e),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        match self.send(RAFT_VOTE_PATH, &rpc, MAX_CONTROL_BYTES).await {
            Ok(outcome) => outcome,
            Err(e) => self.failed(e),
        }
    }
}

#[cfg(test)]
#[path = "network_tests.rs"]
mod tests;
