//! A multi-process cluster of the real binary — three `cairn meta` voters,
//! one `cairn node` and one `cairn gateway` on loopback — loses its meta
//! leader to SIGKILL in the middle of a stream of PUTs. The S3 client (with
//! its own retries switched off) sees no error, only latency; every PUT that
//! was acknowledged reads back identical afterwards.

mod linearizability;

use cairn_testkit::*;
use std::time::{Duration, Instant};

/// How long PUTs keep flowing before and after the kill.
const BEFORE_KILL: Duration = Duration::from_secs(1);
const AFTER_KILL: Duration = Duration::from_secs(6);
/// Voters of every cluster here; the membership test adds `SPARES` more.
const VOTERS: u64 = 3;
const SPARES: u64 = 2;

/// Three voters, one storage node and one gateway, each its own process.
fn three_voters() -> ClusterBuilder {
    Cluster::builder().voters(VOTERS as usize).processes()
}

#[test]
fn leader_sigkill_during_puts_costs_latency_not_errors() {
    let mut cluster = three_voters().start();
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_bucket().bucket("failover").send())
        .expect("create bucket");

    let leader = cluster.find_leader().expect("a leader");

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
    let report = cluster.admin_json(&["meta", "status", "--json"]);
    let new_leader = report["leader"].as_u64().expect("a leader after the kill");
    assert_ne!(new_leader, leader, "the killed voter cannot still lead");
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
            let got = get_bytes(&client, "failover", key).await;
            assert!(got == *body, "{key} differs");
        }
    });
}

fn body_of(i: usize) -> Vec<u8> {
    (0..3000usize).map(|b| (b * 13 + i * 101) as u8).collect()
}

#[test]
fn minority_refuses_and_restarted_voters_keep_everything() {
    let mut cluster = three_voters().start();
    let rt = runtime();
    let client = cluster.client();
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
            let got = rt.block_on(get_bytes(&client, "quorum", &format!("{prefix}-{i}")));
            assert!(got == body_of(i), "{prefix}-{i} differs");
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
    assert_eq!(
        http_status(&err),
        Some(503),
        "write without majority: {err:?}"
    );
    let stale = rt.block_on(client.get_object().bucket("quorum").key("before-0").send());
    let err = stale.expect_err("no read without a majority");
    assert_eq!(http_status(&err), Some(503));

    // The majority returns: everything acknowledged is there, writes work again.
    cluster.start("meta-2");
    cluster.start("meta-3");
    cluster.wait_healthy();
    read_all("before", 20);
    for i in 0..10 {
        put(format!("after-{i}"), body_of(i)).expect("put after the majority returned");
    }

    // Every voter restarted at once: all data survives.
    for id in 1..=VOTERS {
        cluster.kill(&format!("meta-{id}"));
    }
    for id in 1..=VOTERS {
        cluster.start(&format!("meta-{id}"));
    }
    cluster.wait_healthy();
    read_all("before", 20);
    read_all("after", 10);
}

/// Writes the final group of the membership test must take, and how long it may take for them.
const WRITES_AFTER_CHANGES: usize = 10;
const WRITES_AFTER_CHANGES_BOUND: Duration = Duration::from_secs(60);

#[test]
fn membership_three_to_five_to_three_under_writes() {
    let mut cluster = three_voters().spare_voters(SPARES as usize).start();
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_bucket().bucket("members").send())
        .expect("create bucket");

    // A steady stream of writes while the membership changes.
    let writer = Writer::start(client.clone(), "members", body_of);

    for id in VOTERS + 1..=VOTERS + SPARES {
        cluster.start(&format!("meta-{id}"));
        let addr = cluster.voter_addr(id);
        let out = cluster.admin(&["meta", "add", "--id", &id.to_string(), "--addr", addr]);
        assert!(
            out.status.success(),
            "add voter {id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let five = cluster.admin_json(&["meta", "status", "--json"]);
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
        let out = cluster.admin(&["meta", "remove", "--id", &id.to_string()]);
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
    // The final group keeps taking writes: wait for a few more (on a loaded
    // machine a membership change can take a while, so count, don't time).
    let before = writer.acked();
    wait_until(
        WRITES_AFTER_CHANGES_BOUND,
        "the final group takes writes",
        || writer.acked() >= before + WRITES_AFTER_CHANGES,
    );
    let (acked, errors) = writer.finish();
    assert!(
        errors.is_empty(),
        "writes failed during membership changes: {errors:?}"
    );
    // The remaining group (3, 4, 5) serves every acknowledged write.
    rt.block_on(verify_writes(&client, "members", &acked, body_of));
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
    let mut cluster = three_voters().start();
    let client = cluster.client();
    let rt = runtime();
    rt.block_on(client.create_bucket().bucket("register").send())
        .expect("create bucket");
    let leader = cluster.find_leader().expect("a leader");
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
                                Err(e) if http_status(&e) == Some(404) => Some(None),
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
