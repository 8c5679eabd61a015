//! Network partitions and catch-up of the meta group, on real processes.
//!
//! A voter is cut off from the other voters by fault injection (`cairn admin
//! meta isolate`: its Raft traffic stops in both directions, clients still
//! reach it). The cut-off leader must serve neither writes nor reads, the
//! majority elects a new leader and keeps serving S3, and when the cut heals
//! the old leader rejoins as a follower, its unreplicated entry discarded.
//! A voter that was down while the log was purged behind snapshots, and a
//! voter added afterwards, catch up by installing a snapshot — and a group
//! made only of such voters serves every object.

mod common;
use common::procs::*;

use cairn_rpc::{META_READ_PATH, META_WRITE_PATH, MetaCommand, MetaError, MetaQuery};
use cairn_types::{Bucket, Redundancy};
use std::time::{Duration, Instant};

/// Keys for the voters of the partition test: a short quorum wait so a
/// cut-off voter answers quickly, and fault injection switched on.
const PARTITION_META: &str = "quorum_wait_ms = 2500\nfault_injection = true\n";
/// How long the cut-off voter may take to refuse (quorum wait plus slack).
const REFUSAL_BOUND: Duration = Duration::from_secs(6);
/// How long the majority may take to elect a new leader.
const ELECTION_BOUND: Duration = Duration::from_secs(10);
/// How long a rejoining or restarted voter may take to catch up.
const CATCH_UP_BOUND: Duration = Duration::from_secs(20);

fn body_of(i: usize) -> Vec<u8> {
    (0..2500usize).map(|b| (b * 7 + i * 131) as u8).collect()
}

fn read_back(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_s3::Client,
    bucket: &str,
    keys: &[usize],
) {
    for i in keys {
        let got = rt
            .block_on(
                client
                    .get_object()
                    .bucket(bucket)
                    .key(format!("w-{i}"))
                    .send(),
            )
            .unwrap_or_else(|e| panic!("w-{i}: {e:?}"));
        let bytes = rt.block_on(got.body.collect()).expect("body").into_bytes();
        assert!(bytes.as_ref() == body_of(*i).as_slice(), "w-{i} differs");
    }
}

/// A write and a read sent straight to one voter: neither may succeed while it is cut off.
fn assert_voter_refuses(rt: &tokio::runtime::Runtime, port: u16, bucket: &str) {
    let rpc = internal_client();
    let addr = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let write = rt.block_on(rpc.call::<_, Result<cairn_rpc::MetaResponse, MetaError>>(
        &addr,
        META_WRITE_PATH,
        &MetaCommand::CreateBucket(Bucket {
            name: "written-while-cut-off".into(),
            created: 1,
            redundancy: Redundancy::Replicas(1),
        }),
    ));
    match write {
        Ok(Err(MetaError::Unavailable(_) | MetaError::NotLeader { .. })) => {}
        other => panic!("a cut-off voter must refuse writes, got {other:?}"),
    }
    let read = rt.block_on(rpc.call::<_, Result<cairn_rpc::QueryResult, MetaError>>(
        &addr,
        META_READ_PATH,
        &MetaQuery::GetBucket {
            name: bucket.into(),
        },
    ));
    match read {
        Ok(Err(MetaError::Unavailable(_) | MetaError::NotLeader { .. })) => {}
        other => panic!("a cut-off voter must refuse reads, got {other:?}"),
    }
    assert!(
        started.elapsed() < 2 * REFUSAL_BOUND,
        "refusals took {:?}",
        started.elapsed()
    );
}

