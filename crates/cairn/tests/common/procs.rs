//! A multi-process cluster of the real `cairn` binary on loopback — meta
//! voters, one storage node and one gateway, each its own process with its
//! own config file — for failure tests that kill, pause or cut processes.
//! Every child is killed by pid when the cluster value is dropped, pass or fail.

use super::free_port;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long the cluster may take to become healthy.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
pub const VOTERS: u64 = 3;
pub const ACCESS_KEY: &str = "CKFAILOVERTEST000001";
pub const SECRET_KEY: &str = "failover-test-secret-key-0000000000000000";
pub const CLUSTER_SECRET: &str = "failover-test-cluster-secret";

/// Every child process, killed by pid when the test ends, pass or fail.
pub struct Cluster {
    pub children: Vec<(String, Child)>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Cluster {
    pub fn spawn(&mut self, name: &str, role: &str, config: &Path, keys: bool) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
        cmd.arg(role)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.env_remove("CAIRN_ACCESS_KEY")
            .env_remove("CAIRN_SECRET_KEY");
        if keys {
            cmd.env("CAIRN_ACCESS_KEY", ACCESS_KEY)
                .env("CAIRN_SECRET_KEY", SECRET_KEY);
        }
        let child = cmd.spawn().expect("spawn cairn");
        self.children.push((name.to_string(), child));
    }

    pub fn kill(&mut self, name: &str) {
        if let Some(pos) = self.children.iter().position(|(n, _)| n == name) {
            let (_, mut child) = self.children.remove(pos);
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }
}

/// GET with or without the cluster token; the status code and body.
pub fn http_get_as(url: &str, token: Option<&str>) -> Option<(u16, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let mut req = reqwest::Client::new().get(url);
        if let Some(t) = token {
            req = req.header(cairn_rpc::auth::CLUSTER_TOKEN_HEADER, t);
        }
        let resp = req.send().await.ok()?;
        let status = resp.status().as_u16();
        Some((status, resp.text().await.ok()?))
    })
}

pub fn http_get(url: &str) -> Option<String> {
    http_get_as(url, Some(CLUSTER_SECRET))
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
}

/// A running cluster of real processes and what the tests need to reach it.
pub struct Running {
    pub _dir: tempfile::TempDir,
    pub cluster: Cluster,
    pub s3_port: u16,
    pub voter_ports: Vec<u16>,
    pub gateway: std::path::PathBuf,
    pub meta_configs: Vec<std::path::PathBuf>,
    /// Voters not in the initial group: (id, config, internal address).
    pub spare_voters: Vec<(u64, std::path::PathBuf, String)>,
}

/// Starts three voters, one storage node and one gateway, and waits until healthy.
pub fn start_cluster() -> Running {
    start_cluster_with_spares(0)
}

/// Like `start_cluster`, and writes (but does not start) configs for `spares`
/// more voters, ids 4, 5, ..., whose voter lists name every voter.
pub fn start_cluster_with_spares(spares: u64) -> Running {
    start_cluster_with(spares, "")
}

/// Like `start_cluster_with_spares`, with `meta_extra` (TOML keys of the
/// `[meta]` section, one per line) added to every voter's config.
pub fn start_cluster_with(spares: u64, meta_extra: &str) -> Running {
    let dir = tempfile::tempdir().expect("tempdir");
    let s3_port = free_port();
    let voter_ports: Vec<u16> = (0..VOTERS).map(|_| free_port()).collect();
    let spare_ports: Vec<u16> = (0..spares).map(|_| free_port()).collect();
    let all_voters: String = voter_ports
        .iter()
        .chain(spare_ports.iter())
        .enumerate()
        .map(|(i, p)| format!("  {{ id = {}, addr = \"127.0.0.1:{p}\" }},\n", i + 1))
        .collect();
    let voters: String = voter_ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("  {{ id = {}, addr = \"127.0.0.1:{p}\" }},\n", i + 1))
        .collect();
    let common = |data: &str| {
        format!(
            "data_dir = \"{}\"\n[s3]\naddr = \"127.0.0.1:{s3_port}\"\n[cluster]\nsecret = \"{CLUSTER_SECRET}\"\nmeta_voters = [\n{voters}]\n",
            dir.path().join(data).display()
        )
    };
    let write = |name: &str, text: String| {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write config");
        path
    };
    let mut cluster = Cluster {
        children: Vec::new(),
    };
    let mut meta_configs = Vec::new();
    for (i, port) in voter_ports.iter().enumerate() {
        let id = i + 1;
        let conf = write(
            &format!("meta-{id}"),
            format!(
                "{}[meta]\nid = {id}\naddr = \"127.0.0.1:{port}\"\n{meta_extra}",
                common(&format!("meta-{id}"))
            ),
        );
        cluster.spawn(&format!("meta-{id}"), "meta", &conf, false);
        meta_configs.push(conf);
    }
    // Port 0: the node binds a port of its own and registers the address it got.
    let node = write(
        "node-1",
        format!(
            "{}[node]\nid = 1\naddr = \"127.0.0.1:0\"\n",
            common("node-1")
        ),
    );
    cluster.spawn("node-1", "node", &node, false);
    let gateway = write("gateway", common("gateway"));
    cluster.spawn("gateway", "gateway", &gateway, true);
    let mut spare_voters = Vec::new();
    for (i, port) in spare_ports.iter().enumerate() {
        let id = VOTERS + i as u64 + 1;
        let base = common(&format!("meta-{id}"));
        let (head, _) = base.split_once("meta_voters = [").expect("voter list");
        let text = format!(
            "{head}meta_voters = [\n{all_voters}]\n[meta]\nid = {id}\naddr = \"127.0.0.1:{port}\"\n{meta_extra}"
        );
        spare_voters.push((
            id,
            write(&format!("meta-{id}"), text),
            format!("127.0.0.1:{port}"),
        ));
    }
    wait_healthy(s3_port);
    apply_layout(&["1"], &gateway);
    Running {
        _dir: dir,
        cluster,
        s3_port,
        voter_ports,
        gateway,
        meta_configs,
        spare_voters,
    }
}

