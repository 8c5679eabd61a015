"""boto3 against cairn: the calls applications make most.

Bucket create/head/list/delete; put/get/head with metadata and content type;
upload_file/download_file through the transfer manager with a 5 MiB
multipart threshold (so the 20 MiB file goes up in 4 parts and is fetched in
ranged parts); ranged GET; copy_object and the managed copy; paginators for
list_objects_v2 (with and without a delimiter) and list_multipart_uploads;
the low-level multipart calls; delete_objects; a presigned GET and a
presigned PUT fetched with urllib; on a second bucket, versioning: versions,
the list_object_versions paginator, reads by VersionId, a delete marker and
its removal, and emptying the bucket version by version. Every read is
compared byte for byte.
run.sh exports S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, BUCKET
and CLIENT_WORK.
"""

import hashlib
import os
import ssl
import sys
import urllib.request

# This file is named boto3.py: keep its own directory off the import path so
# that `import boto3` finds the library, not this script.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]

import boto3  # noqa: E402
from boto3.s3.transfer import TransferConfig  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

MIB = 1024 * 1024
BIG = 20 * MIB
PART = 5 * MIB
# Bound of one HTTP request to the endpoint (seconds); the script as a whole is bounded by run.sh.
REQUEST_TIMEOUT = 60
PAGE_KEYS = 25

ENDPOINT = os.environ["S3_ENDPOINT"]
BUCKET = os.environ["BUCKET"]
WORK = os.environ["CLIENT_WORK"]

# With `run.sh --tls`, the endpoint is HTTPS under cairn's cluster CA.
CA_BUNDLE = os.environ.get("CAIRN_CA_BUNDLE") or None
# Presigned URLs are fetched with urllib, which trusts the same CA.
URL_CONTEXT = ssl.create_default_context(cafile=CA_BUNDLE) if CA_BUNDLE else None

s3 = boto3.client(
    "s3",
    endpoint_url=ENDPOINT,
    verify=CA_BUNDLE,
    region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    config=Config(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        connect_timeout=REQUEST_TIMEOUT,
        read_timeout=REQUEST_TIMEOUT,
        retries={"max_attempts": 1},
    ),
)
TRANSFER = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4)


def step(msg):
    print(f"--- {msg}", flush=True)


def check(what, actual, expected):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")
    print(f"ok: {what} = {shorten(expected)}", flush=True)


def shorten(value):
    text = repr(value)
    return text if len(text) < 100 else text[:97] + "..."


def sha(data):
    return hashlib.sha256(data).hexdigest()[:12]


def same(what, actual, expected):
    if actual != expected:
        raise AssertionError(f"{what}: {len(actual)} bytes (sha {sha(actual)}), expected {len(expected)} (sha {sha(expected)})")
    print(f"ok: {what} identical ({len(actual)} bytes, sha256 {sha(actual)})", flush=True)


def error_code(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ClientError as err:
        return err.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} succeeded but should have failed")


def get_bytes(key, **kwargs):
    return s3.get_object(Bucket=BUCKET, Key=key, **kwargs)["Body"].read()


def path(name):
    return os.path.join(WORK, name)


