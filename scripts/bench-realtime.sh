#!/usr/bin/env bash
# The proxy benchmark: `xy sim polygon` → xy-realtime → NATS → `xy bench events`, at rising
# simulator rates; prints a Markdown table and the highest rate at which nothing was lost.
# Run through scripts/with-nats-server.sh (needs NATS_URL); `make bench` does.
#
# Environment: XY_BIN (.build/release/xy), XY_REALTIME_BIN (.build/release/xy-realtime),
# BENCH_REALTIME_RATES ("100000 200000 300000 400000"), BENCH_REALTIME_SECONDS (8),
# BENCH_REALTIME_SYMBOLS (100), BENCH_REALTIME_RESULTS (bench/bin/realtime.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NATS_URL:?NATS_URL is not set: run through scripts/with-nats-server.sh}"

xy="${XY_BIN:-.build/release/xy}"
realtime="${XY_REALTIME_BIN:-.build/release/xy-realtime}"
rates="${BENCH_REALTIME_RATES:-100000 200000 300000 400000}"
seconds="${BENCH_REALTIME_SECONDS:-8}"
symbols="${BENCH_REALTIME_SYMBOLS:-100}"
results="${BENCH_REALTIME_RESULTS:-bench/bin/realtime.jsonl}"
key="bench-$RANDOM$RANDOM"

mkdir -p "$(dirname "$results")"
: >"$results"
work="$(mktemp -d "${TMPDIR:-/tmp}/xy-bench-realtime-XXXXXX")"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "proxy benchmark against $NATS_URL: $symbols symbols, rates $rates, $seconds s each" >&2
for rate in $rates; do
    "$xy" sim polygon --listen 127.0.0.1:0 --api-key "$key" --symbols "$symbols" --rate "$rate" --seed 1 >"$work/sim.log" 2>&1 &
    sim=$!
    pids=("$sim")
    for _ in $(seq 100); do grep -q '^listening ' "$work/sim.log" && break; sleep 0.1; done
    port="$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$work/sim.log" | head -n 1)"
    if [[ -z "$port" ]]; then
        echo "simulator did not start:" >&2
        cat "$work/sim.log" >&2
        exit 1
    fi
    NATS_URLS="$NATS_URL" UPSTREAM_URL="ws://127.0.0.1:$port/stocks" UPSTREAM_API_KEY="$key" \
        UPSTREAM_SYMBOLS='*' UPSTREAM_CHANNELS='T,Q,A,AM' HTTP_HOST=127.0.0.1 HTTP_PORT=0 LOG_LEVEL=info \
        "$realtime" >"$work/realtime.log" 2>&1 &
    proxy=$!
    pids+=("$proxy")
    echo "  rate $rate/s" >&2
    # xy-realtime's own CPU time over the run (utime + stime, clock ticks): its cost per event,
    # whatever the simulator, nats-server and the subscriber cost on the same two cores.
    cpu_before="$(awk '{print $14 + $15}' "/proc/$proxy/stat" 2>/dev/null || echo 0)"
    line="$("$xy" bench events --server "$NATS_URL" --seconds "$seconds" --warmup 2 --label "$rate" --json || true)"
    cpu_after="$(awk '{print $14 + $15}' "/proc/$proxy/stat" 2>/dev/null || echo 0)"
    published="$(curl -s "http://127.0.0.1:$(sed -n 's/.*"msg":"HTTP listening".*"http_port":"\([0-9]*\)".*/\1/p' "$work/realtime.log" | head -n 1)/metrics" 2>/dev/null \
        | awk '$1 == "xy_md_published_total" {print $2}')"
    if [[ "$line" == "{"* ]]; then
        echo "${line%\}},\"proxy_cpu_ticks\":$((cpu_after - cpu_before)),\"ticks_per_s\":$(getconf CLK_TCK),\"proxy_published\":${published:-0}}" >>"$results"
    fi
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    pids=()
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
print()
print("### xy-realtime proxy: sim → xy-realtime → NATS → subscriber")
print()
print("| sim rate (events/s) | delivered events/s | lost | ingest p50 (ms) | ingest p99 (ms) | end-to-end p99 (ms) | xy-realtime CPU µs/event |")
print("|---:|---:|---:|---:|---:|---:|---:|")
best = None
for r in rows:
    lost = r["lost"] + r["subscriber_dropped"]
    # CPU seconds of xy-realtime over the measured window (warm-up included) per event it published then.
    cpu = r.get("proxy_cpu_ticks", 0) / max(1, r.get("ticks_per_s", 100))
    events = r.get("proxy_published", 0) or r["events"]
    per_event = f"{cpu / events * 1e6:.2f}" if events and cpu else "—"
    print(f"| {int(r['label']):,} | {r['events_per_s']:,} | {lost:,} | {r['ingest_p50_ms']:.2f} | {r['ingest_p99_ms']:.2f} | {r['e2e_p99_ms']:.2f} | {per_event} |")
    # Sustained: nothing lost, the delivered rate within 5 % of what the simulator was asked for,
    # and no backlog building up (ingest p99 under 250 ms).
    if lost == 0 and r["events_per_s"] >= 0.95 * int(r["label"]) and r["ingest_p99_ms"] < 250:
        if best is None or r["events_per_s"] > best["events_per_s"]:
            best = r
print()
if best:
    print(f"sustained with nothing lost: {best['events_per_s']:,} events/s (sim rate {int(best['label']):,}), ingest p99 {best['ingest_p99_ms']:.2f} ms")
else:
    print("sustained with nothing lost: none of the rates tried (see the table)")
PY
echo
echo "raw results: $results"
