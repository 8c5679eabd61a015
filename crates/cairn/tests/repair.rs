//! Self-healing with real processes: one `cairn meta` (three in the
//! leader-kill test), six `cairn node`s in three zones and a gateway, each
//! its own process, with an `ec=4+2` and a `replicas=3` bucket. Each test
//! damages the cluster, waits (bounded) until the reconciler reports every
//! chunk `healthy` (`DurabilityRequest`, what `cairn admin durability`
//! prints), and then reads every object back byte for byte and checks, with
//! the per-object inspect, that every chunk has its full width of `ok`
//! pieces on distinct nodes:
//! - a node stopped while objects are written, then restarted;
//! - a node's data directory wiped and the node restarted empty (its disk
//!   identity changes: every piece meta records there is missing at once,
//!   and the erasure pieces are rebuilt by decoding);
//! - a node killed for good: after `repair.after_down_secs` its replicas
//!   are rebuilt on other owners and the replicated bucket survives two more
//!   failures (the erasure-coded bucket cannot regain its width with five
//!   nodes for six pieces: it stays `degraded` by one, never worse);
//! - bytes flipped in shard files on two nodes: the scrub finds them with
//!   no client GET, they are rewritten, and inspect shows the history;
//! - the meta leader and the node being rebuilt killed in the middle of
//!   repair: repair finishes, nothing is lost.
//!
//! Random choices come from the seed printed; `CAIRN_TEST_SEED` replays it.

use cairn_rpc::MetaClient;
use cairn_rpc::repair_api::{
    DurabilityReport, DurabilityRequest, ObjectInspect, PieceState, RepairStatus,
    RepairStatusRequest,
};
use cairn_testkit::*;
use cairn_types::MoveReason;
use std::collections::HashSet;
use std::time::Duration;

const NODES: usize = 6;
const ZONES: usize = 3;
const HEARTBEAT_MS: u64 = 250;
const DOWN_AFTER_MS: u64 = 2500;
/// How long until every chunk must be healthy again after a damage.
const HEAL_TIMEOUT: Duration = Duration::from_secs(150);
/// Chunk size of the test clusters: small, so objects have many chunks.
const CHUNK: u64 = 256 * 1024;
const BUCKETS: [(&str, &str); 2] = [("ec42", "ec=4+2"), ("rep3", "replicas=3")];

/// Clusters of these tests run one at a time: their timing (heartbeats,
/// down detection) must not starve on a 2-core machine.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// Settings of one test's cluster.
#[derive(Clone, Copy)]
struct Setup {
    voters: usize,
    after_down_secs: u64,
    /// A scrub pass every this many seconds (None: the default week).
    scrub_every_secs: Option<u64>,
    repair_bytes_per_sec: u64,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            voters: 1,
            after_down_secs: 600,
            scrub_every_secs: None,
            repair_bytes_per_sec: 256 * 1024 * 1024,
        }
    }
}

fn start(s: Setup) -> Cluster {
    Cluster::builder()
        .voters(s.voters)
        .nodes(NODES)
        .zones(ZONES)
        .processes()
        .heartbeat(HEARTBEAT_MS, DOWN_AFTER_MS)
        .hedge_after_ms(100)
        .configure(move |c| {
            c.data_path.chunk_size = CHUNK as usize;
            c.repair.after_down_secs = s.after_down_secs;
            c.repair.plan_interval_ms = 300;
            c.repair.lease_secs = 15;
            c.repair.max_bytes_per_sec = s.repair_bytes_per_sec;
            c.node.scrub_bytes_per_sec = 256 * 1024 * 1024;
            if let Some(secs) = s.scrub_every_secs {
                c.node.scrub_interval_days = secs as f64 / 86_400.0;
            }
        })
        .start()
}

/// `n` objects per bucket: mostly one chunk or less, some of several.
fn plan_objects(rng: &mut Rng, n: usize, tag: &str) -> Vec<Expected> {
    let mut out = Vec::new();
    for (bucket, _) in BUCKETS {
        for i in 0..n {
            let size = match rng.below(10) {
                0..6 => rng.below(CHUNK) as usize,
                6..9 => (CHUNK + rng.below(3 * CHUNK)) as usize,
                _ => 0,
            };
            out.push(Expected {
                bucket: bucket.to_string(),
                key: format!("{tag}-{i}"),
                size,
                seed: rng.next_u64(),
            });
        }
    }
    out
}

