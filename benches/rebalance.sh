#!/usr/bin/env bash
# Rebalancing after adding one storage node to four, on a 5-node, 1-zone
# multi-process cluster on loopback (deploy/local/cluster.sh, one meta
# voter), data dirs on disk:
#   1. node 5 is taken out of the layout before any data is written (`admin
#      node remove 5`, `layout apply`), then BENCH_DATA MiB of 4 MiB objects
#      go to a replicas=3 bucket on nodes 1-4;
#   2. client GET/PUT p99 of a mixed 64 KiB workload with the cluster idle;
#   3. the rebalance throttle is set to BENCH_REBALANCE_RATE (`admin
#      rebalance throttle`), node 5 is assigned (`admin node assign 5`), the
#      plan read (`admin layout plan --json`: bytes_to_move, and the bytes
#      held, of which 1/5 is the least a fifth node must receive) and the
#      layout applied; the same workload runs during the move while `admin
#      rebalance status --json` is polled every 0.5 s until `done`;
#   4. the figures: bytes moved against planned and against the minimum, the
#      move rate (moved_bytes / seconds from the apply to the poll that saw
#      the last increase of moved_bytes) against the throttle (per node, and
#      only node 5 receives, so the ceiling is 1x the throttle), and the
#      p99 during the move against idle.
#
#   benches/rebalance.sh [OUTDIR]
#
# Environment knobs (defaults in brackets):
#   BENCH_DATA [1024]             MiB written before node 5 joins
#   BENCH_DURATION [15s]          measured phase of each latency workload
#   BENCH_REBALANCE_RATE [32MiB]  `cairn admin rebalance throttle` (per node)
#   BENCH_DISK_DIR [/var/tmp]     where the cluster dir is created
#   BENCH_BASE_PORT [19800]       cluster.sh --base-port
#   BENCH_DONE_TIMEOUT [900]      longest wait for `done`, seconds from the apply
#   CARGO_TARGET_DIR [$HOME/.cache/cairn-target]
#   CAIRN_BIN                     a built cairn binary (else built with cargo)
# Writes OUTDIR/rebalance.md (the figures), OUTDIR/rebalance-poll.csv (every
# status poll), the plan and final status JSON and the cairn-bench JSON reports.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/bench-results/rebalance-$(date -u +%Y%m%dT%H%M%SZ)}
DATA_MIB=${BENCH_DATA:-1024}
DURATION=${BENCH_DURATION:-15s}
RATE=${BENCH_REBALANCE_RATE:-32MiB}
DISK_DIR=${BENCH_DISK_DIR:-/var/tmp}
BASE=${BENCH_BASE_PORT:-19800}
DONE_TIMEOUT=${BENCH_DONE_TIMEOUT:-900}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}
OBJECT_SIZE=4MiB
NODES=5
ZONES=1
NEW_NODE=5

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if [ -z "${CAIRN_BIN:-}" ]; then
    (cd "$ROOT" && cargo build --locked -q -p cairn)
    export CAIRN_BIN="$CARGO_TARGET_DIR/debug/cairn"
fi

CLUSTER=""
POLLER=""
cleanup() {
    if [ -n "$POLLER" ]; then kill "$POLLER" 2>/dev/null || true; fi
    if [ -n "$CLUSTER" ]; then
        "$ROOT/deploy/local/cluster.sh" down --dir "$CLUSTER" >/dev/null 2>&1 || true
        rm -rf "$CLUSTER"
    fi
}
trap cleanup EXIT

CLUSTER=$(mktemp -d "$DISK_DIR/cairn-rebalance.XXXXXX")

# cluster.sh puts every node in the layout: take node 5 out again while the
# cluster is still empty, so the data is written to nodes 1-4 only.
eval "$("$ROOT/deploy/local/cluster.sh" up --dir "$CLUSTER" --meta 1 --nodes $NODES \
    --zones $ZONES --base-port "$BASE")"
export S3_ENDPOINT=$CAIRN_ENDPOINT
conf="$CLUSTER/conf/admin.toml"
admin() { "$CAIRN_BIN" admin "$@" --config "$conf"; }
admin node remove $NEW_NODE >/dev/null
admin layout apply >/dev/null

