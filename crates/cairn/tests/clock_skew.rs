//! Skewed clocks never stop the cluster, on real processes (one voter, three
//! storage nodes, 64 KiB chunks, a grace of 3 s, a sweep every second).
//!
//! - A storage node whose clock runs an hour ahead (`node.clock_offset_ms`)
//!   used to move the GC horizon an hour into the future, so every PUT was
//!   refused with 503 until real time caught up. Now the meta leader refuses
//!   its proposals: objects written before and after many sweeps read back
//!   identical, no PUT fails, none of its shard files goes, and `cairn admin
//!   node list` and the gateway's metric show its skew.
//! - A horizon set wrongly anyway (here by a meta voter whose clock ran an
//!   hour ahead while it led) refuses every PUT; `cairn admin gc
//!   reset-horizon` puts it back and PUTs succeed again, with every object
//!   intact.

use cairn_testkit::*;

use aws_sdk_s3::Client;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

const HOUR_MS: i64 = 3_600_000;
const NODES: usize = 3;
/// The node whose clock runs ahead.
const FAST_NODE: usize = 2;
const CHUNK: usize = 64 * 1024;
const GRACE_SECS: u64 = 3;
const INTERVAL_SECS: u64 = 1;
/// Enough sweeps of every node to have judged all it would.
const SWEEPS_WAIT: Duration = Duration::from_secs(8);
/// How long the cluster may take to notice a change (heartbeats, a sweep).
const SETTLE: Duration = Duration::from_secs(30);
/// Upper bound of each test.
const TEST_DEADLINE: Duration = Duration::from_secs(240);
const BUCKET: &str = "clocks";

fn start(
    configure: impl Fn(&str, &mut cairn_types::config::Config) + Send + Sync + 'static,
) -> Cluster {
    Cluster::builder()
        .nodes(NODES)
        .processes()
        .gc(GRACE_SECS, INTERVAL_SECS)
        .configure(|c| c.data_path.chunk_size = CHUNK)
        .configure_each(configure)
        .start()
}

/// Writes `keys` (multi-chunk bodies from `seed`); every PUT must succeed.
async fn write_all(s3: &Client, keys: &[String], seed: u64) {
    for (i, k) in keys.iter().enumerate() {
        put_bytes(s3, BUCKET, k, &pattern(3 * CHUNK + 17, seed + i as u64)).await;
    }
}

/// Every key of `keys` reads back as `write_all(.., seed)` wrote it.
async fn read_all(s3: &Client, keys: &[String], seed: u64) {
    for (i, k) in keys.iter().enumerate() {
        let got = get_bytes(s3, BUCKET, k).await;
        assert!(
            got == pattern(3 * CHUNK + 17, seed + i as u64),
            "{k} changed"
        );
    }
}

fn keys(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

fn files(c: &Cluster) -> BTreeSet<PathBuf> {
    (1..=NODES).flat_map(|n| c.shard_files(n)).collect()
}

/// The HTTP status of a PUT of a body of two chunks (200 on success; an
/// inline body has no data version for the horizon to refuse).
async fn put_status(s3: &Client, key: &str) -> Option<u16> {
    match s3
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(pattern(2 * CHUNK, 7).into())
        .send()
        .await
    {
        Ok(_) => Some(200),
        Err(e) => http_status(&e),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_an_hour_ahead_stops_no_write_and_deletes_nothing_live() {
    let c = start(|name, cfg| {
        if name == format!("node-{FAST_NODE}") {
            cfg.node.clock_offset_ms = HOUR_MS;
        }
    });
    within(TEST_DEADLINE, "the test", async {
        let s3 = c.client();
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("bucket");
        let before = keys("before", 6);
        write_all(&s3, &before, 100).await;
        let fast_files: BTreeSet<PathBuf> = c.shard_files(FAST_NODE).into_iter().collect();
        assert!(!fast_files.is_empty(), "the fast node holds shards");
        tokio::time::sleep(SWEEPS_WAIT).await;
        let after = keys("after", 6);
        write_all(&s3, &after, 200).await;
        tokio::time::sleep(SWEEPS_WAIT).await;
        assert_eq!(put_status(&s3, "late").await, Some(200), "a PUT is refused");
        read_all(&s3, &before, 100).await;
        read_all(&s3, &after, 200).await;
        let now: BTreeSet<PathBuf> = c.shard_files(FAST_NODE).into_iter().collect();
        let lost: Vec<_> = fast_files.difference(&now).collect();
        assert!(
            lost.is_empty(),
            "the fast node deleted live shards: {lost:?}"
        );

        // The skew is shown: in the node list and as the gateway's gauge.
        let skew = |c: &Cluster| {
            c.node_list()
                .iter()
                .find(|n| n["record"]["id"].as_u64() == Some(FAST_NODE as u64))
                .and_then(|n| n["clock_offset_ms"].as_i64())
        };
        let shown = skew(&c).expect("the fast node's clock offset");
        assert!(
            (HOUR_MS - 5_000..HOUR_MS + 5_000).contains(&shown),
            "{shown}"
        );
        let table = c.admin_ok(&["node", "list"]);
        assert!(
            table.contains(" +3600."),
            "no skew in the node list: {table}"
        );
        let gauge = c.metric("cairn_gateway_node_clock_offset_ms");
        assert!(gauge > (HOUR_MS - 15_000) as f64, "gauge {gauge}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_resets_a_horizon_set_wrongly() {
    // Every process runs an hour ahead: the voter grants such a horizon.
    let mut c = start(|_, cfg| {
        cfg.node.clock_offset_ms = HOUR_MS;
        cfg.meta.clock_offset_ms = HOUR_MS;
    });
    within(TEST_DEADLINE, "the test", async {
        let s3 = c.client();
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("bucket");
        // The nodes' sweeps propose a horizon once they hold a shard their
        // clock calls old. Versions come from the gateway's clock (not
        // shifted): refused once the horizon is an hour ahead.
        let first = keys("first", 2);
        write_all(&s3, &first, 400).await;
        let refused = tokio::time::timeout(SETTLE, async {
            while put_status(&s3, "probe").await != Some(503) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await;
        assert!(refused.is_ok(), "no sweep moved the horizon an hour ahead");
        // The clocks are fixed; the horizon stays where it was.
        for name in ["meta-1", "node-1", "node-2", "node-3"] {
            c.reconfigure(name, |cfg| {
                cfg.meta.clock_offset_ms = 0;
                cfg.node.clock_offset_ms = 0;
            });
            c.restart(name);
        }
        c.wait_healthy();
        assert_eq!(
            put_status(&s3, "still").await,
            Some(503),
            "the horizon moved back by itself"
        );
        let out = c.admin_ok(&["gc", "reset-horizon"]);
        assert!(out.contains("garbage collection resumed"), "{out}");
        let kept = keys("kept", 4);
        let earlier = files(&c);
        write_all(&s3, &kept, 300).await;
        // The shards of the objects just written (those of the refused PUTs
        // are garbage and may go).
        let written: BTreeSet<PathBuf> = files(&c).difference(&earlier).cloned().collect();
        tokio::time::sleep(SWEEPS_WAIT).await;
        read_all(&s3, &kept, 300).await;
        read_all(&s3, &first, 400).await;
        let remaining = files(&c);
        let lost: Vec<_> = written.difference(&remaining).collect();
        assert!(
            lost.is_empty(),
            "live shards deleted after the reset: {lost:?}"
        );
        assert_eq!(put_status(&s3, "late").await, Some(200));
    })
    .await;
}
