#!/usr/bin/env python3
"""Turns benchmark JSON lines into Markdown tables (stdlib only).

    scripts/bench_table.py RESULTS.jsonl [MORE.jsonl ...]     (or JSON lines on stdin)

Each line is one run of one client:
    {"client":"xy"|"libnats"|"nats.go","bench":"pub"|"pubsub"|"req"|"js-pub"|"kv-put","size":16,"msgs":N,
     "msgs_per_s":…,"bytes_per_s":…[,"p50_us":…,"p99_us":…]}
Lines that are not JSON objects are ignored. For every (client, bench, size) the median
over runs is shown; the ratio is xy / libnats (above 1: xy is faster).
"""

import json
import statistics
import sys
from collections import defaultdict

BENCH_ORDER = ["pub", "pubsub", "req", "js-pub", "kv-put"]
# Benches that report latency percentiles, with the table title for each.
LATENCY_BENCHES = [("req", "Request/reply"), ("kv-put", "Key-value put")]
MISSING = "n/a"


def load(streams):
    runs = defaultdict(list)
    for stream in streams:
        for line in stream:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
                key = (str(record["client"]), str(record["bench"]), int(record["size"]))
            except (ValueError, KeyError, TypeError):
                continue
            runs[key].append(record)
    return runs


def median(records, field):
    values = [float(r[field]) for r in records if isinstance(r.get(field), (int, float))]
    return statistics.median(values) if values else None


def rate(value):
    return MISSING if value is None else f"{value:,.0f}"


def micros(value):
    return MISSING if value is None else f"{value:,.1f}"


def ratio(numerator, denominator):
    if numerator is None or not denominator:
        return MISSING
    return f"{numerator / denominator:.2f}"


def bench_key(bench):
    return (BENCH_ORDER.index(bench) if bench in BENCH_ORDER else len(BENCH_ORDER), bench)


def render(runs):
    lines = []
    pairs = sorted({(b, s) for (_, b, s) in runs}, key=lambda p: (bench_key(p[0]), p[1]))
    if not pairs:
        return "No benchmark results.\n"
    counts = sorted({len(v) for v in runs.values()})
    run_text = f"{counts[0]} runs" if len(counts) == 1 else f"{counts[0]}–{counts[-1]} runs per cell"
    has_go = any(c == "nats.go" for (c, _, _) in runs)

    header = "| bench | size | xy msgs/s | libnats msgs/s | ratio |"
    rule = "|---|---:|---:|---:|---:|"
    if has_go:
        header += " nats.go msgs/s |"
        rule += "---:|"
    lines += [f"### Throughput (median of {run_text}; ratio = xy / libnats)", "", header, rule]
    for bench, size in pairs:
        xy = median(runs.get(("xy", bench, size), []), "msgs_per_s")
        c = median(runs.get(("libnats", bench, size), []), "msgs_per_s")
        row = f"| {bench} | {size} | {rate(xy)} | {rate(c)} | {ratio(xy, c)} |"
        if has_go:
            row += f" {rate(median(runs.get(('nats.go', bench, size), []), 'msgs_per_s'))} |"
        lines.append(row)

    for latency_bench, title in LATENCY_BENCHES:
        latency_sizes = sorted({s for (c, b, s) in runs if b == latency_bench})
        if not latency_sizes:
            continue
        bench_has_go = any(c == "nats.go" for (c, b, _) in runs if b == latency_bench)
        header = "| size | xy p50 µs | xy p99 µs | libnats p50 µs | libnats p99 µs |"
        rule = "|---:|---:|---:|---:|---:|"
        if bench_has_go:
            header += " nats.go p50 µs | nats.go p99 µs |"
            rule += "---:|---:|"
        lines += ["", f"### {title} latency (median of runs)", "", header, rule]
        for size in latency_sizes:
            row = f"| {size} |"
            clients = ["xy", "libnats"] + (["nats.go"] if bench_has_go else [])
            for client in clients:
                records = runs.get((client, latency_bench, size), [])
                row += f" {micros(median(records, 'p50_us'))} | {micros(median(records, 'p99_us'))} |"
            lines.append(row)
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) > 1:
        streams = []
        for path in argv[1:]:
            try:
                streams.append(open(path, encoding="utf-8"))
            except OSError as error:
                print(f"bench_table: {error}", file=sys.stderr)
                return 1
    else:
        streams = [sys.stdin]
    sys.stdout.write(render(load(streams)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
