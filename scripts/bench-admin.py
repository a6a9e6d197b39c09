#!/usr/bin/env python3
"""make bench-admin: xy-admin's REST API under load, straight to the service (issue 17).

Run by the Makefile through scripts/with-nats-server.sh --jetstream (NATS_URL) with the venv's
python (nats-py, and the generated protobuf modules of Tests/Interop/generated). It starts the
release xy-aggregator and xy-admin (XY_BIN_DIR) on free loopback ports with 50 tickers in five
groups, feeds a trade per ticker through xy.md.event.<T>, stores 300 sealed one-minute bars of
one ticker in XY_BARS as the aggregator would, registers and logs in a user, then runs wrk
(bench/admin.lua) at BENCH_ADMIN_CONNECTIONS (50) concurrent connections for
BENCH_ADMIN_SECONDS (10) per case:

  login      POST /api/v1/auth/login (Argon2id at the deployed cost dominates)
  snapshots  GET /api/v1/market-data/snapshots for the 50 tickers
  bars       GET /api/v1/market-data/bars, 300 minute bars of the stream

each case straight to the service and through the edge: nginx with make up's configuration
(scripts/edge-config.sh, deploy/nginx/routes.conf) in front of this xy-admin. It prints
requests/s, p50 and p99 beside the issue's targets (snapshots p99 <= 10 ms, bars p99 <= 20 ms),
the median of BENCH_ADMIN_RUNS (1) runs with the spread, and the load average before and after;
and the CPU time per request of xy-admin (plus nginx's workers through the edge), which moves far
less with the load of a shared machine than latency does.
BENCH_ADMIN_CASES (login,snapshots,bars) and BENCH_ADMIN_PATHS (direct,edge) pick what runs.
Every answer must be 2xx: a run with errors says so in the table.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "Tests", "Interop", "generated"))

import nats  # noqa: E402
from xy.md.v1 import bar_pb2, market_event_pb2, snapshot_pb2  # noqa: E402

TICKERS = [f"B{n:03d}" for n in range(1, 51)]
GROUPS = {f"bench{g}": TICKERS[g * 10:(g + 1) * 10] for g in range(5)}
BAR_TICKER = TICKERS[0]
BAR_COUNT = 300
TARGETS = {"login": None, "snapshots": 10.0, "bars": 20.0}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(base, method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_until(what, condition, timeout=60):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench-admin: {what} did not happen within {timeout} s")
        time.sleep(0.2)


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


async def feed(nats_url):
    """A trade per ticker, then BAR_COUNT sealed bars of BAR_TICKER ending a minute ago; returns the
    bars' range (ISO 8601) once every group's snapshot has every ticker."""
    client = await nats.connect(nats_url)
    now_ns = time.time_ns()
    for sequence, ticker in enumerate(TICKERS, start=1):
        event = market_event_pb2.MarketEvent(symbol=ticker, vendor_sequence=sequence, event_time_ns=now_ns,
                                             receive_time_ns=now_ns, source="bench")
        event.trade.price = 100 + sequence
        event.trade.size = 10
        await client.publish(f"xy.md.event.{ticker}", event.SerializeToString())
    await client.flush()
    deadline = time.monotonic() + 30
    for group, members in GROUPS.items():
        while True:
            reply = await client.request(f"xy.md.snapshot.get.{group}",
                                         snapshot_pb2.SnapshotRequest(group=group).SerializeToString(), timeout=2)
            snapshot = snapshot_pb2.Snapshot()
            snapshot.ParseFromString(reply.data)
            if {tick.symbol for tick in snapshot.ticks if tick.last > 0} >= set(members):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"bench-admin: the aggregator did not fold the trades of {group}")
            await asyncio.sleep(0.1)

    jetstream = client.jetstream()
    minute = 60_000_000_000
    last_start = (now_ns // minute - 2) * minute
    first_start = last_start - (BAR_COUNT - 1) * minute
    for index in range(BAR_COUNT):
        start = first_start + index * minute
        price = 100 + (index % 17)
        bar = bar_pb2.Bar(symbol=BAR_TICKER, interval=bar_pb2.BAR_INTERVAL_ONE_MINUTE,
                          start_time_ns=start, end_time_ns=start + minute, open=price, high=price + 1, low=price - 1,
                          close=price + 0.5, volume=1000 + index, vwap=price + 0.25, trade_count=10, sealed=True,
                          open_time_ns=start, close_time_ns=start + minute - 1)
        await jetstream.publish(f"xy.md.bar.{BAR_TICKER}", bar.SerializeToString(),
                                headers={"Xy-Schema": "xy.md.v1.Bar", "Nats-Msg-Id": f"{BAR_TICKER}-{start}-10"})
    await client.close()
    iso = lambda ns: time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ns // 1_000_000_000))  # noqa: E731
    return iso(first_start), iso(last_start + minute)


def cpu_seconds(pids):
    """User plus system CPU time of these processes so far (Linux /proc), in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            return [int(child) for child in listing.read().split()]
    except OSError:
        return []


