#!/usr/bin/env bash
# rclone against cairn (remote configured through RCLONE_CONFIG_* variables:
# provider Other, path style; upload cutoff and chunk size 5 MiB so the
# 20 MiB file goes up in parts): mkdir, copy, check (size + MD5, and
# --download byte for byte) reporting 0 differences, sync (a changed tree,
# with deletions, and a second sync that copies nothing), lsf/lsjson/size,
# copyto/moveto/cat, delete/deletefile/purge, rmdir. What rclone wrote is
# cross-checked with aws-cli.
source "$(dirname "$0")/lib.sh"

B="$BUCKET"
L="$CLIENT_WORK/local"
D="$CLIENT_WORK/down"
mkdir -p "$L" "$D"
make_test_files "$L"
cp "$L"/{empty.bin,small.txt,odd.bin,big.bin} "$L/tree/"

: >"$CLIENT_WORK/rclone.conf"
export RCLONE_CONFIG="$CLIENT_WORK/rclone.conf"
export RCLONE_CONFIG_CAIRN_TYPE=s3
export RCLONE_CONFIG_CAIRN_PROVIDER=Other
export RCLONE_CONFIG_CAIRN_ENDPOINT="$S3_ENDPOINT"
export RCLONE_CONFIG_CAIRN_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID"
export RCLONE_CONFIG_CAIRN_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
export RCLONE_CONFIG_CAIRN_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export RCLONE_CONFIG_CAIRN_FORCE_PATH_STYLE=true
export RCLONE_CONFIG_CAIRN_UPLOAD_CUTOFF="${PART_MIB}M"
export RCLONE_CONFIG_CAIRN_CHUNK_SIZE="${PART_MIB}M"
# rclone 1.60's AWS SDK refuses to start when AWS_CA_BUNDLE is set ("unable to
# load custom CA bundle, HTTPClient's transport unsupported type"); the
# endpoint is plain HTTP, so no CA bundle is needed.
unset AWS_CA_BUNDLE
rc() { run rclone --retries 1 --low-level-retries 2 --contimeout 10s --timeout 60s "$@"; }

# check_clean SRC DST [FLAGS]: rclone check must find 0 differences.
check_clean() {
    local out
    out="$(rc check "$@" 2>&1)" || { echo "$out"; fail "rclone check $* found differences"; }
    echo "$out"
    contains "rclone check $*" "$out" "0 differences found"
}

step "mkdir"
rc mkdir "cairn:$B"
contains "rclone lsd" "$(rc lsd cairn:)" " $B"

step "copy a tree (empty, small, odd-sized, 20 MiB multipart, nested, unicode)"
rc copy "$L/tree" "cairn:$B/copy"
FILES=$((TREE_FILES + 4))
eq "objects under copy/" "$(aws_count "$B" copy/)" "$FILES"
contains "ETag of the 20 MiB upload (multipart, 4 parts)" \
    "$(awsx s3api head-object --bucket "$B" --key copy/big.bin --query ETag --output text)" "-4"
check_clean "$L/tree" "cairn:$B/copy"
check_clean "$L/tree" "cairn:$B/copy" --download
for f in empty.bin small.txt odd.bin big.bin "with space/ünïcødé + plus.txt"; do
    awsx s3 cp "s3://$B/copy/$f" "$D/aws/$f"
    same "$L/tree/$f" "$D/aws/$f"
done
rc copy "cairn:$B/copy" "$D/tree"
diff -r "$L/tree" "$D/tree" || fail "tree copied down differs"
echo "ok: tree identical after copy up and down"

step "lsf, lsjson, size"
lsf="$(rc lsf -R "cairn:$B/copy")"
echo "$lsf"
for f in empty.bin small.txt odd.bin big.bin a.json sub/ sub/b.bin sub/deeper/c.bin "with space/ünïcødé + plus.txt" "special %#&=;,!@\$'()[]~ chars.txt"; do
    grep -qxF "$f" <<<"$lsf" || fail "rclone lsf lacks $f"
done
echo "ok: lsf lists every file and directory"
eq "size of big.bin in lsf" "$(rc lsf --format sp "cairn:$B/copy" | grep -F ';big.bin')" "$((BIG_MIB * 1024 * 1024));big.bin"
contains "lsjson" "$(rc lsjson "cairn:$B/copy/small.txt")" '"Size":35'
contains "rclone size" "$(rc size "cairn:$B/copy")" "Total objects: $FILES"
for v in 1 2; do
    eq "lsf with ListObjects v$v" "$(rc lsf -R --s3-list-version "$v" "cairn:$B/copy" | sort)" "$(sort <<<"$lsf")"
done
contains "md5sum" "$(rc md5sum "cairn:$B/copy/odd.bin")" "$(md5sum <"$L/odd.bin" | cut -d' ' -f1)"

