//! The distributed data path in one process: six storage nodes in three
//! zones, one bucket with `ec=4+2` and one with `replicas=3`. Objects of many
//! sizes read back identical (whole and by range), every node holds a share
//! of the pieces, and reads survive losing every shard file of two nodes; a
//! replicated bucket also survives bit rot on a third node's files, which is
//! detected and counted. A multipart object in each bucket records its
//! bucket's codec (reads decode by it; multipart objects of erasure-coded
//! buckets once recorded replication and could not be read that way).

use cairn_rpc::meta_reads as reads;
use cairn_testkit::*;
use cairn_types::{CODEC_REPLICATION_V1, CODEC_RS_GF256_V1, ObjectData};

/// Nodes and zones of the test cluster.
const NODES: usize = 6;
const ZONES: usize = 3;
/// Parts of the multipart object of each bucket: a minimal first part (5 MiB,
/// plus a few bytes so its chunks do not end on a part boundary) and a short last.
const PART_SIZES: [usize; 2] = [5 * 1024 * 1024 + 3, 70_000];
/// Seed of the multipart object's parts (each part adds its index).
const PART_SEED: u64 = 100;

/// The multipart object's whole body.
fn multipart_body() -> Vec<u8> {
    PART_SIZES
        .iter()
        .enumerate()
        .flat_map(|(i, len)| pattern(*len, PART_SEED + i as u64))
        .collect()
}

/// Sizes written to each bucket: empty, inline, one chunk, many chunks.
const SIZES: [usize; 6] = [
    0,
    1000,
    20_000,
    1024 * 1024,
    3 * 1024 * 1024 + 17,
    9 * 1024 * 1024 + 5,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_coded_and_replicated_buckets_survive_lost_and_rotten_nodes() {
    let server = Cluster::builder().nodes(NODES).zones(ZONES).start();
    let client = server.client();
    for (bucket, redundancy) in [("ec42", "ec=4+2"), ("rep3", "replicas=3")] {
        create_bucket_with_redundancy(&client, bucket, redundancy).await;
        for (i, size) in SIZES.iter().enumerate() {
            put_bytes(&client, bucket, &format!("o{i}"), &pattern(*size, i as u64)).await;
        }
        let parts: Vec<Vec<u8>> = PART_SIZES
            .iter()
            .enumerate()
            .map(|(i, len)| pattern(*len, PART_SEED + i as u64))
            .collect();
        let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        put_multipart(&client, bucket, "mp", &parts).await;
    }
    // The multipart objects record the codec of their bucket.
    let meta = server.meta_client();
    for (bucket, codec) in [("ec42", CODEC_RS_GF256_V1), ("rep3", CODEC_REPLICATION_V1)] {
        let m = meta
            .read(reads::GetObject {
                bucket: bucket.into(),
                key: "mp".into(),
            })
            .await
            .expect("manifest")
            .expect("stored");
        assert!(
            matches!(m.data, ObjectData::Placed { codec: c, .. } if c == codec),
            "{bucket}/mp records codec {codec}"
        );
    }
    // A bucket asking for more pieces than there are nodes is refused.
    let too_wide = try_create_bucket_with_redundancy(&client, "toowide", "ec=6+2").await;
    assert!(too_wide.is_err(), "ec=6+2 needs 8 nodes");

    let check = |stage: &'static str| {
        let client = client.clone();
        async move {
            for bucket in ["ec42", "rep3"] {
                let mp = get_bytes(&client, bucket, "mp").await;
                assert!(mp == multipart_body(), "{stage}: {bucket}/mp differs");
                for (i, size) in SIZES.iter().enumerate() {
                    let want = pattern(*size, i as u64);
                    let bytes = get_bytes(&client, bucket, &format!("o{i}")).await;
                    assert!(bytes == want, "{stage}: {bucket}/o{i} differs");
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
    let counts: Vec<usize> = (1..=NODES).map(|n| server.shard_files(n).len()).collect();
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
        for f in server.shard_files(n) {
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
    for f in server
        .shard_files(4)
        .into_iter()
        .chain(server.shard_files(5))
    {
        let mut raw = std::fs::read(&f).expect("read shard");
        if let Some(last) = raw.last_mut() {
            *last ^= 0x5A;
            std::fs::write(&f, raw).expect("rot shard");
        }
    }
    for (i, size) in SIZES.iter().enumerate() {
        // A replicated read after rot.
        let bytes = get_bytes(&client, "rep3", &format!("o{i}")).await;
        assert!(
            bytes == pattern(*size, i as u64),
            "rep3/o{i} differs after rot"
        );
    }
    let metrics = server.metrics();
    let rotten = metric_sum(&metrics, "cairn_node_corrupt_shards_total")
        + metric_sum(&metrics, "cairn_gateway_corrupt_chunks_total");
    assert!(rotten > 0.0, "bit rot must be counted: {metrics}");
    server.shutdown().expect("shutdown");
}
