//! A running meta voter: it opens the database, starts openraft, and serves
//! the Raft RPCs and the meta API (`/v1/meta/write`, `/v1/meta/read`) on the
//! internal transport. Writes go through `client_write`; reads wait for
//! `ensure_linearizable` first. A follower answers `NotLeader` with the
//! leader's address, which `MetaClient` follows. Every route takes a body up
//! to its limit from `cairn_rpc::sizes` (413 beyond).

use crate::admission::Admission;
use crate::query::run_query;
use crate::raft::fault::{FaultSetting, Isolation, META_FAULT_PATH};
use crate::raft::log_store::{LogStore, saved_commit_index};
use crate::raft::network::{Network, RAFT_APPEND_PATH, RAFT_SNAPSHOT_PATH, RAFT_VOTE_PATH};
use crate::raft::read_barrier::ReadBarrier;
use crate::raft::state_machine::StateMachine;
use crate::raft::type_config::{Raft, TypeConfig};
use crate::raft::write_batcher::WriteBatcher;
use crate::store::db::{DbError, MetaDb};
use crate::store::{chunk_migration, data_refs, manifest_codecs, version_index};
use axum::{Extension, Router};
use cairn_rpc::auth::{self, Peer, allow};
use cairn_rpc::policy;
use cairn_rpc::tls::PeerRole;

