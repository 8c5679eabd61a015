//! `Cluster`: a running test cluster (in process or as processes) and what a
//! test reaches it with — the S3 endpoint and a client, `cairn admin`, the
//! internal RPC and meta clients, voter status and leader, health and
//! metrics, node listings and shard files. Controlling single processes is in
//! `control.rs`.

use crate::http::{http_get, metric_sum};
use crate::process::{ProcessGuard, cairn_bin, run_bounded};
use crate::runtime::{POLL_INTERVAL, try_block};
use crate::spec::{LOG_DIR, Role, zone_of};
use cairn_rpc::ClientAuth;
use cairn_rpc::tls::ca::CERT_VALID_DAYS;
use cairn_rpc::tls::{ClusterCa, InternalTls, PeerRole, TlsPaths};
use cairn_types::config::VoterAddr;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long one `cairn admin` run may take.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Timeout of one internal call of [`Cluster::rpc`].
pub const RPC_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an in-process cluster may take to shut down.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of each process's log printed when a test fails.
const LOG_TAIL_LINES: usize = 20;

/// Where a cluster keeps its configs, data and logs.
pub(crate) enum Root {
    /// Removed with the cluster.
    Temp(tempfile::TempDir),
    /// The test's own directory, kept.
    Given(PathBuf),
}