def main():
    blobs = {
        "empty": b"",
        "small.txt": b"hello from boto3\n",
        "odd.bin": os.urandom(MIB + 7),
        "big.bin": os.urandom(BIG),
    }

    step("buckets")
    s3.create_bucket(Bucket=BUCKET)
    s3.head_bucket(Bucket=BUCKET)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    check("bucket listed", BUCKET in names, True)
    check("bucket location", s3.get_bucket_location(Bucket=BUCKET).get("LocationConstraint"), None)

    step("put_object/get_object/head_object with metadata")
    for name, data in blobs.items():
        if name == "big.bin":
            continue
        s3.put_object(Bucket=BUCKET, Key=f"put/{name}", Body=data, ContentType="application/x-boto",
                      Metadata={"origin": "boto3", "name": name})
        same(f"get put/{name}", get_bytes(f"put/{name}"), data)
        head = s3.head_object(Bucket=BUCKET, Key=f"put/{name}")
        check(f"size of put/{name}", head["ContentLength"], len(data))
        check(f"content type of put/{name}", head["ContentType"], "application/x-boto")
        check(f"metadata of put/{name}", head["Metadata"], {"origin": "boto3", "name": name})
        check(f"ETag of put/{name}", head["ETag"], '"' + hashlib.md5(data).hexdigest() + '"')
    same("range 10-19", get_bytes("put/odd.bin", Range="bytes=10-19"), blobs["odd.bin"][10:20])
    same("suffix range -5", get_bytes("put/odd.bin", Range="bytes=-5"), blobs["odd.bin"][-5:])
    check("missing key", error_code(s3.get_object, Bucket=BUCKET, Key="put/absent"), "NoSuchKey")

    step("awkward keys")
    awkward = ["odd/a//b", "odd//lead", "odd/trail/", "odd/sp %#?&=+;:,!@$'()[]{}^`|\\\"<>.txt", "odd/ünï/cødé", "odd/..", "odd/./x", "odd/~tilde"]
    for key in awkward:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
        same(f"get {key!r}", get_bytes(key), key.encode())
    check("awkward keys listed (v2)", sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="odd/")["Contents"]), sorted(awkward))
    check("awkward keys listed (v1)", sorted(o["Key"] for o in s3.list_objects(Bucket=BUCKET, Prefix="odd/")["Contents"]), sorted(awkward))
    result = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in awkward]})
    check("awkward keys deleted", sorted(d["Key"] for d in result.get("Deleted", [])), sorted(awkward))
    check("awkward keys left", s3.list_objects_v2(Bucket=BUCKET, Prefix="odd/")["KeyCount"], 0)

    step("upload_file/download_file (multipart through TransferConfig)")
    for name, data in blobs.items():
        with open(path(name), "wb") as f:
            f.write(data)
        s3.upload_file(path(name), BUCKET, f"tm/{name}", Config=TRANSFER,
                       ExtraArgs={"ContentType": "application/octet-stream", "Metadata": {"via": "transfer"}})
        s3.download_file(BUCKET, f"tm/{name}", path(name + ".down"), Config=TRANSFER)
        with open(path(name + ".down"), "rb") as f:
            same(f"download_file tm/{name}", f.read(), data)
    head = s3.head_object(Bucket=BUCKET, Key="tm/big.bin")
    check("multipart ETag suffix of tm/big.bin", head["ETag"].endswith(f'-{BIG // PART}"'), True)
    check("metadata of the multipart upload", head["Metadata"], {"via": "transfer"})
    check("parts of tm/big.bin", s3.head_object(Bucket=BUCKET, Key="tm/big.bin", PartNumber=1).get("PartsCount"), BIG // PART)

    step("copy_object and the managed copy")
    s3.copy_object(Bucket=BUCKET, Key="copy/odd.bin", CopySource={"Bucket": BUCKET, "Key": "put/odd.bin"})
    same("copy_object", get_bytes("copy/odd.bin"), blobs["odd.bin"])
    check("copied metadata", s3.head_object(Bucket=BUCKET, Key="copy/odd.bin")["Metadata"], {"origin": "boto3", "name": "odd.bin"})
    s3.copy_object(Bucket=BUCKET, Key="copy/replaced", CopySource=f"{BUCKET}/put/small.txt",
                   MetadataDirective="REPLACE", Metadata={"new": "yes"}, ContentType="text/plain")
    head = s3.head_object(Bucket=BUCKET, Key="copy/replaced")
    check("replaced metadata", head["Metadata"], {"new": "yes"})
    check("replaced content type", head["ContentType"], "text/plain")
    # Above the multipart threshold the managed copy is made of UploadPartCopy parts.
    s3.copy({"Bucket": BUCKET, "Key": "tm/big.bin"}, BUCKET, "copy/managed", Config=TRANSFER)
    same("managed copy", get_bytes("copy/managed"), blobs["big.bin"])
    check("managed copy is multipart", s3.head_object(Bucket=BUCKET, Key="copy/managed")["ETag"].endswith(f'-{BIG // PART}"'), True)

    step("paginators")
    for i in range(PAGE_KEYS):
        s3.put_object(Bucket=BUCKET, Key=f"page/{i // 10}/k{i:02}", Body=str(i).encode())
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="page/", PaginationConfig={"PageSize": 7}))
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    check("pages of 7", [p["KeyCount"] for p in pages], [7, 7, 7, 4])
    check("keys in order", keys, sorted(f"page/{i // 10}/k{i:02}" for i in range(PAGE_KEYS)))
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="page/", Delimiter="/", PaginationConfig={"PageSize": 2}))
    prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    check("common prefixes over pages", prefixes, ["page/0/", "page/1/", "page/2/"])
    v1 = [o["Key"] for p in s3.get_paginator("list_objects").paginate(Bucket=BUCKET, Prefix="page/1/", PaginationConfig={"PageSize": 3}) for o in p.get("Contents", [])]
    check("ListObjects (v1) pages", v1, [f"page/1/k{i}" for i in range(10, 20)])
    owner = s3.list_buckets()["Owner"]
    check("owner in ListObjectsV2 with FetchOwner", s3.list_objects_v2(Bucket=BUCKET, Prefix="page/", MaxKeys=1, FetchOwner=True)["Contents"][0].get("Owner"), owner)
    check("owner in ListObjectsV2 without FetchOwner", s3.list_objects_v2(Bucket=BUCKET, Prefix="page/", MaxKeys=1)["Contents"][0].get("Owner"), None)
    check("owner in ListObjects (v1)", s3.list_objects(Bucket=BUCKET, Prefix="page/", MaxKeys=1)["Contents"][0].get("Owner"), owner)

    step("conditional requests and versioning status")
    etag = s3.head_object(Bucket=BUCKET, Key="put/small.txt")["ETag"]
    check("head If-None-Match current ETag", error_code(s3.head_object, Bucket=BUCKET, Key="put/small.txt", IfNoneMatch=etag), "304")
    check("get If-Match other ETag", error_code(s3.get_object, Bucket=BUCKET, Key="put/small.txt", IfMatch='"0"'), "PreconditionFailed")
    same("get If-Match current ETag", get_bytes("put/small.txt", IfMatch=etag), blobs["small.txt"])
    check("put If-None-Match * on an existing key", error_code(s3.put_object, Bucket=BUCKET, Key="put/small.txt", Body=b"x", IfNoneMatch="*"), "PreconditionFailed")
    # A bucket that never had versioning enabled reports no Status (what rclone asks before purging).
    check("versioning status", s3.get_bucket_versioning(Bucket=BUCKET).get("Status"), None)

    step("low-level multipart, list_parts, list_multipart_uploads, abort")
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/obj", ContentType="application/x-mp")["UploadId"]
    big = blobs["big.bin"]
    chunks = [big[i:i + PART] for i in range(0, 2 * PART + 3, PART)][:2] + [b"tail"]
    parts = []
    for n, chunk in enumerate(chunks, start=1):
        etag = s3.upload_part(Bucket=BUCKET, Key="mp/obj", UploadId=up, PartNumber=n, Body=chunk)["ETag"]
        parts.append({"PartNumber": n, "ETag": etag})
    listed = s3.list_parts(Bucket=BUCKET, Key="mp/obj", UploadId=up)["Parts"]
    check("listed part sizes", [p["Size"] for p in listed], [len(c) for c in chunks])
    other = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/other")["UploadId"]
    uploads = [u["Key"] for p in s3.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET) for u in p.get("Uploads", [])]
    check("uploads in progress", sorted(uploads), ["mp/obj", "mp/other"])
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp/obj", UploadId=up, MultipartUpload={"Parts": parts})
    same("completed multipart object", get_bytes("mp/obj"), b"".join(chunks))
    check("content type of the multipart object", s3.head_object(Bucket=BUCKET, Key="mp/obj")["ContentType"], "application/x-mp")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp/other", UploadId=other)
    check("uploads after complete and abort", s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []), [])
    check("part of an aborted upload", error_code(s3.list_parts, Bucket=BUCKET, Key="mp/other", UploadId=other), "NoSuchUpload")

    step("presigned GET and PUT with urllib")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "put/odd.bin"}, ExpiresIn=300)
    with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT, context=URL_CONTEXT) as resp:
        same("presigned GET", resp.read(), blobs["odd.bin"])
    url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned/put"}, ExpiresIn=300)
    req = urllib.request.Request(url, data=b"put through a presigned URL", method="PUT")
    with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT, context=URL_CONTEXT) as resp:
        check("presigned PUT status", resp.status, 200)
    same("object written by presigned PUT", get_bytes("presigned/put"), b"put through a presigned URL")

    step("delete_object, delete_objects, delete_bucket")
    s3.delete_object(Bucket=BUCKET, Key="copy/managed")
    check("head of a deleted key", error_code(s3.head_object, Bucket=BUCKET, Key="copy/managed"), "404")
    everything = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET) for o in p.get("Contents", [])]
    result = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in everything + ["never/existed"]]})
    check("deleted count", len(result.get("Deleted", [])), len(everything) + 1)
    check("delete errors", result.get("Errors", []), [])
    check("keys left", s3.list_objects_v2(Bucket=BUCKET)["KeyCount"], 0)
    s3.delete_bucket(Bucket=BUCKET)
    check("head of the deleted bucket", error_code(s3.head_bucket, Bucket=BUCKET), "404")
    versioning(f"{BUCKET}-versions")
    print("boto3: all checks passed")


