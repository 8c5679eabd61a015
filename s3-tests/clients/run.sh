#!/usr/bin/env bash
# The S3 client matrix: drives cairn with real third-party clients (aws-cli,
# boto3, s3cmd, rclone, and a bucket mounted with s3fs-fuse and with
# `rclone mount`) and checks what they read back byte for byte.
#
#   s3-tests/clients/run.sh [--binary PATH] [--only a,b,...] [--logs DIR] [--install-only] [--tls]
#
# --tls starts the server with `cairn server --tls` (HTTPS with a certificate
# from the cluster CA it makes) and points the clients at its CA file
# (AWS_CA_BUNDLE for aws-cli and boto3; CAIRN_CA_BUNDLE for the others).
# Clients missing on the machine are installed first, idempotently: Debian
# packages (rclone, s3fs, fuse3) with apt-get, the PyPI ones (awscli, boto3,
# s3cmd, pinned in requirements.txt) into a venv under $CAIRN_CLIENTS_CACHE
# (default ~/.cache/cairn-clients). The endpoint is S3_ENDPOINT with
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when S3_ENDPOINT is set;
# otherwise this script starts `cairn server` (--binary, default
# $CARGO_TARGET_DIR/debug/cairn) on a temporary data dir and a free loopback
# port, and always stops it (by pid) and removes its temp dirs on exit,
# after unmounting anything a mount test left mounted. Each client script
# runs in its own fresh bucket under a time bound; one PASS/FAIL line per
# client; the exit status is non-zero when any client failed.
set -euo pipefail

CLIENTS_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO_DIR="$(cd "$CLIENTS_DIR/../.." && pwd)"

# --- bounds (seconds) ---------------------------------------------------------
APT_TIMEOUT=900          # apt-get update + install of the Debian clients
PIP_TIMEOUT=900          # creating the venv and installing the PyPI clients
SERVER_START_TIMEOUT=90  # cairn server printing its endpoint and answering /health
CLIENT_TIMEOUT=600       # one client script, all its steps
KILL_GRACE=10            # SIGTERM to SIGKILL, for the server and timed-out scripts
FAIL_LOG_LINES=60        # lines of a failed client's log printed

ALL_CLIENTS=(aws-cli boto3 s3cmd rclone mount-s3fs mount-rclone)

usage() {
    echo "usage: $0 [--binary PATH] [--only CLIENT[,CLIENT...]] [--logs DIR] [--install-only]" >&2
    echo "  --logs DIR  keep each client's log and the server's log in DIR" >&2
    echo "clients: ${ALL_CLIENTS[*]}" >&2
    exit 2
}

BINARY=""
ONLY=""
INSTALL_ONLY=0
LOGS=""
TLS=0
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) [ $# -ge 2 ] || usage; BINARY="$2"; shift 2 ;;
        --only) [ $# -ge 2 ] || usage; ONLY="$2"; shift 2 ;;
        --logs) [ $# -ge 2 ] || usage; LOGS="$2"; shift 2 ;;
        --install-only) INSTALL_ONLY=1; shift ;;
        --tls) TLS=1; shift ;;
        -h|--help) usage ;;
        *) echo "run.sh: unknown argument: $1" >&2; usage ;;
    esac
done

CLIENTS=("${ALL_CLIENTS[@]}")
if [ -n "$ONLY" ]; then
    IFS=, read -r -a CLIENTS <<<"$ONLY"
    for c in "${CLIENTS[@]}"; do
        case " ${ALL_CLIENTS[*]} " in *" $c "*) ;; *) echo "run.sh: unknown client: $c" >&2; usage ;; esac
    done
fi

