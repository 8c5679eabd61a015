#!/usr/bin/env bash
# aws-cli against cairn: the high-level `s3` commands (cp, ls, mv, rm, sync
# both ways with --delete, presign) and the low-level `s3api` calls (put, get,
# head, list-objects-v2 with paging, copy, delete-objects, a multipart
# upload call by call, and versioning on a second bucket). Multipart threshold and part size are 5 MiB, so the
# 20 MiB file goes up in 4 parts.
source "$(dirname "$0")/lib.sh"

B="$BUCKET"
L="$CLIENT_WORK/local"
D="$CLIENT_WORK/down"
mkdir -p "$L" "$D"
make_test_files "$L"

step "make bucket"
awsx s3 mb "s3://$B"
contains "s3 ls" "$(awsx s3 ls)" "$B"

step "s3 cp up and down: empty, small, odd-sized, 20 MiB multipart"
for f in empty.bin small.txt odd.bin big.bin; do
    awsx s3 cp "$L/$f" "s3://$B/cp/$f"
    awsx s3 cp "s3://$B/cp/$f" "$D/$f"
    same "$L/$f" "$D/$f"
done
etag="$(awsx s3api head-object --bucket "$B" --key cp/big.bin --query ETag --output text)"
contains "ETag of the 20 MiB upload (multipart, 4 parts)" "$etag" "-4"
etag="$(awsx s3api head-object --bucket "$B" --key cp/small.txt --query ETag --output text)"
eq "ETag of small.txt" "$etag" "\"$(md5sum <"$L/small.txt" | cut -d' ' -f1)\""
size="$(awsx s3api head-object --bucket "$B" --key cp/empty.bin --query ContentLength --output text)"
eq "size of empty.bin" "$size" "0"

step "content type and metadata"
awsx s3 cp "$L/tree/a.json" "s3://$B/meta/guessed.json"
eq "guessed content type" "$(awsx s3api head-object --bucket "$B" --key meta/guessed.json --query ContentType --output text)" "application/json"
awsx s3 cp "$L/small.txt" "s3://$B/meta/explicit" --content-type "text/x-cairn" --metadata colour=blue,shape=round \
    --cache-control "max-age=60" --content-disposition 'attachment; filename="x.txt"'
head="$(awsx s3api head-object --bucket "$B" --key meta/explicit --output json)"
contains "head-object" "$head" '"ContentType": "text/x-cairn"'
contains "head-object" "$head" '"colour": "blue"'
contains "head-object" "$head" '"shape": "round"'
contains "head-object" "$head" '"CacheControl": "max-age=60"'
contains "head-object" "$head" 'attachment; filename=\"x.txt\"'

# Copying an object onto itself with new metadata (what `touch`-like tools do).
awsx s3 cp "s3://$B/meta/explicit" "s3://$B/meta/explicit" --metadata-directive REPLACE \
    --content-type text/x-replaced --metadata colour=red
head="$(awsx s3api head-object --bucket "$B" --key meta/explicit --output json)"
contains "head-object after copy onto itself" "$head" '"ContentType": "text/x-replaced"'
contains "head-object after copy onto itself" "$head" '"colour": "red"'
lacks "head-object after copy onto itself" "$head" '"shape"'
awsx s3 cp "s3://$B/meta/explicit" "$D/explicit"
same "$L/small.txt" "$D/explicit"

step "streaming from stdin (multipart of unknown size) and to stdout"
awsx s3 cp - "s3://$B/stream/big.bin" <"$L/big.bin"
contains "ETag of the streamed upload (multipart)" \
    "$(awsx s3api head-object --bucket "$B" --key stream/big.bin --query ETag --output text)" "-"
awsx s3 cp "s3://$B/stream/big.bin" - >"$D/streamed.bin"
same "$L/big.bin" "$D/streamed.bin"
awsx s3 rm "s3://$B/stream/big.bin"