step "touch an existing object (modification time replaced by a copy onto itself)"
rc touch -t 2001-02-03T04:05:06 "cairn:$B/copy/small.txt"
contains "lsl after touch" "$(rc lsl "cairn:$B/copy/small.txt")" "2001-02-03 04:05:06"
rc cat "cairn:$B/copy/small.txt" >"$D/touched.txt"
same "$L/small.txt" "$D/touched.txt"

step "rcat: streaming upload of unknown size (multipart)"
rc rcat "cairn:$B/stream/big.bin" <"$L/big.bin"
contains "ETag of the streamed upload (multipart)" \
    "$(awsx s3api head-object --bucket "$B" --key stream/big.bin --query ETag --output text)" "-"
awsx s3 cp "s3://$B/stream/big.bin" "$D/rcat.bin"
same "$L/big.bin" "$D/rcat.bin"
rc deletefile "cairn:$B/stream/big.bin"

step "sync a changed tree (removed, rewritten, added), then sync again"
rm "$L/tree/sub/b.bin"
random_file "$L/tree/a.json" 4242
random_file "$L/tree/new/fresh.bin" 12345
rc sync "$L/tree" "cairn:$B/copy"
check_clean "$L/tree" "cairn:$B/copy"
check_clean "$L/tree" "cairn:$B/copy" --download
eq "objects named copy/sub/b.bin after sync" "$(aws_count "$B" copy/sub/b.bin)" 0
again="$(rc sync -v "$L/tree" "cairn:$B/copy" 2>&1)"
echo "$again"
lacks "second sync of an unchanged tree" "$again" "Copied"
rc sync "cairn:$B/copy" "$D/tree"
diff -r "$L/tree" "$D/tree" || fail "sync down differs"
echo "ok: tree identical after sync down"

step "a directory of more files than one listing page"
MANY=1050
mkdir -p "$L/many"
for i in $(seq 1 "$MANY"); do echo "$i" >"$L/many/f$i"; done
rc copy --transfers 8 "$L/many" "cairn:$B/many"
for v in 1 2; do
    eq "files listed with ListObjects v$v" "$(rc lsf --s3-list-version "$v" "cairn:$B/many" | wc -l)" "$MANY"
done
check_clean "$L/many" "cairn:$B/many"
rc purge "cairn:$B/many"
eq "objects under many/ after purge" "$(aws_count "$B" many/)" 0

step "presigned requests: rclone link, --s3-use-presigned-request"
url="$(rc link --expire 1h "cairn:$B/copy/a.json")"
run curl -fsS -o "$D/link.json" "$url"
same "$L/tree/a.json" "$D/link.json"
rc copyto --s3-use-presigned-request "$L/odd.bin" "cairn:$B/presigned/odd.bin"
awsx s3 cp "s3://$B/presigned/odd.bin" "$D/presigned.bin"
same "$L/odd.bin" "$D/presigned.bin"
rc deletefile "cairn:$B/presigned/odd.bin"

step "pending multipart uploads: backend list-multipart-uploads, backend cleanup"
upload_id="$(awsx s3api create-multipart-upload --bucket "$B" --key pending/upload --query UploadId --output text)"
contains "rclone backend list-multipart-uploads" "$(rc backend list-multipart-uploads "cairn:$B")" "$upload_id"
rc backend cleanup -o max-age=0s "cairn:$B"
eq "uploads in progress after rclone cleanup" \
    "$(awsx s3api list-multipart-uploads --bucket "$B" --query 'length(Uploads || `[]`)' --output text)" 0

step "copyto, moveto (server-side), cat"
rc copyto "$L/odd.bin" "cairn:$B/single/odd.bin"
rc moveto "cairn:$B/single/odd.bin" "cairn:$B/single/moved.bin"
eq "objects named single/odd.bin after moveto" "$(aws_count "$B" single/odd.bin)" 0
rc cat "cairn:$B/single/moved.bin" >"$D/cat.bin"
same "$L/odd.bin" "$D/cat.bin"

step "deletefile, delete, purge, rmdir"
rc deletefile "cairn:$B/single/moved.bin"
eq "objects under single/" "$(aws_count "$B" single/)" 0
rc delete --include '*.bin' "cairn:$B/copy"
eq "objects named *.bin left" "$(awsx s3api list-objects-v2 --bucket "$B" --query "length(Contents[?ends_with(Key, '.bin')] || \`[]\`)" --output text)" 0
contains "files left after delete --include *.bin" "$(rc lsf -R "cairn:$B/copy")" "a.json"
purge="$(rc purge -v "cairn:$B/copy" 2>&1)"
echo "$purge"
lacks "rclone purge log" "$purge" "ERROR"
eq "objects left" "$(aws_count "$B")" 0
rc rmdir "cairn:$B"
if awsx s3api head-bucket --bucket "$B" 2>/dev/null; then fail "bucket still there after rmdir"; fi
echo "rclone: all checks passed"
