#!/usr/bin/env bash
# The distributed data path's throughput: PUT and GET of 64 MiB objects with
# 4 concurrent clients on a 6-node, 3-zone multi-process cluster on loopback
# (deploy/local/cluster.sh, one meta voter), for buckets with replicas=1,
# replicas=3 and ec=4+2, with the data dirs on disk and then on tmpfs.
# Records the gateway process's peak RSS (VmHWM) after each storage medium.
#
#   benches/data-path.sh [OUTDIR]
#
# Environment knobs (defaults in brackets):
#   BENCH_DURATION [8s]             measured phase of each workload
#   BENCH_DISK_DIR [/var/tmp]       where the on-disk cluster dir is created
#   BENCH_TMPFS_DIR [/dev/shm]      where the tmpfs cluster dir is created
#   BENCH_BASE_PORT [19600]         cluster.sh --base-port
#   CARGO_TARGET_DIR [$HOME/.cache/cairn-target]
# Writes OUTDIR/data-path.md (a table) and one cairn-bench JSON per run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/bench-results/data-path-$(date -u +%Y%m%dT%H%M%SZ)}
DURATION=${BENCH_DURATION:-8s}
DISK_DIR=${BENCH_DISK_DIR:-/var/tmp}
TMPFS_DIR=${BENCH_TMPFS_DIR:-/dev/shm}
BASE=${BENCH_BASE_PORT:-19600}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}

OBJECT_SIZE=64MiB
CONCURRENCY=4
GET_OBJECTS=8                  # objects written before each GET phase
NODES=6
ZONES=3
REDUNDANCIES="replicas=1 replicas=3 ec=4+2"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
(cd "$ROOT" && cargo build --locked -q -p cairn)
export CAIRN_BIN="$CARGO_TARGET_DIR/debug/cairn"

CLUSTER=""
cleanup() {
    if [ -n "$CLUSTER" ]; then
        "$ROOT/deploy/local/cluster.sh" down --dir "$CLUSTER" >/dev/null 2>&1 || true
        rm -rf "$CLUSTER"
    fi
}
trap cleanup EXIT

# mibps FILE OP: the MiB/s of one operation in a cairn-bench JSON report.
mibps() {
    python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
op=r["operations"].get(sys.argv[2])
print("%.0f (%d errors)" % (op["mib_per_sec"], op["errors"]) if op else "n/a")' "$1" "$2"
}

{
    echo "| medium | redundancy | PUT MiB/s | GET MiB/s |"
    echo "|---|---|---|---|"
} >"$OUT/data-path.md"
for medium in disk tmpfs; do
    parent=$DISK_DIR
    [ "$medium" = tmpfs ] && parent=$TMPFS_DIR
    CLUSTER=$(mktemp -d "$parent/cairn-data-path.XXXXXX")
    eval "$("$ROOT/deploy/local/cluster.sh" up --dir "$CLUSTER" --meta 1 --nodes $NODES \
        --zones $ZONES --base-port "$BASE")"
    export S3_ENDPOINT=$CAIRN_ENDPOINT
    conf="$CLUSTER/conf/admin.toml"
    for r in $REDUNDANCIES; do
        bucket="dp-$(echo "$r" | tr -c 'a-z0-9\n' '-')"
        "$CAIRN_BIN" admin bucket create "$bucket" --redundancy "$r" --config "$conf" >/dev/null
        "$CAIRN_BIN" bench put --bucket "$bucket" --size $OBJECT_SIZE -c $CONCURRENCY \
            --duration "$DURATION" --no-progress --json "$OUT/$medium-$bucket-put.json" >/dev/null
        "$CAIRN_BIN" bench get --bucket "$bucket" --size $OBJECT_SIZE -c $CONCURRENCY \
            --objects $GET_OBJECTS --duration "$DURATION" --no-progress \
            --json "$OUT/$medium-$bucket-get.json" >/dev/null
        echo "| $medium | $r | $(mibps "$OUT/$medium-$bucket-put.json" put) | $(mibps "$OUT/$medium-$bucket-get.json" get) |" \
            >>"$OUT/data-path.md"
    done
    hwm=$(grep VmHWM "/proc/$(cat "$CLUSTER/pids/gateway-1.pid")/status" | awk '{print $2}')
    echo "gateway peak RSS ($medium): $((hwm / 1024)) MiB" >>"$OUT/data-path.notes"
    cleanup
    CLUSTER=""
done
cat "$OUT/data-path.notes" >>"$OUT/data-path.md"
rm -f "$OUT/data-path.notes"
cat "$OUT/data-path.md"
