//! The configuration file (`cairn.toml`) and its defaults. `cairn server` runs
//! with the embedded defaults when no file is given; every bound the data path
//! uses (chunk size, chunks in flight, inline threshold, timeouts) lives here.

use crate::limits::{MAX_CHUNK_SIZE, MIN_CHUNK_SIZE};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Bytes of object data per chunk (one shard per chunk with replication).
pub const DEFAULT_CHUNK_SIZE: usize = 1024 * 1024;
/// Objects up to this size are stored inline in their manifest in meta.
pub const DEFAULT_INLINE_THRESHOLD: usize = 16 * 1024;
/// Chunks of one PUT being sent to nodes at the same time.
pub const DEFAULT_PUT_CHUNKS_IN_FLIGHT: usize = 4;
/// Chunks of one GET being fetched ahead of the client.
pub const DEFAULT_GET_CHUNKS_IN_FLIGHT: usize = 4;
/// Chunk buffers the whole gateway may hold for writes at once: PUT bodies
/// being cut into chunks and chunks being sent to nodes. When used up, PUTs
/// wait. Bounds write memory to about this × chunk size.
pub const DEFAULT_WRITE_CHUNK_BUDGET: usize = 32;
/// Chunk buffers the whole gateway may hold for reads at once: chunks being
/// fetched from nodes and verified. A chunk's buffer is released once it is
/// handed to its client's connection, so a client that stops reading never
/// holds any. When used up, GETs wait.
pub const DEFAULT_READ_CHUNK_BUDGET: usize = 32;
/// Timeout of one internal RPC (a shard transfer or a metadata call).
pub const DEFAULT_RPC_TIMEOUT_SECS: u64 = 30;
/// A shard read not answered within this long is also sent to another holder
/// (a replica, or a parity piece of an erasure-coded chunk).
pub const DEFAULT_HEDGE_AFTER_MS: u64 = 200;
/// Once a chunk write reached its quorum, how long the other nodes still get
/// (at least; as long again as the quorum took if that is longer) before the
/// gateway stops waiting for them.
pub const DEFAULT_WRITE_STRAGGLER_MS: u64 = 500;
/// First and longest pause before a gateway tries a node again whose
/// connection failed; the pause doubles with every failure up to the cap.
pub const DEFAULT_NODE_BACKOFF_INITIAL_MS: u64 = 500;
pub const DEFAULT_NODE_BACKOFF_MAX_MS: u64 = 10_000;
/// How often a storage node tells meta it is alive.
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u64 = 1000;
/// A node meta has not heard from for this long is reported down.
pub const DEFAULT_DOWN_AFTER_MS: u64 = 5000;
pub const DEFAULT_S3_ADDR: &str = "127.0.0.1:9000";
/// Where the gateway serves `/metrics` and detailed `/health`.
pub const DEFAULT_ADMIN_ADDR: &str = "127.0.0.1:9001";
/// Connections the S3 endpoint serves at once; further ones wait in the
/// listen backlog until one closes.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Seconds a client has to send a request's head (request line and
/// headers); also how long an idle keep-alive connection is kept open.
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 30;
/// Seconds a request body may send nothing before the request is refused
/// (400 RequestTimeout) and the connection closed.
pub const DEFAULT_CLIENT_READ_TIMEOUT_SECS: u64 = 30;
/// Seconds a client may take nothing of a response before the connection is
/// closed.
pub const DEFAULT_CLIENT_WRITE_TIMEOUT_SECS: u64 = 30;
/// Largest file a browser-form upload (POST object) may carry. s3s reads the
/// whole file into memory before the upload is stored, hence far below S3's
/// 5 GiB. Above it: 400 EntityTooLarge.
pub const DEFAULT_POST_OBJECT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Bytes of POST object requests the gateway buffers at once; further POSTs
/// wait. At least `post_object_max_bytes` plus the form fields' bound.
pub const DEFAULT_POST_OBJECT_MEMORY_BYTES: u64 = 256 * 1024 * 1024;
/// Most bytes of form fields (everything before the file) of a POST object
/// request, and of any one field.
pub const MAX_POST_FORM_FIELDS_BYTES: usize = 64 * 1024;
/// Most parts (fields and the file) of a POST object form.
pub const MAX_POST_FORM_PARTS: usize = 100;
pub const DEFAULT_DATA_DIR: &str = "./cairn-data";
pub const DEFAULT_REGION: &str = "us-east-1";
/// `auto`: `replicas=3` once the layout has 3 or more nodes holding data,
/// as many replicas as it has below that (`DefaultRedundancy`).
pub const DEFAULT_REDUNDANCY: &str = crate::redundancy::AUTO_REDUNDANCY;
/// Raft log entries kept behind a snapshot (openraft's own default).
pub const DEFAULT_LOG_ENTRIES_KEPT_AFTER_SNAPSHOT: u64 = 1000;
/// How long a meta voter waits for a majority before answering "unavailable".
pub const DEFAULT_QUORUM_WAIT_MS: u64 = 4000;
/// How old a data version must be before its shards may be collected, and how
/// long it must have been unreferenced first (seconds). Longer than any PUT
/// or UploadPart may take: a slower one is refused at commit.
pub const DEFAULT_GC_GRACE_SECS: u64 = 3600;
/// Seconds between two sweeps of a storage node's shard files.
pub const DEFAULT_GC_INTERVAL_SECS: u64 = 600;
/// Default seconds between lifecycle passes (rules count in days).
pub const DEFAULT_LIFECYCLE_INTERVAL_SECS: u64 = 600;
/// Data versions asked about in one query to meta.
pub const DEFAULT_GC_BATCH_SIZE: usize = 1000;
/// Shortest grace the configuration accepts (seconds). The grace must exceed
/// the longest PUT and the longest GET of an object that is overwritten while
/// it is read, plus the clock skew between gateways and nodes; below this
/// even small requests would be refused or cut off.
pub const MIN_GC_GRACE_SECS: u64 = 2;
/// Most data versions one query may ask about.
pub const MAX_GC_BATCH_SIZE: usize = 10_000;
/// A storage node whose clock differs from the meta leader's by more than
/// this (ms) may not move the garbage-collection horizon.
pub const DEFAULT_MAX_NODE_CLOCK_SKEW_MS: u64 = 30_000;

