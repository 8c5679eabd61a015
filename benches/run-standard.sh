#!/usr/bin/env bash
# The standard benchmark suite of cairn (benches/README.md explains every number).
#
#   benches/run-standard.sh [OUTDIR]
#
# Builds `cairn` (dev profile, the shared target dir), measures the machine's
# limits (fsync'd sequential write bandwidth and fsync'd 4 KiB writes of the
# disk and of tmpfs, loopback TCP bandwidth), then starts `cairn server` twice
# -- data dir on disk, then on tmpfs (/dev/shm) -- and runs the standard
# workloads against each with `cairn bench`: PUT/GET of 1 MiB and 64 MiB
# objects, PUT/GET of 4 KiB objects, and listing. Records the server's peak
# RSS (VmHWM). Writes OUTDIR/report.md, OUTDIR/report.json and one JSON + SVG
# per workload. Needs bash, dd, curl and python3 (stdlib only).
#
# Environment knobs (defaults in brackets):
#   BENCH_DURATION [8s]   measured phase of each workload
#   BENCH_DISK_DIR [/var/tmp]  where the on-disk data dir is created
#   BENCH_TMPFS_DIR [/dev/shm] where the tmpfs data dir is created
#   CARGO_TARGET_DIR [$HOME/.cache/cairn-target]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
DURATION=${BENCH_DURATION:-8s}
DISK_DIR=${BENCH_DISK_DIR:-/var/tmp}
TMPFS_DIR=${BENCH_TMPFS_DIR:-/dev/shm}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}

SERVER_START_TIMEOUT_SECS=60   # wait this long for /health to answer
SERVER_STOP_TIMEOUT_SECS=30    # then SIGKILL
DD_SEQ_MIB=512                 # size of the sequential write test
DD_SYNC_WRITES=1000            # number of fsync'd 4 KiB writes
LOOPBACK_SECS=3
ACCESS_KEY=CAIRNBENCHSTANDARD01
SECRET_KEY=cairn-bench-standard-secret/0123456789

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG="$OUT/run.log"
: >"$LOG"
say() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$LOG" >&2; }

SERVER_PID=""
DATA_DIRS=()
cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    for d in "${DATA_DIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

