//! The distributed data path in one process: six storage nodes in three
//! zones, one bucket with `ec=4+2` and one with `replicas=3`. Objects of many
//! sizes read back identical (whole and by range), every node holds a share
//! of the pieces, and reads survive losing every shard file of two nodes; a
//! replicated bucket also survives bit rot on a third node's files, which is
//! detected and counted.

mod common;
use common::pattern;

use std::path::{Path, PathBuf};

/// Nodes and zones of the test cluster.
const NODES: usize = 6;
const ZONES: usize = 3;
/// Sizes written to each bucket: empty, inline, one chunk, many chunks.
const SIZES: [usize; 6] = [
    0,
    1000,
    20_000,
    1024 * 1024,
    3 * 1024 * 1024 + 17,
    9 * 1024 * 1024 + 5,
];

/// Every shard file under a node directory.
fn shard_files(node_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(fans) = std::fs::read_dir(node_dir) else {
        return out;
    };
    for fan in fans.flatten() {
        if fan.file_name() == ".tmp" || !fan.path().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(fan.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(f.path());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_coded_and_replicated_buckets_survive_lost_and_rotten_nodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = cairn::ServerOptions::new(dir.path(), "127.0.0.1:0".parse().expect("addr"));
    opts.nodes = NODES;
    opts.zones = ZONES;
    opts.access_key = Some("CKERASURETEST0000001".into());
    opts.secret_key = Some("erasure-test-secret-0000000000000000000".into());
    let server = cairn::server::start(opts).await.expect("start");
    let creds = aws_sdk_s3::config::Credentials::new(
        &server.access_key,
        &server.secret_key,
        None,
        None,
        "test",
    );
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::new()
            .endpoint_url(server.endpoint())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(creds)
            .force_path_style(true)
            .behavior_version_latest()
            .build(),
    );
    for (bucket, redundancy) in [("ec42", "ec=4+2"), ("rep3", "replicas=3")] {
        client
            .create_bucket()
            .bucket(bucket)
            .customize()
            .mutate_request(move |r| {
                r.headers_mut().insert("x-cairn-redundancy", redundancy);
            })
            .send()
            .await
            .expect("create bucket");
        for (i, size) in SIZES.iter().enumerate() {
            let body = aws_sdk_s3::primitives::ByteStream::from(pattern(*size, i as u64));
            client
                .put_object()
                .bucket(bucket)
                .key(format!("o{i}"))
                .body(body)
                .send()
                .await
                .expect("put");
        }
    }
    // A bucket asking for more pieces than there are nodes is refused.
    let too_wide = client
        .create_bucket()
        .bucket("toowide")
        .customize()
        .mutate_request(|r| {
            r.headers_mut().insert("x-cairn-redundancy", "ec=6+2");
        })
        .send()
        .await;
    assert!(too_wide.is_err(), "ec=6+2 needs 8 nodes");

    let check = |stage: &'static str| {
        let client = client.clone();
        async move {
            for bucket in ["ec42", "rep3"] {
                for (i, size) in SIZES.iter().enumerate() {
                    let want = pattern(*size, i as u64);
                    let got = client
                        .get_object()
                        .bucket(bucket)
                        .key(format!("o{i}"))
                        .send()
                        .await;
                    let got = got.unwrap_or_else(|e| panic!("{stage}: {bucket}/o{i}: {e:?}"));
                    let bytes = got.body.collect().await.expect("body").into_bytes();
                    assert!(
                        bytes.as_ref() == want.as_slice(),
                        "{stage}: {bucket}/o{i} differs"
                    );
                    if *size > 2 * 1024 * 1024 {
                        let (a, b) = (1024 * 1024 - 10, 2 * 1024 * 1024 + 10);
                        let r = client
                            .get_object()
                            .bucket(bucket)
                            .key(format!("o{i}"))
                            .range(format!("bytes={a}-{b}"))
                            .send()
                            .await;
                        let r =
                            r.unwrap_or_else(|e| panic!("{stage}: range of {bucket}/o{i}: {e:?}"));
                        let part = r.body.collect().await.expect("body").into_bytes();
                        assert!(
                            part.as_ref() == &want[a..=b],
                            "{stage}: range of {bucket}/o{i} differs"
                        );
                    }
                }
            }
        }
    };
    check("intact").await;

    // Every node holds a share of the shards.
    let node_dir = |n: usize| dir.path().join(format!("node-{n}"));
    let counts: Vec<usize> = (1..=NODES)
        .map(|n| shard_files(&node_dir(n)).len())
        .collect();
    let total: usize = counts.iter().sum();
    for (n, c) in counts.iter().enumerate() {
        assert!(
            *c * NODES * 2 >= total,
            "node {} holds only {c} of {total} shards",
            n + 1
        );
    }

    // Two nodes lose every shard file (they are in different zones).
    for n in [1, 2] {
        for f in shard_files(&node_dir(n)) {
            std::fs::remove_file(f).expect("remove shard");
        }
    }
    check("two nodes lost").await;

    // Then the files of nodes 4 and 5 rot, one byte flipped in each. Zones
    // are zone-1 = {1, 4}, zone-2 = {2, 5}, zone-3 = {3, 6} and a replicated
    // chunk has one copy per zone, so every chunk still has its good copy in
    // zone 3 and two copies lost or rotten; ec=4+2 chunks miss too many
    // pieces and are not expected to read. The rot must be detected and
    // counted: a chunk whose zone-3 copy is not first in its read order reads
    // a rotten copy first (rotting only one node left that to chance).
    for f in shard_files(&node_dir(4))
        .into_iter()
        .chain(shard_files(&node_dir(5)))
    {
        let mut raw = std::fs::read(&f).expect("read shard");
        if let Some(last) = raw.last_mut() {
            *last ^= 0x5A;
            std::fs::write(&f, raw).expect("rot shard");
        }
    }
    for (i, size) in SIZES.iter().enumerate() {
        let got = client
            .get_object()
            .bucket("rep3")
            .key(format!("o{i}"))
            .send()
            .await
            .expect("replicated read after rot");
        let bytes = got.body.collect().await.expect("body").into_bytes();
        assert!(
            bytes.as_ref() == pattern(*size, i as u64).as_slice(),
            "rep3/o{i} differs after rot"
        );
    }
    let metrics = reqwest::get(format!("{}/metrics", server.endpoint()))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let rotten: f64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("cairn_node_corrupt_shards_total")
                || l.starts_with("cairn_gateway_corrupt_chunks_total")
        })
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .sum();
    assert!(rotten > 0.0, "bit rot must be counted: {metrics}");
    server.shutdown().await.expect("shutdown");
}
