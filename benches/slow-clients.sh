#!/usr/bin/env bash
# The gateway under many large uploads and under clients that stop reading,
# on a 3-node multi-process cluster on loopback (deploy/local/cluster.sh, one
# meta voter, replicas=1, data dirs on disk):
#
#   1. 200 concurrent 64 MiB PUTs (`cairn bench put -c 200 --ops 200`): the
#      gateway's peak RSS (VmHWM) — bounded by the write chunk budget, not by
#      the number of uploads;
#   2. a normal workload (`cairn bench mixed`, 4 workers, 1 MiB objects) on
#      its own: its throughput;
#   3. the same workload while 100 stalled GET readers (benches/tools/
#      stalled_readers.py: presigned GETs of a 64 MiB object that never read)
#      hold their connections: its throughput and the gateway's peak RSS.
#
# The gateway's VmHWM is reset (/proc/PID/clear_refs) before each phase.
#
#   benches/slow-clients.sh [OUTDIR]
#
# Environment knobs (defaults in brackets):
#   BENCH_DURATION [10s]            measured phase of each mixed workload
#   BENCH_DIR [/var/tmp]            where the cluster dir is created (needs
#                                   about 13 GB free: phase 1 writes 12.5 GiB)
#   BENCH_BASE_PORT [19700]         cluster.sh --base-port
#   BENCH_PROFILE [debug]           cargo profile of the cairn binary (debug|release)
#   CARGO_TARGET_DIR [$HOME/.cache/cairn-target]
# Writes OUTDIR/slow-clients.md (a table) and one cairn-bench JSON per run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/bench-results/slow-clients-$(date -u +%Y%m%dT%H%M%SZ)}
DURATION=${BENCH_DURATION:-10s}
DIR=${BENCH_DIR:-/var/tmp}
BASE=${BENCH_BASE_PORT:-19700}
PROFILE=${BENCH_PROFILE:-debug}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}

NODES=3
BIG_PUTS=200                   # concurrent 64 MiB PUTs of phase 1
BIG_PUT_OPS=200                # PUTs of phase 1 in all (one per worker)
STALLED=100                    # stalled GET readers of phase 3
STALL_SECS=600                 # how long they hold on at most (killed earlier)
MIXED_CONCURRENCY=4
MIXED_SIZE=1MiB
MIXED_OBJECTS=64

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
profile_flag=""
[ "$PROFILE" = release ] && profile_flag="--release"
(cd "$ROOT" && cargo build --locked -q --workspace --bin cairn $profile_flag)
export CAIRN_BIN="$CARGO_TARGET_DIR/$PROFILE/cairn"

CLUSTER=""
STALLER=""
cleanup() {
    [ -n "$STALLER" ] && kill "$STALLER" 2>/dev/null || true
    if [ -n "$CLUSTER" ]; then
        "$ROOT/deploy/local/cluster.sh" down --dir "$CLUSTER" >/dev/null 2>&1 || true
        rm -rf "$CLUSTER"
    fi
}
trap cleanup EXIT

# mibps FILE OP: the MiB/s and ops/s of one operation in a cairn-bench JSON report.
mibps() {
    python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
op=r["operations"].get(sys.argv[2])
print("%.1f MiB/s, %.1f ops/s (%d errors)" % (op["mib_per_sec"], op.get("ops_per_sec", 0), op["errors"]) if op else "n/a")' "$1" "$2"
}
hwm_mib() { echo $(( $(grep VmHWM "/proc/$GW/status" | awk '{print $2}') / 1024 )); }
reset_hwm() { echo 5 >"/proc/$GW/clear_refs"; }

CLUSTER=$(mktemp -d "$DIR/cairn-slow-clients.XXXXXX")
eval "$("$ROOT/deploy/local/cluster.sh" up --dir "$CLUSTER" --meta 1 --nodes $NODES \
    --zones 1 --base-port "$BASE" --redundancy replicas=1)"
export S3_ENDPOINT=$CAIRN_ENDPOINT
GW=$(cat "$CLUSTER/pids/gateway-1.pid")
conf="$CLUSTER/conf/admin.toml"
"$CAIRN_BIN" admin bucket create slowc --config "$conf" >/dev/null

{
    echo "# slow clients ($PROFILE build, $(date -u +%FT%TZ))"
    echo
    echo "| phase | result | gateway peak RSS |"
    echo "|---|---|---|"
} >"$OUT/slow-clients.md"

reset_hwm
"$CAIRN_BIN" bench put --bucket slowc --size 64MiB -c $BIG_PUTS --ops $BIG_PUT_OPS \
    --no-progress --json "$OUT/big-puts.json" >/dev/null
echo "| $BIG_PUTS concurrent 64 MiB PUTs | $(mibps "$OUT/big-puts.json" put) | $(hwm_mib) MiB |" \
    >>"$OUT/slow-clients.md"

reset_hwm
"$CAIRN_BIN" bench mixed --bucket slowc --size $MIXED_SIZE --objects $MIXED_OBJECTS \
    -c $MIXED_CONCURRENCY --duration "$DURATION" --no-progress --json "$OUT/mixed-alone.json" >/dev/null
echo "| mixed workload alone | GET $(mibps "$OUT/mixed-alone.json" get); PUT $(mibps "$OUT/mixed-alone.json" put) | $(hwm_mib) MiB |" \
    >>"$OUT/slow-clients.md"

# A 64 MiB object for the stalled readers.
"$CAIRN_BIN" bench put --bucket slowc --size 64MiB -c 1 --ops 1 --keep --prefix stall/ \
    --no-progress --json "$OUT/stall-object.json" >/dev/null
key=$(python3 - "$CAIRN_BIN" "$conf" <<'PY'
import subprocess, sys, json, os, botocore.session
from botocore.config import Config
s3 = botocore.session.get_session().create_client("s3", endpoint_url=os.environ["S3_ENDPOINT"],
    region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
print(s3.list_objects_v2(Bucket="slowc", Prefix="stall/")["Contents"][0]["Key"])
PY
)
reset_hwm
python3 "$ROOT/benches/tools/stalled_readers.py" "$S3_ENDPOINT" slowc "$key" $STALLED $STALL_SECS \
    >"$OUT/stalled.log" 2>&1 &
STALLER=$!
until grep -q stalled "$OUT/stalled.log" 2>/dev/null; do
    kill -0 "$STALLER" 2>/dev/null || { cat "$OUT/stalled.log"; exit 1; }
    sleep 0.2
done
sleep 2
"$CAIRN_BIN" bench mixed --bucket slowc --size $MIXED_SIZE --objects $MIXED_OBJECTS \
    -c $MIXED_CONCURRENCY --duration "$DURATION" --no-progress --json "$OUT/mixed-stalled.json" >/dev/null
echo "| mixed workload + $STALLED stalled GETs | GET $(mibps "$OUT/mixed-stalled.json" get); PUT $(mibps "$OUT/mixed-stalled.json" put) | $(hwm_mib) MiB |" \
    >>"$OUT/slow-clients.md"
kill "$STALLER" 2>/dev/null || true
STALLER=""
cat "$OUT/slow-clients.md"
