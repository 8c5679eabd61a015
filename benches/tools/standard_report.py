#!/usr/bin/env python3
"""Turns the files benches/run-standard.sh wrote into OUTDIR into
report.md (tables), report.json (the same numbers for scripts) and
summary.svg (throughput of every workload on disk and tmpfs beside the
machine's limits). Stdlib only.

Usage: standard_report.py OUTDIR
"""
import html
import json
import os
import sys

BACKENDS = ["disk", "tmpfs"]
# (tag, what it measures, main metric)
WORKLOADS = [
    ("put-1MiB", "PUT 1 MiB objects", "mib_per_sec"),
    ("get-1MiB", "GET 1 MiB objects", "mib_per_sec"),
    ("put-64MiB", "PUT 64 MiB objects", "mib_per_sec"),
    ("get-64MiB", "GET 64 MiB objects", "mib_per_sec"),
    ("put-4KiB", "PUT 4 KiB objects", "ops_per_sec"),
    ("get-4KiB", "GET 4 KiB objects", "ops_per_sec"),
    ("list", "ListObjectsV2, 1000 keys a page", "entries_per_sec"),
]
UNITS = {"mib_per_sec": "MiB/s", "ops_per_sec": "ops/s", "entries_per_sec": "entries/s"}


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    out = sys.argv[1]
    machine = load(os.path.join(out, "machine.json"))
    results = {}
    for backend in BACKENDS:
        server_file = os.path.join(out, f"{backend}-server.json")
        entry = {"server": load(server_file) if os.path.exists(server_file) else None, "workloads": {}}
        for tag, what, metric in WORKLOADS:
            path = os.path.join(out, f"{backend}-{tag}.json")
            if not os.path.exists(path):
                continue
            r = load(path)
            main_op = r["operations"].get("list" if tag == "list" else tag.split("-")[0], r["total"])
            entry["workloads"][tag] = {
                "what": what,
                "concurrency": r["concurrency"],
                "duration_secs": r["duration_secs"],
                "ops": main_op["ops"],
                "ops_per_sec": main_op["ops_per_sec"],
                "mib_per_sec": main_op["mib_per_sec"],
                "entries_per_sec": main_op["entries_per_sec"],
                "p50_ms": main_op["latency_ms"]["p50"],
                "p99_ms": main_op["latency_ms"]["p99"],
                "max_ms": main_op["latency_ms"]["max"],
                "errors": sum(r["errors"].values()),
                "metric": metric,
            }
        results[backend] = entry
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump({"machine": machine, "results": results}, f, indent=2)
        f.write("\n")
    write_markdown(out, machine, results)
    write_svg(out, machine, results)


def fmt(x, digits=1):
    return f"{x:,.{digits}f}"


def write_markdown(out, machine, results):
    d, t, lo = machine["disk"], machine["tmpfs"], machine["loopback_tcp"]
    lines = [
        "# cairn standard benchmark",
        "",
        f"Machine: {machine['cpus']} CPUs, {machine['mem_total_kib'] // 1024} MiB RAM, Linux {machine['kernel']}.",
        "Client (`cairn bench`) and `cairn server` (one process: meta, one storage node, gateway) share the machine.",
        "MiB/s = 2^20 bytes per second; latencies in milliseconds. See benches/README.md for what each number means.",
        "",
        "## Machine limits",
        "",
        "| limit | disk | tmpfs |",
        "| --- | ---: | ---: |",
        f"| sequential write, 1 MiB blocks, fsync'd (MiB/s) | {fmt(d['seq_write_mib_per_sec'])} | {fmt(t['seq_write_mib_per_sec'])} |",
        f"| 4 KiB writes, each fsync'd (writes/s, one writer) | {fmt(d['sync_4k_writes_per_sec'], 0)} | {fmt(t['sync_4k_writes_per_sec'], 0)} |",
        f"| loopback TCP, one connection (MiB/s) | {fmt(lo['mib_per_sec'])} | |",
        "",
        "## cairn server",
        "",
        "| workload | workers | disk | disk p50 / p99 ms | tmpfs | tmpfs p50 / p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for tag, what, metric in WORKLOADS:
        cells = []
        errors = 0
        workers = ""
        for backend in BACKENDS:
            w = results[backend]["workloads"].get(tag)
            if w is None:
                cells += ["-", "-"]
                continue
            workers = str(w["concurrency"])
            errors += w["errors"]
            cells.append(f"{fmt(w[metric])} {UNITS[metric]}")
            cells.append(f"{fmt(w['p50_ms'], 2)} / {fmt(w['p99_ms'], 2)}")
        lines.append(f"| {what} | {workers} | " + " | ".join(cells) + f" | {errors} |")
    rss = []
    for backend in BACKENDS:
        s = results[backend]["server"]
        rss.append(f"{s['peak_rss_kib'] // 1024} MiB" if s else "-")
    lines.append(f"| peak RSS of the server (VmHWM) | | {rss[0]} | | {rss[1]} | | |")
    lines += ["", "## Plots", ""]
    lines.append("`summary.svg`: every workload's main rate on disk and tmpfs. Per run, throughput and latency over time:")
    lines.append("")
    for backend in BACKENDS:
        for tag, _, _ in WORKLOADS:
            if tag in results[backend]["workloads"]:
                lines.append(f"- [{backend} {tag}]({backend}-{tag}.svg) (summary: `{backend}-{tag}.txt`)")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def write_svg(out, machine, results):
    """One horizontal bar per workload and backend, scaled per unit."""
    width, row, left, label_w = 960, 22, 300, 120
    rows = []
    for tag, what, metric in WORKLOADS:
        for backend in BACKENDS:
            w = results[backend]["workloads"].get(tag)
            if w is not None:
                rows.append((f"{what} ({backend})", w[metric], metric, backend))
    height = 60 + row * len(rows) + 60
    peak = {}
    for _, value, metric, _ in rows:
        peak[metric] = max(peak.get(metric, 0.0), value)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        '<text x="10" y="24" font-size="16">cairn server: standard workloads (bar length relative to the best of the same unit)</text>',
    ]
    bar_max = width - left - label_w - 20
    for i, (label, value, metric, backend) in enumerate(rows):
        y = 50 + i * row
        length = 0 if peak[metric] == 0 else value / peak[metric] * bar_max
        color = "#4472c4" if backend == "disk" else "#ed7d31"
        parts.append(f'<text x="10" y="{y + 14}">{html.escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row - 6}" fill="{color}"/>')
        parts.append(f'<text x="{left + length + 6:.1f}" y="{y + 14}">{fmt(value)} {UNITS[metric]}</text>')
    d, t, lo = machine["disk"], machine["tmpfs"], machine["loopback_tcp"]
    y = 50 + len(rows) * row + 24
    parts.append(
        f'<text x="10" y="{y}">machine: disk fsync\'d write {fmt(d["seq_write_mib_per_sec"])} MiB/s, '
        f'{fmt(d["sync_4k_writes_per_sec"], 0)} fsync\'d 4 KiB writes/s; tmpfs {fmt(t["seq_write_mib_per_sec"])} MiB/s; '
        f'loopback TCP {fmt(lo["mib_per_sec"])} MiB/s</text>'
    )
    parts.append("</svg>")
    with open(os.path.join(out, "summary.svg"), "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
