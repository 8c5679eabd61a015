//! A multi-process cluster of the real binary — three `cairn meta` voters,
//! one `cairn node` and one `cairn gateway` on loopback — loses its meta
//! leader to SIGKILL in the middle of a stream of PUTs. The S3 client (with
//! its own retries switched off) sees no error, only latency; every PUT that
//! was acknowledged reads back identical afterwards.

mod common;
use common::free_port;

mod linearizability;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the cluster may take to become healthy.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long PUTs keep flowing before and after the kill.
const BEFORE_KILL: Duration = Duration::from_secs(1);
const AFTER_KILL: Duration = Duration::from_secs(6);
const VOTERS: u64 = 3;
const ACCESS_KEY: &str = "CKFAILOVERTEST000001";
const SECRET_KEY: &str = "failover-test-secret-key-0000000000000000";
const CLUSTER_SECRET: &str = "failover-test-cluster-secret";

/// Every child process, killed by pid when the test ends, pass or fail.
struct Cluster {
    children: Vec<(String, Child)>,
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
    fn spawn(&mut self, name: &str, role: &str, config: &Path, keys: bool) {
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

    fn kill(&mut self, name: &str) {
        if let Some(pos) = self.children.iter().position(|(n, _)| n == name) {
            let (_, mut child) = self.children.remove(pos);
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }
}

/// GET with or without the cluster token; the status code and body.
fn http_get_as(url: &str, token: Option<&str>) -> Option<(u16, String)> {
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

fn http_get(url: &str) -> Option<String> {
    http_get_as(url, Some(CLUSTER_SECRET))
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
}

/// A running cluster of real processes and what the tests need to reach it.
struct Running {
    _dir: tempfile::TempDir,
    cluster: Cluster,
    s3_port: u16,
    voter_ports: Vec<u16>,
    gateway: std::path::PathBuf,
    meta_configs: Vec<std::path::PathBuf>,
    /// Voters not in the initial group: (id, config, internal address).
    spare_voters: Vec<(u64, std::path::PathBuf, String)>,
}

/// Starts three voters, one storage node and one gateway, and waits until healthy.
fn start_cluster() -> Running {
    start_cluster_with_spares(0)
}

/// Like `start_cluster`, and writes (but does not start) configs for `spares`
/// more voters, ids 4, 5, ..., whose voter lists name every voter.
fn start_cluster_with_spares(spares: u64) -> Running {
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
                "{}[meta]\nid = {id}\naddr = \"127.0.0.1:{port}\"\n",
                common(&format!("meta-{id}"))
            ),
        );
        cluster.spawn(&format!("meta-{id}"), "meta", &conf, false);
        meta_configs.push(conf);
    }
    let node = write(
        "node-1",
        format!(
            "{}[node]\nid = 1\naddr = \"127.0.0.1:{}\"\n",
            common("node-1"),
            free_port()
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
            "{head}meta_voters = [\n{all_voters}]\n[meta]\nid = {id}\naddr = \"127.0.0.1:{port}\"\n"
        );
        spare_voters.push((
            id,
            write(&format!("meta-{id}"), text),
            format!("127.0.0.1:{port}"),
        ));
    }
    wait_healthy(s3_port);
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

fn wait_healthy(s3_port: u16) {
    let deadline = Instant::now() + START_TIMEOUT;
    while !http_get(&format!("http://127.0.0.1:{s3_port}/health"))
        .is_some_and(|h| h.starts_with("ok: 1 storage node"))
    {
        assert!(Instant::now() < deadline, "cluster did not become healthy");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn s3_client(s3_port: u16) -> aws_sdk_s3::Client {
    let creds = aws_sdk_s3::config::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    let config = aws_sdk_s3::config::Builder::new()
        .endpoint_url(format!("http://127.0.0.1:{s3_port}"))
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .force_path_style(true)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .behavior_version_latest()
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[test]
fn leader_sigkill_during_puts_costs_latency_not_errors() {
    let Running {
        _dir,
        mut cluster,
        s3_port,
        voter_ports,
        gateway,
        ..
    } = start_cluster();
    let rt = common::runtime();
    let client = s3_client(s3_port);
    rt.block_on(async {
        client
            .create_bucket()
            .bucket("failover")
            .send()
            .await
            .expect("create bucket")
    });

    // Internal endpoints refuse requests without the cluster secret.
    let status_url = format!("http://127.0.0.1:{}/v1/meta/status", voter_ports[0]);
    assert_eq!(http_get_as(&status_url, None).map(|(s, _)| s), Some(401));
    assert_eq!(
        http_get_as(&status_url, Some("not-the-cluster-secret")).map(|(s, _)| s),
        Some(401)
    );

    let leader = voter_ports
        .iter()
        .enumerate()
        .find(|(_, p)| {
            http_get(&format!("http://127.0.0.1:{p}/v1/meta/status"))
                .is_some_and(|s| s.contains("\"state\":\"Leader\""))
        })
        .map(|(i, _)| i + 1)
        .expect("a leader");

    let mut acked: Vec<(String, Vec<u8>)> = Vec::new();
    let mut errors = Vec::new();
    let started = Instant::now();
    let mut killed = false;
    let mut i = 0u64;
    while started.elapsed() < BEFORE_KILL + AFTER_KILL {
        if !killed && started.elapsed() >= BEFORE_KILL {
            cluster.kill(&format!("meta-{leader}"));
            killed = true;
        }
        let key = format!("k{i}");
        let body: Vec<u8> = (0..2000u64).map(|b| (b * 31 + i * 7) as u8).collect();
        let put = rt.block_on(
            client
                .put_object()
                .bucket("failover")
                .key(&key)
                .body(aws_sdk_s3::primitives::ByteStream::from(body.clone()))
                .send(),
        );
        match put {
            Ok(_) => acked.push((key, body)),
            Err(e) => errors.push(format!("{key}: {e:?}")),
        }
        i += 1;
    }
    assert!(killed);
    // The operator's view agrees: a new leader, reported by `cairn admin meta status --json`.
    let admin = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["admin", "meta", "status", "--json", "--config"])
        .arg(&gateway)
        .env("RUST_LOG", "error")
        .output()
        .expect("run cairn admin meta status");
    assert!(
        admin.status.success(),
        "admin meta status failed: {admin:?}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&admin.stdout).expect("admin status is JSON");
    let new_leader = report["leader"].as_u64().expect("a leader after the kill");
    assert_ne!(
        new_leader, leader as u64,
        "the killed voter cannot still lead"
    );
    assert!(
        errors.is_empty(),
        "PUTs failed across the leader change: {errors:?}"
    );
    assert!(
        acked.len() > 10,
        "too few PUTs went through: {}",
        acked.len()
    );
    rt.block_on(async {
        for (key, body) in &acked {
            let got = client
                .get_object()
                .bucket("failover")
                .key(key)
                .send()
                .await
                .expect("get acknowledged object");
            let bytes = got.body.collect().await.expect("body").into_bytes();
            assert!(bytes.as_ref() == body.as_slice(), "{key} differs");
        }
    });
}

fn body_of(i: usize) -> Vec<u8> {
    (0..3000usize).map(|b| (b * 13 + i * 101) as u8).collect()
}

#[test]
fn minority_refuses_and_restarted_voters_keep_everything() {
    let Running {
        _dir,
        mut cluster,
        s3_port,
        meta_configs,
        ..
    } = start_cluster();
    let rt = common::runtime();
    let client = s3_client(s3_port);
    #[allow(clippy::result_large_err)] // the SDK's error type, as returned
    let put = |key: String, body: Vec<u8>| {
        rt.block_on(
            client
                .put_object()
                .bucket("quorum")
                .key(key)
                .body(aws_sdk_s3::primitives::ByteStream::from(body))
                .send(),
        )
    };
    rt.block_on(client.create_bucket().bucket("quorum").send())
        .expect("create bucket");
    for i in 0..20 {
        put(format!("before-{i}"), body_of(i)).expect("put with all voters");
    }
    let read_all = |prefix: &str, n: usize| {
        for i in 0..n {
            let got = rt
                .block_on(
                    client
                        .get_object()
                        .bucket("quorum")
                        .key(format!("{prefix}-{i}"))
                        .send(),
                )
                .unwrap_or_else(|e| panic!("{prefix}-{i}: {e:?}"));
            let bytes = rt.block_on(got.body.collect()).expect("body").into_bytes();
            assert!(
                bytes.as_ref() == body_of(i).as_slice(),
                "{prefix}-{i} differs"
            );
        }
    };

    // Two of three voters gone: no majority. Writes and reads fail with 503, never succeed.
    cluster.kill("meta-2");
    cluster.kill("meta-3");
    let refused = put(
        "during-minority".into(),
        b"must not be acknowledged".to_vec(),
    );
    let err = refused.expect_err("a write without a majority");
    let status = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(503), "write without majority: {err:?}");
    let stale = rt.block_on(client.get_object().bucket("quorum").key("before-0").send());
    let status = stale
        .expect_err("no read without a majority")
        .raw_response()
        .map(|r| r.status().as_u16());
    assert_eq!(status, Some(503));

    // The majority returns: everything acknowledged is there, writes work again.
    cluster.spawn("meta-2", "meta", &meta_configs[1], false);
    cluster.spawn("meta-3", "meta", &meta_configs[2], false);
    wait_healthy(s3_port);
    read_all("before", 20);
    for i in 0..10 {
        put(format!("after-{i}"), body_of(i)).expect("put after the majority returned");
    }

    // Every voter restarted at once: all data survives.
    for id in 1..=VOTERS {
        cluster.kill(&format!("meta-{id}"));
    }
    for (i, conf) in meta_configs.iter().enumerate() {
        cluster.spawn(&format!("meta-{}", i + 1), "meta", conf, false);
    }
    wait_healthy(s3_port);
    read_all("before", 20);
    read_all("after", 10);
}

fn admin(args: &[&str], config: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("admin")
        .arg("meta")
        .args(args)
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "error")
        .output()
        .expect("run cairn admin")
}

#[test]
fn membership_three_to_five_to_three_under_writes() {
    let Running {
        _dir,
        mut cluster,
        s3_port,
        gateway,
        spare_voters,
        ..
    } = start_cluster_with_spares(2);
    let rt = common::runtime();
    let client = s3_client(s3_port);
    rt.block_on(client.create_bucket().bucket("members").send())
        .expect("create bucket");

    // A steady stream of writes while the membership changes.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let client = client.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("writer runtime");
            let (mut acked, mut errors) = (Vec::new(), Vec::new());
            let mut i = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let key = format!("w-{i}");
                let put = client
                    .put_object()
                    .bucket("members")
                    .key(&key)
                    .body(aws_sdk_s3::primitives::ByteStream::from(body_of(i)));
                match rt.block_on(put.send()) {
                    Ok(_) => acked.push(i),
                    Err(e) => errors.push(format!("{key}: {e:?}")),
                }
                i += 1;
            }
            (acked, errors)
        })
    };

    for (id, conf, addr) in &spare_voters {
        cluster.spawn(&format!("meta-{id}"), "meta", conf, false);
        let out = admin(&["add", "--id", &id.to_string(), "--addr", addr], &gateway);
        assert!(
            out.status.success(),
            "add voter {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let status = admin(&["status", "--json"], &gateway);
    let five: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    let leader_view = five["voters"]
        .as_array()
        .expect("voters")
        .iter()
        .find_map(|v| v["status"]["voters"].as_array().cloned());
    assert_eq!(
        leader_view.map(|v| v.len()),
        Some(5),
        "five voters after two adds: {five}"
    );

    // Back to three, dropping two of the original voters.
    for id in [1u64, 2] {
        let out = admin(&["remove", "--id", &id.to_string()], &gateway);
        assert!(
            out.status.success(),
            "remove voter {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("voters now"),
            "{out:?}"
        );
    }
    cluster.kill("meta-1");
    cluster.kill("meta-2");
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (acked, errors) = writer.join().expect("writer");
    assert!(
        errors.is_empty(),
        "writes failed during membership changes: {errors:?}"
    );
    assert!(acked.len() > 10, "too few writes: {}", acked.len());
    // The remaining group (3, 4, 5) serves every acknowledged write.
    for i in acked {
        let got = rt
            .block_on(
                client
                    .get_object()
                    .bucket("members")
                    .key(format!("w-{i}"))
                    .send(),
            )
            .expect("read back");
        let bytes = rt.block_on(got.body.collect()).expect("body").into_bytes();
        assert!(bytes.as_ref() == body_of(i).as_slice(), "w-{i} differs");
    }
}

#[test]
fn linearizability_checker_rejects_broken_histories() {
    linearizability::self_test();
}

#[test]
fn register_history_across_leader_kill_is_linearizable() {
    use linearizability::{Event, Op};
    /// Clients hammering one key, and operations per client.
    const CLIENTS: u64 = 3;
    const OPS_PER_CLIENT: u64 = 60;
    let Running {
        _dir,
        mut cluster,
        s3_port,
        voter_ports,
        ..
    } = start_cluster();
    let client = s3_client(s3_port);
    let rt = common::runtime();
    rt.block_on(client.create_bucket().bucket("register").send())
        .expect("create bucket");
    let leader = voter_ports
        .iter()
        .enumerate()
        .find(|(_, p)| {
            http_get(&format!("http://127.0.0.1:{p}/v1/meta/status"))
                .is_some_and(|s| s.contains("\"state\":\"Leader\""))
        })
        .map(|(i, _)| i + 1)
        .expect("a leader");
    let epoch = Instant::now();
    let micros = move || epoch.elapsed().as_micros() as u64;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let client = client.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("client runtime");
                let mut history = Vec::new();
                for n in 0..OPS_PER_CLIENT {
                    let invoked = micros();
                    if (n + c) % 2 == 0 {
                        let value = c * 1_000_000 + n;
                        let put = client.put_object().bucket("register").key("r").body(
                            aws_sdk_s3::primitives::ByteStream::from(
                                value.to_string().into_bytes(),
                            ),
                        );
                        let returned = rt.block_on(put.send()).ok().map(|_| micros());
                        history.push(Event {
                            op: Op::Write(value),
                            invoked,
                            returned,
                        });
                    } else {
                        let got = rt.block_on(async {
                            match client.get_object().bucket("register").key("r").send().await {
                                Ok(o) => {
                                    let bytes = o.body.collect().await.ok()?.into_bytes();
                                    Some(Some(String::from_utf8_lossy(&bytes).parse::<u64>().ok()?))
                                }
                                Err(e)
                                    if e.raw_response()
                                        .is_some_and(|r| r.status().as_u16() == 404) =>
                                {
                                    Some(None)
                                }
                                Err(_) => None,
                            }
                        });
                        let returned = got.as_ref().map(|_| micros());
                        history.push(Event {
                            op: Op::Read(got.flatten()),
                            invoked,
                            returned,
                        });
                    }
                }
                history
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    cluster.kill(&format!("meta-{leader}"));
    let history: Vec<Event> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("client thread"))
        .collect();
    let completed = history.iter().filter(|e| e.returned.is_some()).count();
    assert!(
        completed > history.len() / 2,
        "most operations should complete: {completed} of {}",
        history.len()
    );
    assert!(
        linearizability::check(&history, None),
        "history is not linearizable: {history:?}"
    );
}
