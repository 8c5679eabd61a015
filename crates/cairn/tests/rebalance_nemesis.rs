//! The scenario that broke Garage before its v1.0: layout changes every few
//! seconds, combined with storage nodes killed and meta voters cut off
//! (`cairn admin meta isolate`), while clients hammer one register object
//! (chunked, so its pieces live on storage nodes and move). Every fault
//! comes from one seeded random sequence (`CAIRN_TEST_SEED` replays it).
//! At the end: the register's history is linearizable (the checker of the
//! meta tests), every object stored before the storm reads back byte for
//! byte, and the last layout's rebalance finishes.

#[allow(dead_code)]
mod linearizability;

use cairn_testkit::*;
use linearizability::{Event, Op};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const VOTERS: u64 = 3;
const NODES: u64 = 6;
/// Nodes kept in the layout, at least (the buckets store 3 pieces).
const MIN_IN_LAYOUT: usize = 3;
/// How long the storm lasts, and the pause between two of its steps.
const STORM: Duration = Duration::from_secs(40);
const STEP_MS: (u64, u64) = (2_000, 4_000);
/// Register clients and their operations.
const CLIENTS: u64 = 3;
const OPS_PER_CLIENT: u64 = 60;
const OP_PAUSE: Duration = Duration::from_millis(450);
/// Bytes of a register value: above the inline threshold, so chunked.
const VALUE_BYTES: usize = 96 * 1024;
const DONE_TIMEOUT: Duration = Duration::from_secs(240);

/// A register value: its number, then bytes derived from it.
fn value_body(v: u64) -> Vec<u8> {
    let mut body = format!("{v:020}").into_bytes();
    body.extend(pattern(VALUE_BYTES, v));
    body
}

/// The number a register body holds; panics on bytes no write produced.
fn parse_body(bytes: &[u8]) -> u64 {
    let v: u64 = std::str::from_utf8(&bytes[..20.min(bytes.len())])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("register holds {} unparseable bytes", bytes.len()));
    assert!(
        bytes == value_body(v).as_slice(),
        "register value {v} read back with wrong bytes"
    );
    v
}

