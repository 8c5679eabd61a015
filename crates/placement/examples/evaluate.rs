//! Evaluates the placement strategies against each other and prints markdown
//! tables: balance, movement on join and leave, zone spread, lookup cost.
//!
//! `cargo run -p cairn-placement --example evaluate`. Everything but the
//! lookup timings is deterministic; the timings are one rough run on
//! whatever machine runs it (and the workspace's dev profile: cairn crates
//! at opt-level 1, dependencies at 2).

use cairn_placement::eval::{
    distinct_fraction, join_fair_share, moved_pieces, moved_slots, slots_of, worst_deviation,
    zone_spread,
};
use cairn_placement::ring::RingPlacement;
use cairn_placement::{
    DEFAULT_PARTITIONS, NodeWeight, Placement, RING_DEFAULT_CAPACITY_UNIT, Strategy, layout,
};
use cairn_types::NodeId;
use std::hint::black_box;
use std::time::Instant;

/// Capacity of a 1x node.
const UNIT: u64 = RING_DEFAULT_CAPACITY_UNIT;
/// Capacity multipliers of the mixed clusters, cycled so every zone holds
/// the same total capacity.
const MIXED: [u64; 3] = [1, 2, 4];
/// Cluster sizes evaluated.
const SIZES: [u64; 3] = [6, 12, 24];
/// Widths evaluated for balance (replicas, or k+m).
const BALANCE_WIDTHS: [usize; 3] = [1, 3, 6];
/// Widths evaluated for movement.
const MOVEMENT_WIDTHS: [usize; 2] = [1, 3];
/// Zones of the balance and movement clusters.
const ZONES: u64 = 3;
/// Virtual nodes per capacity unit of the ring variants evaluated.
const RING_VNODES: [u32; 3] = [64, 256, 1024];
/// Timed passes over all partitions per strategy and cluster size.
const LOOKUP_ROUNDS: u32 = 5;

/// Node `i` (0-based) of a cluster: zone `i % zones`; capacity 1x, or for a
/// mixed cluster cycling 1x/2x/4x per round of zones.
fn node(i: u64, zones: u64, mixed: bool) -> NodeWeight {
    let mult = if mixed {
        MIXED[((i / zones) % MIXED.len() as u64) as usize]
    } else {
        1
    };
    NodeWeight {
        id: i + 1,
        zone: format!("z{}", i % zones),
        capacity: UNIT * mult,
    }
}

fn cluster(n: u64, zones: u64, mixed: bool) -> Vec<NodeWeight> {
    (0..n).map(|i| node(i, zones, mixed)).collect()
}

fn strategies() -> Vec<(String, Strategy)> {
    let mut out = vec![("rendezvous".to_string(), Strategy::Rendezvous)];
    for v in RING_VNODES {
        out.push((
            format!("ring v={v}"),
            Strategy::Ring {
                vnodes_per_unit: v,
                capacity_unit: UNIT,
            },
        ));
    }
    out
}

fn caps(mixed: bool) -> &'static str {
    if mixed { "1x/2x/4x" } else { "equal" }
}

fn header(first: &[&str], names: &[String]) {
    let mut cols: Vec<String> = first.iter().map(|s| s.to_string()).collect();
    cols.extend(names.iter().cloned());
    println!("| {} |", cols.join(" | "));
    println!("|{}", " --- |".repeat(cols.len()));
}

fn balance(strats: &[(String, Strategy)], names: &[String]) {
    println!("### (a) Balance: worst deviation from capacity share\n");
    println!(
        "P = {DEFAULT_PARTITIONS}, {ZONES} zones of equal total capacity. Capacity share \
         is proportional to capacity, capped at one slot per partition \
         (water-filling). Worst node, in %.\n"
    );
    header(&["nodes", "capacities", "width"], names);
    for mixed in [false, true] {
        for n in SIZES {
            for width in BALANCE_WIDTHS {
                let nodes = cluster(n, ZONES, mixed);
                let cells: Vec<String> = strats
                    .iter()
                    .map(|(_, s)| {
                        let l = layout(*s, &nodes, DEFAULT_PARTITIONS, width);
                        format!("{:.1}", 100.0 * worst_deviation(&nodes, &l, width))
                    })
                    .collect();
                println!(
                    "| {n} | {} | {width} | {} |",
                    caps(mixed),
                    cells.join(" | ")
                );
            }
        }
    }
    println!();
}

fn movement(strats: &[(String, Strategy)], names: &[String]) {
    println!("### (b) Movement: partition-slots moved when one node joins or leaves\n");
    println!(
        "P = {DEFAULT_PARTITIONS}, {ZONES} zones. Join: node n+1 is added (next zone, next \
         capacity in the cycle); leave: node n is removed. Cells: slots moved / \
         minimum (ratio), then pieces moved by position (what erasure coding \
         would move). Minimum = the slots the joining node ends up holding, or \
         that the leaving node held: no layout change can move fewer. \
         `fair share` is the joining node's capacity share; with 3 zones and \
         width 3 the zone rule keeps each zone at one slot per partition, so \
         a node joining a zone gets less than its capacity share.\n"
    );
    header(
        &["nodes", "capacities", "width", "event", "fair share"],
        names,
    );
    let p = DEFAULT_PARTITIONS;
    for mixed in [false, true] {
        for n in SIZES {
            for width in MOVEMENT_WIDTHS {
                let before_nodes = cluster(n, ZONES, mixed);
                let joined_nodes = cluster(n + 1, ZONES, mixed);
                let left_nodes = cluster(n - 1, ZONES, mixed);
                let share = join_fair_share(&joined_nodes, n + 1, p, width);
                let mut join_cells = Vec::new();
                let mut leave_cells = Vec::new();
                for (_, s) in strats {
                    let before = layout(*s, &before_nodes, p, width);
                    let joined = layout(*s, &joined_nodes, p, width);
                    let left = layout(*s, &left_nodes, p, width);
                    join_cells.push(cell(&before, &joined, slots_of(&joined, n + 1)));
                    leave_cells.push(cell(&before, &left, slots_of(&before, n)));
                }
                println!(
                    "| {n}→{} | {} | {width} | join | {share:.0} | {} |",
                    n + 1,
                    caps(mixed),
                    join_cells.join(" | ")
                );
                println!(
                    "| {n}→{} | {} | {width} | leave | — | {} |",
                    n - 1,
                    caps(mixed),
                    leave_cells.join(" | ")
                );
            }
        }
    }
    println!();
}

