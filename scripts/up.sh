#!/usr/bin/env bash
# make up: the whole stack on this machine as native processes, from a fresh clone.
#
#   installs what is missing (scripts/deps.sh), builds the release executables, writes the
#   deployment into the run folder (xy dev init: nats-server configuration with one NKey user per
#   service, seeds, development signing key and token), starts nats-server, xy sim polygon,
#   xy-realtime, xy-aggregator and xy-gateway, waits until every /healthz is 200 and prints the
#   demo URL (with a development token) and every /metrics URL.
#
# Run folder (XY_RUN_DIR, default .run): nats/ seeds/ jwt/ dev.token nats-data/ logs/<name>.log
# and pids ("name pid executable" per line), which make down (scripts/down.sh) reads to stop
# exactly these processes. A second make up while the stack runs says so and exits 0.
#
# Ports (override by environment): XY_NATS_PORT 4222, XY_NATS_MONITOR_PORT 8222, XY_SIM_PORT 9100,
# XY_REALTIME_PORT 9101, XY_AGGREGATOR_PORT 9102, XY_GATEWAY_PORT 8080. Also XY_SIM_RATE (events/s,
# 1000), XY_SIM_SYMBOLS (10), LOG_LEVEL (info), XY_SKIP_BUILD=1 (use the binaries in XY_BIN_DIR),
# XY_BUILD_CONFIG (release; debug reuses the build `make test` made, as make up-down-check does).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export SWIFT_DETERMINISTIC_HASHING=1

run_dir=${XY_RUN_DIR:-.run}
nats_port=${XY_NATS_PORT:-4222}
monitor_port=${XY_NATS_MONITOR_PORT:-8222}
sim_port=${XY_SIM_PORT:-9100}
realtime_port=${XY_REALTIME_PORT:-9101}
aggregator_port=${XY_AGGREGATOR_PORT:-9102}
gateway_port=${XY_GATEWAY_PORT:-8080}
sim_rate=${XY_SIM_RATE:-1000}
sim_symbols=${XY_SIM_SYMBOLS:-10}
sim_key=sim-key # the simulator's API key: a development value, not a secret
log_level=${LOG_LEVEL:-info}
products=(xy xy-realtime xy-aggregator xy-gateway)
build_config=${XY_BUILD_CONFIG:-release}
[[ $build_config == release || $build_config == debug ]] || { echo "make up: XY_BUILD_CONFIG=$build_config: release or debug" >&2; exit 1; }

say() { echo "make up: $*"; }
fail() { echo "make up: $*" >&2; exit 1; }

# --- already running? -------------------------------------------------------------------------
if [[ -f "$run_dir/pids" ]]; then
    if live=$(scripts/down.sh --list-live "$run_dir") && [[ -n "$live" ]]; then
        say "the stack is already running (run folder $run_dir: $(echo "$live" | tr '\n' ' ')); 'make down' stops it"
        [[ -f "$run_dir/urls" ]] && cat "$run_dir/urls"
        exit 0
    fi
    rm -f "$run_dir/pids" "$run_dir/urls"
fi

