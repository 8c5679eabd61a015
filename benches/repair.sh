#!/usr/bin/env bash
# Repair rate and client latency during repair, on a 6-node, 3-zone
# multi-process cluster on loopback (deploy/local/cluster.sh, one meta voter),
# data dirs on disk:
#   1. the disk's own fsynced write rate (the ceiling a rebuild can reach);
#   2. per redundancy (replicas=3, ec=4+2): BENCH_DATA of objects written,
#      one node killed, its data dir wiped and the node restarted empty; the
#      time until `cairn admin durability --json` shows every chunk healthy
#      gives the repair rate (bytes the node held / seconds), at the
#      throttle BENCH_REPAIR_RATE (default: unthrottled, 0 = the config's);
#   3. client GET/PUT p99 of a mixed 64 KiB workload, idle and then while a
#      wiped node is rebuilt at the default throttle (repair.max_bytes_per_sec).
#
#   benches/repair.sh [OUTDIR]
#
# Environment knobs (defaults in brackets):
#   BENCH_DATA [512]              MiB written per redundancy
#   BENCH_DURATION [15s]          measured phase of each latency workload
#   BENCH_DISK_DIR [/var/tmp]     where the cluster dir is created
#   BENCH_BASE_PORT [19700]       cluster.sh --base-port
#   BENCH_HEAL_TIMEOUT [900]      longest wait for healthy, seconds
#   CARGO_TARGET_DIR [$HOME/.cache/cairn-target]
#   CAIRN_BIN                     a built cairn binary (else built with cargo)
# Writes OUTDIR/repair.md (the figures) and the cairn-bench JSON reports.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/bench-results/repair-$(date -u +%Y%m%dT%H%M%SZ)}
DATA_MIB=${BENCH_DATA:-512}
DURATION=${BENCH_DURATION:-15s}
DISK_DIR=${BENCH_DISK_DIR:-/var/tmp}
BASE=${BENCH_BASE_PORT:-19700}
HEAL_TIMEOUT=${BENCH_HEAL_TIMEOUT:-900}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}
OBJECT_SIZE=4MiB
NODES=6
ZONES=3

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -z "${CAIRN_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --locked -q -p cairn)
    export CAIRN_BIN="$CARGO_TARGET_DIR/debug/cairn"
fi

CLUSTER=""
cleanup() {
    if [ -n "$CLUSTER" ]; then
        "$ROOT/deploy/local/cluster.sh" down --dir "$CLUSTER" >/dev/null 2>&1 || true
        rm -rf "$CLUSTER"
    fi
}
trap cleanup EXIT

CLUSTER=$(mktemp -d "$DISK_DIR/cairn-repair.XXXXXX")

# The disk's fsynced sequential write rate, MiB/s.
disk_rate=$(python3 - "$CLUSTER/ddtest" <<'PY'
import os, sys, time
path = sys.argv[1]
block = os.urandom(1 << 20)
start = time.monotonic()
with open(path, "wb") as f:
    for _ in range(256):
        f.write(block)
    f.flush()
    os.fsync(f.fileno())
print("%.0f" % (256 / (time.monotonic() - start)))
os.remove(path)
PY
)

eval "$("$ROOT/deploy/local/cluster.sh" up --dir "$CLUSTER" --meta 1 --nodes $NODES \
    --zones $ZONES --base-port "$BASE")"
export S3_ENDPOINT=$CAIRN_ENDPOINT
conf="$CLUSTER/conf/admin.toml"
admin() { "$CAIRN_BIN" admin "$@" --config "$conf"; }

# wipe_node N: kill node N, empty its data dir, start it again.
wipe_node() {
    local n=$1 pidfile="$CLUSTER/pids/node-$1.pid"
    kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
    while kill -0 "$(cat "$pidfile")" 2>/dev/null; do sleep 0.1; done
    rm -rf "$CLUSTER/data/node-$n"
    "$CAIRN_BIN" node --config "$CLUSTER/conf/node-$n.toml" >>"$CLUSTER/logs/node-$n.log" 2>&1 &
    echo $! >"$pidfile"
}