fn create_buckets(cluster: &Cluster) {
    let client = cluster.client();
    block(async move {
        for (bucket, redundancy) in BUCKETS {
            create_bucket_with_redundancy(&client, bucket, redundancy).await;
        }
    });
}

fn write_all(cluster: &Cluster, objects: &[Expected]) {
    write_expected(cluster, objects);
}

fn read_all(cluster: &Cluster, objects: &[Expected], stage: &str) {
    verify_expected(cluster, objects, stage);
}

fn meta(cluster: &Cluster) -> MetaClient {
    cluster.meta_client()
}

fn durability(cluster: &Cluster) -> Option<DurabilityReport> {
    let m = meta(cluster);
    block(async move { m.call(&DurabilityRequest).await.ok() })
}

fn repair_status(cluster: &Cluster) -> Option<RepairStatus> {
    let m = meta(cluster);
    block(async move { m.call(&RepairStatusRequest).await.ok() })
}

fn describe(r: &DurabilityReport) -> String {
    format!(
        "healthy {:?}, misplaced {:?}, degraded {:?} {:?}, at_risk {:?}, unreadable {:?}, repair {:?}",
        r.healthy,
        r.misplaced,
        r.degraded,
        r.degraded_by_missing,
        r.at_risk,
        r.unreadable,
        r.repair
    )
}

