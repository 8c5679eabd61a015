#!/usr/bin/env bash
# A bucket mounted as a file system, with s3fs-fuse (`mount.sh s3fs`) or with
# `rclone mount --vfs-cache-mode writes` (`mount.sh rclone`): files written
# through the mount (empty, small, odd-sized, 20 MiB, in nested directories)
# read back byte-identical with aws-cli, and files written with aws-cli read
# back byte-identical through the mount; directories are made and listed; a
# file is renamed, overwritten and deleted through the mount, and objects
# deleted with aws-cli disappear from it. The mount is unmounted at the end
# (run.sh unmounts it too if this script dies first).
source "$(dirname "$0")/lib.sh"

MODE="${1:?usage: mount.sh s3fs|rclone}"
B="$BUCKET"
L="$CLIENT_WORK/local"
D="$CLIENT_WORK/down"
MNT="$CLIENT_WORK/mnt"
mkdir -p "$L" "$D" "$MNT"
make_test_files "$L"

# How long an object written through the mount may take to appear in S3
# (rclone uploads after closing, in the background), and an object written
# with aws-cli to appear in the mount (directory caches expire after 1 s).
PROPAGATION_TIMEOUT=60
MOUNT_TIMEOUT=30

# eventually DESCRIPTION COMMAND...: retries COMMAND until it succeeds.
eventually() {
    local what="$1" deadline=$((SECONDS + PROPAGATION_TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || fail "$what: not true after ${PROPAGATION_TIMEOUT}s"
        sleep 0.5
    done
    echo "ok: $what"
}

object_size() {
    timeout "$STEP_TIMEOUT" aws --endpoint-url "$S3_ENDPOINT" s3api head-object --bucket "$B" --key "$1" \
        --query ContentLength --output text 2>/dev/null
}
object_has_size() { [ "$(object_size "$1")" = "$2" ]; }
object_absent() { ! timeout "$STEP_TIMEOUT" aws --endpoint-url "$S3_ENDPOINT" s3api head-object --bucket "$B" --key "$1" >/dev/null 2>&1; }
listed() { ls -A "$1" | grep -qxF "$2"; }
not_listed() { ! ls -A "$1" | grep -qxF "$2"; }
same_quietly() { cmp -s "$1" "$2"; }
prefix_empty() { [ "$(aws_count "$B" "$1")" = 0 ]; }

MOUNT_PID=""
mount_bucket() {
    case "$MODE" in
        s3fs)
            printf '%s:%s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$CLIENT_WORK/passwd"
            chmod 600 "$CLIENT_WORK/passwd"
            # -f: stay in the foreground, so this script owns the daemon's pid.
            # stat_cache_expire=1: see changes made through S3 within a second.
            s3fs "$B" "$MNT" -f \
                -o "url=$S3_ENDPOINT" -o use_path_request_style -o "endpoint=${AWS_DEFAULT_REGION:-us-east-1}" \
                -o sigv4 -o "passwd_file=$CLIENT_WORK/passwd" -o multipart_size="$PART_MIB" \
                -o stat_cache_expire=1 -o retries=2 -o connect_timeout=10 -o readwrite_timeout=60 \
                -o dbglevel=info >"$CLIENT_WORK/s3fs.log" 2>&1 &
            MOUNT_PID=$!
            ;;
        rclone)
            unset AWS_CA_BUNDLE # see rclone.sh
            RCLONE_CONFIG="$CLIENT_WORK/rclone.conf" \
            RCLONE_CONFIG_CAIRN_TYPE=s3 RCLONE_CONFIG_CAIRN_PROVIDER=Other \
            RCLONE_CONFIG_CAIRN_ENDPOINT="$S3_ENDPOINT" RCLONE_CONFIG_CAIRN_FORCE_PATH_STYLE=true \
            RCLONE_CONFIG_CAIRN_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" \
            RCLONE_CONFIG_CAIRN_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
            RCLONE_CONFIG_CAIRN_REGION="${AWS_DEFAULT_REGION:-us-east-1}" \
            RCLONE_CONFIG_CAIRN_UPLOAD_CUTOFF="${PART_MIB}M" RCLONE_CONFIG_CAIRN_CHUNK_SIZE="${PART_MIB}M" \
                rclone mount "cairn:$B" "$MNT" --config "$CLIENT_WORK/rclone.conf" \
                --vfs-cache-mode writes --vfs-write-back 0s --cache-dir "$CLIENT_WORK/rclone-cache" \
                --dir-cache-time 1s --poll-interval 0 --attr-timeout 0s \
                --contimeout 10s --timeout 60s -v >"$CLIENT_WORK/rclone-mount.log" 2>&1 &
            MOUNT_PID=$!
            ;;
        *) fail "unknown mount mode $MODE" ;;
    esac
    record_pid "$MOUNT_PID"
    record_mount "$MNT"
    local deadline=$((SECONDS + MOUNT_TIMEOUT))
    until mountpoint -q "$MNT"; do
        if ! kill -0 "$MOUNT_PID" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            tail -n 30 "$CLIENT_WORK"/*.log >&2 || true
            fail "$MODE did not mount $B"
        fi
        sleep 0.2
    done
    echo "ok: $MODE mounted $B at $MNT (pid $MOUNT_PID)"
}

unmount_bucket() {
    run fusermount3 -u "$MNT" || run fusermount -u "$MNT" || fail "could not unmount $MNT"
    local deadline=$((SECONDS + MOUNT_TIMEOUT))
    while kill -0 "$MOUNT_PID" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "$MODE (pid $MOUNT_PID) still running after unmount"
        sleep 0.2
    done
    if mountpoint -q "$MNT"; then fail "$MNT still mounted"; fi
    echo "ok: unmounted, $MODE exited"
}

step "bucket and mount"
awsx s3 mb "s3://$B"
mount_bucket
contains "mount table" "$(grep -F " $MNT " /proc/mounts)" "fuse"

step "write through the mount, read back with aws-cli"
mkdir -p "$MNT/w/dir/sub"
for f in empty.bin small.txt odd.bin big.bin; do cp "$L/$f" "$MNT/w/$f"; done
cp "$L/tree/a.json" "$MNT/w/dir/a.json"
cp "$L/tree/sub/deeper/c.bin" "$MNT/w/dir/sub/c.bin"
cp "$L/tree/with space/ünïcødé + plus.txt" "$MNT/w/dir/ünïcødé + plus.txt"
sync
for f in empty.bin small.txt odd.bin big.bin; do
    eventually "w/$f in S3 with its size" object_has_size "w/$f" "$(stat -c %s "$L/$f")"
    awsx s3 cp "s3://$B/w/$f" "$D/w-$f"
    same "$L/$f" "$D/w-$f"
done
# Multipart; how many parts depends on how the client flushed (s3fs may copy
# ranges it already uploaded with UploadPartCopy), the bytes were checked above.
contains "ETag of w/big.bin (multipart)" \
    "$(awsx s3api head-object --bucket "$B" --key w/big.bin --query ETag --output text)" '-'
eventually "w/dir/sub/c.bin in S3" object_has_size w/dir/sub/c.bin "$(stat -c %s "$L/tree/sub/deeper/c.bin")"
awsx s3 cp "s3://$B/w/dir/sub/c.bin" "$D/c.bin"
same "$L/tree/sub/deeper/c.bin" "$D/c.bin"
eventually "w/dir/ünïcødé + plus.txt in S3" object_has_size "w/dir/ünïcødé + plus.txt" "$(stat -c %s "$L/tree/with space/ünïcødé + plus.txt")"
awsx s3 cp "s3://$B/w/dir/ünïcødé + plus.txt" "$D/unicode.txt"
same "$L/tree/with space/ünïcødé + plus.txt" "$D/unicode.txt"
eventually "w/dir/a.json in S3" object_has_size w/dir/a.json "$(stat -c %s "$L/tree/a.json")"
eq "content type of w/dir/a.json" "$(awsx s3api head-object --bucket "$B" --key w/dir/a.json --query ContentType --output text)" "application/json"

step "list directories through the mount"
eq "ls w" "$(ls -A "$MNT/w" | sort | tr '\n' ' ')" "big.bin dir empty.bin odd.bin small.txt "
eq "ls w/dir" "$(ls -A "$MNT/w/dir" | sort | tr '\n' ' ')" "a.json sub ünïcødé + plus.txt "
eq "ls w/dir/sub" "$(ls -A "$MNT/w/dir/sub" | tr '\n' ' ')" "c.bin "
[ -d "$MNT/w/dir/sub" ] || fail "w/dir/sub is not a directory"
eq "size through stat" "$(stat -c %s "$MNT/w/big.bin")" "$((BIG_MIB * 1024 * 1024))"
listing="$(awsx s3 ls --recursive "s3://$B/w/")"
contains "aws s3 ls of the mount's writes" "$listing" "w/dir/sub/c.bin"
# An empty directory made through the mount stays listed by the mount.
mkdir "$MNT/w/emptydir"
eventually "emptydir listed" listed "$MNT/w" emptydir

step "write with aws-cli, read through the mount"
awsx s3 cp "$L/big.bin" "s3://$B/r/big.bin"
awsx s3 cp "$L/odd.bin" "s3://$B/r/nested/odd.bin"
awsx s3 cp "$L/empty.bin" "s3://$B/r/empty.bin"
awsx s3 cp "$L/small.txt" "s3://$B/r/nested/deeper/small.txt"
eventually "r listed in the mount" listed "$MNT" r
eventually "r/nested/deeper/small.txt listed" listed "$MNT/r/nested/deeper" small.txt
same "$L/big.bin" "$MNT/r/big.bin"
same "$L/odd.bin" "$MNT/r/nested/odd.bin"
same "$L/empty.bin" "$MNT/r/empty.bin"
same "$L/small.txt" "$MNT/r/nested/deeper/small.txt"
eq "ls r" "$(ls -A "$MNT/r" | sort | tr '\n' ' ')" "big.bin empty.bin nested "
# Overwritten in S3: the mount serves the new bytes (once its cache expired).
awsx s3 cp "$L/tree/sub/b.bin" "s3://$B/r/nested/odd.bin"
eventually "r/nested/odd.bin shows the overwrite" same_quietly "$L/tree/sub/b.bin" "$MNT/r/nested/odd.bin"

step "append, truncate, modification time and mode through the mount"
cp "$L/small.txt" "$MNT/w/grow.txt"
printf 'appended line\n' >>"$MNT/w/grow.txt"
cat "$L/small.txt" >"$CLIENT_WORK/grow.expected"
printf 'appended line\n' >>"$CLIENT_WORK/grow.expected"
sync
eventually "appended w/grow.txt in S3" object_has_size w/grow.txt "$(stat -c %s "$CLIENT_WORK/grow.expected")"
awsx s3 cp "s3://$B/w/grow.txt" "$D/grow.txt"
same "$CLIENT_WORK/grow.expected" "$D/grow.txt"
truncate -s 10 "$MNT/w/grow.txt"
sync
eventually "truncated w/grow.txt in S3" object_has_size w/grow.txt 10
awsx s3 cp "s3://$B/w/grow.txt" "$D/truncated.txt"
head -c 10 "$L/small.txt" >"$CLIENT_WORK/truncated.expected"
same "$CLIENT_WORK/truncated.expected" "$D/truncated.txt"
# A new modification time is kept in the object's metadata (s3fs and rclone
# both rewrite it with a copy of the object onto itself).
# (Both times: s3fs, on libfuse 2, never sees a `touch -m`, which leaves the
# access time as it is.)
touch -d "2001-02-03 04:05:06 UTC" "$MNT/w/grow.txt"
meta_of() {
    timeout "$STEP_TIMEOUT" aws --endpoint-url "$S3_ENDPOINT" s3api head-object --bucket "$B" --key w/grow.txt \
        --query "Metadata.$1" --output text 2>/dev/null
}
meta_mtime_is() { [[ "$(meta_of mtime)" == "$1"* ]]; }
eventually "modification time in the object's metadata" meta_mtime_is 981173106
eq "modification time through the mount" "$(stat -c %Y "$MNT/w/grow.txt")" 981173106
if [ "$MODE" = s3fs ]; then
    chmod 640 "$MNT/w/grow.txt"
    meta_mode_is() { [ "$(meta_of mode)" = "$1" ]; }
    eventually "mode in the object's metadata" meta_mode_is $((8#100640))
    sleep 1.5 # s3fs's stat cache (stat_cache_expire=1)
    eq "mode through the mount" "$(stat -c %a "$MNT/w/grow.txt")" 640
fi
awsx s3 cp "s3://$B/w/grow.txt" "$D/touched.txt"
same "$CLIENT_WORK/truncated.expected" "$D/touched.txt"
rm "$MNT/w/grow.txt"

step "rename, overwrite, delete through the mount"
mv "$MNT/w/small.txt" "$MNT/w/dir/renamed.txt"
eventually "w/small.txt gone from S3" object_absent w/small.txt
eventually "w/dir/renamed.txt in S3" object_has_size w/dir/renamed.txt "$(stat -c %s "$L/small.txt")"
awsx s3 cp "s3://$B/w/dir/renamed.txt" "$D/renamed.txt"
same "$L/small.txt" "$D/renamed.txt"
cp "$L/tree/sub/b.bin" "$MNT/w/odd.bin"
sync
eventually "w/odd.bin rewritten in S3" object_has_size w/odd.bin "$(stat -c %s "$L/tree/sub/b.bin")"
awsx s3 cp "s3://$B/w/odd.bin" "$D/rewritten.bin"
same "$L/tree/sub/b.bin" "$D/rewritten.bin"
rm "$MNT/w/big.bin"
eventually "w/big.bin gone from S3" object_absent w/big.bin
not_listed "$MNT/w" big.bin || fail "w/big.bin still listed in the mount"
rm -r "$MNT/w/dir"
eventually "nothing left under w/dir/ in S3" prefix_empty w/dir/
not_listed "$MNT/w" dir || fail "w/dir still listed in the mount"
rmdir "$MNT/w/emptydir"
not_listed "$MNT/w" emptydir || fail "w/emptydir still listed in the mount"
echo "ok: renamed, rewritten and deleted files and directories are gone or changed in S3"

step "delete with aws-cli, gone from the mount"
awsx s3 rm "s3://$B/r/big.bin"
eventually "r/big.bin gone from the mount" not_listed "$MNT/r" big.bin
[ ! -e "$MNT/r/big.bin" ] || fail "r/big.bin can still be opened through the mount"

step "unmount"
unmount_bucket
awsx s3 rb --force "s3://$B"
echo "mount ($MODE): all checks passed"