#[test]
fn cut_off_voters_serve_nothing_and_rejoin_cleanly() {
    let Running {
        _dir,
        cluster: _cluster,
        s3_port,
        voter_ports,
        gateway,
        ..
    } = start_cluster_with(0, PARTITION_META);
    let rt = common::runtime();
    let client = s3_client(s3_port);
    rt.block_on(client.create_bucket().bucket("cut").send())
        .expect("create bucket");
    let port_of = |id: u64| voter_ports[id as usize - 1];

    // 1. Cut the leader off while PUTs flow through the gateway.
    let old_leader = find_leader(&voter_ports).expect("a leader");
    let old_term = voter_status(port_of(old_leader)).expect("status")["term"]
        .as_u64()
        .expect("term");
    let writer = Writer::start(client.clone(), "cut", body_of);
    std::thread::sleep(Duration::from_millis(500));
    let out = admin(&["isolate", "--id", &old_leader.to_string()], &gateway);
    assert!(out.status.success(), "isolate: {out:?}");
    assert_voter_refuses(&rt, port_of(old_leader), "cut");
    let mut new_leader = 0;
    wait_until(ELECTION_BOUND, "the majority elects a new leader", || {
        new_leader = (1..=VOTERS)
            .filter(|id| *id != old_leader)
            .find(|id| {
                voter_status(port_of(*id)).is_some_and(|s| {
                    s["state"] == "Leader" && s["term"].as_u64().unwrap_or(0) > old_term
                })
            })
            .unwrap_or(0);
        new_leader != 0
    });
    // The cut-off voter still refuses once the others have moved on.
    assert_voter_refuses(&rt, port_of(old_leader), "cut");
    std::thread::sleep(Duration::from_secs(2));

    // 2. Heal: the old leader follows the new one and catches up.
    let out = admin(&["heal", "--id", &old_leader.to_string()], &gateway);
    assert!(out.status.success(), "heal: {out:?}");
    std::thread::sleep(Duration::from_secs(1));
    let (acked, errors) = writer.finish();
    assert!(
        acked.len() > 10,
        "too few PUTs went through: {}",
        acked.len()
    );
    // A cut-off leader costs S3 clients latency (the gateway waits out the
    // quorum wait, then finds the new leader), not errors.
    assert!(
        errors.is_empty(),
        "PUTs failed across the partition: {errors:?}"
    );
    wait_until(
        CATCH_UP_BOUND,
        "the healed voter follows and catches up",
        || {
            let target = leader_applied(&voter_ports);
            voter_status(port_of(old_leader)).is_some_and(|s| {
                s["state"] == "Follower"
                    && s["leader"].as_u64().is_some()
                    && s["leader"].as_u64() != Some(old_leader)
                    && s["applied_index"].as_u64().unwrap_or(0) >= target
            })
        },
    );
    // The write the cut-off leader was sent was never acknowledged, and the
    // new leader's log replaced it.
    let head = rt.block_on(client.head_bucket().bucket("written-while-cut-off").send());
    assert_eq!(
        head.expect_err("never committed")
            .raw_response()
            .map(|r| r.status().as_u16()),
        Some(404)
    );
    read_back(&rt, &client, "cut", &acked);

    // 3. Cut a follower off: it refuses too, and the majority keeps serving.
    let leader = find_leader(&voter_ports).expect("a leader after healing");
    let follower = (1..=VOTERS).find(|id| *id != leader).expect("a follower");
    let writer = Writer::start(client.clone(), "cut", body_of);
    let out = admin(&["isolate", "--id", &follower.to_string()], &gateway);
    assert!(out.status.success(), "isolate follower: {out:?}");
    assert_voter_refuses(&rt, port_of(follower), "cut");
    std::thread::sleep(Duration::from_secs(3));
    let out = admin(&["heal", "--id", &follower.to_string()], &gateway);
    assert!(out.status.success(), "heal follower: {out:?}");
    wait_until(CATCH_UP_BOUND, "the healed follower catches up", || {
        let target = leader_applied(&voter_ports);
        voter_status(port_of(follower)).is_some_and(|s| {
            s["state"] == "Follower" && s["applied_index"].as_u64().unwrap_or(0) >= target
        })
    });
    let (acked, errors) = writer.finish();
    assert!(
        errors.is_empty(),
        "PUTs failed while a follower was cut off: {errors:?}"
    );
    read_back(&rt, &client, "cut", &acked);
}