# healthy: every chunk healthy and nothing queued.
healthy() {
    admin durability --json | python3 -c 'import json,sys
r=json.load(sys.stdin)
bad=r["degraded"]["chunks"]+r["at_risk"]["chunks"]+r["unreadable"]["chunks"]+r["misplaced"]["chunks"]+r["repair"]["queued_chunks"]
sys.exit(0 if bad==0 and r["healthy"]["chunks"]>0 else 1)'
}
wait_healthy() {
    local deadline=$(($(date +%s) + 300))
    until healthy; do
        if [ "$(date +%s)" -gt "$deadline" ]; then
            echo "not healthy within 300s after the fill" >&2
            admin durability >&2 || true
            exit 1
        fi
        sleep 0.5
    done
}

p99() { # FILE OP
    python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
op=r["operations"].get(sys.argv[2])
print("%.1f" % op["latency_ms"]["p99"] if op else "n/a")' "$1" "$2"
}

# 1. The data, on nodes 1-4.
data_bucket=rb-data
admin bucket create "$data_bucket" --redundancy replicas=3 >/dev/null
"$CAIRN_BIN" bench put --bucket "$data_bucket" --size $OBJECT_SIZE -c 4 --keep \
    --ops $((DATA_MIB / 4)) --no-progress --json "$OUT/fill.json" >/dev/null
wait_healthy

# 2. Idle latency.
lat_bucket=rb-latency
admin bucket create "$lat_bucket" --redundancy replicas=3 >/dev/null
run_mixed() { # NAME
    "$CAIRN_BIN" bench mixed --bucket "$lat_bucket" --size 64KiB -c 4 --objects 256 \
        --duration "$DURATION" --no-progress --json "$OUT/mixed-$1.json" >/dev/null
}
run_mixed idle

# 3. Node 5 joins at the throttle; the move runs under the same workload.
admin rebalance throttle "$RATE" >/dev/null
throttle=$(admin rebalance status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["throttle_bytes_per_sec"] or 0)')
admin node assign $NEW_NODE >/dev/null
admin layout plan --json >"$OUT/plan.json"
apply_at=$(date +%s.%N)
admin layout apply >/dev/null

# The poller: every 0.5 s one status, until done (exit 0) or the timeout
# (exit 1). Writes the CSV and, at the end, the last status and
# OUT/poll-result.json: when moved_bytes last grew, when done was first seen.
python3 - "$CAIRN_BIN" "$conf" "$apply_at" "$DONE_TIMEOUT" "$OUT" <<'PY' &
import json, subprocess, sys, time
binary, conf, t0, timeout, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
last_moved, t_first, t_last, status, ok = 0, None, None, None, False
with open(out + "/rebalance-poll.csv", "w") as csv:
    csv.write("secs_since_apply,epoch,moved_bytes,total_bytes,remaining_bytes,in_progress_chunks,bytes_per_sec,sweep_complete,done\n")
    while True:
        p = subprocess.run([binary, "admin", "rebalance", "status", "--json", "--config", conf],
                           capture_output=True, text=True)
        t = time.time() - t0
        if p.returncode == 0:
            status = json.loads(p.stdout)
            moved = status["moved_bytes"]
            csv.write("%.2f,%d,%d,%d,%d,%d,%d,%s,%s\n" % (t, status["epoch"], moved, status["total_bytes"],
                      status["remaining_bytes"], status["in_progress_chunks"], status["bytes_per_sec"],
                      status["sweep_complete"], status["done"]))
            csv.flush()
            if moved > last_moved:
                if t_first is None:
                    t_first = t
                last_moved, t_last = moved, t
            if status["done"]:
                ok = True
                break
        else:
            csv.write("%.2f,error: %s\n" % (t, p.stderr.strip().replace("\n", " ")))
        if t > timeout:
            break
        time.sleep(0.5)
json.dump(status, open(out + "/rebalance-status.json", "w"), indent=2)
json.dump({"done": ok, "done_secs": t if ok else None, "first_increase_secs": t_first,
           "last_increase_secs": t_last, "moved_bytes": last_moved},
          open(out + "/poll-result.json", "w"), indent=2)