/// Default `s3.tls_reload_secs`.
pub const DEFAULT_TLS_RELOAD_SECS: u64 = 10;

/// The whole configuration file. Every section has defaults, so an empty file
/// is a valid single-process configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Root directory of all persistent state.
    pub data_dir: PathBuf,
    pub s3: S3Config,
    pub meta: MetaConfig,
    pub node: NodeConfig,
    pub data_path: DataPathConfig,
    pub cluster: ClusterConfig,
    pub gc: GcConfig,
    pub repair: RepairConfig,
    pub tls: crate::tls_config::TlsConfig,
}

/// Default `repair.after_down_secs` (as Ceph's `mon_osd_down_out_interval`).
pub const DEFAULT_REPAIR_AFTER_DOWN_SECS: u64 = 600;
/// Default `repair.max_bytes_per_sec` per node (64 MiB/s).
pub const DEFAULT_REPAIR_MAX_BYTES_PER_SEC: u64 = 64 * 1024 * 1024;
/// Default `repair.rebalance_bytes_per_sec` per node (64 MiB/s).
pub const DEFAULT_REBALANCE_BYTES_PER_SEC: u64 = 64 * 1024 * 1024;
/// Default `repair.moves_per_node`.
pub const DEFAULT_REPAIR_MOVES_PER_NODE: usize = 4;
/// Default `repair.plan_interval_ms`.
pub const DEFAULT_REPAIR_PLAN_INTERVAL_MS: u64 = 2_000;
/// Default `repair.lease_secs`.
pub const DEFAULT_REPAIR_LEASE_SECS: u64 = 60;
/// Default `node.scrub_bytes_per_sec` (8 MiB/s: a small share of a disk).
pub const DEFAULT_SCRUB_BYTES_PER_SEC: u64 = 8 * 1024 * 1024;
/// Largest `node.scrub_interval_days` (ten years).
pub const MAX_SCRUB_INTERVAL_DAYS: f64 = 3650.0;
/// Default `node.scrub_interval_days`.
pub const DEFAULT_SCRUB_INTERVAL_DAYS: f64 = 7.0;

