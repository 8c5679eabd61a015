//! `cairn server --meta-voters 3`: three meta voters inside one process.
//! Cutting the leader off (`cairn admin meta isolate`, through the
//! `DATA_DIR/cluster.toml` the server writes) costs S3 clients latency, not
//! errors; after a restart the group comes back on the same addresses with
//! every object; the number of voters of a data dir cannot change by accident.

use cairn_testkit::*;

use cairn_types::config::Config;
use std::time::{Duration, Instant};

const VOTERS: usize = 3;
/// How long the remaining voters may take to elect a new leader.
const ELECTION_BOUND: Duration = Duration::from_secs(15);
/// The voters' quorum wait: short, so a cut-off leader gives up quickly.
const QUORUM_WAIT_MS: u64 = 2500;

/// An in-process cluster of `voters` meta voters on `dir`.
fn voter_group(dir: &std::path::Path, voters: usize) -> ClusterBuilder {
    Cluster::builder()
        .voters(voters)
        .data_dir(dir)
        .quorum_wait_ms(QUORUM_WAIT_MS)
}

fn object(i: u64) -> Vec<u8> {
    pattern(3000 + i as usize * 100, i)
}

async fn put(client: &aws_sdk_s3::Client, i: u64) {
    put_bytes(client, "voters", &format!("o-{i}"), &object(i)).await;
}

async fn check(client: &aws_sdk_s3::Client, n: u64) {
    for i in 0..n {
        let got = get_bytes(client, "voters", &format!("o-{i}")).await;
        assert!(got == object(i), "o-{i} differs");
    }
}

#[test]
fn three_voters_in_one_process_fail_over_and_restart() {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = voter_group(dir.path(), VOTERS).start();
    let client = server.client();
    let cluster = Config::from_file(server.admin_config()).expect("cluster.toml");
    rt.block_on(async {
        client
            .create_bucket()
            .bucket("voters")
            .send()
            .await
            .expect("create bucket");
        for i in 0..10 {
            put(&client, i).await;
        }

        // The file the server wrote is what `cairn admin --config` reads.
        assert_eq!(cluster.cluster.meta_voters.len(), VOTERS);
        let rpc = cairn::roles::rpc_client(&cluster, cairn_rpc::tls::PeerRole::Admin).expect("rpc");
        let status = cairn::admin::meta_status(&cluster, &rpc).await;
        let leader = status.leader.expect("a leader");
        assert!(status.voters.iter().all(|v| v.status.is_some()));
        let leader_report = status
            .voters
            .iter()
            .find_map(|v| v.status.as_ref().filter(|s| s.id == leader))
            .expect("the leader's report");
        assert!(
            leader_report.commit_index.is_some()
                && leader_report.commit_index >= leader_report.applied_index,
            "commit index reported: {leader_report:?}"
        );

        cairn::admin::set_isolation(&cluster, &rpc, leader, true)
            .await
            .expect("isolate the leader");
        // S3 keeps working: reads and writes find the new leader.
        for i in 10..20 {
            put(&client, i).await;
        }
        check(&client, 20).await;
        let deadline = Instant::now() + ELECTION_BOUND;
        loop {
            let now = cairn::admin::meta_status(&cluster, &rpc).await;
            let isolated = now
                .voters
                .iter()
                .find(|v| v.id == leader)
                .and_then(|v| v.status.as_ref())
                .is_some_and(|s| s.isolated);
            assert!(isolated, "the old leader reports itself isolated");
            if now.voters.iter().any(|v| {
                v.id != leader
                    && v.status
                        .as_ref()
                        .is_some_and(|s| s.leader == Some(s.id) && s.state == "Leader")
            }) {
                // The cut-off voter still believes it leads; the report names the real leader.
                assert_ne!(now.leader, Some(leader), "admin status: {now:?}");
                break;
            }
            assert!(Instant::now() < deadline, "no new leader: {now:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        cairn::admin::set_isolation(&cluster, &rpc, leader, false)
            .await
            .expect("heal");
    });
    server.shutdown().expect("shutdown");

    // The same group comes back on the same addresses with everything.
    let again = voter_group(dir.path(), VOTERS).start();
    let reread = Config::from_file(again.admin_config()).expect("cluster.toml");
    assert_eq!(reread.cluster.meta_voters, cluster.cluster.meta_voters);
    rt.block_on(check(&again.client(), 20));
    again.shutdown().expect("shutdown");

    // Starting the data dir with another voter count is refused, clearly.
    let err = match voter_group(dir.path(), 1).try_start() {
        Ok(_) => panic!("a 3-voter data dir must not start as a single voter"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("--meta-voters 3"), "{err}");
}
