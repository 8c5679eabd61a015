//! A multi-process cluster of the real binary — three `cairn meta` voters,
//! one `cairn node` and one `cairn gateway` on loopback — loses its meta
//! leader to SIGKILL in the middle of a stream of PUTs. The S3 client (with
//! its own retries switched off) sees no error, only latency; every PUT that
//! was acknowledged reads back identical afterwards.

use std::net::TcpListener;
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

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
        if let Some((_, child)) = self.children.iter_mut().find(|(n, _)| n == name) {
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

#[test]
fn leader_sigkill_during_puts_costs_latency_not_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s3_port = free_port();
    let voter_ports: Vec<u16> = (0..VOTERS).map(|_| free_port()).collect();
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

    let deadline = Instant::now() + START_TIMEOUT;
    while !http_get(&format!("http://127.0.0.1:{s3_port}/health"))
        .is_some_and(|h| h.starts_with("ok: 1 storage node"))
    {
        assert!(Instant::now() < deadline, "cluster did not become healthy");
        std::thread::sleep(Duration::from_millis(100));
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let creds = aws_sdk_s3::config::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    let config = aws_sdk_s3::config::Builder::new()
        .endpoint_url(format!("http://127.0.0.1:{s3_port}"))
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .force_path_style(true)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .behavior_version_latest()
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
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