/// The reconciler: the meta leader plans repair (`after_down_secs`,
/// `plan_interval_ms`, `lease_secs`), storage nodes move pieces
/// (`max_bytes_per_sec`, `rebalance_bytes_per_sec`, `moves_per_node`).
/// `cairn admin repair throttle` and `cairn admin rebalance throttle`
/// override the two rates cluster-wide, live.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RepairConfig {
    /// A piece on a node down longer than this (seconds) is rebuilt
    /// elsewhere (read by the meta voters).
    pub after_down_secs: u64,
    /// Bytes per second one node's mover reads and writes for repair.
    pub max_bytes_per_sec: u64,
    /// Bytes per second one node's mover reads and writes to move
    /// misplaced pieces (rebalancing).
    pub rebalance_bytes_per_sec: u64,
    /// Pieces one node re-creates at once (moves in), and repair reads it
    /// serves at once (moves out).
    pub moves_per_node: usize,
    /// How often the meta leader plans repair (ms).
    pub plan_interval_ms: u64,
    /// How long a node holds a task before the leader may give it to
    /// another node (seconds).
    pub lease_secs: u64,
}

impl Default for RepairConfig {
    fn default() -> Self {
        Self {
            after_down_secs: DEFAULT_REPAIR_AFTER_DOWN_SECS,
            max_bytes_per_sec: DEFAULT_REPAIR_MAX_BYTES_PER_SEC,
            rebalance_bytes_per_sec: DEFAULT_REBALANCE_BYTES_PER_SEC,
            moves_per_node: DEFAULT_REPAIR_MOVES_PER_NODE,
            plan_interval_ms: DEFAULT_REPAIR_PLAN_INTERVAL_MS,
            lease_secs: DEFAULT_REPAIR_LEASE_SECS,
        }
    }
}

/// The shard garbage collector every storage node runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GcConfig {
    /// A shard is deleted only when its data version is older than this and
    /// the node has seen it unreferenced for at least this long (seconds).
    pub grace_secs: u64,
    /// Seconds between sweeps.
    pub interval_secs: u64,
    /// Data versions per query to meta.
    pub batch_size: usize,
}

impl Default for GcConfig {
    fn default() -> Self {
        Self {
            grace_secs: DEFAULT_GC_GRACE_SECS,
            interval_secs: DEFAULT_GC_INTERVAL_SECS,
            batch_size: DEFAULT_GC_BATCH_SIZE,
        }
    }
}

/// How the processes of a cluster find each other.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// Every meta voter of the group, by Raft id and internal address. Nodes
    /// and gateways reach meta through any of them; the voter with the lowest
    /// id creates the group on its first start. Empty for `cairn server`,
    /// which runs its own voters.
    pub meta_voters: Vec<VoterAddr>,
    /// Shared secret every internal request carries (at least 16 printable
    /// ASCII characters). Required for multi-process clusters; `cairn server`
    /// makes a random one at each start when empty.
    pub secret: String,
    /// The cluster key (hex, 0600) access key secrets are sealed with
    /// before they reach meta; gateways and `cairn admin` need it, meta
    /// voters and storage nodes do not. `cairn admin ca init` makes one
    /// beside the CA; `cairn server` keeps its own in `DATA_DIR/tls`.
    pub key_file: PathBuf,
}