/// Assigns the storage nodes `ids` and applies the layout, as an operator does.
pub fn apply_layout(ids: &[&str], config: &Path) {
    let mut assign = vec!["node", "assign"];
    assign.extend_from_slice(ids);
    for args in [assign, vec!["layout", "apply"]] {
        let out = admin_any(&args, config);
        assert!(out.status.success(), "cairn admin {args:?} failed: {out:?}");
    }
}

pub fn wait_healthy(s3_port: u16) {
    let deadline = Instant::now() + START_TIMEOUT;
    while !http_get(&format!("http://127.0.0.1:{s3_port}/health"))
        .is_some_and(|h| h.starts_with("ok: 1 storage node"))
    {
        assert!(Instant::now() < deadline, "cluster did not become healthy");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An S3 client of the test cluster's root key, with the SDK's retries off.
pub fn s3_client(s3_port: u16) -> aws_sdk_s3::Client {
    s3_client_for(
        &format!("http://127.0.0.1:{s3_port}"),
        ACCESS_KEY,
        SECRET_KEY,
    )
}

/// An S3 client of any endpoint and key pair, with the SDK's retries off, so
/// every failure a test sees is the server's answer.
pub fn s3_client_for(endpoint: &str, access: &str, secret: &str) -> aws_sdk_s3::Client {
    let creds = aws_sdk_s3::config::Credentials::new(access, secret, None, None, "test");
    let config = aws_sdk_s3::config::Builder::new()
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .force_path_style(true)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .behavior_version_latest()
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// `cairn admin meta ARGS --config CONFIG`.
pub fn admin(args: &[&str], config: &Path) -> std::process::Output {
    let mut all = vec!["meta"];
    all.extend_from_slice(args);
    admin_any(&all, config)
}

/// `cairn admin ARGS --config CONFIG`.
pub fn admin_any(args: &[&str], config: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("admin")
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "error")
        .output()
        .expect("run cairn admin")
}

/// A voter's `/v1/meta/status` as JSON, if it answers.
pub fn voter_status(port: u16) -> Option<serde_json::Value> {
    let text = http_get(&format!("http://127.0.0.1:{port}/v1/meta/status"))?;
    serde_json::from_str(&text).ok()
}

/// The id (1-based position in `voter_ports`) of the voter that says it leads.
pub fn find_leader(voter_ports: &[u16]) -> Option<u64> {
    voter_ports.iter().enumerate().find_map(|(i, p)| {
        voter_status(*p)
            .filter(|s| s["state"] == "Leader")
            .map(|_| i as u64 + 1)
    })
}

/// Polls `check` every 100 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An internal client that carries the test cluster's secret.
pub fn internal_client() -> cairn_rpc::RpcClient {
    cairn_rpc::RpcClient::new(Duration::from_secs(30), CLUSTER_SECRET).expect("rpc client")
}

/// The applied index the current leader reports (u64::MAX while none leads,
/// so a catch-up check keeps waiting).
pub fn leader_applied(voter_ports: &[u16]) -> u64 {
    find_leader(voter_ports)
        .and_then(|l| voter_status(voter_ports[l as usize - 1]))
        .and_then(|s| s["applied_index"].as_u64())
        .unwrap_or(u64::MAX)
}

/// A background stream of PUTs of keys `w-0`, `w-1`, ... with `body(i)`
/// (SDK retries off); `finish` gives (acknowledged key numbers, errors).
pub struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicUsize>,
    thread: std::thread::JoinHandle<(Vec<usize>, Vec<String>)>,
}

impl Writer {
    pub fn start(
        client: aws_sdk_s3::Client,
        bucket: &'static str,
        body: fn(usize) -> Vec<u8>,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acked_count = Arc::new(AtomicUsize::new(0));
        let flag = stop.clone();
        let counter = acked_count.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("writer runtime");
            let (mut acked, mut errors) = (Vec::new(), Vec::new());
            let mut i = 0usize;
            while !flag.load(Ordering::Relaxed) {
                let put = client
                    .put_object()
                    .bucket(bucket)
                    .key(format!("w-{i}"))
                    .body(aws_sdk_s3::primitives::ByteStream::from(body(i)));
                match rt.block_on(put.send()) {
                    Ok(_) => {
                        acked.push(i);
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errors.push(format!("w-{i}: {e:?}")),
                }
                i += 1;
            }
            (acked, errors)
        });
        Self {
            stop,
            acked: acked_count,
            thread,
        }
    }

    /// Writes acknowledged so far.
    pub fn acked(&self) -> usize {
        self.acked.load(Ordering::Relaxed)
    }

    pub fn finish(self) -> (Vec<usize>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("writer thread")
    }
}