impl Root {
    pub(crate) fn new(given: Option<PathBuf>) -> anyhow::Result<Self> {
        Ok(match given {
            Some(dir) => Root::Given(dir),
            None => Root::Temp(tempfile::tempdir()?),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        match self {
            Root::Temp(t) => t.path(),
            Root::Given(p) => p,
        }
    }
}

/// A running cluster. Dropping it kills its processes (by pid) or shuts the
/// in-process server down, pass or fail; when a test fails, the tail of
/// every process's log is printed first.
pub struct Cluster {
    pub(crate) procs: ProcessGuard,
    /// The in-process server (None for processes, or once shut down).
    pub(crate) server: Option<cairn::RunningServer>,
    pub(crate) in_process: bool,
    /// Every process's role and config file, by name (processes only).
    pub(crate) configs: BTreeMap<String, (Role, PathBuf)>,
    pub(crate) endpoint: String,
    /// `http://HOST:PORT` of the gateway's admin address.
    pub(crate) admin_endpoint: String,
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    pub(crate) secret: String,
    /// The cluster CA and the certificates of every process and of `admin`.
    pub(crate) tls_dir: PathBuf,
    /// The kit's own certificates, loaded once per role (`tls_as`).
    pub(crate) kit_tls: std::sync::Mutex<std::collections::HashMap<PeerRole, InternalTls>>,
    /// The voters, then the spare voters.
    pub(crate) voters: Vec<VoterAddr>,
    pub(crate) initial_voters: usize,
    pub(crate) admin_config: PathBuf,
    pub(crate) nodes: usize,
    pub(crate) zones: usize,
    /// Last: removed once the processes are gone.
    pub(crate) root: Root,
}

impl Cluster {
    /// `http://HOST:PORT` of the S3 endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `http://HOST:PORT` of the gateway's admin address (`/metrics`, the
    /// detailed `/health`).
    pub fn admin_endpoint(&self) -> &str {
        &self.admin_endpoint
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// The secret internal endpoints require.
    pub fn cluster_secret(&self) -> &str {
        &self.secret
    }

    /// An S3 client of the root key, retries off.
    pub fn client(&self) -> aws_sdk_s3::Client {
        crate::s3::client_for(&self.endpoint, &self.access_key, &self.secret_key)
    }

    /// The directory holding the cluster's configs, data and logs.
    pub fn dir(&self) -> &Path {
        self.root.path()
    }

    /// The config `cairn admin --config` uses (the gateway's; in process,
    /// `DATA_DIR/cluster.toml`).
    pub fn admin_config(&self) -> &Path {
        &self.admin_config
    }

    /// Runs `cairn admin ARGS --config ADMIN_CONFIG` (bounded by [`ADMIN_TIMEOUT`]).
    pub fn admin(&self, args: &[&str]) -> Output {
        self.admin_with_env(args, &[])
    }

    /// `admin` with environment variables set (`CAIRN_ACCESS_KEY`, ...).
    pub fn admin_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(cairn_bin());
        cmd.arg("admin")
            .args(args)
            .arg("--config")
            .arg(&self.admin_config)
            .env("RUST_LOG", "error")
            .env_remove("CAIRN_ACCESS_KEY")
            .env_remove("CAIRN_SECRET_KEY")
            .envs(env.iter().copied());
        run_bounded(&mut cmd, ADMIN_TIMEOUT)
    }

    /// `cairn admin ARGS`: (success, stdout then stderr).
    pub fn admin_text(&self, args: &[&str]) -> (bool, String) {
        let out = self.admin(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// `cairn admin ARGS`, which must succeed: stdout then stderr.
    pub fn admin_ok(&self, args: &[&str]) -> String {
        let (ok, text) = self.admin_text(args);
        assert!(ok, "cairn admin {args:?} failed: {text}");
        text
    }

    /// `cairn admin ARGS` (with `--json` among them), which must succeed: its JSON.
    pub fn admin_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.admin(args);
        assert!(out.status.success(), "cairn admin {args:?} failed: {out:?}");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("cairn admin {args:?}: not JSON ({e}): {out:?}"))
    }

    /// Assigns the storage nodes `ids` and applies the layout, as an operator does.
    pub fn apply_layout(&self, ids: &[u64]) -> anyhow::Result<()> {
        let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
        let mut assign = vec!["node", "assign"];
        assign.extend(ids.iter().map(String::as_str));
        for args in [assign, vec!["layout", "apply"]] {
            let out = self.admin(&args);
            anyhow::ensure!(out.status.success(), "cairn admin {args:?} failed: {out:?}");
        }
        Ok(())
    }

    /// An internal client with an `admin` certificate of the cluster CA.
    pub fn rpc(&self) -> cairn_rpc::RpcClient {
        self.rpc_as(PeerRole::Admin)
    }

    /// An internal client with a certificate of `role` from the cluster CA
    /// (issued for the kit on first use).
    pub fn rpc_as(&self, role: PeerRole) -> cairn_rpc::RpcClient {
        self.client_as(role, RPC_TIMEOUT)
    }

    fn client_as(&self, role: PeerRole, timeout: Duration) -> cairn_rpc::RpcClient {
        let tls = self.tls_as(role);
        cairn_rpc::RpcClient::new(timeout, &ClientAuth::Tls(tls)).expect("rpc client")
    }

    /// Both ends' TLS of a certificate of `role` from the cluster CA
    /// (issued for the kit on first use): for a test's own client, or a
    /// test's own server standing in for a role.
    pub fn tls_as(&self, role: PeerRole) -> InternalTls {
        let mut loaded = self.kit_tls.lock().expect("the kit's certificates");
        loaded
            .entry(role)
            .or_insert_with(|| self.load_kit_tls(role))
            .clone()
    }

    fn load_kit_tls(&self, role: PeerRole) -> InternalTls {
        let name = format!("testkit-{role}");
        let paths = TlsPaths::in_dir(&self.tls_dir, &name);
        if !paths.cert.exists() {
            ClusterCa::load(&self.tls_dir)
                .and_then(|ca| ca.issue(role, &name, CERT_VALID_DAYS))
                .and_then(|c| c.write(&self.tls_dir, &name))
                .expect("a kit certificate");
        }
        InternalTls::load(&paths).expect("the kit's certificate")
    }

    /// The directory of the cluster CA (`ca.pem`, `ca.key`) and certificates.
    pub fn tls_dir(&self) -> &Path {
        &self.tls_dir
    }

    /// The body of a 2xx answer to GET `path` on internal address `addr`
    /// (mutual TLS with the kit's admin certificate), if it answers.
    pub fn internal_get(&self, addr: &str, path: &str) -> Option<String> {
        let rpc = self.client_as(PeerRole::Admin, crate::http::HTTP_TIMEOUT);
        let (addr, path) = (addr.to_string(), path.to_string());
        crate::runtime::block(async move { rpc.get_text(&addr, &path).await.ok() })
    }

    /// A meta client of the (initial) voters.
    pub fn meta_client(&self) -> cairn_rpc::MetaClient {
        let addrs = self.voters[..self.initial_voters]
            .iter()
            .map(|v| v.addr.clone())
            .collect();
        cairn_rpc::MetaClient::new(self.rpc(), addrs)
    }

    /// The ids of the voters started with the cluster (spares not included).
    pub fn voter_ids(&self) -> Vec<u64> {
        self.voters[..self.initial_voters]
            .iter()
            .map(|v| v.id)
            .collect()
    }

    /// The internal address of voter `id` (a spare's too).
    pub fn voter_addr(&self, id: u64) -> &str {
        self.voters
            .iter()
            .find(|v| v.id == id)
            .map(|v| v.addr.as_str())
            .unwrap_or_else(|| panic!("no voter {id}"))
    }

    /// Voter `id`'s `/v1/meta/status` as JSON, if it answers.
    pub fn voter_status(&self, id: u64) -> Option<serde_json::Value> {
        let status = self.internal_get(self.voter_addr(id), "/v1/meta/status")?;
        serde_json::from_str(&status).ok()
    }

    /// The id of a voter (spares included) that says it leads.
    pub fn find_leader(&self) -> Option<u64> {
        self.voters.iter().map(|v| v.id).find(|id| {
            self.voter_status(*id)
                .is_some_and(|s| s["state"] == "Leader")
        })
    }

    /// The applied index the current leader reports (u64::MAX while none
    /// leads, so a catch-up check keeps waiting).
    pub fn leader_applied(&self) -> u64 {
        self.find_leader()
            .and_then(|l| self.voter_status(l))
            .and_then(|s| s["applied_index"].as_u64())
            .unwrap_or(u64::MAX)
    }

    /// The detailed `/health` text of the gateway's admin address, if it
    /// answers 200 (`ok: N storage node(s), D down`).
    pub fn health(&self) -> Option<String> {
        http_get(&format!("{}/health", self.admin_endpoint))
    }

    /// Waits until `/health` starts with `want`; panics after `timeout`.
    pub fn wait_health(&self, want: &str, timeout: Duration) {
        if let Err(e) = self.poll_health(want, timeout) {
            panic!("{e}");
        }
    }

    pub(crate) fn poll_health(&self, want: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let health = self.health();
            if health.as_deref().is_some_and(|h| h.starts_with(want)) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("health never became {want:?}; last {health:?}"));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits (up to the start timeout) until the gateway answers /health with
    /// every storage node registered, as after a start.
    pub fn wait_healthy(&self) {
        self.wait_health(
            &format!("ok: {} storage node(s)", self.nodes),
            crate::spec::START_TIMEOUT,
        );
    }

    /// The gateway's `/metrics` on its admin address (Prometheus text; empty
    /// if it does not answer).
    pub fn metrics(&self) -> String {
        http_get(&format!("{}/metrics", self.admin_endpoint)).unwrap_or_default()
    }

    /// The sum of every sample of metric `name` of the gateway.
    pub fn metric(&self, name: &str) -> f64 {
        metric_sum(&self.metrics(), name)
    }

    /// Storage nodes (ids 1..=n) and zones of the cluster.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// The zone of node `n` (`default` with a single zone).
    pub fn zone(&self, n: usize) -> String {
        zone_of(n, self.zones).unwrap_or_else(|| "default".into())
    }

    /// `cairn admin node list --json`.
    pub fn node_list(&self) -> Vec<serde_json::Value> {
        let nodes = self.admin_json(&["node", "list", "--json"]);
        nodes.as_array().expect("a list").clone()
    }

    /// (id, liveness) of every registered node, by id.
    pub fn node_states(&self) -> Vec<(u64, String)> {
        let mut states: Vec<(u64, String)> = self
            .node_list()
            .iter()
            .map(|n| {
                (
                    n["record"]["id"].as_u64().expect("id"),
                    n["liveness"].as_str().expect("liveness").to_string(),
                )
            })
            .collect();
        states.sort();
        states
    }

    /// The data directory of process `name` (`meta-1`, `node-3`, `gateway`;
    /// in process, `node-N` is node N's shard directory).
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    /// Where node `n` keeps its shard files.
    pub fn shard_dir(&self, n: usize) -> PathBuf {
        let dir = self.data_dir(&format!("node-{n}"));
        if self.in_process {
            dir
        } else {
            dir.join("shards")
        }
    }

    /// Every shard file of node `n` (for counting, corrupting or deleting).
    pub fn shard_files(&self, n: usize) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Ok(fans) = std::fs::read_dir(self.shard_dir(n)) else {
            return out;
        };
        for fan in fans.flatten() {
            if fan.file_name() == ".tmp" || !fan.path().is_dir() {
                continue;
            }
            let files = std::fs::read_dir(fan.path()).into_iter().flatten();
            out.extend(files.flatten().map(|f| f.path()));
        }
        out
    }

    /// Stops the cluster: kills its processes, or shuts the in-process server
    /// down cleanly (its data dir can then be opened again).
    pub fn shutdown(mut self) -> anyhow::Result<()> {
        self.procs.kill_all();
        match self.server.take() {
            Some(server) => stop_server(server),
            None => Ok(()),
        }
    }

    fn print_log_tails(&self) {
        let Ok(logs) = std::fs::read_dir(self.dir().join(LOG_DIR)) else {
            return;
        };
        for log in logs.flatten() {
            let text = std::fs::read_to_string(log.path()).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
            if !tail.is_empty() {
                eprintln!("--- {}:\n{}", log.path().display(), tail.join("\n"));
            }
        }
    }
}

/// Shuts an in-process server down on the kit's runtime, bounded.
fn stop_server(server: cairn::RunningServer) -> anyhow::Result<()> {
    let stopped =
        try_block(async { tokio::time::timeout(SHUTDOWN_TIMEOUT, server.shutdown()).await })
            .map_err(|panic| anyhow::anyhow!("shutdown panicked: {panic}"))?;
    stopped.map_err(|_| anyhow::anyhow!("shutdown took longer than {SHUTDOWN_TIMEOUT:?}"))?
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.print_log_tails();
        }
        self.procs.kill_all();
        if let Some(server) = self.server.take() {
            let _ = stop_server(server);
        }
    }
}
