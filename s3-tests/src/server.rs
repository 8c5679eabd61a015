//! Where the tests send their requests: the shared target (an in-process cairn
//! server or the endpoint named by `S3_ENDPOINT`) and private servers.

use std::net::{Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use cairn::{RunningServer, ServerOptions};

/// Environment variable naming an external endpoint to test instead of an in-process server.
pub const ENDPOINT_ENV: &str = "S3_ENDPOINT";
const ACCESS_KEY_ENV: &str = "AWS_ACCESS_KEY_ID";
const SECRET_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";
const REGION_ENV: &str = "AWS_REGION";

/// The region the in-process server answers for (and the default for `S3_ENDPOINT`).
pub const TEST_REGION: &str = "us-east-1";
/// Root access key given to every in-process server.
pub const TEST_ACCESS_KEY: &str = "CAIRNTESTACCESSKEY01";
/// Root secret key given to every in-process server.
pub const TEST_SECRET_KEY: &str = "cairn-test-secret-key/0123456789abcdefghij";

/// How long the shared in-process server may take to start before every test fails.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(90);
/// Worker threads of the shared server's own runtime.
const SERVER_WORKER_THREADS: usize = 4;
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
}

impl Target {
    fn from_server(server: &RunningServer) -> Self {
        Self {
            endpoint: server.endpoint(),
            access_key: server.access_key.clone(),
            secret_key: server.secret_key.clone(),
            region: TEST_REGION.to_owned(),
            in_process: true,
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

fn test_options(data_dir: &Path) -> ServerOptions {
    let mut opts = ServerOptions::new(data_dir, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    opts.access_key = Some(TEST_ACCESS_KEY.to_owned());
    opts.secret_key = Some(TEST_SECRET_KEY.to_owned());
    // Lifecycle rules are carried out within seconds, so tests can watch them.
    opts.config.meta.lifecycle_interval_secs = TEST_LIFECYCLE_INTERVAL_SECS;
    opts
}

/// Seconds between lifecycle passes of the servers the tests start.
pub const TEST_LIFECYCLE_INTERVAL_SECS: u64 = 1;

/// Starts the shared server on its own thread and runtime and waits until it answers.
fn start_shared_server() -> Result<Target, String> {
    let data_dir = shared_data_dir()?;
    let opts = test_options(&data_dir);
    let (tx, rx) = mpsc::channel::<Result<Target, String>>();
    std::thread::Builder::new()
        .name("cairn-shared-server".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(SERVER_WORKER_THREADS)
                .thread_name("cairn-server")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(format!("cannot build the server runtime: {e}")));
                    return;
                }
            };
            let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
                runtime.block_on(cairn::server::start(opts))
            }));
            match started {
                Ok(Ok(server)) => {
                    let _ = tx.send(Ok(Target::from_server(&server)));
                    // Serve for the rest of the process; `server` stays alive with this future.
                    runtime.block_on(async move {
                        let _server = server;
                        std::future::pending::<()>().await
                    });
                }
                Ok(Err(e)) => {
                    let _ = tx.send(Err(format!("cairn::server::start failed: {e:#}")));
                }
                Err(panic) => {
                    let _ = tx.send(Err(format!(
                        "cairn::server::start panicked: {}",
                        panic_message(&*panic)
                    )));
                }
            }
        })
        .map_err(|e| format!("cannot spawn the server thread: {e}"))?;
    match rx.recv_timeout(SERVER_START_TIMEOUT) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "cairn::server::start did not return within {SERVER_START_TIMEOUT:?}"
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("the server thread died before reporting".into())
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
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

/// A cairn server owned by one test, living on that test's runtime (use a
/// multi-thread `#[tokio::test]` for it). Dropping it without [`shutdown`]
/// leaves its tasks to die with the runtime.
///
/// [`shutdown`]: PrivateServer::shutdown
pub struct PrivateServer {
    server: RunningServer,
    target: Target,
}

impl PrivateServer {
    /// Where and how to reach this server.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Stops the server cleanly; its data dir can then be reopened.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.server.shutdown().await
    }
}

/// Starts a private cairn server on `data_dir` with the test keys, listening on a free port.
pub async fn start_private_server(data_dir: &Path) -> anyhow::Result<PrivateServer> {
    let server = tokio::time::timeout(
        SERVER_START_TIMEOUT,
        cairn::server::start(test_options(data_dir)),
    )
    .await
    .with_context(|| {
        format!("cairn::server::start did not return within {SERVER_START_TIMEOUT:?}")
    })?
    .with_context(|| format!("cannot start a server on {}", data_dir.display()))?;
    let target = Target::from_server(&server);
    Ok(PrivateServer { server, target })
}