/// "moved / minimum (ratio), pieces moved by position".
fn cell(before: &[Vec<NodeId>], after: &[Vec<NodeId>], minimum: u64) -> String {
    let moved = moved_slots(before, after);
    format!(
        "{moved} / {minimum} ({:.2}x), pos {}",
        moved as f64 / minimum.max(1) as f64,
        moved_pieces(before, after)
    )
}

fn spread(strats: &[(String, Strategy)], names: &[String]) {
    println!("### (c) Zone spread: partitions whose nodes span min(width, zones) zones\n");
    println!(
        "P = {DEFAULT_PARTITIONS}, 12 nodes of equal capacity. The last column is the \
         `hashring` crate's own `get_with_replicas` (ring v=256) without skipping: \
         zone spread, and in brackets the fraction of partitions whose nodes are \
         all distinct.\n"
    );
    let mut cols = names.to_vec();
    cols.push("crate get_with_replicas".to_string());
    header(&["zones", "width"], &cols);
    for zones in [3u64, 6] {
        for width in BALANCE_WIDTHS {
            let nodes = cluster(12, zones, false);
            let mut cells: Vec<String> = strats
                .iter()
                .map(|(_, s)| {
                    let l = layout(*s, &nodes, DEFAULT_PARTITIONS, width);
                    format!("{:.1} %", 100.0 * zone_spread(&nodes, &l, width))
                })
                .collect();
            let ring = RingPlacement::new(&nodes, 256, UNIT);
            let raw: Vec<_> = (0..DEFAULT_PARTITIONS)
                .map(|p| ring.crate_replicas(p, width))
                .collect();
            cells.push(format!(
                "{:.1} % ({:.1} % distinct)",
                100.0 * zone_spread(&nodes, &raw, width),
                100.0 * distinct_fraction(&raw)
            ));
            println!("| {zones} | {width} | {} |", cells.join(" | "));
        }
    }
    println!();
}

/// Nanoseconds per call of `f` over every partition: the best of
/// `LOOKUP_ROUNDS` passes (the machine is shared; the best pass is the one
/// least disturbed).
fn time_per_call(mut f: impl FnMut(u32) -> usize) -> f64 {
    let mut best = f64::INFINITY;
    let mut sink = 0usize;
    for _ in 0..LOOKUP_ROUNDS {
        let start = Instant::now();
        for p in 0..DEFAULT_PARTITIONS {
            sink = sink.wrapping_add(f(black_box(p)));
        }
        let ns = start.elapsed().as_nanos() as f64 / f64::from(DEFAULT_PARTITIONS);
        best = best.min(ns);
    }
    black_box(sink);
    best
}

fn lookup(strats: &[(String, Strategy)], names: &[String]) {
    println!("### (d) Lookup cost: ns per `nodes_for_partition` call, width 3\n");
    println!(
        "Rough single-run figures: best of {LOOKUP_ROUNDS} passes over the \
         {DEFAULT_PARTITIONS} partitions, dev profile, on a shared 2-core machine. \
         Ring lookups use a ring built once (build time in the last columns, µs, \
         one build); the crate's `get_with_replicas` clones the ring per call.\n"
    );
    let mut cols = names.to_vec();
    cols.push("crate get_with_replicas v=256".to_string());
    for v in RING_VNODES {
        cols.push(format!("ring build v={v} (µs)"));
    }
    header(&["nodes"], &cols);
    for n in SIZES {
        let nodes = cluster(n, ZONES, false);
        let mut cells: Vec<String> = Vec::new();
        for (_, s) in strats {
            let placement = Placement::new(*s, &nodes);
            let ns = time_per_call(|p| placement.nodes_for_partition(p, 3).len());
            cells.push(format!("{ns:.0}"));
        }
        let ring = RingPlacement::new(&nodes, 256, UNIT);
        let ns = time_per_call(|p| ring.crate_replicas(p, 3).len());
        cells.push(format!("{ns:.0}"));
        for v in RING_VNODES {
            let start = Instant::now();
            let built = RingPlacement::new(&nodes, v, UNIT);
            let us = start.elapsed().as_secs_f64() * 1e6;
            black_box(built.len());
            cells.push(format!("{us:.0}"));
        }
        println!("| {n} | {} |", cells.join(" | "));
    }
    println!();
}

fn main() {
    let strats = strategies();
    let names: Vec<String> = strats.iter().map(|(n, _)| n.clone()).collect();
    println!("## Placement evaluation\n");
    balance(&strats, &names);
    movement(&strats, &names);
    spread(&strats, &names);
    lookup(&strats, &names);
}