/// Who may call the Raft routes.
const VOTERS: &[PeerRole] = &[PeerRole::Meta];
/// Who may change the membership or inject faults.
const OPERATORS: &[PeerRole] = &[PeerRole::Admin];
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cairn_rpc::sizes::{
    MAX_CONTROL_BYTES, MAX_QUERY_BYTES, MAX_RAFT_APPEND_BYTES, MAX_RAFT_SNAPSHOT_BYTES,
    MAX_WRITE_BODY_BYTES, SNAPSHOT_CHUNK_BYTES,
};
use cairn_rpc::{
    META_MEMBERSHIP_PATH, META_READ_PATH, META_WRITE_PATH, MembershipChange, MetaCommand,
    MetaError, MetaQuery, RpcClient, decode_postcard, postcard_response,
};
use cairn_types::config::MetaConfig;
use openraft::BasicNode;
use openraft::error::{ClientWriteError, RaftError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Mode of the database directory a voter creates (it holds access keys).
pub const DB_DIR_MODE: u32 = 0o700;

/// What a meta voter needs to start.
#[derive(Debug, Clone)]
pub struct MetaNodeOptions {
    pub config: MetaConfig,
    /// Directory of this voter's RocksDB.
    pub db_dir: PathBuf,
    /// The address other roles reach this voter at.
    pub advertise_addr: String,
    /// How long one internal request may take (`data_path.rpc_timeout_secs`):
    /// also how long a snapshot chunk may take to send, and the last one to
    /// install.
    pub rpc_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum MetaStartError {
    #[error("cannot open the metadata database: {0}")]
    Db(#[from] DbError),
    #[error("invalid raft configuration: {0}")]
    Config(String),
    #[error("raft failed to start: {0}")]
    Raft(String),
}

#[derive(Clone)]
pub struct MetaNode {
    pub raft: Raft,
    /// Shares read-index confirmations among concurrent reads.
    reads: ReadBarrier,
    /// Groups concurrent writes into shared log entries (group commit).
    writes: WriteBatcher,
    pub id: u64,
    pub advertise_addr: String,
    db: MetaDb,
    /// Fault injection: Raft traffic cut while switched on.
    isolation: Isolation,
    /// How long a write or read waits for a majority (`meta.quorum_wait_ms`).
    quorum_wait: Duration,
    /// `meta.clock_offset_ms` (tests) and `meta.max_node_clock_skew_ms`.
    clock_offset_ms: i64,
    max_node_clock_skew_ms: u64,
}

impl MetaNode {
    pub async fn start(opts: MetaNodeOptions, rpc: RpcClient) -> Result<Self, MetaStartError> {
        {
            use std::os::unix::fs::DirBuilderExt;
            // Private to this user: the database holds the access keys.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(DB_DIR_MODE)
                .create(&opts.db_dir)
                .map_err(|e| MetaStartError::Db(DbError::Decode(e.to_string())))?;
        }
        let db = MetaDb::open(&opts.db_dir)?;
        // A data dir from a build without the index of referenced versions.
        // (Codecs first: they are corrected in rows that still list
        // chunks; the index of references last: its format follows the
        // chunk records.)
        manifest_codecs::ensure_codecs(&db)?;
        chunk_migration::ensure_records(&db)?;
        data_refs::ensure_index(&db)?;
        version_index::ensure_index(&db)?;
        let c = &opts.config;
        let raft_config = openraft::Config {
            cluster_name: "cairn-meta".to_string(),
            heartbeat_interval: c.heartbeat_ms,
            election_timeout_min: c.election_timeout_min_ms,
            election_timeout_max: c.election_timeout_max_ms,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(c.snapshot_every_entries),
            max_in_snapshot_log_to_keep: c.log_entries_kept_after_snapshot,
            snapshot_max_chunk_size: SNAPSHOT_CHUNK_BYTES as u64,
            // openraft's default (200 ms) is shorter than installing any
            // sizeable snapshot takes, and a timed-out install starts over.
            install_snapshot_timeout: u64::try_from(opts.rpc_timeout.as_millis())
                .unwrap_or(u64::MAX),
            ..Default::default()
        }
        .validate()
        .map_err(|e| MetaStartError::Config(e.to_string()))?;
        let isolation = Isolation::new(c.fault_injection);
        let raft = openraft::Raft::<TypeConfig>::new(
            c.id,
            Arc::new(raft_config),
            Network::new(rpc, isolation.clone()),
            LogStore::new(db.clone()),
            StateMachine::new(db.clone()),
        )
        .await
        .map_err(|e| MetaStartError::Raft(e.to_string()))?;
        Ok(Self {
            raft,
            reads: Default::default(),
            writes: Default::default(),
            id: c.id,
            advertise_addr: opts.advertise_addr,
            db,
            isolation,
            quorum_wait: Duration::from_millis(c.quorum_wait_ms),
            clock_offset_ms: c.clock_offset_ms,
            max_node_clock_skew_ms: c.max_node_clock_skew_ms,
        })
    }

    /// This voter's clock (ms since the epoch; shifted in tests).
    pub fn now_ms(&self) -> u64 {
        cairn_types::shifted_now_ms(self.clock_offset_ms)
    }

    /// What this voter decides about a write before proposing it.
    fn admission(&self) -> Admission {
        Admission {
            now_ms: self.now_ms(),
            max_node_clock_skew_ms: self.max_node_clock_skew_ms,
        }
    }

    /// Makes this voter the single member of a new group, unless the group
    /// already exists on disk.
    pub async fn initialize_single(&self) -> Result<(), MetaStartError> {
        let me = BasicNode {
            addr: self.advertise_addr.clone(),
        };
        self.initialize(BTreeMap::from([(self.id, me)])).await
    }

    /// Creates a group of `members` unless this voter's disk already holds one.
    pub async fn initialize(
        &self,
        members: BTreeMap<u64, BasicNode>,
    ) -> Result<(), MetaStartError> {
        let initialized = self
            .raft
            .is_initialized()
            .await
            .map_err(|e| MetaStartError::Raft(e.to_string()))?;
        if !initialized {
            self.raft
                .initialize(members)
                .await
                .map_err(|e| MetaStartError::Raft(e.to_string()))?;
        }
        Ok(())
    }

    /// Waits until some voter leads (this one or another).
    pub async fn wait_for_leader(
        &self,
        timeout: std::time::Duration,
    ) -> Result<u64, MetaStartError> {
        self.raft
            .wait(Some(timeout))
            .metrics(|m| m.current_leader.is_some(), "a leader is elected")
            .await
            .map_err(|e| MetaStartError::Raft(e.to_string()))?
            .current_leader
            .ok_or_else(|| MetaStartError::Raft("no leader".into()))
    }

    /// The voter's routes, each stating the roles it serves: Raft to the
    /// other voters, membership and fault injection to `admin`
    /// certificates; write and read to every role, each command and query
    /// then checked against `cairn_rpc::policy`.
    pub fn router(&self) -> Router {
        let limit = DefaultBodyLimit::max;
        Router::new()
            .route(
                RAFT_APPEND_PATH,
                post(raft_append)
                    .layer(limit(MAX_RAFT_APPEND_BYTES))
                    .route_layer(allow(VOTERS)),
            )
            .route(
                RAFT_VOTE_PATH,
                post(raft_vote)
                    .layer(limit(MAX_CONTROL_BYTES))
                    .route_layer(allow(VOTERS)),
            )
            .route(
                RAFT_SNAPSHOT_PATH,
                post(raft_snapshot)
                    .layer(limit(MAX_RAFT_SNAPSHOT_BYTES))
                    .route_layer(allow(VOTERS)),
            )
            .route(
                META_WRITE_PATH,
                post(meta_write).layer(limit(MAX_WRITE_BODY_BYTES)),
            )
            .route(
                META_READ_PATH,
                post(meta_read).layer(limit(MAX_QUERY_BYTES)),
            )
            .route(
                META_STATUS_PATH,
                get(meta_status).route_layer(allow(&PeerRole::ALL)),
            )
            .route(
                META_MEMBERSHIP_PATH,
                post(meta_membership)
                    .layer(limit(MAX_CONTROL_BYTES))
                    .route_layer(allow(OPERATORS)),
            )
            .route(
                META_FAULT_PATH,
                post(meta_fault)
                    .layer(limit(MAX_CONTROL_BYTES))
                    .route_layer(allow(OPERATORS)),
            )
            .with_state(self.clone())
    }

    /// The voter's database (state machine tables included).
    pub fn db(&self) -> &MetaDb {
        &self.db
    }

    /// Stops Raft, then waits (at most `DB_RELEASE_WAIT`) until Raft's
    /// tasks have dropped their handles on the database: openraft's state
    /// machine worker ends shortly after `shutdown` returns, and until it
    /// does the data dir cannot be opened again in this process.
    pub async fn shutdown(&self) {
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        let deadline = tokio::time::Instant::now() + DB_RELEASE_WAIT;
        while Arc::strong_count(&self.db.db) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(DB_RELEASE_POLL).await;
        }
    }
}

/// Longest `MetaNode::shutdown` waits for Raft's tasks to release the database.
pub const DB_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// How often it checks.
const DB_RELEASE_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Path of the JSON status of a voter.
pub const META_STATUS_PATH: &str = "/v1/meta/status";

/// One voter's view of the group, as `/v1/meta/status` reports it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MetaStatus {
    pub id: u64,
    pub state: String,
    pub leader: Option<u64>,
    pub term: u64,
    pub last_log_index: Option<u64>,
    /// Highest entry this voter knows a majority holds.
    #[serde(default)]
    pub commit_index: Option<u64>,
    pub applied_index: Option<u64>,
    pub voters: Vec<u64>,
    /// On the leader: each member's matched log index.
    pub matched: BTreeMap<u64, Option<u64>>,
    /// Last log index covered by this voter's latest snapshot.
    #[serde(default)]
    pub snapshot_index: Option<u64>,
    /// Last log index purged from this voter's log (entries up to it exist
    /// only in snapshots: a voter behind it catches up by installing one).
    #[serde(default)]
    pub purged_index: Option<u64>,
    /// Cut off from the other voters by fault injection.
    #[serde(default)]
    pub isolated: bool,
}

async fn meta_status(State(node): State<MetaNode>) -> Response {
    let m = node.raft.metrics().borrow().clone();
    let status = MetaStatus {
        id: m.id,
        state: format!("{:?}", m.state),
        leader: m.current_leader,
        term: m.current_term,
        last_log_index: m.last_log_index,
        commit_index: saved_commit_index(&node.db).unwrap_or(None),
        applied_index: m.last_applied.map(|l| l.index),
        voters: m.membership_config.membership().voter_ids().collect(),
        matched: m
            .replication
            .as_ref()
            .map(|r| r.iter().map(|(id, l)| (*id, l.map(|l| l.index))).collect())
            .unwrap_or_default(),
        snapshot_index: m.snapshot.map(|l| l.index),
        purged_index: m.purged.map(|l| l.index),
        isolated: node.isolation.is_isolated(),
    };
    axum::Json(status).into_response()
}

/// Switches fault injection (isolation from the other voters) on or off.
async fn meta_fault(State(node): State<MetaNode>, body: Bytes) -> Response {
    let setting: FaultSetting = match decode_postcard(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(e),
    };
    if !node.isolation.set(setting) {
        return (
            StatusCode::FORBIDDEN,
            "fault injection is off on this voter (meta.fault_injection = false)",
        )
            .into_response();
    }
    tracing::warn!(
        voter = node.id,
        isolated = setting.isolated,
        "fault injection switched"
    );
    postcard_response(&setting)
}

/// An isolated voter refuses Raft traffic from its peers.
fn refuse_when_isolated(node: &MetaNode) -> Option<Response> {
    node.isolation.is_isolated().then(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "isolated by fault injection",
        )
            .into_response()
    })
}

