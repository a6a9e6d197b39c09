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
  bars       GET /api/v1/market-data/bars, 300 minute bars of the stream (reported as not served
             while the build has no bars operation)

and prints requests/s, p50 and p99 beside the issue's targets (snapshots p99 <= 10 ms, bars
p99 <= 20 ms). Every answer must be 2xx: a run with errors says so in the table.
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


def wrk(base, name, method, path, token=None, body=None):
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
    print(json.dumps(result), flush=True)
    return result


def table(results):
    lines = ["| case | requests/s | p50 | p99 | p99 target | errors |", "|---|---|---|---|---|---|"]
    for result in results:
        if result.get("skipped"):
            lines.append(f"| {result['case']} | n/a | n/a | n/a | {target_text(result['case'])} | {result['skipped']} |")
            continue
        errors = sum(result[key] for key in ("connect_errors", "read_errors", "write_errors", "non_2xx", "timeouts"))
        p99 = result["p99_us"] / 1000
        target = TARGETS.get(result["case"])
        verdict = "" if target is None else (" (met)" if p99 <= target else " (missed)")
        lines.append(f"| {result['case']} ({result['connections']} clients) | {result['requests_per_s']:.0f} | "
                     f"{result['p50_us'] / 1000:.2f} ms | {p99:.2f} ms{verdict} | {target_text(result['case'])} | "
                     f"{errors} of {result['requests']} |")
    return "\n".join(lines)


def target_text(case):
    target = TARGETS.get(case)
    return "none (Argon2id bound)" if target is None else f"≤ {target:g} ms"


def main():
    nats_url = os.environ["NATS_URL"]
    bin_dir = os.environ["XY_BIN_DIR"]
    work = tempfile.mkdtemp(prefix="xy-bench-admin-")
    groups = ";".join(f"{name}={','.join(members)}" for name, members in GROUPS.items())
    api_port, admin_http, aggregator_http = free_port(), free_port(), free_port()
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
        bars_served = status != 404
        if bars_served and (status != 200 or len(body.get("bars", [])) != BAR_COUNT):
            raise SystemExit(f"bench-admin: bars answered {status} with {len(body.get('bars', []))} bars: {str(body)[:300]}")

        results = [wrk(base, "login", "POST", "/api/v1/auth/login", body=credentials),
                   wrk(base, "snapshots", "GET", snapshots_path, token=token)]
        if bars_served:
            results.append(wrk(base, "bars", "GET", bars_path, token=token))
        else:
            results.append({"case": "bars", "skipped": "not served by this build (404)"})
        print()
        print(f"xy-admin straight to the service, {os.environ.get('BENCH_ADMIN_SECONDS', '10')} s per case "
              f"(wrk, {os.environ.get('BENCH_ADMIN_THREADS', '2')} threads); snapshots: {len(TICKERS)} tickers "
              f"in {len(GROUPS)} groups; bars: {BAR_COUNT} minute bars of {BAR_TICKER} from XY_BARS")
        print()
        print(table(results))
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
