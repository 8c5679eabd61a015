//! Big metadata never stops the cluster, on real processes: every message of
//! the internal transport stays within what its route takes.
//!
//! - A follower stopped while 2,000 inline objects are written catches up
//!   from the log once it returns (appends are capped by bytes, not only by
//!   entry count).
//! - A voter added with `cairn admin meta add` to a group holding over
//!   64 MiB of metadata catches up by installing the snapshot (sent in
//!   chunks the route takes, with time to install it).
//! - Eight concurrent PUTs with the largest user metadata S3 allows commit,
//!   and so do (or are refused with 400) eight with metadata as large as the
//!   gateway's HTTP parser lets through; the next write succeeds (entries
//!   are sized by the real encoded size of their commands).
//! - A storage node whose shard directory holds more old versions than one
//!   query to meta may carry still sweeps them (questions are split).
//!
//! The random seed is printed; set `CAIRN_TEST_SEED` to replay a run.

use cairn_testkit::*;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;
use futures::StreamExt;
use std::time::Duration;

/// Voters of the Raft tests.
const VOTERS: u64 = 3;
/// How long a returning or added voter may take to catch up.
const CATCH_UP_BOUND: Duration = Duration::from_secs(60);
/// Bound of each S3 call.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Concurrent PUTs while filling a group.
const PARALLEL: usize = 16;

/// PUTs `count` objects `prefix{i}` of `body(i)` with `PARALLEL` at a time.
async fn put_many(
    client: &Client,
    bucket: &str,
    prefix: &str,
    count: usize,
    body: fn(usize) -> Vec<u8>,
) {
    futures::stream::iter(0..count)
        .map(|i| {
            let client = client.clone();
            let (bucket, key) = (bucket.to_string(), format!("{prefix}{i}"));
            async move {
                within(
                    CALL_TIMEOUT,
                    "a PUT",
                    put_bytes(&client, &bucket, &key, &body(i)),
                )
                .await;
            }
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<()>>()
        .await;
}

/// The voter other than `leader` with the lowest id.
fn a_follower(cluster: &Cluster, leader: u64) -> u64 {
    cluster
        .voter_ids()
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower")
}

fn applied(cluster: &Cluster, id: u64) -> u64 {
    cluster
        .voter_status(id)
        .and_then(|s| s["applied_index"].as_u64())
        .unwrap_or(0)
}

/// Object `i` of the catch-up test: 15 KiB, under the 16 KiB inline threshold.
fn inline_body(i: usize) -> Vec<u8> {
    pattern(15 * 1024, i as u64)
}

#[test]
fn a_follower_catches_up_after_thousands_of_inline_objects() {
    const OBJECTS: usize = 2000;
    /// Objects read back through the group the returned follower is needed in.
    const SAMPLES: usize = 20;
    let mut rng = Rng::from_env();
    let mut cluster = Cluster::builder()
        .voters(VOTERS as usize)
        .processes()
        .start();
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_bucket().bucket("catch").send())
        .expect("create bucket");
    let leader = cluster.find_leader().expect("a leader");
    let follower = a_follower(&cluster, leader);
    cluster.kill(&format!("meta-{follower}"));

    rt.block_on(put_many(&client, "catch", "k", OBJECTS, inline_body));
    cluster.start(&format!("meta-{follower}"));
    wait_until(CATCH_UP_BOUND, "the returned follower catches up", || {
        applied(&cluster, follower) >= cluster.leader_applied()
    });

    // Without the other follower, every write and read needs the one that
    // returned: the group still serves every object.
    let other = cluster
        .voter_ids()
        .into_iter()
        .find(|id| *id != leader && *id != follower)
        .expect("another follower");
    cluster.kill(&format!("meta-{other}"));
    rt.block_on(put_bytes(
        &client,
        "catch",
        "after",
        b"written with the returned follower",
    ));
    for _ in 0..SAMPLES {
        let i = rng.below(OBJECTS as u64) as usize;
        let got = rt.block_on(get_bytes(&client, "catch", &format!("k{i}")));
        assert!(got == inline_body(i), "object k{i} differs");
    }
}

/// Objects of the snapshot test: just under the raised inline threshold,
/// so each is one log entry of about 1 MB.
const BIG_INLINE: usize = 1_000_000;

fn big_inline_body(i: usize) -> Vec<u8> {
    pattern(BIG_INLINE, i as u64)
}

#[test]
fn a_voter_joins_a_group_holding_over_64_mib_of_metadata() {
    /// 75 MB of inline object data: over 64 MiB in the state machine.
    const OBJECTS: usize = 75;
    /// Snapshots this often; no log is kept behind one, so the new voter
    /// can only start from the snapshot.
    const SNAPSHOT_EVERY_ENTRIES: u64 = 30;
    let mut cluster = Cluster::builder()
        .voters(VOTERS as usize)
        .spare_voters(1)
        .processes()
        .configure(|c| c.data_path.inline_threshold = BIG_INLINE)
        .configure_role(Role::Meta, |c| {
            c.meta.snapshot_every_entries = SNAPSHOT_EVERY_ENTRIES;
            c.meta.log_entries_kept_after_snapshot = 0;
        })
        .start();
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_bucket().bucket("big").send())
        .expect("create bucket");
    rt.block_on(put_many(&client, "big", "k", OBJECTS, big_inline_body));

    // Small writes until a snapshot covers every big object.
    let leader = cluster.find_leader().expect("a leader");
    let filled = applied(&cluster, leader);
    let snapshot_index = || {
        cluster
            .voter_status(leader)
            .and_then(|s| s["snapshot_index"].as_u64())
            .unwrap_or(0)
    };
    let mut small = 0;
    wait_until(CATCH_UP_BOUND, "a snapshot covers the metadata", || {
        if snapshot_index() >= filled {
            return true;
        }
        rt.block_on(put_bytes(&client, "big", &format!("small{small}"), b"s"));
        small += 1;
        false
    });

    let new_id = VOTERS + 1;
    cluster.start(&format!("meta-{new_id}"));
    let new_addr = cluster.voter_addr(new_id).to_string();
    let (added, text) = cluster.admin_text(&[
        "meta",
        "add",
        "--id",
        &new_id.to_string(),
        "--addr",
        &new_addr,
    ]);
    assert!(added, "cairn admin meta add: {text}");
    wait_until(CATCH_UP_BOUND, "the new voter catches up", || {
        cluster.voter_status(new_id).is_some_and(|s| {
            s["snapshot_index"].as_u64().is_some_and(|i| i >= filled)
                && s["applied_index"].as_u64().unwrap_or(0) >= cluster.leader_applied()
        })
    });
    // Four voters: with one original follower gone, a write needs the new one.
    cluster.kill(&format!("meta-{}", a_follower(&cluster, leader)));
    rt.block_on(put_bytes(
        &client,
        "big",
        "after",
        b"committed with the new voter",
    ));
    let i = OBJECTS - 1;
    assert!(rt.block_on(get_bytes(&client, "big", &format!("k{i}"))) == big_inline_body(i));
}

