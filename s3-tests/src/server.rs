//! Where the tests send their requests: the shared target (an in-process cairn
//! server or the endpoint named by `S3_ENDPOINT`) and private servers. The
//! servers are in-process clusters of the test kit (`cairn-testkit`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use cairn_testkit::{Cluster, ClusterBuilder};

/// Environment variable naming an external endpoint to test instead of an in-process server.
pub const ENDPOINT_ENV: &str = "S3_ENDPOINT";
const ACCESS_KEY_ENV: &str = "AWS_ACCESS_KEY_ID";
const SECRET_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";
const REGION_ENV: &str = "AWS_REGION";
/// The second user's keys at an external endpoint (a key of its own, with
/// no grant), and the `cairn admin --config` file that can grant it.
const ALT_ACCESS_KEY_ENV: &str = "S3_ALT_ACCESS_KEY_ID";
const ALT_SECRET_KEY_ENV: &str = "S3_ALT_SECRET_ACCESS_KEY";
const ADMIN_CONFIG_ENV: &str = "CAIRN_ADMIN_CONFIG";
/// The second user's keys on in-process servers.
pub const TEST_ALT_ACCESS_KEY: &str = "CAIRNTESTALTUSER0001";
pub const TEST_ALT_SECRET_KEY: &str = "cairn-test-alt-secret/0123456789abcdefgh";

/// The region the in-process server answers for (and the default for `S3_ENDPOINT`).
pub const TEST_REGION: &str = "us-east-1";
/// Root access key given to every in-process server.
pub const TEST_ACCESS_KEY: &str = "CAIRNTESTACCESSKEY01";
/// Root secret key given to every in-process server.
pub const TEST_SECRET_KEY: &str = "cairn-test-secret-key/0123456789abcdefghij";

/// How long the shared in-process server may take to start before every test fails.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(90);
/// Directory (under the system temp dir) holding the shared servers' data dirs.
const DATA_ROOT_NAME: &str = "cairn-s3-tests";
/// Prefix of a shared server's data dir; followed by the owning process id.
const RUN_DIR_PREFIX: &str = "run-";

/// An S3 endpoint plus the credentials and region to sign for it.
#[derive(Clone, Debug)]
pub struct Target {
    /// `http://HOST:PORT`, no trailing slash.
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    /// True when the endpoint is a cairn server started by this process.
    pub in_process: bool,
    /// A second user: (access key, secret key) of a key with no grant.
    pub alt: Option<(String, String)>,
    /// A `cairn admin --config` file of the cluster (to grant the second user).
    pub admin_config: Option<PathBuf>,
}

impl Target {
    fn from_cluster(cluster: &Cluster) -> Self {
        Self {
            endpoint: cluster.endpoint().to_owned(),
            access_key: cluster.access_key().to_owned(),
            secret_key: cluster.secret_key().to_owned(),
            region: TEST_REGION.to_owned(),
            in_process: true,
            alt: None,
            admin_config: Some(cluster.admin_config().to_path_buf()),
        }
    }

    fn from_env(endpoint: String) -> Result<Self, String> {
        let var = |name: &str| {
            std::env::var(name).map_err(|_| format!("{ENDPOINT_ENV} is set but {name} is not"))
        };
        Ok(Self {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            access_key: var(ACCESS_KEY_ENV)?,
            secret_key: var(SECRET_KEY_ENV)?,
            region: std::env::var(REGION_ENV).unwrap_or_else(|_| TEST_REGION.to_owned()),
            in_process: false,
            alt: std::env::var(ALT_ACCESS_KEY_ENV)
                .ok()
                .zip(std::env::var(ALT_SECRET_KEY_ENV).ok()),
            admin_config: std::env::var(ADMIN_CONFIG_ENV).ok().map(PathBuf::from),
        })
    }

    /// The authority (`HOST:PORT`) of the endpoint.
    pub fn authority(&self) -> &str {
        self.endpoint
            .split_once("://")
            .map_or(self.endpoint.as_str(), |(_, rest)| rest)
    }
}

static SHARED: OnceLock<Result<Target, String>> = OnceLock::new();

/// The shared target of this test binary, started on first use.
///
/// Panics (failing the calling test) when the server cannot be started; the
/// start is attempted only once per process and every later call reports the
/// same error.
pub fn target() -> &'static Target {
    match SHARED.get_or_init(init_shared) {
        Ok(target) => target,
        Err(why) => panic!("no S3 target: {why}"),
    }
}