log() { echo "client-matrix: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- installing the clients ---------------------------------------------------
CACHE_DIR="${CAIRN_CLIENTS_CACHE:-$HOME/.cache/cairn-clients}"
VENV="$CACHE_DIR/venv"

install_debian_clients() {
    local missing=()
    command -v rclone >/dev/null || missing+=(rclone)
    command -v s3fs >/dev/null || missing+=(s3fs)
    command -v fusermount3 >/dev/null || command -v fusermount >/dev/null || missing+=(fuse3)
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    as_root timeout "$APT_TIMEOUT" apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_clients() {
    local stamp="$VENV/.cairn-requirements"
    if [ -x "$VENV/bin/python" ] && cmp -s "$stamp" "$CLIENTS_DIR/requirements.txt"; then
        return 0
    fi
    log "installing PyPI clients into $VENV"
    mkdir -p "$CACHE_DIR"
    if [ ! -x "$VENV/bin/python" ]; then
        rm -rf "$VENV"
        if ! timeout "$PIP_TIMEOUT" python3 -m venv "$VENV"; then
            rm -rf "$VENV"
            as_root timeout "$APT_TIMEOUT" apt-get update -qq
            as_root env DEBIAN_FRONTEND=noninteractive timeout "$APT_TIMEOUT" \
                apt-get install -y -qq python3-venv >/dev/null
            timeout "$PIP_TIMEOUT" python3 -m venv "$VENV"
        fi
    fi
    timeout "$PIP_TIMEOUT" "$VENV/bin/pip" install -q --disable-pip-version-check \
        -r "$CLIENTS_DIR/requirements.txt"
    cp "$CLIENTS_DIR/requirements.txt" "$stamp"
}

install_start=$(now)
install_debian_clients
install_python_clients
log "clients ready in $(elapsed "$install_start") s"
[ "$INSTALL_ONLY" -eq 1 ] && exit 0

# --- temp dirs, the server, cleanup ------------------------------------------
RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cairn-clients.XXXXXX")"
SERVER_PID=""
CLIENT_PID=""
# Each client script appends the mount points it used to $RUN_DIR/mounts and the
# pids of the daemons it started to $RUN_DIR/pids, so that cleanup can undo them
# even when the script was killed by its timeout.
: >"$RUN_DIR/mounts"
: >"$RUN_DIR/pids"

stop_pid() {
    local pid="$1" waited=0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((KILL_GRACE * 10)) ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    kill -KILL "$pid" 2>/dev/null || true
}

unmount() {
    local mnt="$1"
    mountpoint -q "$mnt" 2>/dev/null || return 0
    fusermount3 -u "$mnt" 2>/dev/null || fusermount -u "$mnt" 2>/dev/null \
        || umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
}

still_mounted() {
    local mnt
    while read -r mnt; do
        [ -n "$mnt" ] && mountpoint -q "$mnt" && return 0
    done <"$RUN_DIR/mounts"
    return 1
}

cleanup() {
    local status=$?
    set +e
    # timeout(1) passes the TERM on to the client script's process group.
    [ -n "$CLIENT_PID" ] && stop_pid "$CLIENT_PID"
    while read -r mnt; do [ -n "$mnt" ] && unmount "$mnt"; done <"$RUN_DIR/mounts"
    while read -r pid; do [ -n "$pid" ] && stop_pid "$pid"; done <"$RUN_DIR/pids"
    [ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID"
    if [ -n "$LOGS" ]; then
        mkdir -p "$LOGS"
        for f in "$RUN_DIR"/*/log; do [ -f "$f" ] && cp "$f" "$LOGS/$(basename "$(dirname "$f")").log"; done
        for f in "$RUN_DIR"/*/*.log; do [ -f "$f" ] && cp "$f" "$LOGS/$(basename "$(dirname "$f")")-$(basename "$f")"; done
        [ -f "$RUN_DIR/server.log" ] && cp "$RUN_DIR/server.log" "$LOGS/server.log"
    fi
    # Never delete through a mount that is still there.
    if still_mounted; then
        log "a mount is still present; leaving $RUN_DIR"
    else
        rm -rf "$RUN_DIR"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_server() {
    if [ -z "$BINARY" ]; then
        BINARY="${CARGO_TARGET_DIR:-$REPO_DIR/target}/debug/cairn"
    fi
    [ -x "$BINARY" ] || { log "no cairn binary at $BINARY (build it, or pass --binary)"; exit 1; }
    export AWS_ACCESS_KEY_ID="CAIRNCLIENTMATRIX001"
    AWS_SECRET_ACCESS_KEY="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
    export AWS_SECRET_ACCESS_KEY
    : >"$RUN_DIR/server.out"
    : >"$RUN_DIR/server.log"
    local tls_flag=()
    [ "$TLS" -eq 1 ] && tls_flag=(--tls)
    CAIRN_ACCESS_KEY="$AWS_ACCESS_KEY_ID" CAIRN_SECRET_KEY="$AWS_SECRET_ACCESS_KEY" \
        "$BINARY" server --data-dir "$RUN_DIR/data" --s3-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 \
        "${tls_flag[@]}" >"$RUN_DIR/server.out" 2>"$RUN_DIR/server.log" &
    SERVER_PID=$!
    local deadline=$((SECONDS + SERVER_START_TIMEOUT)) endpoint=""
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$SERVER_PID" 2>/dev/null || { log "cairn server exited:"; tail -n 20 "$RUN_DIR/server.log" >&2; exit 1; }
        endpoint="$(sed -n 's/^ *S3 endpoint: *//p' "$RUN_DIR/server.out")"
        local ca
        ca="$(sed -n 's/^ *CA file: *\([^ ]*\).*/\1/p' "$RUN_DIR/server.out")"
        local curl_ca=()
        [ -n "$ca" ] && curl_ca=(--cacert "$ca")
        if [ -n "$endpoint" ] && curl -fs -m 2 "${curl_ca[@]}" -o /dev/null "$endpoint/health"; then
            S3_ENDPOINT="$endpoint"
            if [ "$TLS" -eq 1 ]; then
                [ -n "$ca" ] || { log "cairn server --tls printed no CA file"; exit 1; }
                export AWS_CA_BUNDLE="$ca" CAIRN_CA_BUNDLE="$ca"
            fi
            return 0
        fi
        sleep 0.2
    done
    log "cairn server did not become healthy within ${SERVER_START_TIMEOUT}s"
    tail -n 20 "$RUN_DIR/server.log" >&2
    exit 1
}

if [ -n "${S3_ENDPOINT:-}" ]; then
    : "${AWS_ACCESS_KEY_ID:?S3_ENDPOINT is set but AWS_ACCESS_KEY_ID is not}"
    : "${AWS_SECRET_ACCESS_KEY:?S3_ENDPOINT is set but AWS_SECRET_ACCESS_KEY is not}"
    S3_ENDPOINT="${S3_ENDPOINT%/}"
    log "using $S3_ENDPOINT"
else
    start_server
    log "started cairn server (pid $SERVER_PID) at $S3_ENDPOINT"
fi

export S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
export AWS_DEFAULT_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
export AWS_REGION="$AWS_DEFAULT_REGION"
export AWS_EC2_METADATA_DISABLED=true
export PATH="$VENV/bin:$PATH"
export CLIENTS_DIR RUN_DIR

# --- the clients --------------------------------------------------------------
script_for() {
    case "$1" in
        aws-cli) echo "bash $CLIENTS_DIR/aws-cli.sh" ;;
        boto3) echo "$VENV/bin/python $CLIENTS_DIR/boto3.py" ;;
        s3cmd) echo "bash $CLIENTS_DIR/s3cmd.sh" ;;
        rclone) echo "bash $CLIENTS_DIR/rclone.sh" ;;
        mount-s3fs) echo "bash $CLIENTS_DIR/mount.sh s3fs" ;;
        mount-rclone) echo "bash $CLIENTS_DIR/mount.sh rclone" ;;
    esac
}