/// One meta voter: its Raft id and internal `host:port`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VoterAddr {
    pub id: u64,
    pub addr: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// Where the S3 endpoint (and a bare `/health` for load balancers) listens.
    pub addr: SocketAddr,
    /// Where `/metrics` and the detailed `/health` are served (operators
    /// only; loopback by default); port 0 = any free port.
    pub admin_addr: SocketAddr,
    /// The region name clients sign with.
    pub region: String,
    /// Redundancy of buckets created without `x-cairn-redundancy`: `auto`
    /// (the widest replication the layout can place, up to 3), or an
    /// explicit `replicas=N` / `ec=K+M`.
    pub default_redundancy: String,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Seconds to receive a request's head; also the keep-alive idle timeout.
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may stall before 400 RequestTimeout.
    pub client_read_timeout_secs: u64,
    /// Seconds a client may leave a response unread before it is cut off.
    pub client_write_timeout_secs: u64,
    /// Largest file of a POST object (browser form) upload.
    pub post_object_max_bytes: u64,
    /// Bytes of POST object requests buffered at once, gateway-wide.
    pub post_object_memory_bytes: u64,
    /// Certificate chain (PEM) of the S3 endpoint; with `tls_key`, S3 is
    /// served over HTTPS only. Reloaded on SIGHUP or when the files change.
    pub tls_cert: PathBuf,
    /// Private key (PEM) of `tls_cert`.
    pub tls_key: PathBuf,
    /// Seconds between checks of the certificate files for a change.
    pub tls_reload_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetaConfig {
    /// Internal address of the meta voter (Raft and metadata RPCs); port 0 = any free port.
    pub addr: SocketAddr,
    /// Raft id of this voter.
    pub id: u64,
    /// Raft heartbeat interval in milliseconds.
    pub heartbeat_ms: u64,
    /// Raft election timeout range, milliseconds.
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// Take a snapshot (and purge the log behind it) every this many entries.
    pub snapshot_every_entries: u64,
    /// Log entries kept behind the latest snapshot, so a briefly lagging
    /// voter can catch up from the log; one further behind installs the
    /// snapshot instead.
    pub log_entries_kept_after_snapshot: u64,
    /// How long a metadata write or a linearizable read may wait for a
    /// majority before the voter answers "unavailable" (the client then tries
    /// another voter). A voter cut off from the others stops answering at this
    /// point instead of hanging.
    pub quorum_wait_ms: u64,
    /// Allows `cairn admin meta isolate|heal` to cut this voter off from the
    /// other voters (Raft traffic only) to try failover. Off in production.
    pub fault_injection: bool,
    /// Seconds between passes of the lifecycle job (on the leader), which
    /// expires objects and aborts incomplete uploads by bucket rules.
    pub lifecycle_interval_secs: u64,
    /// A storage node whose clock (as its heartbeats and proposals show it)
    /// differs from the leader's by more than this many ms may not move the
    /// garbage-collection horizon: its sweeps stop until its clock is fixed.
    pub max_node_clock_skew_ms: u64,
    /// For tests only: shifts this voter's wall clock by this many ms (the
    /// clock it stamps writes with and checks horizon proposals against).
    pub clock_offset_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Internal address of the storage node's shard service; port 0 = any free port.
    pub addr: SocketAddr,
    /// Node id in the cluster's node list.
    pub id: u64,
    /// Failure domain label.
    pub zone: String,
    /// Capacity offered to the cluster, in bytes (placement weight).
    pub capacity_bytes: u64,
    /// How often the node sends meta a heartbeat (with its disk usage).
    pub heartbeat_interval_ms: u64,
    /// Meta reports a node down once it has been silent this long (read by
    /// the meta voters; must exceed the heartbeat interval).
    pub down_after_ms: u64,
    /// For tests only: shifts this node's wall clock by this many ms (the
    /// clock its heartbeats report and its garbage collector proposes from).
    pub clock_offset_ms: i64,
    /// Bytes per second the background scrub reads and verifies.
    pub scrub_bytes_per_sec: u64,
    /// A full scrub pass starts at most this often (days; fractions allowed).
    pub scrub_interval_days: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DataPathConfig {
    pub chunk_size: usize,
    pub inline_threshold: usize,
    pub put_chunks_in_flight: usize,
    pub get_chunks_in_flight: usize,
    /// Chunk buffers held for writes (PUT bodies being chunked and sent), gateway-wide.
    pub write_chunk_budget: usize,
    /// Chunk buffers held for reads (chunks being fetched), gateway-wide.
    pub read_chunk_budget: usize,
    /// Older releases' single budget for reads and writes together. Still
    /// read, so their config files keep working: when set, it is split into
    /// `write_chunk_budget` and `read_chunk_budget` (half each) at load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_chunk_budget: Option<usize>,
    pub rpc_timeout_secs: u64,
    /// A shard read unanswered after this long is also asked of another holder.
    pub hedge_after_ms: u64,
    /// How long a chunk write waits for the remaining nodes once it has its quorum.
    pub write_straggler_ms: u64,
    /// Backoff of a node whose connection failed: first pause and cap.
    pub node_backoff_initial_ms: u64,
    pub node_backoff_max_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            s3: S3Config::default(),
            meta: MetaConfig::default(),
            node: NodeConfig::default(),
            data_path: DataPathConfig::default(),
            cluster: ClusterConfig::default(),
            gc: GcConfig::default(),
            repair: RepairConfig::default(),
            tls: crate::tls_config::TlsConfig::default(),
        }
    }
}

