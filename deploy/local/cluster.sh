#!/usr/bin/env bash
# A multi-process cairn cluster on loopback, one process per role.
#
#   deploy/local/cluster.sh up --dir DIR [--meta 3] [--nodes 6] [--zones 3]
#                              [--base-port 19000] [--redundancy replicas=3]
#   deploy/local/cluster.sh down --dir DIR
#
# `up` makes a cluster CA and one role certificate per process under
# DIR/conf/tls (`cairn admin ca init`, `cairn admin cert issue`; every
# internal connection is mutual TLS), writes one config per process under
# DIR/conf (and DIR/conf/admin.toml for `cairn admin`), starts the meta voters,
# the storage nodes and one gateway (logs in DIR/logs, data in DIR/data/...),
# writes each pid to DIR/pids/<role>-<n>.pid, waits until the gateway sees
# every node, puts every node in the layout (`cairn admin node assign` and
# `cairn admin layout apply`, unless they all are already), and prints
# `export` lines for CAIRN_ENDPOINT,
# AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Ports: the gateway listens on
# BASE, meta voter i on BASE+100+i, storage node i on BASE+200+i.
# `down` stops every process recorded in DIR/pids (SIGTERM, then SIGKILL).
# The binary is $CAIRN_BIN, or built with cargo when unset.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"

# Longest wait for the cluster to become healthy, and for a process to stop.
readonly START_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=15

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cmd="${1:-}"; shift || true
dir="" meta=3 nodes=6 zones=3 base=19000 redundancy=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir="$2"; shift 2 ;;
        --meta) meta="$2"; shift 2 ;;
        --nodes) nodes="$2"; shift 2 ;;
        --zones) zones="$2"; shift 2 ;;
        --base-port) base="$2"; shift 2 ;;
        --redundancy) redundancy="$2"; shift 2 ;;
        *) usage ;;
    esac
done
[ -n "$dir" ] || usage
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

stop_all() {
    shopt -s nullglob
    local pidfiles=("$dir"/pids/*.pid)
    for f in "${pidfiles[@]}"; do kill -TERM "$(cat "$f")" 2>/dev/null || true; done
    local waited=0
    for f in "${pidfiles[@]}"; do
        local pid; pid="$(cat "$f")"
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((STOP_TIMEOUT_S * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$f"
    done
}

case "$cmd" in
    down) stop_all; echo "cluster in $dir stopped"; exit 0 ;;
    up) ;;
    *) usage ;;
esac

if [ -z "${CAIRN_BIN:-}" ]; then
    (cd "$repo" && cargo build --locked -q -p cairn)
    CAIRN_BIN="${CARGO_TARGET_DIR:-$repo/target}/debug/cairn"
fi
mkdir -p "$dir/conf" "$dir/logs" "$dir/pids" "$dir/data"
chmod 700 "$dir/conf"
[ -n "$redundancy" ] || redundancy="replicas=$(( nodes < 3 ? nodes : 3 ))"

secretfile="$dir/conf/cluster-secret"
[ -f "$secretfile" ] || head -c 4096 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 40 > "$secretfile"
secret="$(cat "$secretfile")"
voters=""
for i in $(seq 1 "$meta"); do
    voters+="  { id = $i, addr = \"127.0.0.1:$((base + 100 + i))\" },"$'\n'
done
common() { # data_dir
    cat <<CONF
data_dir = "$1"
[s3]
addr = "127.0.0.1:$base"
admin_addr = "127.0.0.1:$((base + 1))"
default_redundancy = "$redundancy"
[cluster]
secret = "$secret"
meta_voters = [
$voters]
CONF
}
tlsdir="$dir/conf/tls"
[ -f "$tlsdir/ca.pem" ] || "$CAIRN_BIN" admin ca init --dir "$tlsdir" >/dev/null
tls() { # name role: issues the certificate once, prints the [tls] section
    [ -f "$tlsdir/$1.pem" ] || "$CAIRN_BIN" admin cert issue --role "$2" --name "$1" --ca-dir "$tlsdir" >/dev/null
    printf '[tls]\nca = "%s"\ncert = "%s"\nkey = "%s"\n' "$tlsdir/ca.pem" "$tlsdir/$1.pem" "$tlsdir/$1.key"
}
for i in $(seq 1 "$meta"); do
    { common "$dir/data/meta-$i"; tls "meta-$i" meta; printf '[meta]\nid = %d\naddr = "127.0.0.1:%d"\n' "$i" $((base + 100 + i)); } > "$dir/conf/meta-$i.toml"
done
for i in $(seq 1 "$nodes"); do
    zone="zone-$(( (i - 1) % zones + 1 ))"
    { common "$dir/data/node-$i"; tls "node-$i" node; printf '[node]\nid = %d\naddr = "127.0.0.1:%d"\nzone = "%s"\n' "$i" $((base + 200 + i)) "$zone"; } > "$dir/conf/node-$i.toml"
done
keyline="key_file = \"$tlsdir/cluster.key\""
{ common "$dir/data/gateway-1" | sed "/^\[cluster\]/a $keyline"; tls gateway-1 gateway; } > "$dir/conf/gateway-1.toml"
{ common "$dir/data/admin" | sed "/^\[cluster\]/a $keyline"; tls admin admin; } > "$dir/conf/admin.toml"

keyfile="$dir/conf/root-key"
if [ ! -f "$keyfile" ]; then
    ak="CK$(head -c 4096 /dev/urandom | tr -dc 'A-Z0-9' | head -c 18)"
    sk="$(head -c 4096 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 40)"
    printf '%s %s\n' "$ak" "$sk" > "$keyfile"
fi
read -r ak sk < "$keyfile"

launch() { # role n [env...]
    local role=$1 n=$2; shift 2
    env "$@" "$CAIRN_BIN" "$role" --config "$dir/conf/$role-$n.toml" >> "$dir/logs/$role-$n.log" 2>&1 &
    echo $! > "$dir/pids/$role-$n.pid"
}
for i in $(seq 1 "$meta"); do launch meta "$i"; done
for i in $(seq 1 "$nodes"); do launch node "$i"; done
launch gateway 1

deadline=$(( $(date +%s) + START_TIMEOUT_S ))
until curl -fsS "http://127.0.0.1:$((base + 1))/health" 2>/dev/null | grep -q "ok: $nodes storage node"; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
        echo "cluster did not become healthy within ${START_TIMEOUT_S}s; logs in $dir/logs" >&2
        stop_all
        exit 1
    fi
    sleep 0.2
done
# A fresh cluster has no layout: assign every node and apply. A restart of
# an existing cluster finds them assigned already (and a node added to a
# cluster holding data is refused by apply until data can move).
admin_config="$dir/conf/admin.toml"
state="$("$CAIRN_BIN" admin layout show --config "$admin_config")"
if grep -q "not in the layout" <<<"$state"; then
    "$CAIRN_BIN" admin node assign --all-pending --config "$admin_config" >/dev/null
    if ! "$CAIRN_BIN" admin layout apply --config "$admin_config" >&2; then
        echo "the layout was not applied; see: cairn admin layout plan --config $admin_config" >&2
    fi
fi
# The root key (every bucket), made as an operator makes keys.
CAIRN_ACCESS_KEY="$ak" CAIRN_SECRET_KEY="$sk" \
    "$CAIRN_BIN" admin key create root --root --config "$admin_config" >/dev/null
echo "export CAIRN_ENDPOINT=http://127.0.0.1:$base"
echo "export AWS_ACCESS_KEY_ID=$ak"
echo "export AWS_SECRET_ACCESS_KEY=$sk"