fn register_client(client: aws_sdk_s3::Client, c: u64, epoch: Instant) -> Vec<Event> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let micros = || epoch.elapsed().as_micros() as u64;
    let mut history = Vec::new();
    for n in 0..OPS_PER_CLIENT {
        std::thread::sleep(OP_PAUSE);
        let invoked = micros();
        if (n + c).is_multiple_of(2) {
            let value = c * 1_000_000 + n;
            let put = client
                .put_object()
                .bucket("register")
                .key("r")
                .body(aws_sdk_s3::primitives::ByteStream::from(value_body(value)));
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
                        Some(Some(parse_body(&bytes)))
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
}

/// A fault in force, undone before the next step.
enum Fault {
    Killed(String),
    Isolated(u64),
}

/// The storm's state: which nodes the layout holds, and the fault in force.
struct Storm {
    in_layout: BTreeSet<u64>,
    fault: Option<Fault>,
    layouts_applied: usize,
}

impl Storm {
    fn undo(&mut self, cluster: &mut Cluster) {
        match self.fault.take() {
            Some(Fault::Killed(name)) => {
                eprintln!("nemesis: start {name}");
                cluster.start(&name);
            }
            Some(Fault::Isolated(id)) => {
                eprintln!("nemesis: heal meta-{id}");
                let out = cluster.admin(&["meta", "heal", "--id", &id.to_string()]);
                assert!(out.status.success(), "heal {id}: {out:?}");
            }
            None => {}
        }
    }

    /// One step: a layout change, a node killed, or a voter cut off.
    fn step(&mut self, cluster: &mut Cluster, rng: &mut Rng) {
        match rng.below(3) {
            0 => self.change_layout(cluster, rng),
            1 => {
                let name = format!("node-{}", 1 + rng.below(NODES));
                eprintln!("nemesis: kill {name}");
                cluster.kill(&name);
                self.fault = Some(Fault::Killed(name));
            }
            _ => {
                let id = 1 + rng.below(VOTERS);
                eprintln!("nemesis: isolate meta-{id}");
                let out = cluster.admin(&["meta", "isolate", "--id", &id.to_string()]);
                assert!(out.status.success(), "isolate {id}: {out:?}");
                self.fault = Some(Fault::Isolated(id));
            }
        }
    }

    /// Adds a node outside the layout or removes one in it, and applies.
    /// A refused or failed apply (no leader for a moment) is reverted.
    fn change_layout(&mut self, cluster: &Cluster, rng: &mut Rng) {
        let outside: Vec<u64> = (1..=NODES)
            .filter(|n| !self.in_layout.contains(n))
            .collect();
        let inside: Vec<u64> = self.in_layout.iter().copied().collect();
        let add = inside.len() <= MIN_IN_LAYOUT || (!outside.is_empty() && rng.below(2) == 0);
        let (verb, id) = if add {
            ("assign", outside[rng.below(outside.len() as u64) as usize])
        } else {
            ("remove", inside[rng.below(inside.len() as u64) as usize])
        };
        eprintln!("nemesis: node {verb} {id} + layout apply");
        let staged = cluster.admin(&["node", verb, &id.to_string()]);
        let applied =
            staged.status.success() && cluster.admin(&["layout", "apply"]).status.success();
        if applied {
            self.layouts_applied += 1;
        } else {
            eprintln!("nemesis: the change did not apply; reverting it");
            let _ = cluster.admin(&["layout", "revert"]);
        }
        // What meta holds, whatever went through.
        let (ok, text) = cluster.admin_text(&["layout", "show", "--json"]);
        if let Some(nodes) = ok
            .then(|| serde_json::from_str::<serde_json::Value>(&text).ok())
            .flatten()
            .and_then(|s| s["current"]["nodes"].as_array().cloned())
        {
            self.in_layout = nodes.iter().filter_map(|n| n["id"].as_u64()).collect();
        }
    }
}

#[test]
fn layout_changes_with_kills_and_partitions_stay_linearizable() {
    let mut rng = Rng::from_env();
    let mut cluster = Cluster::builder()
        .voters(VOTERS as usize)
        .nodes(NODES as usize)
        .layout_nodes(4)
        .processes()
        .fault_injection()
        .heartbeat(250, 2500)
        .hedge_after_ms(100)
        .configure(|c| {
            c.data_path.chunk_size = 64 * 1024;
            c.repair.plan_interval_ms = 300;
            c.repair.lease_secs = 10;
            c.repair.rebalance_bytes_per_sec = 64 * 1024 * 1024;
        })
        .start();
    let client = cluster.client();
    let mut stored = Vec::new();
    for (bucket, redundancy) in [("rep3", "replicas=3"), ("ec21", "ec=2+1")] {
        for i in 0..30 {
            stored.push(Expected {
                bucket: bucket.into(),
                key: format!("o-{i}"),
                size: rng.below(600 * 1024) as usize,
                seed: rng.next_u64(),
            });
        }
        let c = client.clone();
        block(async move { create_bucket_with_redundancy(&c, bucket, redundancy).await });
    }
    {
        let c = client.clone();
        let objects = stored.clone();
        block(async move {
            create_bucket_with_redundancy(&c, "register", "replicas=3").await;
            for o in &objects {
                put_bytes(&c, &o.bucket, &o.key, &pattern(o.size, o.seed)).await;
            }
        });
    }

    let epoch = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let client = client.clone();
            std::thread::spawn(move || register_client(client, c, epoch))
        })
        .collect();
    let mut storm = Storm {
        in_layout: (1..=4).collect(),
        fault: None,
        layouts_applied: 0,
    };
    let started = Instant::now();
    while started.elapsed() < STORM {
        storm.undo(&mut cluster);
        storm.step(&mut cluster, &mut rng);
        let pause = STEP_MS.0 + rng.below(STEP_MS.1 - STEP_MS.0);
        std::thread::sleep(Duration::from_millis(pause));
    }
    storm.undo(&mut cluster);
    let mut history: Vec<Event> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("a register client read wrong bytes"))
        .collect();
    eprintln!(
        "nemesis: {} layout(s) applied; the layout holds {:?}",
        storm.layouts_applied, storm.in_layout
    );
    cluster.wait_health(
        &format!("ok: {NODES} storage node(s), 0 down"),
        Duration::from_secs(60),
    );
    // The last word: a read once everything is back.
    let invoked = epoch.elapsed().as_micros() as u64;
    let c = client.clone();
    let last = block(async move { get_bytes(&c, "register", "r").await });
    history.push(Event {
        op: Op::Read(Some(parse_body(&last))),
        invoked,
        returned: Some(epoch.elapsed().as_micros() as u64),
    });
    let completed = history.iter().filter(|e| e.returned.is_some()).count();
    eprintln!(
        "nemesis: {completed} of {} operations completed",
        history.len()
    );
    assert!(completed > history.len() / 2, "most operations complete");
    assert!(
        linearizability::check(&history, None),
        "history is not linearizable: {history:?}"
    );
    wait_until(DONE_TIMEOUT, "the last layout's rebalance is done", || {
        let (ok, text) = cluster.admin_text(&["rebalance", "status", "--json"]);
        ok && serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|s| s["done"] == true)
    });
    let c = client.clone();
    block(async move {
        for o in &stored {
            let got = get_bytes(&c, &o.bucket, &o.key).await;
            assert!(
                got == pattern(o.size, o.seed),
                "{}/{} differs",
                o.bucket,
                o.key
            );
        }
    });
    cluster.shutdown().expect("shutdown");
}