def wrk(base, name, method, path, token=None, body=None, measured=()):
    """One wrk run; with `measured` (pids), their CPU time per request in microseconds too."""
    before = cpu_seconds(measured)
    environment = dict(os.environ, BENCH_METHOD=method, BENCH_PATH=path, BENCH_TOKEN=token or "",
                       BENCH_BODY=json.dumps(body) if body is not None else "")
    connections = os.environ.get("BENCH_ADMIN_CONNECTIONS", "50")
    seconds = os.environ.get("BENCH_ADMIN_SECONDS", "10")
    command = [os.environ.get("WRK", "wrk"), "-t", os.environ.get("BENCH_ADMIN_THREADS", "2"), "-c", connections,
               "-d", f"{seconds}s", "--timeout", "10s", "-s", os.path.join(ROOT, "bench", "admin.lua"), base]
    output = subprocess.run(command, env=environment, check=True, capture_output=True, text=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("{"))
    result = json.loads(line)
    result["case"] = name
    result["connections"] = int(connections)
    result["cpu_us_per_request"] = (cpu_seconds(measured) - before) * 1e6 / max(result["requests"], 1)
    print(json.dumps(result), flush=True)
    return result


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def spread(values, scale, digits):
    """The median, and the range when there are several runs."""
    text = f"{median(values) / scale:,.{digits}f}"
    if len(values) > 1:
        text += f" ({min(values) / scale:,.{digits}f}–{max(values) / scale:,.{digits}f})"
    return text


def table(rows):
    """rows: (path, case, [result of each run]); the median of the runs, their range in brackets."""
    lines = ["| path | case | requests/s | p50 ms | p99 ms | p99 target | CPU µs per request | errors |",
             "|---|---|---|---|---|---|---|---|"]
    for path, case, runs in rows:
        errors = sum(run[key] for run in runs for key in ("connect_errors", "read_errors", "write_errors", "non_2xx", "timeouts"))
        requests = sum(run["requests"] for run in runs)
        target = TARGETS.get(case)
        p99 = median([run["p99_us"] for run in runs]) / 1000
        verdict = "" if target is None else (" met" if p99 <= target else " missed")
        lines.append(f"| {path} | {case} ({runs[0]['connections']} clients) | {spread([r['requests_per_s'] for r in runs], 1, 0)} | "
                     f"{spread([r['p50_us'] for r in runs], 1000, 2)} | {spread([r['p99_us'] for r in runs], 1000, 2)} | "
                     f"{target_text(case)}{verdict} | {spread([r['cpu_us_per_request'] for r in runs], 1, 0)} | "
                     f"{errors} of {requests} |")
    return "\n".join(lines)


def target_text(case):
    target = TARGETS.get(case)
    return "none (Argon2id bound)" if target is None else f"≤ {target:g} ms"


def start_edge(work, api_port, edge_port):
    """nginx with make up's configuration, xy-admin its only admin upstream; the gateway upstream
    names a port nothing listens on (the bench sends nothing there)."""
    edge_dir = os.path.join(work, "edge")
    subprocess.run([os.path.join(ROOT, "scripts", "edge-config.sh"), edge_dir, f"127.0.0.1:{edge_port}",
                    os.path.join(ROOT, "Web"), f"127.0.0.1:{free_port()}", f"127.0.0.1:{api_port}"], check=True)
    log = open(os.path.join(work, "nginx.log"), "w")
    return subprocess.Popen(["nginx", "-e", "stderr", "-p", edge_dir, "-c", os.path.join(edge_dir, "nginx.conf")],
                            stdout=log, stderr=subprocess.STDOUT)


