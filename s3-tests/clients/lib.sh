# shellcheck shell=bash
# Shared helpers of the client matrix's bash scripts (sourced, not run):
# step logging, assertions that fail the script with a message, test files of
# known content, and an aws-cli wrapper used to cross-check what another
# client wrote. run.sh exports S3_ENDPOINT, the AWS_* credentials, BUCKET
# (a fresh bucket name for this script), CLIENT_WORK (an empty directory of
# its own) and RUN_DIR (where mounts and daemon pids are recorded for cleanup).
set -euo pipefail

: "${S3_ENDPOINT:?}" "${AWS_ACCESS_KEY_ID:?}" "${AWS_SECRET_ACCESS_KEY:?}" "${BUCKET:?}" "${CLIENT_WORK:?}"

# Bound of one client command (seconds); whole scripts are bounded by run.sh.
STEP_TIMEOUT=120
# The large test file: big enough that every client here uploads it in parts
# with its part size lowered to 5 MiB (aws-cli, rclone, s3cmd, boto3, s3fs).
BIG_MIB=20
PART_MIB=5

step() { echo "--- $*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }

# Runs a client command under the step timeout, echoing it first.
run() {
    echo "+ $*" >&2
    timeout --kill-after=5 "$STEP_TIMEOUT" "$@"
}

# The S3 endpoint's host:port, and the bare host and port.
ENDPOINT_HOSTPORT="${S3_ENDPOINT#*://}"
ENDPOINT_HOSTPORT="${ENDPOINT_HOSTPORT%%/*}"

sha() { sha256sum "$1" | cut -d' ' -f1; }

# same FILE_A FILE_B: fails unless both exist with identical bytes.
same() {
    [ -f "$1" ] || fail "missing file $1"
    [ -f "$2" ] || fail "missing file $2"
    cmp -s "$1" "$2" || fail "$1 and $2 differ ($(stat -c %s "$1") vs $(stat -c %s "$2") bytes)"
    echo "ok: $(basename "$2") identical ($(stat -c %s "$2") bytes, sha256 $(sha "$2" | cut -c1-12))"
}

# eq WHAT ACTUAL EXPECTED
eq() {
    [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"
    echo "ok: $1 = '$3'"
}

# contains WHAT HAYSTACK NEEDLE
contains() {
    case "$2" in *"$3"*) echo "ok: $1 contains '$3'" ;; *) fail "$1 does not contain '$3': $2" ;; esac
}

lacks() {
    case "$2" in *"$3"*) fail "$1 still contains '$3': $2" ;; *) echo "ok: $1 lacks '$3'" ;; esac
}

# random_file PATH BYTES: random content of exactly BYTES bytes.
random_file() {
    mkdir -p "$(dirname "$1")"
    head -c "$2" /dev/urandom >"$1"
}

# make_test_files DIR: the standard set, with awkward names and sizes. The
# tree under DIR/tree (TREE_FILES files) is what sync/copy tests mirror.
# shellcheck disable=SC2034 # used by the scripts that source this file
TREE_FILES=6
make_test_files() {
    local d="$1"
    mkdir -p "$d/tree/sub/deeper" "$d/tree/with space"
    : >"$d/empty.bin"
    printf 'hello from the cairn client matrix\n' >"$d/small.txt"
    random_file "$d/odd.bin" $((1024 * 1024 + 7))
    random_file "$d/big.bin" $((BIG_MIB * 1024 * 1024))
    printf '{"k": 1}\n' >"$d/tree/a.json"
    random_file "$d/tree/sub/b.bin" 70000
    random_file "$d/tree/sub/deeper/c.bin" $((3 * 1024 * 1024 + 1))
    printf 'unicode and spaces\n' >"$d/tree/with space/ünïcødé + plus.txt"
    printf 'characters URLs and signatures must escape\n' >"$d/tree/special %#&=;,!@\$'()[]~ chars.txt"
    : >"$d/tree/sub/empty"
}

# aws-cli against the endpoint (path style, multipart at PART_MIB), used by
# the scripts of other clients to read back what they wrote.
aws_cfg() {
    if [ ! -f "$AWS_CONFIG_FILE" ]; then
        cat >"$AWS_CONFIG_FILE" <<EOF
[default]
region = ${AWS_DEFAULT_REGION:-us-east-1}
s3 =
    addressing_style = path
    multipart_threshold = ${PART_MIB}MB
    multipart_chunksize = ${PART_MIB}MB
EOF
    fi
}
awsx() {
    aws_cfg
    if [ "${1:-}" = s3 ] && [[ "${2:-}" =~ ^(cp|mv|sync)$ ]]; then
        run aws --endpoint-url "$S3_ENDPOINT" "$1" "$2" --no-progress "${@:3}"
    else
        run aws --endpoint-url "$S3_ENDPOINT" "$@"
    fi
}

# Number of objects under s3://BUCKET/PREFIX, according to aws-cli.
aws_count() {
    awsx s3api list-objects-v2 --bucket "$1" --prefix "${2:-}" --query 'length(Contents || `[]`)' --output text
}

# Records a mount point and daemon pid for run.sh's cleanup.
record_mount() { echo "$1" >>"${RUN_DIR:?}/mounts"; }
record_pid() { echo "$1" >>"${RUN_DIR:?}/pids"; }