for var in XY_NATS_PORT:$nats_port XY_NATS_MONITOR_PORT:$monitor_port XY_SIM_PORT:$sim_port \
           XY_REALTIME_PORT:$realtime_port XY_AGGREGATOR_PORT:$aggregator_port XY_GATEWAY_PORT:$gateway_port; do
    name=${var%%:*}; port=${var#*:}
    [[ $port =~ ^[0-9]+$ ]] && (( port > 0 && port < 65536 )) || fail "$name=$port is not a port"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        fail "port $port is in use ($name); free it or set $name to another port"
    fi
done

# --- dependencies and build --------------------------------------------------------------------
scripts/deps.sh
nats_server=$(command -v nats-server || echo /usr/sbin/nats-server)
if [[ -n ${XY_SKIP_BUILD:-} ]]; then
    bin=${XY_BIN_DIR:?XY_SKIP_BUILD needs XY_BIN_DIR}
else
    command -v swift >/dev/null || fail "swift is not on PATH: install Swift 6.3 (https://www.swift.org/install/linux/)"
    say "building ${products[*]} ($build_config; the first release build takes 10-15 minutes)"
    # XY_SWIFTPM_FLAGS: the Makefile's --scratch-path and SWIFT_FLAGS, so `make up SCRATCH=…` and
    # `make test SCRATCH=…` build and run from the same folder as the rest of make.
    read -r -a swiftpm_flags <<<"${XY_SWIFTPM_FLAGS:-}"
    for product in "${products[@]}"; do
        swift build -c "$build_config" --product "$product" "${swiftpm_flags[@]}"
    done
    bin=$(swift build -c "$build_config" --show-bin-path "${swiftpm_flags[@]}")
fi
for product in "${products[@]}"; do
    [[ -x "$bin/$product" ]] || fail "$bin/$product is missing"
done

# --- deployment files --------------------------------------------------------------------------
mkdir -p "$run_dir/logs"
run_dir=$(cd "$run_dir" && pwd)
"$bin/xy" dev init --out "$run_dir" --templates "$root/deploy/nats" \
    --listen "127.0.0.1:$nats_port" --http "127.0.0.1:$monitor_port" --token-ttl 24h >/dev/null
token=$(cat "$run_dir/dev.token")

# --- processes ---------------------------------------------------------------------------------
started=()
cleanup_on_failure() {
    if [[ ${#started[@]} -gt 0 ]]; then
        echo "make up: stopping what was started" >&2
        scripts/down.sh --quiet "$run_dir" || true
    fi
}
trap cleanup_on_failure ERR

# start NAME EXECUTABLE [ARG…] with the environment given as NAME=VALUE before it (nothing else
# is inherited but PATH, HOME and LANG): own session (a ^C in this terminal does not reach it),
# output in logs/NAME.log, "NAME PID EXECUTABLE" appended to pids.
start() {
    local name=$1; shift
    local envs=()
    while [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    local exe
    exe=$(readlink -f "$1")
    setsid env -i PATH="$PATH" HOME="${HOME:-/root}" LANG="${LANG:-C.UTF-8}" "${envs[@]}" "$@" \
        >"$run_dir/logs/$name.log" 2>&1 </dev/null &
    echo "$name $! $exe" >>"$run_dir/pids"
    started+=("$name")
}

# wait_http NAME URL: until URL answers 200 (60 s), or fail with the end of NAME's log.
wait_http() {
    local name=$1 url=$2
    for _ in $(seq 1 120); do
        if python3 - "$url" <<'EOF' 2>/dev/null
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
EOF
        then return 0; fi
        if ! scripts/down.sh --list-live "$run_dir" | grep -qx "$name"; then
            echo "make up: $name exited; end of $run_dir/logs/$name.log:" >&2
            tail -n 20 "$run_dir/logs/$name.log" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "make up: $name not healthy after 60 s ($url); end of $run_dir/logs/$name.log:" >&2
    tail -n 20 "$run_dir/logs/$name.log" >&2
    return 1
}

nats_url="nats://127.0.0.1:$nats_port"
common=(NATS_URLS="$nats_url" HTTP_HOST=127.0.0.1 LOG_LEVEL="$log_level")

say "starting nats-server on $nats_url (JetStream in $run_dir/nats-data)"
start nats "$nats_server" -c "$run_dir/nats/nats.conf"
wait_http nats "http://127.0.0.1:$monitor_port/healthz"

start sim "$bin/xy" sim polygon --listen "127.0.0.1:$sim_port" --api-key "$sim_key" \
    --symbols "$sim_symbols" --rate "$sim_rate" --seed 1
wait_http sim "http://127.0.0.1:$sim_port/v2/snapshot/locale/us/markets/stocks/tickers?tickers=S0001&apiKey=$sim_key"

start realtime "${common[@]}" NATS_NKEY_SEED_FILE="$run_dir/seeds/realtime.nk" HTTP_PORT="$realtime_port" \
    UPSTREAM_URL="ws://127.0.0.1:$sim_port/stocks" UPSTREAM_API_KEY="$sim_key" "$bin/xy-realtime"
start aggregator "${common[@]}" NATS_NKEY_SEED_FILE="$run_dir/seeds/aggregator.nk" HTTP_PORT="$aggregator_port" \
    "$bin/xy-aggregator"
start gateway "${common[@]}" NATS_NKEY_SEED_FILE="$run_dir/seeds/gateway.nk" HTTP_PORT="$gateway_port" \
    JWT_PUBLIC_KEY="$run_dir/jwt/dev.pub.pem" WS_STATIC_DIR="$root/Web" \
    WS_ALLOWED_ORIGINS="http://127.0.0.1:$gateway_port,http://localhost:$gateway_port" "$bin/xy-gateway"

wait_http realtime "http://127.0.0.1:$realtime_port/healthz"
wait_http aggregator "http://127.0.0.1:$aggregator_port/healthz"
wait_http gateway "http://127.0.0.1:$gateway_port/healthz"
trap - ERR

cat >"$run_dir/urls" <<EOF
  demo:     http://127.0.0.1:$gateway_port/#token=$token
  metrics:  http://127.0.0.1:$realtime_port/metrics (xy-realtime)
            http://127.0.0.1:$aggregator_port/metrics (xy-aggregator)
            http://127.0.0.1:$gateway_port/metrics (xy-gateway)
  health:   http://127.0.0.1:$realtime_port/healthz  http://127.0.0.1:$aggregator_port/healthz  http://127.0.0.1:$gateway_port/healthz
  nats:     $nats_url (monitoring http://127.0.0.1:$monitor_port/varz)
  try:      $bin/xy sub -s $nats_url --nkey $run_dir/seeds/cli.nk 'xy.md.tick.demo'
  ticks:    $bin/xy demo ticks -s $nats_url --nkey $run_dir/seeds/demo.nk, then http://127.0.0.1:$gateway_port/?group=cli-demo#token=$token
  logs:     $run_dir/logs/    stop: make down
EOF
say "the stack is up (token valid 24 h)"
cat "$run_dir/urls"