def versioning(bucket):
    step("versioning: versions, list_object_versions, VersionId reads, delete markers")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    check("versioning status", s3.get_bucket_versioning(Bucket=bucket).get("Status"), "Enabled")
    bodies = [os.urandom(1000 + i) for i in range(3)]
    ids = [s3.put_object(Bucket=bucket, Key="doc", Body=b)["VersionId"] for b in bodies]
    check("distinct version ids", len(set(ids)), 3)
    for vid, body in zip(ids, bodies):
        same(f"get VersionId {vid[:8]}", get_bytes_from(bucket, "doc", VersionId=vid), body)
    same("get of the latest", get_bytes_from(bucket, "doc"), bodies[-1])
    marker = s3.delete_object(Bucket=bucket, Key="doc")
    check("delete made a marker", marker.get("DeleteMarker"), True)
    check("get under the marker", error_code(s3.get_object, Bucket=bucket, Key="doc"), "NoSuchKey")
    listed = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    versions = [v["VersionId"] for p in listed for v in p.get("Versions", [])]
    markers = [m["VersionId"] for p in listed for m in p.get("DeleteMarkers", [])]
    check("versions listed newest first", versions, list(reversed(ids)))
    check("markers listed", markers, [marker["VersionId"]])
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker["VersionId"])
    same("the latest is back", get_bytes_from(bucket, "doc"), bodies[-1])
    objects = [{"Key": "doc", "VersionId": v} for v in ids]
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    check("versions deleted", sorted(d["VersionId"] for d in result.get("Deleted", [])), sorted(ids))
    check("versions left", s3.list_object_versions(Bucket=bucket).get("Versions", []), [])
    s3.delete_bucket(Bucket=bucket)


def get_bytes_from(bucket, key, **kwargs):
    return s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, ClientError) as err:
        print(f"FAILED: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(1)
