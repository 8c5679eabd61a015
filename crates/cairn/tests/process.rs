//! Runs the real `cairn server` binary as a child process: it starts with no
//! configuration, prints its endpoint and root key, answers /health, stops
//! cleanly on SIGTERM, and after a restart on the same data directory comes
//! back with the same root key. Objects acknowledged before a SIGKILL are all
//! there, byte for byte, after the restart. Its data directory (RocksDB
//! holds the access keys, shard files the objects) is private to its user.

use cairn_testkit::*;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a server may take to come up or to stop.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The name of the server process in its guard.
const SERVER: &str = "server";

/// The root key pair a server printed.
struct Keys {
    access: String,
    secret: String,
    /// Whether the server printed the secret (first start only).
    printed: bool,
}

/// Starts the server (killed by pid when the guard is dropped) and returns
/// it with the keys it printed.
fn start(dir: &std::path::Path, port: u16) -> (ProcessGuard, Keys) {
    let mut guard = ProcessGuard::new();
    let child = guard.spawn(
        SERVER,
        Command::new(cairn_bin())
            .args(["server", "--data-dir"])
            .arg(dir)
            .args(["--s3-addr", &format!("127.0.0.1:{port}")])
            .args(["--admin-addr", "127.0.0.1:0"])
            .env_remove("CAIRN_ACCESS_KEY")
            .env_remove("CAIRN_SECRET_KEY")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit()),
    );
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining after the test stops listening, like a terminal would.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + START_TIMEOUT;
    let mut access_key = None;
    let mut secret_key = None;
    let mut endpoint = None;
    while access_key.is_none() || secret_key.is_none() || endpoint.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("server printed its endpoint and key in time");
        if let Some(k) = line.trim().strip_prefix("access key:") {
            access_key = Some(k.trim().to_string());
        }
        if let Some(k) = line.trim().strip_prefix("secret key:") {
            // First start: "SECRET (shown at first start only; kept in FILE)";
            // later starts: "kept in FILE", never the secret itself.
            let k = k.trim();
            secret_key = Some(match k.strip_prefix("kept in ") {
                Some(file) => {
                    let text = std::fs::read_to_string(file.trim()).expect("root credentials");
                    let line = text
                        .lines()
                        .find_map(|l| l.strip_prefix("AWS_SECRET_ACCESS_KEY="))
                        .expect("the secret in the credentials file");
                    (line.to_string(), false)
                }
                None => (k.split_whitespace().next().unwrap_or("").to_string(), true),
            });
        }
        if let Some(e) = line.trim().strip_prefix("S3 endpoint:") {
            endpoint = Some(e.trim().to_string());
        }
    }
    assert_eq!(
        endpoint.as_deref(),
        Some(format!("http://127.0.0.1:{port}").as_str())
    );
    let (secret, printed) = secret_key.expect("secret");
    (
        guard,
        Keys {
            access: access_key.expect("key"),
            secret,
            printed,
        },
    )
}

fn health(port: u16) -> u16 {
    http_get_as(&format!("http://127.0.0.1:{port}/health"), None).map_or(0, |(s, _)| s)
}

/// SIGTERM: the server must exit cleanly within `STOP_TIMEOUT`.
fn stop(mut guard: ProcessGuard) {
    let exit = guard.terminate(SERVER, STOP_TIMEOUT);
    assert!(
        exit.success(),
        "cairn server exited with {exit} after SIGTERM"
    );
}

#[test]
fn server_starts_stops_on_sigterm_and_restarts_with_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let (guard, keys) = start(dir.path(), port);
    let key = keys.access.clone();
    assert_eq!(health(port), 200);
    assert!(
        key.starts_with("CK") && key.len() == 20,
        "unexpected key {key}"
    );
    stop(guard);
    let port = free_port();
    let (guard, keys_again) = start(dir.path(), port);
    assert_eq!(keys_again.access, key, "the root key survives a restart");
    assert!(keys.printed, "the first start prints the root secret");
    assert!(
        !keys_again.printed,
        "a restart does not print the root secret"
    );
    assert_eq!(
        keys_again.secret, keys.secret,
        "the kept secret is the printed one"
    );
    let mode = std::fs::metadata(dir.path().join("root-credentials"))
        .expect("root credentials")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the root credentials are private");
    assert_eq!(health(port), 200);
    stop(guard);
}

fn s3_client(port: u16, keys: &Keys) -> aws_sdk_s3::Client {
    client_for(
        &format!("http://127.0.0.1:{port}"),
        &keys.access,
        &keys.secret,
    )
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    /// Objects written before the kill: inline-sized, one chunk, several chunks.
    const SIZES: [usize; 4] = [0, 1000, 300_000, 3 * 1024 * 1024 + 17];
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let (mut guard, keys) = start(dir.path(), port);
    let rt = runtime();
    let client = s3_client(port, &keys);
    rt.block_on(async {
        client
            .create_bucket()
            .bucket("durable")
            .send()
            .await
            .expect("create bucket");
        for (i, size) in SIZES.iter().enumerate() {
            let body = pattern(*size, i as u64 + 1);
            put_bytes(&client, "durable", &format!("obj-{i}"), &body).await;
        }
    });
    // No clean shutdown: the process dies right after the last acknowledgement.
    guard.kill(SERVER);
    let port = free_port();
    let (guard, keys) = start(dir.path(), port);
    let client = s3_client(port, &keys);
    rt.block_on(async {
        for (i, size) in SIZES.iter().enumerate() {
            let bytes = get_bytes(&client, "durable", &format!("obj-{i}")).await;
            assert_eq!(bytes.len(), *size);
            assert!(
                bytes == pattern(*size, i as u64 + 1),
                "object {i} differs after SIGKILL"
            );
        }
    });
    stop(guard);
}

/// Every directory under `root` (and `root` itself) with its permission bits.
fn dir_modes(root: &std::path::Path) -> Vec<(std::path::PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let mode = std::fs::metadata(&dir).expect("stat").permissions().mode() & 0o777;
        out.push((dir.clone(), mode));
        for entry in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(entry.path());
            }
        }
    }
    out
}

#[test]
fn data_directories_are_private_to_their_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // An existing data dir left world-readable (as older builds made it).
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let port = free_port();
    let (guard, _keys) = start(&data, port);
    assert_eq!(health(port), 200);
    let modes = dir_modes(&data);
    assert!(
        modes.len() > 2,
        "the server made its directories: {modes:?}"
    );
    let open: Vec<_> = modes.iter().filter(|(_, m)| m & 0o077 != 0).collect();
    assert!(open.is_empty(), "directories readable by others: {open:?}");
    stop(guard);
}
