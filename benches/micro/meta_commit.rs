//! Group commit of the meta service: committed metadata writes per second
//! with 1, 16 and 64 concurrent writers, against a group of one voter and a
//! group of three, each voter a real openraft + RocksDB store on disk talking
//! over the internal HTTP transport, exactly as gateways reach it.
//!
//! Every write is what an S3 PUT commits: a `PutObject` manifest (inline
//! data, so only metadata is measured). Voters group concurrent writes into
//! shared log entries (`cairn_meta::write_batcher`) and the log store counts
//! its fsyncs, so the report shows how many client writes share one fsync on
//! each voter — the group-commit factor.
//!
//! Run it (dev profile: the release profile would rebuild RocksDB's C++):
//!   cargo bench -p cairn-benches --bench meta_commit --profile dev
//! `META_BENCH_SECS` sets the seconds per measurement (default 5) and
//! `META_BENCH_DIR` the directory for the databases (default: the system
//! temporary directory; point it at a tmpfs to take the disk out).

use cairn_rpc::tls::PeerRole;
use cairn_rpc::{MetaClient, MetaCommand, WriteCondition};
use cairn_types::config::{Config, VoterAddr};
use cairn_types::{Bucket, HttpHeaders, ObjectData, ObjectManifest, Redundancy, VersionId};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Concurrent writers measured, as the issue asks.
const WRITER_COUNTS: [usize; 3] = [1, 16, 64];
/// Group sizes measured.
const GROUP_SIZES: [usize; 2] = [1, 3];
/// Seconds per measurement unless META_BENCH_SECS says otherwise.
const DEFAULT_SECS: u64 = 5;
/// Bytes of inline object data per manifest.
const INLINE_BYTES: usize = 100;
const CLUSTER_SECRET: &str = "meta-commit-bench-secret";

struct Row {
    voters: usize,
    writers: usize,
    writes: u64,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    appends: u64,
    entries: u64,
}

fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

fn log_counters() -> (u64, u64) {
    let text = cairn::roles::metrics_handle()
        .map(|h| h.render())
        .unwrap_or_default();
    (
        counter(&text, cairn_meta::log_store::METRIC_LOG_APPENDS),
        counter(&text, cairn_meta::log_store::METRIC_LOG_ENTRIES),
    )
}

fn manifest(writer: usize, n: u64) -> ObjectManifest {
    ObjectManifest {
        bucket: "bench".into(),
        key: format!("w{writer}/{n}"),
        version: VersionId::new_random(),
        size: INLINE_BYTES as u64,
        etag: "00000000000000000000000000000000".into(),
        last_modified: 0,
        headers: HttpHeaders::default(),
        data: ObjectData::Inline(vec![7u8; INLINE_BYTES]),
        part_sizes: Vec::new(),
    }
}

async fn start_group(
    voters: usize,
    dir: &std::path::Path,
    stop: CancellationToken,
) -> anyhow::Result<(Vec<cairn_meta::MetaNode>, MetaClient)> {
    let ports: Vec<u16> = (0..voters)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
        })
        .collect::<Result<_, _>>()?;
    let members: Vec<VoterAddr> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| VoterAddr {
            id: i as u64 + 1,
            addr: format!("127.0.0.1:{p}"),
        })
        .collect();
    let mut nodes = Vec::new();
    for v in &members {
        let mut config = Config::default();
        config.cluster.secret = CLUSTER_SECRET.into();
        // Plaintext with the cluster secret: the commit path, not TLS.
        config.tls.internal = false;
        config.meta.id = v.id;
        config.meta.addr = v.addr.parse()?;
        if voters > 1 {
            config.cluster.meta_voters = members.clone();
        }
        let rpc = cairn::roles::rpc_client(&config, PeerRole::Meta)?;
        let role = cairn::roles::start_meta(
            &config,
            &dir.join(format!("meta-{}", v.id)),
            rpc,
            stop.clone(),
        )
        .await?;
        nodes.push(role.node);
    }
    nodes[0].wait_for_leader(Duration::from_secs(30)).await?;
    let mut config = Config::default();
    config.cluster.secret = CLUSTER_SECRET.into();
    config.tls.internal = false;
    let client = MetaClient::new(
        cairn::roles::rpc_client(&config, PeerRole::Gateway)?,
        members.iter().map(|v| v.addr.clone()).collect(),
    );
    client
        .write(&MetaCommand::CreateBucket(Bucket {
            name: "bench".into(),
            created: 0,
            redundancy: Redundancy::Replicas(1),
        }))
        .await?;
    Ok((nodes, client))
}

async fn measure(client: &MetaClient, voters: usize, writers: usize, secs: u64) -> Row {
    let (appends0, entries0) = log_counters();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let cmd = MetaCommand::PutObject {
                        manifest: manifest(w, n),
                        condition: WriteCondition::Always,
                    };
                    let t = Instant::now();
                    if client.write(&cmd).await.is_ok() {
                        latencies.push(t.elapsed());
                    }
                    n += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    let (appends1, entries1) = log_counters();
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Row {
        voters,
        writers,
        writes: latencies.len() as u64,
        elapsed,
        p50: pick(0.50),
        p99: pick(0.99),
        appends: appends1 - appends0,
        entries: entries1 - entries0,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; this harness has no options of its own.
    let secs = std::env::var("META_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SECS);
    let base = std::env::var_os("META_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let _ = cairn::roles::metrics_handle();
    println!("meta group commit: PutObject manifests committed through Raft, {secs} s each");
    println!(
        "{:>6} {:>7} {:>10} {:>9} {:>9} {:>14} {:>13}",
        "voters", "writers", "writes/s", "p50 ms", "p99 ms", "writes/fsync*", "entries/fsync"
    );
    for voters in GROUP_SIZES {
        let dir = tempfile::tempdir_in(&base)?;
        let stop = CancellationToken::new();
        let (nodes, client) = start_group(voters, dir.path(), stop.clone()).await?;
        for writers in WRITER_COUNTS {
            let r = measure(&client, voters, writers, secs).await;
            // Every voter syncs its own log: per voter, writes per fsync.
            let fsyncs_per_voter = r.appends as f64 / r.voters as f64;
            println!(
                "{:>6} {:>7} {:>10.0} {:>9.2} {:>9.2} {:>14.2} {:>13.2}",
                r.voters,
                r.writers,
                r.writes as f64 / r.elapsed.as_secs_f64(),
                r.p50.as_secs_f64() * 1e3,
                r.p99.as_secs_f64() * 1e3,
                r.writes as f64 / fsyncs_per_voter.max(1.0),
                r.entries as f64 / r.appends.max(1) as f64
            );
        }
        stop.cancel();
        for n in nodes {
            n.shutdown().await;
        }
    }
    println!(
        "* client writes per log fsync on each voter (entries carry several writes; elections and membership add entries of their own)"
    );
    Ok(())
}
