#!/usr/bin/env python3
"""Stalled GET readers: opens COUNT connections to a cairn S3 endpoint, sends
a presigned GET of BUCKET/KEY on each with a tiny receive buffer, and never
reads the answer, holding the connections for SECONDS (or until killed).
Used by benches/slow-clients.sh; needs botocore (for the presigned URL).

    stalled_readers.py ENDPOINT BUCKET KEY COUNT SECONDS
    (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment)
"""
import os
import socket
import sys
import time
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config

RCVBUF = 4096          # bytes the stalled readers ask the kernel to buffer
PRESIGN_SECS = 3600    # validity of the presigned URL


def main():
    endpoint, bucket, key, count, seconds = sys.argv[1:6]
    s3 = botocore.session.get_session().create_client(
        "s3",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    url = urlsplit(s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=PRESIGN_SECS))
    target = url.path + ("?" + url.query if url.query else "")
    socks = []
    for _ in range(int(count)):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        s.connect((url.hostname, url.port))
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode())
        socks.append(s)
    print(f"stalled {len(socks)} GETs of {bucket}/{key}", flush=True)
    time.sleep(float(seconds))
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