/// What a client hears when no majority answered within `meta.quorum_wait_ms`.
fn no_quorum(node: &MetaNode, what: &str) -> MetaError {
    MetaError::Unavailable(format!(
        "voter {} got no majority for a {what} within {} ms",
        node.id,
        node.quorum_wait.as_millis()
    ))
}

/// Adds a voter (as a learner first, blocking until it has caught up, then as
/// a voter) or removes one. Only the leader does this; others redirect.
async fn meta_membership(State(node): State<MetaNode>, body: Bytes) -> Response {
    let change: MembershipChange = match decode_postcard(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    let outcome = match change {
        MembershipChange::Add { id, addr } => {
            match node.raft.add_learner(id, BasicNode { addr }, true).await {
                Ok(_) => {
                    node.raft
                        .change_membership(openraft::ChangeMembers::AddVoterIds([id].into()), false)
                        .await
                }
                Err(e) => Err(e),
            }
        }
        MembershipChange::Remove { id } => {
            node.raft
                .change_membership(openraft::ChangeMembers::RemoveVoters([id].into()), false)
                .await
        }
    };
    let result: Result<Vec<u64>, MetaError> = match outcome {
        Ok(resp) => Ok(resp
            .membership
            .map(|m| m.voter_ids().collect())
            .unwrap_or_default()),
        Err(e @ RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => Err(leader_error(&e)),
        Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
            Err(MetaError::Internal(e.to_string()))
        }
        Err(e) => Err(MetaError::Unavailable(e.to_string())),
    };
    postcard_response(&result)
}

fn bad_request(e: String) -> Response {
    (StatusCode::BAD_REQUEST, e).into_response()
}

async fn raft_append(State(node): State<MetaNode>, body: Bytes) -> Response {
    if let Some(refused) = refuse_when_isolated(&node) {
        return refused;
    }
    match decode_postcard(&body) {
        Ok(req) => postcard_response(&node.raft.append_entries(req).await),
        Err(e) => bad_request(e),
    }
}

async fn raft_vote(State(node): State<MetaNode>, body: Bytes) -> Response {
    if let Some(refused) = refuse_when_isolated(&node) {
        return refused;
    }
    match decode_postcard(&body) {
        Ok(req) => postcard_response(&node.raft.vote(req).await),
        Err(e) => bad_request(e),
    }
}

async fn raft_snapshot(State(node): State<MetaNode>, body: Bytes) -> Response {
    if let Some(refused) = refuse_when_isolated(&node) {
        return refused;
    }
    match decode_postcard(&body) {
        Ok(req) => postcard_response(&node.raft.install_snapshot(req).await),
        Err(e) => bad_request(e),
    }
}

fn leader_error<E>(e: &RaftError<u64, E>) -> MetaError
where
    E: std::error::Error + openraft::TryAsRef<openraft::error::ForwardToLeader<u64, BasicNode>>,
{
    match e.forward_to_leader::<BasicNode>() {
        Some(f) => MetaError::NotLeader {
            leader_addr: f.leader_node.as_ref().map(|n| n.addr.clone()),
        },
        None => MetaError::Unavailable(e.to_string()),
    }
}

async fn meta_write(
    State(node): State<MetaNode>,
    peer: Option<Extension<Peer>>,
    body: Bytes,
) -> Response {
    let cmd: MetaCommand = match decode_postcard(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    let allowed = auth::check(
        peer.map(|p| p.0),
        |role| policy::may_write(role, &cmd),
        || format!("write {}", policy::command_name(&cmd)),
    );
    if let Err(refused) = allowed {
        return refused;
    }
    if matches!(cmd, MetaCommand::Batch(_)) {
        return bad_request("batches are formed by the voter, not sent to it".into());
    }
    // Stamps idempotent writes, decides horizon proposals by this clock.
    let cmd = match node.admission().admit(cmd) {
        Ok(cmd) => cmd,
        Err(e) => return postcard_response(&Err::<cairn_rpc::MetaResponse, _>(e)),
    };
    // A write that finds no majority in time has an unknown outcome; the
    // client retries it elsewhere, and commands are idempotent on retry.
    let raft = node.raft.clone();
    let unconfirmed = no_quorum(&node, "write");
    let wait = node.quorum_wait;
    let commit = move |cmd: MetaCommand| {
        let raft = raft.clone();
        let unconfirmed = unconfirmed.clone();
        async move {
            match tokio::time::timeout(wait, raft.client_write(cmd)).await {
                Ok(Ok(resp)) => resp.data,
                Ok(Err(e @ RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => {
                    Err(leader_error(&e))
                }
                Ok(Err(e)) => Err(MetaError::Unavailable(e.to_string())),
                Err(_) => Err(unconfirmed),
            }
        }
    };
    let result = node.writes.submit(cmd, commit).await;
    postcard_response(&result)
}

async fn meta_read(
    State(node): State<MetaNode>,
    peer: Option<Extension<Peer>>,
    body: Bytes,
) -> Response {
    let query: MetaQuery = match decode_postcard(&body) {
        Ok(q) => q,
        Err(e) => return bad_request(e),
    };
    let allowed = auth::check(
        peer.map(|p| p.0),
        |role| policy::may_read(role, &query),
        || "read access keys".to_string(),
    );
    if let Err(refused) = allowed {
        return refused;
    }
    let raft = node.raft.clone();
    let unconfirmed = no_quorum(&node, "read");
    let wait = node.quorum_wait;
    let confirm = move || {
        let raft = raft.clone();
        let unconfirmed = unconfirmed.clone();
        async move {
            match tokio::time::timeout(wait, raft.ensure_linearizable()).await {
                Ok(confirmed) => confirmed.map(|_| ()).map_err(|e| leader_error(&e)),
                Err(_) => Err(unconfirmed),
            }
        }
    };
    if let Err(e) = node.reads.wait(confirm).await {
        return postcard_response(&Err::<(), _>(e));
    }
    let db = node.db.clone();
    let result = tokio::task::spawn_blocking(move || run_query(&db, &query))
        .await
        .unwrap_or_else(|e| Err(MetaError::Internal(e.to_string())));
    postcard_response(&result)
}
