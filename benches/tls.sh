#!/usr/bin/env bash
# What TLS costs: `cairn server --nodes 3` (replicas=3, so every PUT
# crosses gateway->node three times) once with plain HTTP everywhere
# (`tls.internal = false`, S3 over http) and once with TLS on both hops
# (mutual TLS between roles, `--tls` for S3), in the same run on the same
# machine. For each: PUT and GET MiB/s of 64 MiB objects and PUT and GET
# ops/s of 4 KiB objects, then the TLS/plain ratio of each figure.
#
#   benches/tls.sh [--out DIR] [--duration 20s] [--rounds 2]
#
# Rounds alternate plain and TLS (plain, tls, plain, tls, ...) so drift of a
# shared machine hits both; each figure is the median of its rounds. The
# binary is $CAIRN_BIN, or the debug build in $CARGO_TARGET_DIR. Clients
# trust the generated CA through SSL_CERT_FILE (aws-sdk-s3 reads it).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

OUT=/tmp/cairn-bench-tls
DURATION=20s
ROUNDS=2
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --rounds) ROUNDS=$2; shift 2 ;;
        *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
CAIRN="${CAIRN_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/cairn}"
[ -x "$CAIRN" ] || { echo "no cairn binary at $CAIRN" >&2; exit 1; }
mkdir -p "$OUT"

# Bounds.
readonly SERVER_START_TIMEOUT_SECS=60
readonly SERVER_STOP_TIMEOUT_SECS=15
readonly LARGE=64MiB LARGE_CONCURRENCY=4 LARGE_OBJECTS=16
readonly SMALL=4KiB SMALL_CONCURRENCY=16 SMALL_OBJECTS=256

ACCESS_KEY=CKBENCHTLS0000000001
SECRET_KEY=bench-tls-secret-key-0123456789abcdefghij
export AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY AWS_REGION=us-east-1
SERVER_PID=""
DATA=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
    if [ -n "$DATA" ]; then rm -rf "$DATA" "$DATA.toml"; fi
}
trap cleanup EXIT
say() { echo "tls-bench: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() { # MODE (plain|tls)
    local mode=$1 port flags=() curl_ca=()
    DATA=$(mktemp -d /tmp/cairn-bench-tls-data.XXXXXX)
    port=$(free_port)
    if [ "$mode" = plain ]; then
        printf '[cluster]\nsecret = "bench-plaintext-cluster-secret-0001"\n[tls]\ninternal = false\n' >"$DATA.toml"
        flags=(--config "$DATA.toml")
        ENDPOINT="http://127.0.0.1:$port"
        unset SSL_CERT_FILE
    else
        flags=(--tls)
        ENDPOINT="https://127.0.0.1:$port"
        export SSL_CERT_FILE="$DATA/tls/ca.pem"
        curl_ca=(--cacert "$DATA/tls/ca.pem")
    fi
    CAIRN_ACCESS_KEY=$ACCESS_KEY CAIRN_SECRET_KEY=$SECRET_KEY RUST_LOG=warn \
        "$CAIRN" server --data-dir "$DATA" --s3-addr "127.0.0.1:$port" --admin-addr 127.0.0.1:0 \
        --nodes 3 "${flags[@]}" >"$OUT/server-$mode.log" 2>&1 &
    SERVER_PID=$!
    local waited=0
    until curl -fsS "${curl_ca[@]}" "$ENDPOINT/health" >/dev/null 2>&1; do
        kill -0 "$SERVER_PID" 2>/dev/null || { say "cairn server ($mode) died; see $OUT/server-$mode.log"; exit 1; }
        (( waited++ < SERVER_START_TIMEOUT_SECS * 10 )) || { say "cairn server ($mode) did not start"; exit 1; }
        sleep 0.1
    done
    export S3_ENDPOINT=$ENDPOINT
}

stop_server() {
    kill -TERM "$SERVER_PID"
    local waited=0
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        if (( waited++ >= SERVER_STOP_TIMEOUT_SECS * 10 )); then kill -KILL "$SERVER_PID"; break; fi
        sleep 0.1
    done
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    rm -rf "$DATA" "$DATA.toml"
    DATA=""
}

# figure MODE ROUND NAME WORKLOAD ARGS...: runs one bench into OUT/MODE-ROUND-NAME.json
figure() {
    local mode=$1 round=$2 name=$3; shift 3
    "$CAIRN" bench "$@" --duration "$DURATION" --no-progress --json "$OUT/$mode-$round-$name.json" >/dev/null
}

for round in $(seq 1 "$ROUNDS"); do
    for mode in plain tls; do
        say "round $round: $mode"
        start_server "$mode"
        figure "$mode" "$round" put-64m put --size $LARGE -c $LARGE_CONCURRENCY
        figure "$mode" "$round" get-64m get --size $LARGE -c $LARGE_CONCURRENCY --objects $LARGE_OBJECTS
        figure "$mode" "$round" put-4k put --size $SMALL -c $SMALL_CONCURRENCY
        figure "$mode" "$round" get-4k get --size $SMALL -c $SMALL_CONCURRENCY --objects $SMALL_OBJECTS
        stop_server
    done
done

python3 - "$OUT" "$ROUNDS" <<'PY' | tee "$OUT/summary.md"
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def fig(mode, name, key):
    vals = []
    for r in range(1, rounds + 1):
        rep = json.load(open(f"{out}/{mode}-{r}-{name}.json"))
        assert rep["total"]["errors"] == 0, f"{mode} {name}: errors {rep['errors']}"
        vals.append(rep["total"][key])
    return statistics.median(vals)
print("| figure | plain | TLS both hops | TLS / plain |")
print("| --- | --- | --- | --- |")
for name, key, unit in [("put-64m", "mib_per_sec", "MiB/s"), ("get-64m", "mib_per_sec", "MiB/s"),
                        ("put-4k", "ops_per_sec", "ops/s"), ("get-4k", "ops_per_sec", "ops/s")]:
    p, t = fig("plain", name, key), fig("tls", name, key)
    print(f"| {name} {unit} | {p:.1f} | {t:.1f} | {t / p:.2f} |")
PY