suffix="$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
failed=()
matrix_start=$(now)
for client in "${CLIENTS[@]}"; do
    work="$RUN_DIR/$client"
    mkdir -p "$work"
    start=$(now)
    # In the background and waited for, so that a signal to this script runs
    # the cleanup at once instead of after the client script.
    # shellcheck disable=SC2046 # the command is split into its words on purpose
    env BUCKET="cm-$client-$suffix" CLIENT_WORK="$work" \
        AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials" \
        timeout --kill-after="$KILL_GRACE" "$CLIENT_TIMEOUT" $(script_for "$client") \
        >"$work/log" 2>&1 </dev/null &
    CLIENT_PID=$!
    if wait "$CLIENT_PID"; then
        CLIENT_PID=""
        printf 'PASS  %-13s %6s s\n' "$client" "$(elapsed "$start")"
    else
        status=$?
        CLIENT_PID=""
        printf 'FAIL  %-13s %6s s  (exit %s%s)\n' "$client" "$(elapsed "$start")" "$status" \
            "$([ "$status" -eq 124 ] && echo ", timed out after ${CLIENT_TIMEOUT}s")"
        sed "s/^/    $client| /" < <(tail -n "$FAIL_LOG_LINES" "$work/log")
        failed+=("$client")
    fi
done

if [ ${#failed[@]} -gt 0 ] && [ -n "$SERVER_PID" ]; then
    echo "last lines of the cairn server log:"
    tail -n 30 "$RUN_DIR/server.log" | sed 's/^/    server| /'
fi
echo "client matrix ran in $(elapsed "$matrix_start") s"
# The last line, in the "N passed, N failed" form test-result readers know.
echo "clients: $(( ${#CLIENTS[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
