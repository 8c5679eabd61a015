#!/usr/bin/env bash
# The two commands of the README, for a fresh Debian machine with only the
# Rust toolchain:
#   deploy/local/dev.sh run [cairn server flags...]   build and run `cairn server`
#   deploy/local/dev.sh test [cargo test args...]     build and run every test
# Both first install the one system package the build needs (libclang-dev,
# for RocksDB's bindings) when it is missing. Set CARGO_TARGET_DIR to keep
# build output outside the checkout (CI does).
#
# `test` runs `cargo test` (extra words go to it), then the S3 suite against a
# multi-process cluster (s3-tests/run-on-cluster.sh), then the S3 client matrix
# (s3-tests/clients/run.sh: aws-cli, boto3, s3cmd, rclone, s3fs and rclone
# mounts, installed on first use) against the debug `cairn` binary that the
# same build profile produced, and aws-cli and boto3 once more over HTTPS
# (`cairn server --tls`). CAIRN_CLIENT_MATRIX=0 skips the matrix. The
# security tests capture loopback traffic with tcpdump, installed here too.
set -euo pipefail
cd "$(dirname "$0")/../.."

ensure_system_packages() {
    # bindgen needs libclang itself (libclang.so / libclang-N.so); libclang-cpp,
    # which other packages bring, does not do.
    if ! compgen -G "/usr/lib/llvm-*/lib/libclang.so*" >/dev/null && ! compgen -G "/usr/lib/*-linux-gnu/libclang-[0-9]*.so*" >/dev/null; then
        echo "dev.sh: installing libclang-dev (needed to build RocksDB's bindings)" >&2
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >/dev/null
        else
            sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev >/dev/null
        fi
    fi
}

ensure_tcpdump() {
    if ! command -v tcpdump >/dev/null; then
        echo "dev.sh: installing tcpdump (the security tests capture loopback traffic)" >&2
        if [ "$(id -u)" -eq 0 ]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpdump >/dev/null
        else
            sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpdump >/dev/null
        fi
    fi
}

# Reads cargo's JSON messages; prints the test executables of cairn-s3-tests.
S3_TEST_BINS_PY='
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and "/s3-tests#" in m.get("package_id", "") and m["target"]["kind"] == ["test"]):
        print(m["executable"])
'

case "${1:-}" in
    run)
        shift
        ensure_system_packages
        exec cargo run --locked -p cairn -- server "$@"
        ;;
    test)
        shift
        ensure_system_packages
        ensure_tcpdump
        # One build of everything the later stages need, with the features
        # the workspace's tests unify (a separate `cargo build -p cairn`
        # resolves features differently and recompiles dozens of crates).
        # cairn's integration tests run the binary, so this builds it too.
        # The S3 suite's test executables, for the multi-process run below.
        CAIRN_S3_TEST_BINS="$(cargo test --locked --workspace --no-run --message-format=json |
            python3 -c "$S3_TEST_BINS_PY")"
        export CAIRN_S3_TEST_BINS
        cargo test --locked --workspace "$@"
        bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/cairn"
        # The S3 suite again, against a multi-process cluster (6 nodes, 3 voters).
        s3-tests/run-on-cluster.sh --binary "$bin"
        if [ "${CAIRN_CLIENT_MATRIX:-1}" = 0 ]; then
            echo "dev.sh: CAIRN_CLIENT_MATRIX=0, skipping the S3 client matrix" >&2
            exit 0
        fi
        s3-tests/clients/run.sh --binary "$bin"
        exec s3-tests/clients/run.sh --binary "$bin" --tls --only aws-cli,boto3
        ;;
    *)
        echo "usage: $0 run [cairn server flags...] | test [cargo test args...]" >&2
        exit 2
        ;;
esac