def main():
    nats_url = os.environ["NATS_URL"]
    bin_dir = os.environ["XY_BIN_DIR"]
    work = tempfile.mkdtemp(prefix="xy-bench-admin-")
    groups = ";".join(f"{name}={','.join(members)}" for name, members in GROUPS.items())
    api_port, admin_http, aggregator_http, edge_port = free_port(), free_port(), free_port(), free_port()
    common = {"NATS_URLS": nats_url, "HTTP_HOST": "127.0.0.1", "LOG_LEVEL": "warning", "AGG_GROUPS": groups}
    processes = []

    def start(name, variables):
        log = open(os.path.join(work, f"{name}.log"), "w")
        process = subprocess.Popen([os.path.join(bin_dir, name)], env=dict(os.environ, **common, **variables),
                                   stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    try:
        start("xy-aggregator", {"HTTP_PORT": str(aggregator_http)})
        wait_until("xy-aggregator ready", lambda: http_ok(f"http://127.0.0.1:{aggregator_http}/healthz"))
        first, last = asyncio.run(feed(nats_url))
        start("xy-admin", {"HTTP_PORT": str(admin_http), "API_HOST": "127.0.0.1", "API_PORT": str(api_port)})
        base = f"http://127.0.0.1:{api_port}"
        wait_until("xy-admin ready", lambda: http_ok(f"http://127.0.0.1:{admin_http}/healthz"))

        credentials = {"username": "bench", "password": "a long enough password"}
        status, body = call(base, "POST", "/api/v1/auth/register", credentials)
        if status != 201:
            raise SystemExit(f"bench-admin: register answered {status} {body}")
        status, body = call(base, "POST", "/api/v1/auth/login", credentials)
        if status != 200:
            raise SystemExit(f"bench-admin: login answered {status} {body}")
        token = body["access_token"]

        snapshots_path = "/api/v1/market-data/snapshots?tickers=" + ",".join(TICKERS)
        status, body = call(base, "GET", snapshots_path, token=token)
        found = sum(1 for entry in body.get("snapshots", []) if entry.get("found"))
        if status != 200 or found != len(TICKERS):
            raise SystemExit(f"bench-admin: snapshots answered {status} with {found} of {len(TICKERS)} found: {body}")

        bars_path = (f"/api/v1/market-data/bars?ticker={BAR_TICKER}&timespan=minute&multiplier=1"
                     f"&from={first}&to={last}&limit={BAR_COUNT}")
        status, body = call(base, "GET", bars_path, token=token)
        if status != 200 or len(body.get("bars", [])) != BAR_COUNT:
            raise SystemExit(f"bench-admin: bars answered {status} with {len(body.get('bars', []))} bars: {str(body)[:300]}")

        admin_pid = processes[-1].pid
        processes.append(start_edge(work, api_port, edge_port))
        edge_pid = processes[-1].pid
        edge = f"http://127.0.0.1:{edge_port}"
        wait_until("the edge ready", lambda: http_ok(f"{edge}/api/v1/openapi.yaml"))
        status, body = call(edge, "GET", bars_path, token=token)
        if status != 200 or len(body.get("bars", [])) != BAR_COUNT:
            raise SystemExit(f"bench-admin: bars through the edge answered {status}: {str(body)[:300]}")

        shapes = {"login": ("POST", "/api/v1/auth/login", None, credentials),
                  "snapshots": ("GET", snapshots_path, token, None),
                  "bars": ("GET", bars_path, token, None)}
        cases = os.environ.get("BENCH_ADMIN_CASES", "login,snapshots,bars").split(",")
        paths = {"direct": base, "edge": edge}
        chosen = os.environ.get("BENCH_ADMIN_PATHS", "direct,edge").split(",")
        runs = int(os.environ.get("BENCH_ADMIN_RUNS", "1"))
        load_before = os.getloadavg()
        rows = []
        for case in cases:
            method, path, bearer, payload = shapes[case]
            for name in chosen:
                # xy-admin's CPU, and through the edge nginx's workers' too.
                measured = [admin_pid] + (children(edge_pid) if name == "edge" else [])
                rows.append((name, case, [wrk(paths[name], case, method, path, token=bearer, body=payload, measured=measured)
                                          for _ in range(runs)]))
        load_after = os.getloadavg()
        print()
        print(f"xy-admin straight to the service (direct) and through nginx (edge), {os.environ.get('BENCH_ADMIN_SECONDS', '10')} s "
              f"per run, median of {runs} run(s) with the range (wrk, {os.environ.get('BENCH_ADMIN_THREADS', '2')} threads); "
              f"snapshots: {len(TICKERS)} tickers in {len(GROUPS)} groups; bars: {BAR_COUNT} minute bars of {BAR_TICKER} "
              f"from XY_BARS; load average before {load_before[0]:.2f} {load_before[1]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f}")
        print()
        print(table(rows))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