step "s3 ls"
listing="$(awsx s3 ls "s3://$B/cp/")"
echo "$listing"
for f in empty.bin small.txt odd.bin big.bin; do contains "s3 ls cp/" "$listing" " $f"; done
contains "s3 ls cp/ (size of big.bin)" "$listing" " $((BIG_MIB * 1024 * 1024)) big.bin"
top="$(awsx s3 ls "s3://$B/")"
contains "s3 ls (prefixes)" "$top" "PRE cp/"
contains "s3 ls (prefixes)" "$top" "PRE meta/"
eq "objects under cp/" "$(aws_count "$B" cp/)" 4
summary="$(awsx s3 ls --recursive --summarize "s3://$B/cp/")"
contains "s3 ls --summarize" "$summary" "Total Objects: 4"
contains "s3 ls --summarize" "$summary" "Total Size: $((BIG_MIB * 1024 * 1024 + 1024 * 1024 + 7 + 35))"

step "s3 mv: local to S3, S3 to S3, S3 to local"
cp "$L/odd.bin" "$CLIENT_WORK/moving.bin"
awsx s3 mv "$CLIENT_WORK/moving.bin" "s3://$B/mv/one.bin"
[ ! -e "$CLIENT_WORK/moving.bin" ] || fail "s3 mv left the local file"
awsx s3 mv "s3://$B/mv/one.bin" "s3://$B/mv/two.bin"
eq "objects named mv/one.bin after mv" "$(aws_count "$B" mv/one.bin)" 0
# The 20 MiB object is above the multipart threshold: aws-cli moves it inside
# S3 in parts (CreateMultipartUpload, UploadPartCopy, Complete).
awsx s3 mv "s3://$B/cp/big.bin" "s3://$B/mv/big.bin"
eq "objects named cp/big.bin after mv" "$(aws_count "$B" cp/big.bin)" 0
awsx s3 cp "s3://$B/mv/big.bin" "$D/mv-big.bin"
same "$L/big.bin" "$D/mv-big.bin"
awsx s3 mv "s3://$B/mv/big.bin" "s3://$B/cp/big.bin"
awsx s3 mv "s3://$B/mv/two.bin" "$D/moved.bin"
same "$L/odd.bin" "$D/moved.bin"
eq "objects under mv/ after moving back" "$(aws_count "$B" mv/)" 0

step "s3 sync up, down, and again with --delete both ways"
awsx s3 sync "$L/tree" "s3://$B/sync"
eq "objects under sync/" "$(aws_count "$B" sync/)" "$TREE_FILES"
awsx s3 sync "s3://$B/sync" "$D/tree"
diff -r "$L/tree" "$D/tree" || fail "sync down differs from the tree synced up"
echo "ok: tree identical after sync up and down"
again="$(awsx s3 sync "$L/tree" "s3://$B/sync")"
eq "second sync up of an unchanged tree transfers" "$again" ""
again="$(awsx s3 sync "s3://$B/sync" "$D/tree")"
eq "second sync down of an unchanged tree transfers" "$again" ""
# Change the local tree: one file removed, one rewritten (other size), one added.
rm "$L/tree/sub/b.bin"
random_file "$L/tree/a.json" 4242
random_file "$L/tree/new/fresh.bin" 12345
awsx s3 sync --delete "$L/tree" "s3://$B/sync"
keys="$(awsx s3api list-objects-v2 --bucket "$B" --prefix sync/ --query 'Contents[].Key' --output text)"
lacks "keys after sync --delete" "$keys" "sync/sub/b.bin"
contains "keys after sync --delete" "$keys" "sync/new/fresh.bin"
awsx s3 sync --delete "s3://$B/sync" "$D/tree"
diff -r "$L/tree" "$D/tree" || fail "sync --delete down differs"
echo "ok: tree identical after sync --delete up and down"
# Delete on the S3 side; sync --delete down must remove the local copy.
awsx s3 rm "s3://$B/sync/new/fresh.bin"
awsx s3 sync --delete "s3://$B/sync" "$D/tree"
[ ! -e "$D/tree/new/fresh.bin" ] || fail "sync --delete down kept a file deleted in S3"
echo "ok: sync --delete down removed the deleted object's file"