/// User metadata of about `bytes` bytes, in `headers` headers.
fn metadata(bytes: usize, headers: usize) -> Vec<(String, String)> {
    (0..headers)
        .map(|h| (format!("m{h}"), "v".repeat(bytes / headers - 2)))
        .collect()
}

/// PUTs `count` objects at once, each with `meta` as user metadata; answers
/// each PUT's outcome (None: committed; Some: the S3 error code and status).
async fn concurrent_puts(
    client: &Client,
    round: usize,
    count: usize,
    meta: &[(String, String)],
) -> Vec<Option<(String, Option<u16>)>> {
    let puts = (0..count).map(|i| {
        let mut put = client
            .put_object()
            .bucket("meta")
            .key(format!("r{round}-{i}"))
            .body(ByteStream::from(pattern(1024, i as u64)));
        for (k, v) in meta {
            put = put.metadata(k, v);
        }
        async move {
            match within(CALL_TIMEOUT, "a PUT", put.send()).await {
                Ok(_) => None,
                Err(e) => {
                    let code = e.code().unwrap_or_default().to_string();
                    let status = http_status(&e);
                    eprintln!("PUT refused: {}", DisplayErrorContext(&e));
                    Some((code, status))
                }
            }
        }
    });
    futures::future::join_all(puts).await
}