/// Waits until every chunk is healthy (and there are `chunks` at least).
fn wait_healthy(cluster: &Cluster, stage: &str) -> DurabilityReport {
    // The leader answers a report up to a second old: only one computed
    // after this call counts.
    let since = cairn_types::now_millis();
    let mut last = None;
    let deadline = std::time::Instant::now() + HEAL_TIMEOUT;
    loop {
        if let Some(r) = durability(cluster) {
            let whole = r.degraded.chunks == 0
                && r.at_risk.chunks == 0
                && r.unreadable.chunks == 0
                && r.misplaced.chunks == 0
                && r.healthy.chunks > 0
                && r.repair.queued_chunks == 0
                && r.computed_at >= since;
            if whole {
                eprintln!("{stage}: healthy: {}", describe(&r));
                return r;
            }
            last = Some(r);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{stage}: not healthy after {HEAL_TIMEOUT:?}: {}",
            last.as_ref()
                .map(describe)
                .unwrap_or_else(|| "no report".into())
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Repair's progress marks: pieces re-created, and damage the scrubs found.
fn marks(cluster: &Cluster) -> (u64, u64) {
    let done = repair_status(cluster).map_or(0, |s| s.done_chunks);
    let found = durability(cluster).map_or(0, |r| r.scrub.damaged_found);
    (done, found)
}

/// Waits until the cluster has noticed a damage: a piece re-created or a
/// damaged piece found since `before` (a report that still says healthy
/// may predate the damage).
fn wait_noticed(cluster: &Cluster, before: (u64, u64), stage: &str) {
    wait_until(
        HEAL_TIMEOUT,
        &format!("{stage}: the damage is noticed"),
        || {
            let now = marks(cluster);
            now.0 > before.0 || now.1 > before.1
        },
    );
}

fn inspect(cluster: &Cluster, o: &Expected) -> ObjectInspect {
    cluster.inspect(&o.bucket, &o.key)
}

/// Every chunk of every object: its full width of `ok` pieces, each on a
/// node of its own, none on `gone`. Answers the piece events seen.
fn check_placement(
    cluster: &Cluster,
    objects: &[Expected],
    gone: &[u64],
    stage: &str,
) -> Vec<(cairn_types::ChunkKey, cairn_types::PieceEvent)> {
    let mut events = Vec::new();
    for o in objects {
        let i = inspect(cluster, o);
        assert_eq!(
            i.chunks.len() as u64,
            i.total_chunks,
            "{stage}: {}/{} paged",
            o.bucket,
            o.key
        );
        for c in &i.chunks {
            let nodes: Vec<u64> = c.pieces.iter().filter_map(|p| p.node).collect();
            let distinct: HashSet<u64> = nodes.iter().copied().collect();
            assert_eq!(
                nodes.len(),
                usize::from(c.width),
                "{stage}: {}/{} chunk {:?} width: {c:?}",
                o.bucket,
                o.key,
                c.key
            );
            assert_eq!(
                distinct.len(),
                nodes.len(),
                "{stage}: {}/{} two pieces on one node: {c:?}",
                o.bucket,
                o.key
            );
            for p in &c.pieces {
                assert_eq!(
                    p.state,
                    PieceState::Ok,
                    "{stage}: {}/{} piece: {c:?}",
                    o.bucket,
                    o.key
                );
                assert!(
                    p.node.is_some_and(|n| !gone.contains(&n)),
                    "{stage}: piece on a gone node: {c:?}"
                );
            }
            events.extend(c.history.iter().map(|e| (c.key, e.clone())));
        }
    }
    events
}

/// A node stopped while 100 objects per bucket are written, then
/// restarted: every chunk written short (two replicas, or five of six
/// pieces) reaches full width.
#[test]
fn a_node_down_during_writes_is_caught_up_after_it_returns() {
    let _one = serial();
    let mut rng = Rng::from_env();
    let mut cluster = start(Setup::default());
    create_buckets(&cluster);
    let victim = 1 + rng.below(NODES as u64) as usize;
    cluster.kill(&format!("node-{victim}"));
    cluster.wait_health(
        &format!("ok: {NODES} storage node(s), 1 down"),
        Duration::from_secs(30),
    );
    let objects = plan_objects(&mut rng, 100, "down");
    write_all(&cluster, &objects);
    let before = durability(&cluster).expect("report");
    assert!(
        before.degraded.chunks + before.at_risk.chunks > 0,
        "writes with a node down leave chunks short: {}",
        describe(&before)
    );
    cluster.start(&format!("node-{victim}"));
    let after = wait_healthy(&cluster, "after restart");
    let status = repair_status(&cluster).expect("status");
    assert!(status.done_chunks > 0, "pieces were re-created: {status:?}");
    assert!(after.healthy.objects > 0);
    read_all(&cluster, &objects, "after restart");
    let events = check_placement(&cluster, &objects, &[], "after restart");
    // Short chunks were filled up, on the next nodes of their partitions
    // while the victim was down; once it is back those pieces are
    // misplaced and move to it (their owner), nowhere else.
    assert!(
        events
            .iter()
            .all(|(_, e)| e.reason == MoveReason::UnderWidth
                || (e.reason == MoveReason::Misplaced && e.to == victim as u64)),
        "{events:?}"
    );
    cluster.shutdown().expect("shutdown");
}

/// A node's data directory wiped: everything it held is rebuilt (erasure
/// pieces by decoding, in place on the empty node when every other node
/// already holds a piece of the chunk).
#[test]
fn a_wiped_node_is_rebuilt() {
    let _one = serial();
    let mut rng = Rng::from_env();
    let mut cluster = start(Setup::default());
    create_buckets(&cluster);
    let objects = plan_objects(&mut rng, 40, "wipe");
    write_all(&cluster, &objects);
    wait_healthy(&cluster, "before");
    let victim = 1 + rng.below(NODES as u64) as usize;
    let name = format!("node-{victim}");
    let held = cluster.shard_files(victim).len();
    assert!(held > 0);
    let before = marks(&cluster);
    cluster.kill(&name);
    cluster.wipe(&name);
    cluster.start(&name);
    wait_noticed(&cluster, before, "after wipe");
    wait_healthy(&cluster, "after wipe");
    let status = repair_status(&cluster).expect("status");
    assert!(
        status.done_chunks as usize >= held,
        "every piece it held was re-created: {status:?}, held {held}"
    );
    read_all(&cluster, &objects, "after wipe");
    let events = check_placement(&cluster, &objects, &[], "after wipe");
    assert!(
        events.iter().any(|(_, e)| e.reason == MoveReason::Missing),
        "{events:?}"
    );
    cluster.shutdown().expect("shutdown");
}

/// A node killed for good: once it has been down `after_down_secs`, its
/// replicas are rebuilt on other owners, and the replicated bucket survives
/// two more failures. The `ec=4+2` bucket has six pieces per chunk and five
/// nodes left: it stays degraded by exactly one piece, never worse.
#[test]
fn a_dead_node_is_replaced_after_down_secs() {
    let _one = serial();
    let mut rng = Rng::from_env();
    let mut cluster = start(Setup {
        after_down_secs: 6,
        ..Setup::default()
    });
    create_buckets(&cluster);
    let objects = plan_objects(&mut rng, 40, "dead");
    write_all(&cluster, &objects);
    wait_healthy(&cluster, "before");
    let mut order: Vec<usize> = (1..=NODES).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let dead = order[0];
    cluster.kill(&format!("node-{dead}"));
    let (rep3, ec): (Vec<Expected>, Vec<Expected>) =
        objects.iter().cloned().partition(|o| o.bucket == "rep3");
    let ec_chunks: u64 = ec.iter().map(|o| inspect(&cluster, o).total_chunks).sum();
    // Until the replicas are rebuilt: degraded, and nothing at risk.
    let deadline = std::time::Instant::now() + HEAL_TIMEOUT;
    loop {
        let r = durability(&cluster).expect("report");
        assert_eq!(
            r.at_risk.chunks + r.unreadable.chunks,
            0,
            "{}",
            describe(&r)
        );
        let only_ec_short = r.degraded.chunks == ec_chunks
            && r.degraded_by_missing.iter().all(|(n, _)| *n == 1)
            && r.repair.queued_chunks == 0;
        if only_ec_short && r.healthy.chunks > 0 {
            eprintln!("dead node replaced: {}", describe(&r));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "replicas not rebuilt: {}",
            describe(&r)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let events = check_placement(&cluster, &rep3, &[dead as u64], "after the dead node");
    assert!(
        events
            .iter()
            .any(|(_, e)| e.reason == MoveReason::OnDownNode),
        "{events:?}"
    );
    // Two more failures: every replicated object still reads back.
    for n in &order[1..3] {
        cluster.kill(&format!("node-{n}"));
    }
    read_all(&cluster, &rep3, "three nodes down");
    cluster.shutdown().expect("shutdown");
}

/// Flips one byte in `files` shard files of node `n` (payload bytes, past
/// the header); answers the shard ids damaged.
fn rot(cluster: &Cluster, n: usize, files: usize, rng: &mut Rng) -> Vec<cairn_types::ShardId> {
    let mut candidates: Vec<_> = cluster
        .shard_files(n)
        .into_iter()
        .filter(|p| {
            std::fs::metadata(p)
                .map(|m| m.len() > 64 + 16)
                .unwrap_or(false)
        })
        .collect();
    candidates.sort();
    let mut out = Vec::new();
    for _ in 0..files.min(candidates.len()) {
        let path = candidates.remove(rng.below(candidates.len() as u64) as usize);
        let mut raw = std::fs::read(&path).expect("shard file");
        let at = 64 + rng.below((raw.len() - 64) as u64) as usize;
        raw[at] ^= 0x20;
        std::fs::write(&path, raw).expect("rot");
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        out.push(cairn_types::ShardId::parse(name).expect("a shard id"));
    }
    out
}

/// Bit rot on two nodes is found by the scrub, with no client reading, and
/// rewritten; inspect shows each rewrite in its chunk's history.
#[test]
fn the_scrub_finds_bit_rot_and_repair_rewrites_it() {
    let _one = serial();
    let mut rng = Rng::from_env();
    let cluster = start(Setup {
        scrub_every_secs: Some(2),
        ..Setup::default()
    });
    create_buckets(&cluster);
    let objects = plan_objects(&mut rng, 30, "rot");
    write_all(&cluster, &objects);
    wait_healthy(&cluster, "before");
    let a = 1 + rng.below(NODES as u64) as usize;
    let b = 1 + (a + rng.below(NODES as u64 - 1) as usize) % NODES;
    let mut damaged = rot(&cluster, a, 3, &mut rng);
    damaged.extend(rot(&cluster, b, 3, &mut rng));
    assert_eq!(damaged.len(), 6);
    // Found by the scrub: the damage shows in the report without any GET.
    wait_until(HEAL_TIMEOUT, "the scrub reports the damage", || {
        durability(&cluster).is_some_and(|r| r.scrub.damaged_found >= damaged.len() as u64)
    });
    wait_healthy(&cluster, "after rot");
    let events = check_placement(&cluster, &objects, &[], "after rot");
    let rewritten: Vec<cairn_types::ShardId> = events
        .iter()
        .filter(|(_, e)| e.reason == MoveReason::Corrupt)
        .map(|(k, e)| k.shard(e.piece))
        .collect();
    for id in &damaged {
        assert!(rewritten.contains(id), "{id} rewritten: {events:?}");
    }
    assert_eq!(
        rewritten.len(),
        damaged.len(),
        "one rewrite per rotten piece: {events:?}"
    );
    read_all(&cluster, &objects, "after rot");
    // What an operator sees, through the commands and their JSON.
    let d = cluster.admin_json(&["durability", "--json"]);
    for state in ["healthy", "degraded", "at_risk", "unreadable"] {
        for field in ["chunks", "objects", "bytes"] {
            assert!(d[state][field].is_u64(), "durability {state}.{field}: {d}");
        }
    }
    assert_eq!(d["degraded"]["chunks"], 0, "{d}");
    assert!(d["healthy"]["chunks"].as_u64() > Some(0), "{d}");
    assert!(d["scrub"]["bytes_verified"].as_u64() > Some(0), "{d}");
    assert!(
        d["repair"]["queued_chunks"].is_u64() && d["repair"]["bytes_per_sec"].is_u64(),
        "{d}"
    );
    // Each storage node serves its own series (to the cluster's certificates).
    let nodes = cluster.node_list();
    let addr = nodes
        .iter()
        .find_map(|n| n["record"]["addr"].as_str())
        .unwrap_or_else(|| panic!("a node address: {nodes:?}"));
    let m = cluster
        .internal_get(addr, "/metrics")
        .expect("a node's /metrics");
    assert!(
        metric_sum(&m, "cairn_node_scrub_bytes_verified_total") > 0.0,
        "{m}"
    );
    let st = cluster.admin_json(&["repair", "status", "--json"]);
    assert!(
        st["done_chunks"].as_u64() >= Some(damaged.len() as u64),
        "{st}"
    );
    let (key, _) = events
        .iter()
        .find(|(_, e)| e.reason == MoveReason::Corrupt)
        .expect("a rewrite");
    let o = objects
        .iter()
        .find(|o| inspect(&cluster, o).chunks.iter().any(|c| c.key == *key))
        .expect("the object of a rewritten chunk");
    let shown = cluster.admin_json(&["object", "inspect", &o.bucket, &o.key, "--json"]);
    let chunks = shown["chunks"].as_array().expect("chunks");
    assert!(!chunks.is_empty(), "{shown}");
    for c in chunks {
        for p in c["pieces"].as_array().expect("pieces") {
            assert_eq!(p["state"], "ok", "{shown}");
            assert!(p["last_verified_ms"].is_u64(), "{shown}");
        }
    }
    assert!(
        chunks.iter().any(|c| c["history"]
            .as_array()
            .is_some_and(|h| h.iter().any(|e| e["reason"] == "corrupt"))),
        "{shown}"
    );
    cluster.shutdown().expect("shutdown");
}

/// The meta leader and the node being rebuilt are killed in the middle of
/// repair (slowed by a low throttle); repair finishes once they are back,
/// nothing is lost, and no chunk ends with two pieces on one node.
#[test]
fn repair_survives_losing_the_leader_and_its_target() {
    let _one = serial();
    let mut rng = Rng::from_env();
    let mut cluster = start(Setup {
        voters: 3,
        repair_bytes_per_sec: 1024 * 1024,
        ..Setup::default()
    });
    create_buckets(&cluster);
    let objects = plan_objects(&mut rng, 40, "lead");
    write_all(&cluster, &objects);
    wait_healthy(&cluster, "before");
    let victim = 1 + rng.below(NODES as u64) as usize;
    let name = format!("node-{victim}");
    cluster.kill(&name);
    cluster.wipe(&name);
    cluster.start(&name);
    wait_until(HEAL_TIMEOUT, "repair under way", || {
        repair_status(&cluster)
            .is_some_and(|s| s.done_chunks > 0 && s.queued_chunks + s.in_progress_chunks > 0)
    });
    let leader = cluster.find_leader().expect("a leader");
    cluster.kill(&format!("meta-{leader}"));
    cluster.kill(&name);
    std::thread::sleep(Duration::from_secs(2));
    cluster.start(&name);
    cluster.start(&format!("meta-{leader}"));
    wait_healthy(&cluster, "after the kills");
    read_all(&cluster, &objects, "after the kills");
    check_placement(&cluster, &objects, &[], "after the kills");
    cluster.shutdown().expect("shutdown");
}

/// The writer's body of key `i`: one chunk at most, different per key.
fn writer_body(i: usize) -> Vec<u8> {
    pattern((i * 37_813) % (CHUNK as usize + 1), i as u64 ^ 0x5eed)
}

/// A seeded random schedule of node kills, restarts, wipes and bit flips,
/// one fault at a time (within what both buckets tolerate) with the
/// cluster healed before the next, while a writer and a verifying reader
/// run: no acknowledged object is lost or corrupted, and the cluster ends
/// healthy. The schedule is printed; `CAIRN_TEST_SEED` replays it.
#[test]
fn a_random_schedule_of_failures_loses_nothing() {
    const STEPS: usize = 6;
    let _one = serial();
    let mut rng = Rng::from_env();
    let mut cluster = start(Setup {
        after_down_secs: 4,
        scrub_every_secs: Some(3),
        ..Setup::default()
    });
    create_buckets(&cluster);
    let objects = plan_objects(&mut rng, 20, "chaos");
    write_all(&cluster, &objects);
    let writer = Writer::start(cluster.client(), "ec42", writer_body);
    for step in 0..STEPS {
        let n = 1 + rng.below(NODES as u64) as usize;
        let name = format!("node-{n}");
        let before = marks(&cluster);
        let mut action = rng.below(4);
        match action {
            0 => {
                let down = 500 + rng.below(2500);
                eprintln!("step {step}: kill {name}, restart after {down} ms");
                cluster.kill(&name);
                std::thread::sleep(Duration::from_millis(down));
                cluster.start(&name);
            }
            1 => {
                eprintln!("step {step}: kill {name} past after_down_secs, then restart");
                cluster.kill(&name);
                std::thread::sleep(Duration::from_secs(6));
                cluster.start(&name);
            }
            2 => {
                eprintln!("step {step}: wipe {name}");
                cluster.kill(&name);
                cluster.wipe(&name);
                cluster.start(&name);
            }
            _ => {
                let files = 1 + rng.below(3) as usize;
                eprintln!("step {step}: flip bits in {files} shard(s) of {name}");
                if rot(&cluster, n, files, &mut rng).is_empty() {
                    action = 0;
                }
            }
        }
        // Kills may go unnoticed (nothing written while the node was away);
        // a wipe and rot are always found.
        if action >= 2 {
            wait_noticed(&cluster, before, &format!("step {step}"));
        } else {
            std::thread::sleep(Duration::from_secs(3));
        }
        // The verifying reader: everything written before the schedule.
        read_all(&cluster, &objects, &format!("step {step}"));
        wait_healthy(&cluster, &format!("step {step}"));
    }
    let (acked, errors) = writer.finish();
    eprintln!(
        "writer: {} acknowledged, {} refused",
        acked.len(),
        errors.len()
    );
    assert!(
        !acked.is_empty(),
        "the writer got writes through: {errors:?}"
    );
    wait_healthy(&cluster, "end");
    let client = cluster.client();
    block(async move { verify_writes(&client, "ec42", &acked, writer_body).await });
    read_all(&cluster, &objects, "end");
    check_placement(&cluster, &objects, &[], "end");
    cluster.shutdown().expect("shutdown");
}
