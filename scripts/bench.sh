#!/usr/bin/env bash
# Runs `xy bench` and the libnats (and, when built, nats.go) benchmarks side by side against
# the server in $NATS_URL (use scripts/with-nats-server.sh), then prints Markdown tables.
#
# Environment: XY_BIN (default .build/release/xy), LIBNATS_BENCH (bench/bin/libnats_bench),
# NATSGO_BENCH (bench/bin/natsgo_req, used when present), BENCH_SIZES ("16 256"),
# BENCH_MSGS (1000000, pub and pubsub), BENCH_REQ_MSGS (10000), BENCH_JS_MSGS (200000, js-pub),
# BENCH_KV_MSGS (20000, kv-put), BENCH_RUNS (3), BENCH_RESULTS (bench/bin/results.jsonl).
# js-pub and kv-put need JetStream: run through `scripts/with-nats-server.sh --jetstream`.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${NATS_URL:?NATS_URL is not set: run through scripts/with-nats-server.sh}"

xy="${XY_BIN:-.build/release/xy}"
libnats="${LIBNATS_BENCH:-bench/bin/libnats_bench}"
natsgo="${NATSGO_BENCH:-bench/bin/natsgo_req}"
sizes="${BENCH_SIZES:-16 256}"
msgs="${BENCH_MSGS:-1000000}"
req_msgs="${BENCH_REQ_MSGS:-10000}"
js_msgs="${BENCH_JS_MSGS:-200000}"
kv_msgs="${BENCH_KV_MSGS:-20000}"
runs="${BENCH_RUNS:-3}"
results="${BENCH_RESULTS:-bench/bin/results.jsonl}"

mkdir -p "$(dirname "$results")"
: >"$results"
failures=()

# run LABEL COMMAND...: appends the command's JSON lines to the results; notes a failure.
run() {
    local label="$1"
    shift
    local output status=0
    output="$("$@" 2>&1)" || status=$?
    if [[ $status -ne 0 ]] || ! grep -q '^{' <<<"$output"; then
        failures+=("$label: exit $status: $(tail -n 1 <<<"$output")")
        return 0
    fi
    grep '^{' <<<"$output" >>"$results"
}

echo "benchmarks against $NATS_URL: sizes $sizes, $msgs msgs (req: $req_msgs, js-pub: $js_msgs, kv-put: $kv_msgs), $runs runs each" >&2
for size in $sizes; do
    for bench in pub pubsub req js-pub kv-put; do
        case "$bench" in
            req) n="$req_msgs" ;;
            js-pub) n="$js_msgs" ;;
            kv-put) n="$kv_msgs" ;;
            *) n="$msgs" ;;
        esac
        for i in $(seq "$runs"); do
            echo "  $bench size $size run $i/$runs" >&2
            run "xy $bench $size" "$xy" bench "$bench" --msgs "$n" --size "$size" --json
            run "libnats $bench $size" "$libnats" "$NATS_URL" "$bench" "$n" "$size"
            if [[ $bench == req && -x "$natsgo" ]]; then
                run "nats.go req $size" "$natsgo" "$NATS_URL" req "$n" "$size"
            fi
        done
    done
done

echo
python3 scripts/bench_table.py "$results"
if [[ ${#failures[@]} -gt 0 ]]; then
    echo
    echo "Runs that failed (left out of the tables):"
    printf '%s\n' "${failures[@]}" | sort | uniq -c | sed 's/^ */- /'
fi
echo
echo "raw results: $results"