if not ok:
    print("rebalance not done within %.0fs after the apply" % timeout, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
POLLER=$!
run_mixed rebalance
mixed_end=$(python3 -c "import time,sys; print('%.1f' % (time.time()-float(sys.argv[1])))" "$apply_at")
poll_rc=0
wait "$POLLER" || poll_rc=$?
POLLER=""
if [ "$poll_rc" -ne 0 ]; then
    echo "--- admin rebalance status:" >&2
    admin rebalance status >&2 || true
    echo "--- last polls ($OUT/rebalance-poll.csv):" >&2
    tail -5 "$OUT/rebalance-poll.csv" >&2
    exit 1
fi
node5_mib=$(du -sm "$CLUSTER/data/node-$NEW_NODE" | cut -f1)

# 4. The report.
python3 - "$OUT" "$throttle" "$mixed_end" "$DATA_MIB" "$node5_mib" <<'PY' >"$OUT/rebalance.md"
import json, sys
out, throttle, mixed_end, data_mib, node5_mib = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
MiB = 1 << 20
plan = json.load(open(out + "/plan.json"))
st = json.load(open(out + "/rebalance-status.json"))
res = json.load(open(out + "/poll-result.json"))
held = sum(n["bytes_held"] for n in plan["nodes"])
planned = plan["bytes_to_move"]
minimum = held / 5
moved = st["moved_bytes"]
secs = res["last_increase_secs"]
rate = moved / secs / MiB
first = res["first_increase_secs"]
def p99(name, op):
    r = json.load(open("%s/mixed-%s.json" % (out, name)))
    o = r["operations"].get(op)
    return o["latency_ms"]["p99"] if o else float("nan")
print("add node 5 to nodes 1-4 (1 zone, replicas=3), %d MiB written (%.0f MiB held over 4 nodes)" % (data_mib, held / MiB))
print()
print("| bytes | MiB | ratio |")
print("|---|---|---|")
print("| moved (`moved_bytes`) | %.1f | |" % (moved / MiB))
print("| planned (`bytes_to_move`) | %.1f | moved/planned %.3f |" % (planned / MiB, moved / planned))
print("| minimum (held/5) | %.1f | moved/minimum %.3f |" % (minimum / MiB, moved / minimum))
print()
extra = moved - planned
extra_pieces = st["moved_chunks"] - plan["shards_to_move"]
print("pieces moved (`moved_chunks`): %d; planned (`shards_to_move`): %d" % (st["moved_chunks"], plan["shards_to_move"]))
if extra_pieces > 0:
    print("beyond the plan: %.1f MiB in %d pieces (%.0f KiB each on average)" % (extra / MiB, extra_pieces, extra / extra_pieces / 1024))
print("node 5's data dir after the move: %d MiB (du)" % node5_mib)
print()
print("| rebalance | value |")
print("|---|---|")
print("| throttle (per node; only node 5 receives) | %.1f MiB/s |" % (throttle / MiB))
print("| apply -> first increase of moved_bytes | %.1f s |" % first)
print("| apply -> last increase of moved_bytes | %.1f s |" % secs)
print("| apply -> `done` seen | %.1f s |" % res["done_secs"])
print("| move rate (moved / apply->last increase) | %.1f MiB/s |" % rate)
print("| rate / throttle | %.2f (goal >= 0.80) |" % (rate * MiB / throttle if throttle else float("nan")))
if secs > first:
    print("| rate between first and last increase | %.1f MiB/s |" % (moved / (secs - first) / MiB))
print()
print("| mixed 64 KiB, c=4 | GET p99 ms | PUT p99 ms |")
print("|---|---|---|")
for name, label in (("idle", "idle"), ("rebalance", "during the move")):
    print("| %s | %.1f | %.1f |" % (label, p99(name, "get"), p99(name, "put")))
g = p99("rebalance", "get") / p99("idle", "get")
p = p99("rebalance", "put") / p99("idle", "put")
print("| during / idle (goal <= 2) | %.2f | %.2f |" % (g, p))
print()
print("the workload ran from the apply to %.1f s after it (including its %s prepare); "
      "moved_bytes last grew at %.1f s: %s" % (mixed_end, "256-object", secs,
      "the move outlasted the workload" if secs >= mixed_end else "the move ended before the workload did"))
PY
cat "$OUT/rebalance.md"
