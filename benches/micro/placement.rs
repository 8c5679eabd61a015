//! Placement lookups: the partition of a shard and the nodes of a
//! partition, with weighted rendezvous hashing (the default) and the
//! virtual-node ring, for clusters of 6, 24 and 96 nodes in 3 zones, at
//! width 3 (three replicas) and 6 (ec 4+2).

use cairn_placement::{DEFAULT_PARTITIONS, NodeWeight, Placement, Strategy, partition_of};
use cairn_types::{ShardId, VersionId};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

const CLUSTER_SIZES: [u64; 3] = [6, 24, 96];
const ZONES: u64 = 3;
const WIDTHS: [usize; 2] = [3, 6];
/// Capacity of every node (equal weights; 4 TiB).
const NODE_CAPACITY: u64 = 4 << 40;

fn nodes(count: u64) -> Vec<NodeWeight> {
    (1..=count)
        .map(|id| NodeWeight {
            id,
            zone: format!("zone-{}", id % ZONES),
            capacity: NODE_CAPACITY,
        })
        .collect()
}

fn placement(c: &mut Criterion) {
    let shard = ShardId {
        version: VersionId([7; 16]),
        part: 0,
        chunk: 3,
        piece: 0,
    };
    c.bench_function("placement/partition_of", |b| {
        b.iter(|| partition_of(black_box(&shard), DEFAULT_PARTITIONS))
    });
    let mut group = c.benchmark_group("placement/nodes_for_partition");
    for count in CLUSTER_SIZES {
        let nodes = nodes(count);
        for (name, strategy) in [
            ("rendezvous", Strategy::Rendezvous),
            ("ring", Strategy::ring()),
        ] {
            let prepared = Placement::new(strategy, &nodes);
            for width in WIDTHS {
                let id = BenchmarkId::new(format!("{name}/width-{width}"), count);
                let mut partition = 0u32;
                group.bench_function(id, |b| {
                    b.iter(|| {
                        partition = (partition + 1) % DEFAULT_PARTITIONS;
                        prepared.nodes_for_partition(black_box(partition), width)
                    })
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, placement);
criterion_main!(benches);
