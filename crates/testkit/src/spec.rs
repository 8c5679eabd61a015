//! The vocabulary every part of the kit shares: the kit's keys and cluster
//! secret, how long a start may take, the roles of a cluster's processes,
//! where their logs go, and which zone a node is in.

use std::time::Duration;

/// Root access key of every kit cluster (unless `keys` says otherwise).
pub const ACCESS_KEY: &str = "CKTESTKITACCESSKEY01";
/// Root secret key of every kit cluster (unless `keys` says otherwise).
pub const SECRET_KEY: &str = "cairn-testkit-secret-key-000000000000000";
/// Cluster secret of process clusters (internal endpoints require it).
pub const CLUSTER_SECRET: &str = "cairn-testkit-cluster-secret";
/// How long a cluster may take to start and become healthy.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The role of one process of a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Meta,
    Node,
    Gateway,
}

impl Role {
    /// The certificate role of this process.
    pub fn peer_role(self) -> cairn_rpc::tls::PeerRole {
        match self {
            Role::Meta => cairn_rpc::tls::PeerRole::Meta,
            Role::Node => cairn_rpc::tls::PeerRole::Node,
            Role::Gateway => cairn_rpc::tls::PeerRole::Gateway,
        }
    }

    /// The `cairn` subcommand that runs this role.
    pub fn command(self) -> &'static str {
        match self {
            Role::Meta => "meta",
            Role::Node => "node",
            Role::Gateway => "gateway",
        }
    }
}

/// Directory (in the cluster's) of the cluster CA and every certificate.
pub(crate) const TLS_DIR: &str = "tls";

/// Directory (in the cluster's) of the processes' logs, one file each.
pub(crate) const LOG_DIR: &str = "logs";

/// The zone of node `n` (1-based) among `zones`; None for the default zone.
pub fn zone_of(n: usize, zones: usize) -> Option<String> {
    (zones > 1).then(|| format!("zone-{}", (n - 1) % zones + 1))
}