# healthy: every chunk healthy and nothing queued.
healthy() {
    admin durability --json | python3 -c 'import json,sys
r=json.load(sys.stdin)
bad=r["degraded"]["chunks"]+r["at_risk"]["chunks"]+r["unreadable"]["chunks"]+r["repair"]["queued_chunks"]
sys.exit(0 if bad==0 and r["healthy"]["chunks"]>0 else 1)'
}

# wait_healthy: seconds (with decimals) until healthy.
wait_healthy() {
    local start now
    start=$(date +%s.%N)
    sleep 1
    until healthy; do
        now=$(date +%s)
        if [ "$now" -gt "$(printf '%.0f' "$start")" ] && [ $((now - ${start%.*})) -gt "$HEAL_TIMEOUT" ]; then
            echo "not healthy within ${HEAL_TIMEOUT}s" >&2
            admin durability >&2 || true
            exit 1
        fi
        sleep 0.5
    done
    python3 -c "import time,sys; print('%.1f' % (time.time()-float(sys.argv[1])))" "$start"
}

p99() { # FILE OP
    python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
op=r["operations"].get(sys.argv[2])
print("%.1f" % op["latency_ms"]["p99"] if op else "n/a")' "$1" "$2"
}

{
    echo "disk fsynced write rate: $disk_rate MiB/s"
    echo
    echo "| redundancy | node held MiB | rebuild s | repair MiB/s | vs disk |"
    echo "|---|---|---|---|---|"
} >"$OUT/repair.md"

admin repair throttle 1GiB >/dev/null
n=1
for r in replicas=3 ec=4+2; do
    bucket="rp-$(echo "$r" | tr -c 'a-z0-9\n' '-')"
    admin bucket create "$bucket" --redundancy "$r" >/dev/null
    "$CAIRN_BIN" bench put --bucket "$bucket" --size $OBJECT_SIZE -c 4 --keep \
        --ops $((DATA_MIB / 4)) --no-progress --json "$OUT/fill-$bucket.json" >/dev/null
    wait_healthy >/dev/null
    held=$(du -sm "$CLUSTER/data/node-$n" | cut -f1)
    wipe_node $n
    secs=$(wait_healthy)
    rate=$(python3 -c "import sys; print('%.0f' % (float(sys.argv[1])/float(sys.argv[2])))" "$held" "$secs")
    ratio=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[1])/float(sys.argv[2])))" "$rate" "$disk_rate")
    echo "| $r | $held | $secs | $rate | $ratio |" >>"$OUT/repair.md"
    n=$((n + 1))
done

# Latency: idle, then during a rebuild at the default throttle.
admin repair throttle default >/dev/null
lat_bucket=rp-latency
admin bucket create "$lat_bucket" --redundancy replicas=3 >/dev/null
run_mixed() { # NAME
    "$CAIRN_BIN" bench mixed --bucket "$lat_bucket" --size 64KiB -c 4 --objects 256 \
        --duration "$DURATION" --no-progress --json "$OUT/mixed-$1.json" >/dev/null
}
run_mixed idle
wipe_node 3
sleep 2
run_mixed repair
still=$(healthy && echo "no (repair ended before the workload did)" || echo yes)
{
    echo
    echo "| mixed 64 KiB, c=4 | GET p99 ms | PUT p99 ms |"
    echo "|---|---|---|"
    echo "| idle | $(p99 "$OUT/mixed-idle.json" get) | $(p99 "$OUT/mixed-idle.json" put) |"
    echo "| repair at the default throttle | $(p99 "$OUT/mixed-repair.json" get) | $(p99 "$OUT/mixed-repair.json" put) |"
    echo
    echo "repair still running when the workload ended: $still"
} >>"$OUT/repair.md"
cat "$OUT/repair.md"