fn init_shared() -> Result<Target, String> {
    match std::env::var(ENDPOINT_ENV) {
        Ok(endpoint) if !endpoint.trim().is_empty() => Target::from_env(endpoint),
        _ => start_shared_server(),
    }
}

/// Whether tests may start their own servers (not when testing an external endpoint).
pub fn private_servers_supported() -> bool {
    std::env::var(ENDPOINT_ENV).map_or(true, |v| v.trim().is_empty())
}

/// The in-process cluster every test server is: one voter, one node, the test keys.
fn test_cluster(data_dir: &Path) -> ClusterBuilder {
    Cluster::builder()
        .in_process()
        .data_dir(data_dir)
        .keys(TEST_ACCESS_KEY, TEST_SECRET_KEY)
        .start_timeout(SERVER_START_TIMEOUT)
        // Lifecycle rules are carried out within seconds, so tests can watch them.
        .configure(|c| c.meta.lifecycle_interval_secs = TEST_LIFECYCLE_INTERVAL_SECS)
}

/// Seconds between lifecycle passes of the servers the tests start.
pub const TEST_LIFECYCLE_INTERVAL_SECS: u64 = 1;

/// Starts the shared server (on the test kit's runtime, which outlives every
/// test's own) and leaves it running for the rest of the process.
fn start_shared_server() -> Result<Target, String> {
    let data_dir = shared_data_dir()?;
    let cluster = test_cluster(&data_dir)
        .try_start()
        .map_err(|e| format!("{e:#}"))?;
    let mut target = Target::from_cluster(&cluster);
    // The second user, made as an operator makes keys.
    let out = cluster.admin_with_env(
        &["key", "create", "alt"],
        &[
            ("CAIRN_ACCESS_KEY", TEST_ALT_ACCESS_KEY),
            ("CAIRN_SECRET_KEY", TEST_ALT_SECRET_KEY),
        ],
    );
    if !out.status.success() {
        return Err(format!("cannot create the second user: {out:?}"));
    }
    target.alt = Some((TEST_ALT_ACCESS_KEY.into(), TEST_ALT_SECRET_KEY.into()));
    // Serve for the rest of the process: never shut down, never dropped.
    std::mem::forget(cluster);
    Ok(target)
}

/// A fresh data dir for this process's shared server, after removing those of
/// earlier test processes that are gone (the shared server never shuts down, so
/// its directory cannot be removed by a destructor).
fn shared_data_dir() -> Result<PathBuf, String> {
    let root = std::env::temp_dir().join(DATA_ROOT_NAME);
    std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    sweep_stale_run_dirs(&root);
    let dir = tempfile::Builder::new()
        .prefix(&format!("{RUN_DIR_PREFIX}{}-", std::process::id()))
        .tempdir_in(&root)
        .map_err(|e| format!("cannot create a data dir under {}: {e}", root.display()))?;
    Ok(dir.keep())
}

/// Removes `run-<pid>-*` directories whose process no longer exists (Linux only:
/// liveness is read from `/proc`; elsewhere nothing is removed).
fn sweep_stale_run_dirs(root: &Path) {
    let proc_dir = Path::new("/proc");
    if !proc_dir.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(RUN_DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !proc_dir.join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A cairn server owned by one test (on the test kit's runtime). Dropping it
/// without [`shutdown`] stops it too.
///
/// [`shutdown`]: PrivateServer::shutdown
pub struct PrivateServer {
    cluster: Cluster,
    target: Target,
}

impl PrivateServer {
    /// Where and how to reach this server.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Stops the server cleanly; its data dir can then be reopened.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let cluster = self.cluster;
        tokio::task::spawn_blocking(move || cluster.shutdown())
            .await
            .context("the shutdown panicked")?
    }
}

/// Starts a private cairn server on `data_dir` with the test keys, listening on a free port.
pub async fn start_private_server(data_dir: &Path) -> anyhow::Result<PrivateServer> {
    let builder = test_cluster(data_dir);
    let cluster = tokio::task::spawn_blocking(move || builder.try_start())
        .await
        .context("the start panicked")??;
    let target = Target::from_cluster(&cluster);
    Ok(PrivateServer { cluster, target })
}
