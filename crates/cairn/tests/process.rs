//! Runs the real `cairn server` binary as a child process: it starts with no
//! configuration, prints its endpoint and root key, answers /health, stops
//! cleanly on SIGTERM, and after a restart on the same data directory comes
//! back with the same root key. Objects acknowledged before a SIGKILL are all
//! there, byte for byte, after the restart.

mod common;
use common::{free_port, pattern};

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a server may take to come up or to stop.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Kills the child by pid if the test fails half-way.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The root key pair a server printed.
struct Keys {
    access: String,
    secret: String,
}

/// Starts the server and returns it with the keys it printed.
fn start(dir: &std::path::Path, port: u16) -> (Guard, Keys) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["server", "--data-dir"])
        .arg(dir)
        .args(["--s3-addr", &format!("127.0.0.1:{port}")])
        .env_remove("CAIRN_ACCESS_KEY")
        .env_remove("CAIRN_SECRET_KEY")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn cairn server");
    let stdout = child.stdout.take().expect("stdout");
    let guard = Guard(Some(child));
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
            secret_key = Some(k.trim().to_string());
        }
        if let Some(e) = line.trim().strip_prefix("S3 endpoint:") {
            endpoint = Some(e.trim().to_string());
        }
    }
    assert_eq!(
        endpoint.as_deref(),
        Some(format!("http://127.0.0.1:{port}").as_str())
    );
    (
        guard,
        Keys {
            access: access_key.expect("key"),
            secret: secret_key.expect("secret"),
        },
    )
}

fn health(port: u16) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let r = reqwest::get(format!("http://127.0.0.1:{port}/health")).await;
        r.map(|r| r.status().as_u16()).unwrap_or(0)
    })
}

fn stop(mut guard: Guard) {
    let mut child = guard.0.take().expect("child");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            assert!(
                exit.success(),
                "cairn server exited with {exit} after SIGTERM"
            );
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("cairn server did not stop within {STOP_TIMEOUT:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn server_starts_stops_on_sigterm_and_restarts_with_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let (guard, keys) = start(dir.path(), port);
    let key = keys.access;
    assert_eq!(health(port), 200);
    assert!(
        key.starts_with("CK") && key.len() == 20,
        "unexpected key {key}"
    );
    stop(guard);
    let port = free_port();
    let (guard, keys_again) = start(dir.path(), port);
    assert_eq!(keys_again.access, key, "the root key survives a restart");
    assert_eq!(health(port), 200);
    stop(guard);
}

fn s3_client(port: u16, keys: &Keys) -> aws_sdk_s3::Client {
    let creds =
        aws_sdk_s3::config::Credentials::new(&keys.access, &keys.secret, None, None, "test");
    let config = aws_sdk_s3::config::Builder::new()
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .force_path_style(true)
        .behavior_version_latest()
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    /// Objects written before the kill: inline-sized, one chunk, several chunks.
    const SIZES: [usize; 4] = [0, 1000, 300_000, 3 * 1024 * 1024 + 17];
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let (mut guard, keys) = start(dir.path(), port);
    let rt = common::runtime();
    let client = s3_client(port, &keys);
    rt.block_on(async {
        client
            .create_bucket()
            .bucket("durable")
            .send()
            .await
            .expect("create bucket");
        for (i, size) in SIZES.iter().enumerate() {
            let body = aws_sdk_s3::primitives::ByteStream::from(pattern(*size, i as u64 + 1));
            client
                .put_object()
                .bucket("durable")
                .key(format!("obj-{i}"))
                .body(body)
                .send()
                .await
                .expect("put");
        }
    });
    // No clean shutdown: the process dies right after the last acknowledgement.
    let mut child = guard.0.take().expect("child");
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let port = free_port();
    let (guard, keys) = start(dir.path(), port);
    let client = s3_client(port, &keys);
    rt.block_on(async {
        for (i, size) in SIZES.iter().enumerate() {
            let got = client
                .get_object()
                .bucket("durable")
                .key(format!("obj-{i}"))
                .send()
                .await
                .expect("get after kill");
            let bytes = got.body.collect().await.expect("body").into_bytes();
            assert_eq!(bytes.len(), *size);
            assert!(
                bytes.as_ref() == pattern(*size, i as u64 + 1).as_slice(),
                "object {i} differs after SIGKILL"
            );
        }
    });
    stop(guard);
}
