#!/usr/bin/env bash
# s3cmd against cairn, with a generated config (path-style, plain HTTP,
# SigV4, 5 MiB multipart chunks): mb, put (single and multipart, with a
# forced MIME type and extra headers), modify, get (and --continue), ls/du,
# sync both ways with --delete-removed, cp/mv inside the bucket, multipart/
# listmp/abortmp, signurl (a SigV2 presigned URL), del, rb. Everything it
# writes is read back byte for byte, and cross-checked with aws-cli.
source "$(dirname "$0")/lib.sh"

B="$BUCKET"
L="$CLIENT_WORK/local"
D="$CLIENT_WORK/down"
mkdir -p "$L" "$D"
make_test_files "$L"

CFG="$CLIENT_WORK/s3cmd.cfg"
cat >"$CFG" <<EOF
[default]
access_key = $AWS_ACCESS_KEY_ID
secret_key = $AWS_SECRET_ACCESS_KEY
host_base = $ENDPOINT_HOSTPORT
host_bucket = $ENDPOINT_HOSTPORT
bucket_location = ${AWS_DEFAULT_REGION:-us-east-1}
use_https = False
signature_v2 = False
multipart_chunk_size_mb = $PART_MIB
progress_meter = False
EOF
s3c() { run s3cmd -c "$CFG" "$@"; }

step "mb, ls"
s3c mb "s3://$B"
contains "s3cmd ls" "$(s3c ls)" "s3://$B"

step "put and get: empty, small, odd-sized, 20 MiB multipart"
for f in empty.bin small.txt odd.bin big.bin; do
    s3c put "$L/$f" "s3://$B/put/$f"
    s3c get "s3://$B/put/$f" "$D/$f"
    same "$L/$f" "$D/$f"
done
contains "ETag of the 20 MiB upload (multipart, 4 parts)" \
    "$(awsx s3api head-object --bucket "$B" --key put/big.bin --query ETag --output text)" "-4"
listing="$(s3c ls "s3://$B/put/")"
echo "$listing"
for f in empty.bin small.txt odd.bin big.bin; do contains "s3cmd ls put/" "$listing" "s3://$B/put/$f"; done
contains "s3cmd ls put/ (size of big.bin)" "$listing" "$((BIG_MIB * 1024 * 1024))  s3://$B/put/big.bin"
contains "s3cmd du" "$(s3c du "s3://$B/put/")" "$((BIG_MIB * 1024 * 1024 + 1024 * 1024 + 7 + 35))"

step "MIME type and headers"
s3c put --mime-type=text/x-s3cmd --add-header=Cache-Control:max-age=30 "$L/small.txt" "s3://$B/meta/small"
head="$(awsx s3api head-object --bucket "$B" --key meta/small --output json)"
contains "head-object" "$head" '"ContentType": "text/x-s3cmd"'
contains "head-object" "$head" '"CacheControl": "max-age=30"'
s3c put --guess-mime-type --no-mime-magic "$L/tree/a.json" "s3://$B/meta/a.json"
eq "guessed content type" "$(awsx s3api head-object --bucket "$B" --key meta/a.json --query ContentType --output text)" "application/json"

s3c modify --mime-type=text/x-modified --add-header=x-amz-meta-colour:green "s3://$B/meta/small"
head="$(awsx s3api head-object --bucket "$B" --key meta/small --output json)"
contains "head-object after s3cmd modify" "$head" '"ContentType": "text/x-modified"'
contains "head-object after s3cmd modify" "$head" '"colour": "green"'
s3c get --force "s3://$B/meta/small" "$D/modified"
same "$L/small.txt" "$D/modified"

step "get --continue (ranged GET of the rest)"
head -c 1000 "$L/odd.bin" >"$D/partial.bin"
s3c get --continue "s3://$B/put/odd.bin" "$D/partial.bin"
same "$L/odd.bin" "$D/partial.bin"

step "sync up, down, and with --delete-removed"
s3c sync "$L/tree/" "s3://$B/sync/"
eq "objects under sync/" "$(aws_count "$B" sync/)" "$TREE_FILES"
s3c sync "s3://$B/sync/" "$D/tree/"
diff -r "$L/tree" "$D/tree" || fail "sync down differs from the tree synced up"
echo "ok: tree identical after sync up and down"
rm "$L/tree/sub/b.bin"
random_file "$L/tree/a.json" 4242
random_file "$L/tree/new/fresh.bin" 12345
s3c sync --delete-removed "$L/tree/" "s3://$B/sync/"
keys="$(awsx s3api list-objects-v2 --bucket "$B" --prefix sync/ --query 'Contents[].Key' --output text)"
lacks "keys after sync --delete-removed" "$keys" "sync/sub/b.bin"
contains "keys after sync --delete-removed" "$keys" "sync/new/fresh.bin"
s3c sync --delete-removed "s3://$B/sync/" "$D/tree/"
diff -r "$L/tree" "$D/tree" || fail "sync --delete-removed down differs"
echo "ok: tree identical after sync --delete-removed up and down"

step "cp, mv, del inside the bucket"
s3c cp "s3://$B/put/odd.bin" "s3://$B/cp/odd.bin"
s3c get "s3://$B/cp/odd.bin" "$D/cp.bin"
same "$L/odd.bin" "$D/cp.bin"
s3c cp "s3://$B/put/big.bin" "s3://$B/cp/big.bin"
awsx s3 cp "s3://$B/cp/big.bin" "$D/cp-big.bin"
same "$L/big.bin" "$D/cp-big.bin"
s3c del "s3://$B/cp/big.bin"
s3c mv "s3://$B/cp/odd.bin" "s3://$B/mv/odd.bin"
eq "objects under cp/ after mv" "$(aws_count "$B" cp/)" 0
awsx s3 cp "s3://$B/mv/odd.bin" "$D/mv.bin"
same "$L/odd.bin" "$D/mv.bin"
s3c del "s3://$B/mv/odd.bin"
eq "objects under mv/ after del" "$(aws_count "$B" mv/)" 0
s3c del --recursive --force "s3://$B/sync/"
eq "objects under sync/ after del --recursive" "$(aws_count "$B" sync/)" 0

step "multipart uploads in progress: multipart, listmp, abortmp"
upload_id="$(awsx s3api create-multipart-upload --bucket "$B" --key mp/pending --query UploadId --output text)"
head -c $((PART_MIB * 1024 * 1024)) "$L/big.bin" >"$CLIENT_WORK/part1"
awsx s3api upload-part --bucket "$B" --key mp/pending --upload-id "$upload_id" --part-number 1 --body "$CLIENT_WORK/part1" >/dev/null
contains "s3cmd multipart" "$(s3c multipart "s3://$B")" "$upload_id"
contains "s3cmd listmp" "$(s3c listmp "s3://$B/mp/pending" "$upload_id")" "$((PART_MIB * 1024 * 1024))"
s3c abortmp "s3://$B/mp/pending" "$upload_id"
lacks "s3cmd multipart after abortmp" "$(s3c multipart "s3://$B")" "$upload_id"

step "signurl (presigned GET)"
url="$(s3c signurl "s3://$B/put/odd.bin" +300)"
run curl -fsS -o "$D/signed.bin" "$url"
same "$L/odd.bin" "$D/signed.bin"

step "rb"
s3c del --recursive --force "s3://$B"
s3c rb "s3://$B"
lacks "s3cmd ls" "$(s3c ls)" "s3://$B"
echo "s3cmd: all checks passed"
