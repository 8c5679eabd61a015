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

use cairn_testkit::*;

use cairn_rpc::{META_READ_PATH, META_WRITE_PATH, MetaCommand, MetaError, MetaQuery};
use cairn_types::{Bucket, Redundancy};
use std::time::{Duration, Instant};

/// Voters of every cluster here.
const VOTERS: u64 = 3;
/// The voters' quorum wait in the partition test: short, so a cut-off voter
/// answers quickly.
const PARTITION_QUORUM_WAIT_MS: u64 = 2500;
/// How long the cut-off voter may take to refuse (quorum wait plus slack).
const REFUSAL_BOUND: Duration = Duration::from_secs(6);
/// How long the majority may take to elect a new leader.
const ELECTION_BOUND: Duration = Duration::from_secs(10);
/// How long a rejoining or restarted voter may take to catch up.
const CATCH_UP_BOUND: Duration = Duration::from_secs(20);

fn body_of(i: usize) -> Vec<u8> {
    (0..2500usize).map(|b| (b * 7 + i * 131) as u8).collect()
}

/// A write and a read sent straight to voter `id`: neither may succeed while it is cut off.
fn assert_voter_refuses(rt: &tokio::runtime::Runtime, cluster: &Cluster, id: u64, bucket: &str) {
    let rpc = cluster.rpc();
    let addr = cluster.voter_addr(id);
    let started = Instant::now();
    let write = rt.block_on(rpc.call::<_, Result<cairn_rpc::MetaResponse, MetaError>>(
        addr,
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
        addr,
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
    let cluster = Cluster::builder()
        .voters(VOTERS as usize)
        .processes()
        .quorum_wait_ms(PARTITION_QUORUM_WAIT_MS)
        .fault_injection()
        .start();
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_bucket().bucket("cut").send())
        .expect("create bucket");
    let isolate = |verb: &str, id: u64| {
        let out = cluster.admin(&["meta", verb, "--id", &id.to_string()]);
        assert!(out.status.success(), "{verb} {id}: {out:?}");
    };

    // 1. Cut the leader off while PUTs flow through the gateway.
    let old_leader = cluster.find_leader().expect("a leader");
    let old_term = cluster.voter_status(old_leader).expect("status")["term"]
        .as_u64()
        .expect("term");
    let writer = Writer::start(client.clone(), "cut", body_of);
    std::thread::sleep(Duration::from_millis(500));
    isolate("isolate", old_leader);
    assert_voter_refuses(&rt, &cluster, old_leader, "cut");
    let mut new_leader = 0;
    wait_until(ELECTION_BOUND, "the majority elects a new leader", || {
        new_leader = (1..=VOTERS)
            .filter(|id| *id != old_leader)
            .find(|id| {
                cluster.voter_status(*id).is_some_and(|s| {
                    s["state"] == "Leader" && s["term"].as_u64().unwrap_or(0) > old_term
                })
            })
            .unwrap_or(0);
        new_leader != 0
    });
    // The cut-off voter still refuses once the others have moved on.
    assert_voter_refuses(&rt, &cluster, old_leader, "cut");
    std::thread::sleep(Duration::from_secs(2));

    // 2. Heal: the old leader follows the new one and catches up.
    isolate("heal", old_leader);
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
            let target = cluster.leader_applied();
            cluster.voter_status(old_leader).is_some_and(|s| {
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
    assert_eq!(http_status(&head.expect_err("never committed")), Some(404));
    rt.block_on(verify_writes(&client, "cut", &acked, body_of));

    // 3. Cut a follower off: it refuses too, and the majority keeps serving.
    let leader = cluster.find_leader().expect("a leader after healing");
    let follower = (1..=VOTERS).find(|id| *id != leader).expect("a follower");
    let writer = Writer::start(client.clone(), "cut", body_of);
    isolate("isolate", follower);
    assert_voter_refuses(&rt, &cluster, follower, "cut");
    std::thread::sleep(Duration::from_secs(3));
    isolate("heal", follower);
    wait_until(CATCH_UP_BOUND, "the healed follower catches up", || {
        let target = cluster.leader_applied();
        cluster.voter_status(follower).is_some_and(|s| {
            s["state"] == "Follower" && s["applied_index"].as_u64().unwrap_or(0) >= target
        })
    });
    let (acked, errors) = writer.finish();
    assert!(
        errors.is_empty(),
        "PUTs failed while a follower was cut off: {errors:?}"
    );
    rt.block_on(verify_writes(&client, "cut", &acked, body_of));
}

#[test]
fn lagging_and_new_voters_catch_up_by_installing_snapshots() {
    /// Snapshot often and keep no log behind a snapshot, so a voter that
    /// missed entries can only catch up from a snapshot.
    const SNAPSHOT_EVERY_ENTRIES: u64 = 20;
    const OBJECTS: usize = 80;
    let mut cluster = Cluster::builder()
        .voters(VOTERS as usize)
        .spare_voters(1)
        .processes()
        .configure_role(Role::Meta, |c| {
            c.meta.snapshot_every_entries = SNAPSHOT_EVERY_ENTRIES;
            c.meta.log_entries_kept_after_snapshot = 0;
        })
        .start();
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_bucket().bucket("snap").send())
        .expect("create bucket");
    let leader = cluster.find_leader().expect("a leader");
    let lagging = (1..=VOTERS).find(|id| *id != leader).expect("a follower");
    let stopped_at = cluster.voter_status(lagging).expect("status")["last_log_index"]
        .as_u64()
        .expect("log index");
    cluster.kill(&format!("meta-{lagging}"));

    for i in 0..OBJECTS {
        rt.block_on(put_bytes(&client, "snap", &writer_key(i), &body_of(i)));
    }
    // The entries the stopped voter lacks leave the leader's log once a
    // snapshot covers them (snapshots and purges run in the background).
    let purged_index = || {
        cluster
            .voter_status(leader)
            .and_then(|s| s["purged_index"].as_u64())
    };
    wait_until(
        CATCH_UP_BOUND,
        "the leader purges the entries the stopped voter lacks",
        || purged_index().is_some_and(|p| p > stopped_at),
    );
    let purged = purged_index().expect("purged index");

    // The lagging voter returns and installs a snapshot.
    cluster.start(&format!("meta-{lagging}"));
    wait_until(CATCH_UP_BOUND, "the lagging voter catches up", || {
        let target = cluster.leader_applied();
        cluster.voter_status(lagging).is_some_and(|s| {
            s["applied_index"].as_u64().unwrap_or(0) >= target
                && s["snapshot_index"].as_u64().is_some_and(|i| i > stopped_at)
        })
    });

    // A new voter joins after the purge: it too starts from a snapshot.
    let new_id = VOTERS + 1;
    cluster.start(&format!("meta-{new_id}"));
    let new_addr = cluster.voter_addr(new_id);
    let out = cluster.admin(&[
        "meta",
        "add",
        "--id",
        &new_id.to_string(),
        "--addr",
        new_addr,
    ]);
    assert!(out.status.success(), "add voter: {out:?}");
    wait_until(CATCH_UP_BOUND, "the new voter catches up", || {
        cluster.voter_status(new_id).is_some_and(|s| {
            s["applied_index"].as_u64().unwrap_or(0) >= purged
                && s["snapshot_index"].as_u64().is_some()
        })
    });

    // Leave a group of only the two voters that caught up from snapshots;
    // it must serve every object.
    for id in (1..=VOTERS).filter(|id| *id != lagging) {
        let out = cluster.admin(&["meta", "remove", "--id", &id.to_string()]);
        assert!(out.status.success(), "remove voter {id}: {out:?}");
    }
    for id in (1..=VOTERS).filter(|id| *id != lagging) {
        cluster.kill(&format!("meta-{id}"));
    }
    let keys: Vec<usize> = (0..OBJECTS).collect();
    rt.block_on(verify_writes(&client, "snap", &keys, body_of));
    // The snapshot-installed group takes writes.
    rt.block_on(put_bytes(&client, "snap", "after", b"still writable"));
}