fn loopback_any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            addr: DEFAULT_S3_ADDR
                .parse()
                .unwrap_or_else(|_| loopback_any_port()),
            admin_addr: DEFAULT_ADMIN_ADDR
                .parse()
                .unwrap_or_else(|_| loopback_any_port()),
            region: DEFAULT_REGION.to_string(),
            default_redundancy: DEFAULT_REDUNDANCY.to_string(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout_secs: DEFAULT_HEADER_READ_TIMEOUT_SECS,
            client_read_timeout_secs: DEFAULT_CLIENT_READ_TIMEOUT_SECS,
            client_write_timeout_secs: DEFAULT_CLIENT_WRITE_TIMEOUT_SECS,
            post_object_max_bytes: DEFAULT_POST_OBJECT_MAX_BYTES,
            post_object_memory_bytes: DEFAULT_POST_OBJECT_MEMORY_BYTES,
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
            tls_reload_secs: DEFAULT_TLS_RELOAD_SECS,
        }
    }
}

impl Default for MetaConfig {
    fn default() -> Self {
        Self {
            addr: loopback_any_port(),
            id: 1,
            heartbeat_ms: 250,
            election_timeout_min_ms: 1000,
            election_timeout_max_ms: 2000,
            snapshot_every_entries: 10_000,
            log_entries_kept_after_snapshot: DEFAULT_LOG_ENTRIES_KEPT_AFTER_SNAPSHOT,
            quorum_wait_ms: DEFAULT_QUORUM_WAIT_MS,
            fault_injection: false,
            lifecycle_interval_secs: DEFAULT_LIFECYCLE_INTERVAL_SECS,
            max_node_clock_skew_ms: DEFAULT_MAX_NODE_CLOCK_SKEW_MS,
            clock_offset_ms: 0,
        }
    }
}

/// Default capacity a node offers when none is configured: 100 GiB.
pub const DEFAULT_NODE_CAPACITY_BYTES: u64 = 100 * 1024 * 1024 * 1024;

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            addr: loopback_any_port(),
            id: 1,
            zone: "default".to_string(),
            capacity_bytes: DEFAULT_NODE_CAPACITY_BYTES,
            heartbeat_interval_ms: DEFAULT_HEARTBEAT_INTERVAL_MS,
            down_after_ms: DEFAULT_DOWN_AFTER_MS,
            clock_offset_ms: 0,
            scrub_bytes_per_sec: DEFAULT_SCRUB_BYTES_PER_SEC,
            scrub_interval_days: DEFAULT_SCRUB_INTERVAL_DAYS,
        }
    }
}

impl DataPathConfig {
    /// Turns an older release's `gateway_chunk_budget` into the read and
    /// write budgets that replaced it (half each; it cannot be combined with
    /// them, and `validate` then checks each half).
    pub fn split_legacy_budget(&mut self) {
        if let Some(total) = self.gateway_chunk_budget.take() {
            self.write_chunk_budget = total.div_ceil(2);
            self.read_chunk_budget = total / 2;
        }
    }
}

impl Default for DataPathConfig {
    fn default() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            inline_threshold: DEFAULT_INLINE_THRESHOLD,
            put_chunks_in_flight: DEFAULT_PUT_CHUNKS_IN_FLIGHT,
            get_chunks_in_flight: DEFAULT_GET_CHUNKS_IN_FLIGHT,
            write_chunk_budget: DEFAULT_WRITE_CHUNK_BUDGET,
            read_chunk_budget: DEFAULT_READ_CHUNK_BUDGET,
            gateway_chunk_budget: None,
            rpc_timeout_secs: DEFAULT_RPC_TIMEOUT_SECS,
            hedge_after_ms: DEFAULT_HEDGE_AFTER_MS,
            write_straggler_ms: DEFAULT_WRITE_STRAGGLER_MS,
            node_backoff_initial_ms: DEFAULT_NODE_BACKOFF_INITIAL_MS,
            node_backoff_max_ms: DEFAULT_NODE_BACKOFF_MAX_MS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// The internal addresses of the meta voters.
    pub fn meta_addrs(&self) -> Vec<String> {
        self.cluster
            .meta_voters
            .iter()
            .map(|v| v.addr.clone())
            .collect()
    }

