//! Raft's network: how a voter sends AppendEntries, Vote and InstallSnapshot
//! to another voter, as postcard over the internal HTTP transport. The
//! receiving side is in `crate::server`.

use super::fault::Isolation;
use super::type_config::TypeConfig;
use cairn_rpc::{RpcClient, RpcError};
use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
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

impl Connection {
    async fn send<Req, Resp, E>(
        &self,
        path: &str,
        req: &Req,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        if self.isolation.is_isolated() {
            return Err(RPCError::Unreachable(Unreachable::new(&Isolated)));
        }
        match self
            .rpc
            .call::<Req, Result<Resp, RaftError<NodeId, E>>>(&self.addr, path, req)
            .await
        {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(remote)) => Err(RPCError::RemoteError(RemoteError::new(self.target, remote))),
            Err(
                e @ (RpcError::Unreachable { .. }
                | RpcError::Broken { .. }
                | RpcError::Timeout { .. }),
            ) => Err(RPCError::Unreachable(Unreachable::new(&e))),
            Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.send(RAFT_APPEND_PATH, &rpc).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.send(RAFT_SNAPSHOT_PATH, &rpc).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.send(RAFT_VOTE_PATH, &rpc).await
    }
}

#[cfg(test)]
#[path = "network_tests.rs"]
mod tests;
