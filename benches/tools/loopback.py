#!/usr/bin/env python3
"""Loopback TCP bandwidth of this machine: one sender and one receiver
process on 127.0.0.1 move data for a fixed time through one connection.
Prints one JSON object: {"bytes": N, "secs": S, "mib_per_sec": X}.

Usage: loopback.py [SECONDS]   (default 3)
Stdlib only; the sender writes 1 MiB buffers, the receiver reads into a
preallocated buffer, so the figure is what the kernel's loopback path and
two processes can do, not Python's allocator.
"""
import json
import multiprocessing
import socket
import sys
import time

BUFFER = 1 << 20  # bytes per send/recv call
DEFAULT_SECONDS = 3.0


def sender(port, seconds):
    payload = b"\xa5" * BUFFER
    with socket.create_connection(("127.0.0.1", port)) as s:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            s.sendall(payload)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SECONDS
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    proc = multiprocessing.Process(target=sender, args=(port, seconds))
    proc.start()
    conn, _ = listener.accept()
    buf = bytearray(BUFFER)
    view = memoryview(buf)
    total = 0
    start = time.monotonic()
    while True:
        n = conn.recv_into(view)
        if n == 0:
            break
        total += n
    secs = time.monotonic() - start
    proc.join()
    print(json.dumps({"bytes": total, "secs": secs, "mib_per_sec": total / secs / (1 << 20)}))


if __name__ == "__main__":
    main()