#[test]
fn concurrent_puts_with_the_largest_metadata_commit() {
    /// S3's limit on the user metadata of one object.
    const S3_METADATA_BYTES: usize = 2 * 1024;
    /// About as much as the gateway's HTTP parser takes in headers (hyper
    /// buffers about 400 KB of them): eight such PUTs make an entry of
    /// several MB, which followers used to refuse.
    const LARGE_METADATA_BYTES: usize = 350_000;
    const CONCURRENT: usize = 8;
    /// PUTs at once with the large metadata: enough that several arrive
    /// while an entry commits and share the next one (the issue measured 16).
    const CONCURRENT_LARGE: usize = 16;
    const ROUNDS: usize = 3;
    let cluster = Cluster::builder()
        .voters(VOTERS as usize)
        .processes()
        .start();
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_bucket().bucket("meta").send())
        .expect("create bucket");

    let s3_max = metadata(S3_METADATA_BYTES, 1);
    for round in 0..ROUNDS {
        let outcomes = rt.block_on(concurrent_puts(&client, round, CONCURRENT, &s3_max));
        assert!(
            outcomes.iter().all(Option::is_none),
            "PUTs with S3's largest metadata failed: {outcomes:?}"
        );
    }
    let large = metadata(LARGE_METADATA_BYTES, 10);
    for round in ROUNDS..2 * ROUNDS {
        let outcomes = rt.block_on(concurrent_puts(&client, round, CONCURRENT_LARGE, &large));
        for outcome in &outcomes {
            // The gateway may refuse metadata over S3's limit; anything
            // else (a 503 from a stuck group, a timeout) is a failure.
            if let Some((code, status)) = outcome {
                assert!(
                    code == "MetadataTooLarge" && *status == Some(400),
                    "a PUT with large metadata failed: {outcomes:?}"
                );
            }
        }
    }
    rt.block_on(put_bytes(
        &client,
        "meta",
        "after",
        b"the group still commits",
    ));
    assert_eq!(
        rt.block_on(get_bytes(&client, "meta", "after")),
        b"the group still commits"
    );
}

/// A UUIDv7-shaped version id created `age` ago, random otherwise.
fn old_version(rng: &mut Rng, age: Duration) -> String {
    let created = cairn_types::now_millis().max(0) as u64 - age.as_millis() as u64;
    let mut bytes = [0u8; 16];
    for b in bytes.iter_mut() {
        *b = rng.below(256) as u8;
    }
    bytes[..6].copy_from_slice(&created.to_be_bytes()[2..]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_node_with_a_crowded_shard_directory_still_sweeps() {
    /// More old versions in one fan-out directory than fit in a 2 MiB query
    /// (17 bytes each): what a node with ~30 million shards holds per directory.
    const STALE: usize = 140_000;
    const GRACE_SECS: u64 = 2;
    const INTERVAL_SECS: u64 = 1;
    /// Two sweeps (the versions must stay unreferenced for the grace) and
    /// the deletions.
    const SWEEP_BOUND: Duration = Duration::from_secs(120);
    let mut rng = Rng::from_env();
    let cluster = Cluster::builder()
        .processes()
        .gc(GRACE_SECS, INTERVAL_SECS)
        .start();
    // Filled aside, then moved into place at once: a sweep must see the
    // whole directory, not the part written so far.
    let staging = cluster.shard_dir(1).join("staging");
    let fan = cluster.shard_dir(1).join("00");
    std::fs::create_dir_all(&staging).expect("staging directory");
    for _ in 0..STALE {
        let name = format!("{}-0-0-0", old_version(&mut rng, Duration::from_secs(3600)));
        std::fs::write(staging.join(name), b"").expect("stale shard file");
    }
    // The node made its 256 fan-out directories, empty, when it opened its
    // store; renaming a directory onto an empty one replaces it.
    let in_fan = std::fs::read_dir(&fan).map(|d| d.count()).unwrap_or(0);
    assert_eq!(in_fan, 0, "a fresh node has no shard in fan directory 00");
    std::fs::rename(&staging, &fan).expect("fan directory moved into place");
    let left = || std::fs::read_dir(&fan).map(|d| d.count()).unwrap_or(0);
    wait_until(
        SWEEP_BOUND,
        "the collector deletes every stale shard",
        || left() == 0,
    );
}