step "s3api put/get/head/list-objects-v2/copy/delete"
awsx s3api put-object --bucket "$B" --key "api/obj with space+plus" --body "$L/odd.bin" \
    --content-type application/x-test --metadata origin=s3api >/dev/null
awsx s3api get-object --bucket "$B" --key "api/obj with space+plus" "$D/api.bin" >"$CLIENT_WORK/get.json"
same "$L/odd.bin" "$D/api.bin"
contains "get-object" "$(cat "$CLIENT_WORK/get.json")" '"ContentType": "application/x-test"'
contains "get-object" "$(cat "$CLIENT_WORK/get.json")" '"origin": "s3api"'
awsx s3api get-object --bucket "$B" --key "api/obj with space+plus" --range bytes=100-199 "$D/range.bin" >/dev/null
dd if="$L/odd.bin" of="$CLIENT_WORK/range.expected" bs=100 skip=1 count=1 status=none
same "$CLIENT_WORK/range.expected" "$D/range.bin"
awsx s3api copy-object --bucket "$B" --key api/copy --copy-source "$B/api/obj with space+plus" >/dev/null
awsx s3api get-object --bucket "$B" --key api/copy "$D/copy.bin" >/dev/null
same "$L/odd.bin" "$D/copy.bin"
for i in $(seq 1 7); do
    printf '%s' "$i" >"$CLIENT_WORK/k$i"
    awsx s3api put-object --bucket "$B" --key "page/k$i" --body "$CLIENT_WORK/k$i" >/dev/null
done
# Paging: 7 keys in pages of 2, walked by the CLI's paginator.
# (aws-cli 1.x applies --query to each page: one line per page)
pages="$(awsx s3api list-objects-v2 --bucket "$B" --prefix page/ --page-size 2 --query 'length(Contents)' --output text)"
eq "page sizes listing 7 keys in pages of 2" "${pages//$'\n'/ }" "2 2 2 1"
eq "first page of max-keys 2" "$(awsx s3api list-objects-v2 --bucket "$B" --prefix page/ --max-keys 2 --no-paginate --query '[KeyCount, IsTruncated]' --output text)" "$(printf '2\tTrue')"
eq "delimiter" "$(awsx s3api list-objects-v2 --bucket "$B" --delimiter / --query 'CommonPrefixes[].Prefix' --output text)" "$(printf 'api/\tcp/\tmeta/\tpage/\tsync/')"
awsx s3api delete-objects --bucket "$B" --delete '{"Objects":[{"Key":"page/k1"},{"Key":"page/k2"},{"Key":"page/absent"}]}' >/dev/null
eq "keys left under page/" "$(aws_count "$B" page/)" 5
awsx s3api delete-object --bucket "$B" --key api/copy
if awsx s3api head-object --bucket "$B" --key api/copy 2>"$CLIENT_WORK/head.err"; then fail "head-object of a deleted key succeeded"; fi
contains "head of a deleted key" "$(cat "$CLIENT_WORK/head.err")" "404"

step "s3api multipart upload, call by call"
split -b $((PART_MIB * 1024 * 1024)) -d "$L/big.bin" "$CLIENT_WORK/part."
upload_id="$(awsx s3api create-multipart-upload --bucket "$B" --key mp/big.bin --content-type application/x-big --query UploadId --output text)"
eq "uploads in progress" "$(awsx s3api list-multipart-uploads --bucket "$B" --query 'Uploads[].Key' --output text)" "mp/big.bin"
parts='{"Parts":['
n=0
for p in "$CLIENT_WORK"/part.*; do
    n=$((n + 1))
    etag="$(awsx s3api upload-part --bucket "$B" --key mp/big.bin --upload-id "$upload_id" --part-number "$n" --body "$p" --query ETag --output text)"
    eq "ETag of part $n" "$etag" "\"$(md5sum <"$p" | cut -d' ' -f1)\""
    [ "$n" -gt 1 ] && parts+=','
    parts+="{\"PartNumber\":$n,\"ETag\":$etag}"