#[test]
fn lagging_and_new_voters_catch_up_by_installing_snapshots() {
    /// Snapshot often and keep no log behind a snapshot, so a voter that
    /// missed entries can only catch up from a snapshot.
    const SNAPSHOT_META: &str =
        "snapshot_every_entries = 20\nlog_entries_kept_after_snapshot = 0\n";
    const OBJECTS: usize = 80;
    let Running {
        _dir,
        mut cluster,
        s3_port,
        voter_ports,
        gateway,
        meta_configs,
        spare_voters,
    } = start_cluster_with(1, SNAPSHOT_META);
    let rt = common::runtime();
    let client = s3_client(s3_port);
    rt.block_on(client.create_bucket().bucket("snap").send())
        .expect("create bucket");
    let port_of = |id: u64| voter_ports[id as usize - 1];
    let leader = find_leader(&voter_ports).expect("a leader");
    let lagging = (1..=VOTERS).find(|id| *id != leader).expect("a follower");
    let stopped_at = voter_status(port_of(lagging)).expect("status")["last_log_index"]
        .as_u64()
        .expect("log index");
    cluster.kill(&format!("meta-{lagging}"));

    for i in 0..OBJECTS {
        rt.block_on(
            client
                .put_object()
                .bucket("snap")
                .key(format!("w-{i}"))
                .body(aws_sdk_s3::primitives::ByteStream::from(body_of(i)))
                .send(),
        )
        .unwrap_or_else(|e| panic!("put w-{i}: {e:?}"));
    }
    // The entries the stopped voter lacks leave the leader's log once a
    // snapshot covers them (snapshots and purges run in the background).
    let purged_index = || voter_status(port_of(leader)).and_then(|s| s["purged_index"].as_u64());
    wait_until(
        CATCH_UP_BOUND,
        "the leader purges the entries the stopped voter lacks",
        || purged_index().is_some_and(|p| p > stopped_at),
    );
    let purged = purged_index().expect("purged index");

    // The lagging voter returns and installs a snapshot.
    cluster.spawn(
        &format!("meta-{lagging}"),
        "meta",
        &meta_configs[lagging as usize - 1],
        false,
    );
    wait_until(CATCH_UP_BOUND, "the lagging voter catches up", || {
        let target = leader_applied(&voter_ports);
        voter_status(port_of(lagging)).is_some_and(|s| {
            s["applied_index"].as_u64().unwrap_or(0) >= target
                && s["snapshot_index"].as_u64().is_some_and(|i| i > stopped_at)
        })
    });

    // A new voter joins after the purge: it too starts from a snapshot.
    let (new_id, new_conf, new_addr) = spare_voters[0].clone();
    cluster.spawn(&format!("meta-{new_id}"), "meta", &new_conf, false);
    let out = admin(
        &["add", "--id", &new_id.to_string(), "--addr", &new_addr],
        &gateway,
    );
    assert!(out.status.success(), "add voter: {out:?}");
    let new_port: u16 = new_addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    wait_until(CATCH_UP_BOUND, "the new voter catches up", || {
        voter_status(new_port).is_some_and(|s| {
            s["applied_index"].as_u64().unwrap_or(0) >= purged
                && s["snapshot_index"].as_u64().is_some()
        })
    });

    // Leave a group of only the two voters that caught up from snapshots;
    // it must serve every object.
    for id in (1..=VOTERS).filter(|id| *id != lagging) {
        let out = admin(&["remove", "--id", &id.to_string()], &gateway);
        assert!(out.status.success(), "remove voter {id}: {out:?}");
    }
    for id in (1..=VOTERS).filter(|id| *id != lagging) {
        cluster.kill(&format!("meta-{id}"));
    }
    let keys: Vec<usize> = (0..OBJECTS).collect();
    read_back(&rt, &client, "snap", &keys);
    rt.block_on(
        client
            .put_object()
            .bucket("snap")
            .key("after")
            .body(aws_sdk_s3::primitives::ByteStream::from_static(
                b"still writable",
            ))
            .send(),
    )
    .expect("the snapshot-installed group takes writes");
}