    /// The parsed default redundancy (validated by `validate`); `auto`
    /// resolves against the layout when a bucket is created.
    pub fn default_redundancy(&self) -> crate::DefaultRedundancy {
        crate::DefaultRedundancy::parse(&self.s3.default_redundancy)
            .unwrap_or(crate::DefaultRedundancy::Auto)
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        config.data_path.split_legacy_budget();
        config.validate()?;
        Ok(config)
    }

    /// Checks the bounds that the data path relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let d = &self.data_path;
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&d.chunk_size) {
            return Err(ConfigError::Invalid(format!(
                "data_path.chunk_size must be {} KiB to {} MiB (a chunk must fit in one shard)",
                MIN_CHUNK_SIZE / 1024,
                MAX_CHUNK_SIZE / (1024 * 1024)
            )));
        }
        if d.inline_threshold >= d.chunk_size {
            return Err(ConfigError::Invalid(
                "data_path.inline_threshold must be below data_path.chunk_size".into(),
            ));
        }
        if d.put_chunks_in_flight == 0 || d.get_chunks_in_flight == 0 {
            return Err(ConfigError::Invalid(
                "chunks in flight must be at least 1".into(),
            ));
        }
        if d.write_chunk_budget < d.put_chunks_in_flight
            || d.read_chunk_budget < d.get_chunks_in_flight
        {
            return Err(ConfigError::Invalid(
                "data_path.write_chunk_budget and read_chunk_budget must be at least the chunks in flight of one PUT and one GET".into(),
            ));
        }
        if d.hedge_after_ms == 0 || d.node_backoff_initial_ms == 0 {
            return Err(ConfigError::Invalid(
                "data_path.hedge_after_ms and data_path.node_backoff_initial_ms must be at least 1"
                    .into(),
            ));
        }
        if d.node_backoff_max_ms < d.node_backoff_initial_ms {
            return Err(ConfigError::Invalid(
                "data_path.node_backoff_max_ms must be at least data_path.node_backoff_initial_ms"
                    .into(),
            ));
        }
        self.s3.validate()?;
        let n = &self.node;
        if n.heartbeat_interval_ms == 0 || n.down_after_ms <= n.heartbeat_interval_ms {
            return Err(ConfigError::Invalid(
                "node: 0 < heartbeat_interval_ms < down_after_ms is required".into(),
            ));
        }
        if crate::DefaultRedundancy::parse(&self.s3.default_redundancy).is_none() {
            return Err(ConfigError::Invalid(format!(
                "s3.default_redundancy must be auto, replicas=N (N from 1 to {}) or ec=K+M",
                crate::limits::MAX_REPLICAS
            )));
        }
        let secret = &self.cluster.secret;
        if !secret.is_empty()
            && (secret.len() < 16 || !secret.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(ConfigError::Invalid(
                "cluster.secret must be at least 16 printable ASCII characters without spaces"
                    .into(),
            ));
        }
        let mut ids: Vec<u64> = self.cluster.meta_voters.iter().map(|v| v.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(ConfigError::Invalid(
                "cluster.meta_voters has a repeated id".into(),
            ));
        }
        if self.meta.election_timeout_min_ms <= self.meta.heartbeat_ms
            || self.meta.election_timeout_max_ms <= self.meta.election_timeout_min_ms
        {
            return Err(ConfigError::Invalid(
                "meta: heartbeat_ms < election_timeout_min_ms < election_timeout_max_ms is required".into(),
            ));
        }
        if self.meta.lifecycle_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "meta.lifecycle_interval_secs must be at least 1".into(),
            ));
        }
        if self.meta.quorum_wait_ms <= self.meta.election_timeout_max_ms {
            return Err(ConfigError::Invalid(
                "meta.quorum_wait_ms must be longer than meta.election_timeout_max_ms".into(),
            ));
        }
        if self.meta.quorum_wait_ms >= self.data_path.rpc_timeout_secs.saturating_mul(1000) {
            return Err(ConfigError::Invalid(
                "meta.quorum_wait_ms must be shorter than data_path.rpc_timeout_secs".into(),
            ));
        }
        self.gc.validate()?;
        self.validate_healing()
    }

    /// The scrub's and the reconciler's settings.
    fn validate_healing(&self) -> Result<(), ConfigError> {
        let days = self.node.scrub_interval_days;
        if !days.is_finite() || days < 0.0 || days > MAX_SCRUB_INTERVAL_DAYS {
            return Err(ConfigError::Invalid(format!(
                "node.scrub_interval_days must be 0 to {MAX_SCRUB_INTERVAL_DAYS}"
            )));
        }
        let r = &self.repair;
        if r.moves_per_node == 0 || r.plan_interval_ms == 0 || r.lease_secs == 0 {
            return Err(ConfigError::Invalid(
                "repair.moves_per_node, repair.plan_interval_ms and repair.lease_secs must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl S3Config {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "s3.max_connections must be at least 1".into(),
            ));
        }
        if self.header_read_timeout_secs == 0
            || self.client_read_timeout_secs == 0
            || self.client_write_timeout_secs == 0
        {
            return Err(ConfigError::Invalid(
                "s3.header_read_timeout_secs, client_read_timeout_secs and client_write_timeout_secs must be at least 1".into(),
            ));
        }
        if self.post_object_max_bytes > crate::limits::MAX_SINGLE_PUT_BYTES {
            return Err(ConfigError::Invalid(format!(
                "s3.post_object_max_bytes may be at most {} (the largest PutObject)",
                crate::limits::MAX_SINGLE_PUT_BYTES
            )));
        }
        if self.post_object_memory_bytes
            < self.post_object_max_bytes + MAX_POST_FORM_FIELDS_BYTES as u64
        {
            return Err(ConfigError::Invalid(format!(
                "s3.post_object_memory_bytes must be at least s3.post_object_max_bytes + {MAX_POST_FORM_FIELDS_BYTES} (the form fields)"
            )));
        }
        if self.tls_cert.as_os_str().is_empty() != self.tls_key.as_os_str().is_empty() {
            return Err(ConfigError::Invalid(
                "s3.tls_cert and s3.tls_key must be given together".into(),
            ));
        }
        if self.tls_reload_secs == 0 {
            return Err(ConfigError::Invalid(
                "s3.tls_reload_secs must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl GcConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.grace_secs < MIN_GC_GRACE_SECS {
            return Err(ConfigError::Invalid(format!(
                "gc.grace_secs must be at least {MIN_GC_GRACE_SECS}: it bounds how long a PUT may take"
            )));
        }
        if self.interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "gc.interval_secs must be at least 1".into(),
            ));
        }
        if self.batch_size == 0 || self.batch_size > MAX_GC_BATCH_SIZE {
            return Err(ConfigError::Invalid(format!(
                "gc.batch_size must be 1 to {MAX_GC_BATCH_SIZE}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default_config() {
        let c: Config = toml::from_str("").expect("empty config parses");
        assert_eq!(c, Config::default());
        c.validate().expect("defaults are valid");
    }

    #[test]
    fn example_config_is_the_default_config() {
        let text = include_str!("../../../cairn.example.toml");
        let c: Config = toml::from_str(text).expect("example config parses");
        assert_eq!(c, Config::default());
    }

    #[test]
    fn unknown_keys_and_bad_bounds_are_refused() {
        assert!(toml::from_str::<Config>("bogus = 1").is_err());
        // An older release's single budget is split into the two that replaced it.
        let mut old: Config =
            toml::from_str("[data_path]\ngateway_chunk_budget = 64").expect("old key parses");
        old.data_path.split_legacy_budget();
        assert_eq!(
            (
                old.data_path.write_chunk_budget,
                old.data_path.read_chunk_budget
            ),
            (32, 32)
        );
        assert_eq!(old.data_path.gateway_chunk_budget, None);
        assert!(old.validate().is_ok());
        let mut c = Config::default();
        c.data_path.chunk_size = 10;
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.gc.grace_secs = MIN_GC_GRACE_SECS - 1;
        assert!(c.validate().is_err());
        c.gc.grace_secs = MIN_GC_GRACE_SECS;
        c.validate().expect("the shortest grace is valid");
        c.gc.batch_size = 0;
        assert!(c.validate().is_err());
    }
}