done
parts+=']}'
eq "parts listed" "$(awsx s3api list-parts --bucket "$B" --key mp/big.bin --upload-id "$upload_id" --query 'length(Parts)' --output text)" "$n"
awsx s3api complete-multipart-upload --bucket "$B" --key mp/big.bin --upload-id "$upload_id" --multipart-upload "$parts" >/dev/null
awsx s3api get-object --bucket "$B" --key mp/big.bin "$D/mp.bin" >"$CLIENT_WORK/mp.json"
same "$L/big.bin" "$D/mp.bin"
contains "multipart object" "$(cat "$CLIENT_WORK/mp.json")" '"ContentType": "application/x-big"'
contains "multipart ETag" "$(cat "$CLIENT_WORK/mp.json")" "-$n"
awsx s3api get-object --bucket "$B" --key mp/big.bin --part-number 2 "$D/part2.bin" >/dev/null
same "$CLIENT_WORK/part.01" "$D/part2.bin"
abort_id="$(awsx s3api create-multipart-upload --bucket "$B" --key mp/aborted --query UploadId --output text)"
awsx s3api upload-part --bucket "$B" --key mp/aborted --upload-id "$abort_id" --part-number 1 --body "$CLIENT_WORK/part.00" >/dev/null
awsx s3api abort-multipart-upload --bucket "$B" --key mp/aborted --upload-id "$abort_id"
eq "uploads in progress after complete and abort" "$(awsx s3api list-multipart-uploads --bucket "$B" --query 'length(Uploads || `[]`)' --output text)" 0
eq "objects named mp/aborted" "$(aws_count "$B" mp/aborted)" 0

step "s3api versioning: put-bucket-versioning, list-object-versions, get by version id"
VB="$B-versions"
awsx s3api create-bucket --bucket "$VB" >/dev/null
awsx s3api put-bucket-versioning --bucket "$VB" --versioning-configuration Status=Enabled
eq "versioning status" "$(awsx s3api get-bucket-versioning --bucket "$VB" --query Status --output text)" "Enabled"
v1="$(awsx s3api put-object --bucket "$VB" --key doc --body "$L/small.txt" --query VersionId --output text)"
v2="$(awsx s3api put-object --bucket "$VB" --key doc --body "$L/odd.bin" --query VersionId --output text)"
awsx s3api get-object --bucket "$VB" --key doc --version-id "$v1" "$D/v1" >/dev/null
same "$L/small.txt" "$D/v1"
eq "versions newest first" "$(awsx s3api list-object-versions --bucket "$VB" --query 'Versions[].VersionId' --output text)" "$(printf '%s\t%s' "$v2" "$v1")"
awsx s3 rm "s3://$VB/doc"
eq "a delete marker is latest" "$(awsx s3api list-object-versions --bucket "$VB" --query 'DeleteMarkers[].IsLatest' --output text)" "True"
for v in $(awsx s3api list-object-versions --bucket "$VB" --query '[Versions[].VersionId, DeleteMarkers[].VersionId][]' --output text); do
    awsx s3api delete-object --bucket "$VB" --key doc --version-id "$v" >/dev/null
done
awsx s3api delete-bucket --bucket "$VB"

step "presigned GET"
url="$(awsx s3 presign "s3://$B/cp/odd.bin" --expires-in 300)"
# Over HTTPS (run.sh --tls) curl trusts cairn's CA, as aws-cli does through AWS_CA_BUNDLE.
run curl -fsS ${CAIRN_CA_BUNDLE:+--cacert "$CAIRN_CA_BUNDLE"} -o "$D/presigned.bin" "$url"
same "$L/odd.bin" "$D/presigned.bin"

step "s3 rm, s3 rm --recursive, rb"
awsx s3 rm "s3://$B/cp/small.txt"
eq "objects named cp/small.txt" "$(aws_count "$B" cp/small.txt)" 0
awsx s3 rm --recursive "s3://$B/sync"
eq "objects under sync/" "$(aws_count "$B" sync/)" 0
awsx s3 rb --force "s3://$B"
if awsx s3api head-bucket --bucket "$B" 2>/dev/null; then fail "bucket still there after rb"; fi
lacks "s3 ls" "$(awsx s3 ls)" "$B"
echo "aws-cli: all checks passed"