say "building cairn (dev profile, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
# The binary's path comes from cargo itself (the target dir may be redirected).
CAIRN=$(cd "$ROOT" && cargo build --locked -p cairn --bin cairn --message-format=json 2>>"$LOG" |
    python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "cairn":
        print(m["executable"])')
[[ -x "$CAIRN" ]] || { say "cargo build did not produce the cairn binary; see $LOG"; exit 1; }
say "using $CAIRN"

# ---------------------------------------------------------------- machine limits
# dd's own rate is decimal MB/s; we compute MiB/s from bytes and seconds.
dd_mib_per_sec() { # dd args...; prints MiB/s
    dd "$@" 2>&1 | awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") secs = $(i-1); printf "%.1f\n", $1 / secs / 1048576 }'
}
dd_writes_per_sec() { # COUNT dd args...; prints writes/s
    local count=$1; shift
    dd "$@" 2>&1 | awk -v n="$count" '/copied/ { for (i = 1; i <= NF; i++) if ($i == "s,") secs = $(i-1); printf "%.0f\n", n / secs }'
}
limits() { # NAME DIR DIRECT(yes|no)
    local name=$1 dir=$2 direct=$3 file
    file=$(mktemp -p "$dir" cairn-dd.XXXXXX)
    local flags=(conv=fsync)
    [[ $direct == yes ]] && flags+=(oflag=direct)
    local seq sync
    seq=$(dd_mib_per_sec if=/dev/zero of="$file" bs=1M count=$DD_SEQ_MIB "${flags[@]}")
    sync=$(dd_writes_per_sec $DD_SYNC_WRITES if=/dev/zero of="$file" bs=4k count=$DD_SYNC_WRITES oflag=dsync)
    rm -f "$file"
    say "$name: sequential fsync'd write $seq MiB/s, fsync'd 4 KiB writes $sync/s"
    printf '"%s": {"dir": "%s", "seq_write_mib_per_sec": %s, "sync_4k_writes_per_sec": %s}' \
        "$name" "$dir" "$seq" "$sync"
}
say "measuring machine limits"
DISK_LIMITS=$(limits disk "$DISK_DIR" yes)
TMPFS_LIMITS=$(limits tmpfs "$TMPFS_DIR" no) # tmpfs has no O_DIRECT
LOOPBACK=$(python3 "$ROOT/benches/tools/loopback.py" $LOOPBACK_SECS)
say "loopback TCP: $LOOPBACK"
cat >"$OUT/machine.json" <<EOF
{
  "cpus": $(nproc),
  "mem_total_kib": $(awk '/MemTotal/ {print $2}' /proc/meminfo),
  "kernel": "$(uname -r)",
  $DISK_LIMITS,
  $TMPFS_LIMITS,
  "loopback_tcp": $LOOPBACK
}
EOF

# ------------------------------------------------------------------ the server
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() { # NAME PARENT_DIR
    local name=$1 parent=$2
    DATA=$(mktemp -d -p "$parent" cairn-bench-data.XXXXXX)
    DATA_DIRS+=("$DATA")
    PORT=$(free_port)
    ENDPOINT="http://127.0.0.1:$PORT"
    CAIRN_ACCESS_KEY=$ACCESS_KEY CAIRN_SECRET_KEY=$SECRET_KEY RUST_LOG=warn \
        "$CAIRN" server --data-dir "$DATA" --s3-addr "127.0.0.1:$PORT" --admin-addr 127.0.0.1:0 >"$OUT/server-$name.log" 2>&1 &
    SERVER_PID=$!
    local waited=0
    until curl -fsS "$ENDPOINT/health" >/dev/null 2>&1; do
        kill -0 "$SERVER_PID" 2>/dev/null || { say "cairn server ($name) died; see server-$name.log"; exit 1; }
        (( waited++ < SERVER_START_TIMEOUT_SECS * 10 )) || { say "cairn server ($name) did not start"; exit 1; }
        sleep 0.1
    done
    say "cairn server ($name) pid $SERVER_PID on $ENDPOINT, data in $DATA"
}

stop_server() { # NAME; records the peak RSS first
    local name=$1 hwm
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
    echo "{\"peak_rss_kib\": $hwm}" >"$OUT/$name-server.json"
    say "cairn server ($name) peak RSS $((hwm / 1024)) MiB"
    kill -TERM "$SERVER_PID"
    local waited=0
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        if (( waited++ >= SERVER_STOP_TIMEOUT_SECS * 10 )); then kill -KILL "$SERVER_PID"; break; fi
        sleep 0.1
    done
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

bench() { # NAME TAG WORKLOAD ARGS...
    local name=$1 tag=$2; shift 2
    say "$name: cairn bench $*"
    S3_ENDPOINT=$ENDPOINT AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY \
        "$CAIRN" bench "$@" --duration "$DURATION" --no-progress \
        --json "$OUT/$name-$tag.json" --svg "$OUT/$name-$tag.svg" >"$OUT/$name-$tag.txt" 2>>"$LOG"
    sed 's/^/    /' "$OUT/$name-$tag.txt" >>"$LOG"
}

# The standard workloads; TAG names the result in the report.
suite() { # NAME
    local name=$1
    bench "$name" put-1MiB put --size 1MiB -c 8
    bench "$name" get-1MiB get --size 1MiB -c 8 --objects 64
    bench "$name" put-64MiB put --size 64MiB -c 4
    bench "$name" get-64MiB get --size 64MiB -c 4 --objects 8
    bench "$name" put-4KiB put --size 4KiB -c 32
    bench "$name" get-4KiB get --size 4KiB -c 32 --objects 1000
    bench "$name" list list --size 0 -c 4 --objects 5000 --page-size 1000
}

for name in disk tmpfs; do
    if [[ $name == disk ]]; then start_server disk "$DISK_DIR"; else start_server tmpfs "$TMPFS_DIR"; fi
    suite "$name"
    stop_server "$name"
done

python3 "$ROOT/benches/tools/standard_report.py" "$OUT"
say "report: $OUT/report.md"
