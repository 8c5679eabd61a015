#!/usr/bin/env bash
# Runs the S3 compatibility suite (`cargo test -p cairn-s3-tests`) against a
# multi-process cluster on loopback: 3 meta voters, 6 storage nodes in 3
# zones and a gateway, started with deploy/local/cluster.sh (buckets default
# to replicas=3 there). `deploy/local/dev.sh test` runs it after the
# workspace tests; the suite's in-process-only tests skip themselves.
#
#   s3-tests/run-on-cluster.sh [--binary PATH] [cargo test args...]
#
# With CAIRN_S3_TEST_BINS set (test executables of cairn-s3-tests, one per
# line, as `deploy/local/dev.sh test` lists them from its workspace build)
# those are run instead of `cargo test -p cairn-s3-tests`, so the suite is
# not compiled a second time with other features.
#
# BASE_PORT (default 19900) is cluster.sh's --base-port. The cluster and its
# directory are removed on exit, whatever happens.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

# Longest the whole suite may take against the cluster.
readonly SUITE_TIMEOUT_S=900

if [ "${1:-}" = "--binary" ]; then
    export CAIRN_BIN="$2"
    shift 2
fi
if [ -z "${CAIRN_BIN:-}" ]; then
    cargo build --locked -q -p cairn
    export CAIRN_BIN="${CARGO_TARGET_DIR:-$repo/target}/debug/cairn"
fi

dir="$(mktemp -d /tmp/cairn-s3-tests-cluster.XXXXXX)"
cleanup() {
    deploy/local/cluster.sh down --dir "$dir" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

eval "$(deploy/local/cluster.sh up --dir "$dir" --meta 3 --nodes 6 --zones 3 \
    --base-port "${BASE_PORT:-19900}")"
# A second user (a key with no grant) for tests/second_user.rs, and the
# admin config that can grant it.
alt_out="$("$CAIRN_BIN" admin key create alt --config "$dir/conf/admin.toml")"
S3_ALT_ACCESS_KEY_ID="$(sed -n 's/^access key: *//p' <<<"$alt_out")"
S3_ALT_SECRET_ACCESS_KEY="$(sed -n 's/^secret key: *//p' <<<"$alt_out")"
CAIRN_ADMIN_CONFIG="$dir/conf/admin.toml"
export S3_ALT_ACCESS_KEY_ID S3_ALT_SECRET_ACCESS_KEY CAIRN_ADMIN_CONFIG
echo "s3-tests: running the suite against the cluster at $CAIRN_ENDPOINT" >&2
if [ -n "${CAIRN_S3_TEST_BINS:-}" ]; then
    deadline=$((SECONDS + SUITE_TIMEOUT_S))
    while IFS= read -r test_bin; do
        [ -n "$test_bin" ] || continue
        left=$((deadline - SECONDS))
        [ "$left" -gt 0 ] || { echo "s3-tests: out of time" >&2; exit 1; }
        echo "s3-tests: $(basename "$test_bin")" >&2
        S3_ENDPOINT="$CAIRN_ENDPOINT" timeout "$left" "$test_bin" "$@"
    done <<< "$CAIRN_S3_TEST_BINS"
else
    S3_ENDPOINT="$CAIRN_ENDPOINT" timeout "$SUITE_TIMEOUT_S" \
        cargo test --locked -p cairn-s3-tests "$@"
fi
