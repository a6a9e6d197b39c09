#!/usr/bin/env bash
# make up: the whole stack on this machine as native processes, from a fresh clone.
#
#   installs what is missing (scripts/deps.sh), builds the release executables, writes the
#   deployment into the run folder (xy dev init: nats-server configuration with one NKey user per
#   service, seeds, development signing key and token), starts nats-server, xy sim polygon,
#   xy-realtime, xy-aggregator, xy-admin, xy-gateway (verifying xy-admin's tokens through its JWKS)
#   and nginx as the edge (one origin: the page, the REST API and the WebSocket; the routes are
#   deploy/nginx/routes.conf), waits until every /healthz is 200, signs in a demo user through the
#   edge and prints the demo URL at the edge with that user's token, and every /metrics URL.
#
# Run folder (XY_RUN_DIR, default .run): nats/ seeds/ jwt/ dev.token nats-data/ logs/<name>.log
# edge/ (nginx.conf, pid, access.log, temp/), admin.token (xy-admin writes it: ADMIN_TOKEN_FILE),
# demo.password, and pids ("name pid executable" per line), which make down (scripts/down.sh)
# reads to stop exactly these processes. A second make up while the stack runs says so and exits 0.
#
# Ports (override by environment): XY_NATS_PORT 4222, XY_NATS_MONITOR_PORT 8222, XY_SIM_PORT 9100,
# XY_REALTIME_PORT 9101, XY_AGGREGATOR_PORT 9102, XY_GATEWAY_PORT 8080, XY_ADMIN_PORT 8081 (the
# API), XY_ADMIN_HTTP_PORT 9104 (its /metrics, /healthz), XY_EDGE_PORT 8000 (the demo origin).
# XY_GATEWAY_PORT, and XY_ADMIN_PORT with XY_ADMIN_HTTP_PORT, take comma-separated lists: one
# instance per port, all behind the edge's upstreams (gateway, gateway-2, …; admin, admin-2, …).
# Also XY_SIM_RATE (events/s, 1000), XY_SIM_SYMBOLS (10), XY_ACCESS_TOKEN_TTL (xy-admin's access
# tokens, 12h here so the demo link lasts a working day; the service's own default is 15m),
# LOG_LEVEL (info), XY_SKIP_BUILD=1 (use the binaries in XY_BIN_DIR), XY_BUILD_CONFIG (release;
# debug reuses the build `make test` made, as make up-down-check does).
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
IFS=, read -r -a gateway_ports <<<"${XY_GATEWAY_PORT:-8080}"
IFS=, read -r -a admin_ports <<<"${XY_ADMIN_PORT:-8081}"
IFS=, read -r -a admin_http_ports <<<"${XY_ADMIN_HTTP_PORT:-9104}"
edge_port=${XY_EDGE_PORT:-8000}
access_token_ttl=${XY_ACCESS_TOKEN_TTL:-12h}
sim_rate=${XY_SIM_RATE:-1000}
sim_symbols=${XY_SIM_SYMBOLS:-10}
sim_key=sim-key # the simulator's API key: a development value, not a secret
log_level=${LOG_LEVEL:-info}
products=(xy xy-realtime xy-aggregator xy-admin xy-gateway)
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

[[ ${#gateway_ports[@]} -gt 0 && ${#admin_ports[@]} -gt 0 ]] || fail "XY_GATEWAY_PORT and XY_ADMIN_PORT need at least one port each"
[[ ${#admin_ports[@]} -eq ${#admin_http_ports[@]} ]] ||
    fail "XY_ADMIN_PORT (${XY_ADMIN_PORT:-8081}) and XY_ADMIN_HTTP_PORT (${XY_ADMIN_HTTP_PORT:-9104}) must list as many ports"
port_vars=(XY_NATS_PORT:$nats_port XY_NATS_MONITOR_PORT:$monitor_port XY_SIM_PORT:$sim_port
           XY_REALTIME_PORT:$realtime_port XY_AGGREGATOR_PORT:$aggregator_port XY_EDGE_PORT:$edge_port)
for port in "${gateway_ports[@]}"; do port_vars+=("XY_GATEWAY_PORT:$port"); done
for port in "${admin_ports[@]}"; do port_vars+=("XY_ADMIN_PORT:$port"); done
for port in "${admin_http_ports[@]}"; do port_vars+=("XY_ADMIN_HTTP_PORT:$port"); done
[[ $(printf '%s\n' "${port_vars[@]#*:}" | sort | uniq -d) == "" ]] || fail "a port is given twice: ${port_vars[*]}"
for var in "${port_vars[@]}"; do
    name=${var%%:*}; port=${var#*:}
    [[ $port =~ ^[0-9]+$ ]] && (( port > 0 && port < 65536 )) || fail "$name=$port is not a port"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        fail "port $port is in use ($name); free it or set $name to another port"
    fi
done

# --- dependencies and build --------------------------------------------------------------------
scripts/deps.sh
nats_server=$(command -v nats-server || echo /usr/sbin/nats-server)
nginx=$(command -v nginx || echo /usr/sbin/nginx)
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
edge="http://127.0.0.1:$edge_port"
# instance NAME INDEX: NAME for the first of a kind, NAME-2, NAME-3, … for the others.
instance() { if [[ $2 -eq 0 ]]; then echo "$1"; else echo "$1-$(( $2 + 1 ))"; fi; }

say "starting nats-server on $nats_url (JetStream in $run_dir/nats-data)"
start nats "$nats_server" -c "$run_dir/nats/nats.conf"
wait_http nats "http://127.0.0.1:$monitor_port/healthz"

start sim "$bin/xy" sim polygon --listen "127.0.0.1:$sim_port" --api-key "$sim_key" \
    --symbols "$sim_symbols" --rate "$sim_rate" --seed 1
wait_http sim "http://127.0.0.1:$sim_port/v2/snapshot/locale/us/markets/stocks/tickers?tickers=AAPL&apiKey=$sim_key"

start realtime "${common[@]}" NATS_NKEY_SEED_FILE="$run_dir/seeds/realtime.nk" HTTP_PORT="$realtime_port" \
    UPSTREAM_URL="ws://127.0.0.1:$sim_port/stocks" UPSTREAM_API_KEY="$sim_key" "$bin/xy-realtime"
start aggregator "${common[@]}" NATS_NKEY_SEED_FILE="$run_dir/seeds/aggregator.nk" HTTP_PORT="$aggregator_port" \
    "$bin/xy-aggregator"
# xy-admin believes the edge's X-Forwarded-For (its login limit counts browsers, not nginx) and
# backfills bars from the simulator's REST API (the key stays server-side); the first instance
# leaves the admin token in the run folder (ADMIN_TOKEN_FILE).
for i in "${!admin_ports[@]}"; do
    admin_env=("${common[@]}" SERVICE_INSTANCE="$(instance admin "$i")" NATS_NKEY_SEED_FILE="$run_dir/seeds/admin.nk" HTTP_PORT="${admin_http_ports[i]}"
               API_HOST=127.0.0.1 API_PORT="${admin_ports[i]}" ACCESS_TOKEN_TTL="$access_token_ttl"
               TRUSTED_PROXIES=127.0.0.1/32 UPSTREAM_REST_URL="http://127.0.0.1:$sim_port" UPSTREAM_API_KEY="$sim_key")
    [[ $i -eq 0 ]] && admin_env+=(ADMIN_TOKEN_FILE="$run_dir/admin.token")
    start "$(instance admin "$i")" "${admin_env[@]}" "$bin/xy-admin"
done
# The gateways verify xy-admin's tokens with the keys of its JWKS, fetched through the edge (any
# admin instance answers), and accept upgrades from pages of the edge's origin only; the edge
# serves Web/, so they serve no files. SERVICE_INSTANCE names each copy (envelopes' `source`,
# heartbeats, sessions) after its entry in the pids file.
for i in "${!gateway_ports[@]}"; do
    start "$(instance gateway "$i")" "${common[@]}" SERVICE_INSTANCE="$(instance gateway "$i")" \
        NATS_NKEY_SEED_FILE="$run_dir/seeds/gateway.nk" HTTP_PORT="${gateway_ports[i]}" \
        JWT_JWKS_URL="$edge/.well-known/jwks.json" WS_STATIC_DIR= WS_TRUSTED_PROXIES=127.0.0.1/32 \
        WS_ALLOWED_ORIGINS="http://127.0.0.1:$edge_port,http://localhost:$edge_port" "$bin/xy-gateway"
done

upstream_list() { local port list=""; for port in "$@"; do list+="${list:+,}127.0.0.1:$port"; done; echo "$list"; }
scripts/edge-config.sh "$run_dir/edge" "127.0.0.1:$edge_port" "$root/Web" \
    "$(upstream_list "${gateway_ports[@]}")" "$(upstream_list "${admin_ports[@]}")"
say "starting the edge (nginx) on $edge"
start edge "$nginx" -e stderr -p "$run_dir/edge" -c "$run_dir/edge/nginx.conf"

health_urls=("http://127.0.0.1:$realtime_port/healthz" "http://127.0.0.1:$aggregator_port/healthz")
wait_http realtime "http://127.0.0.1:$realtime_port/healthz"
wait_http aggregator "http://127.0.0.1:$aggregator_port/healthz"
for i in "${!admin_ports[@]}"; do
    wait_http "$(instance admin "$i")" "http://127.0.0.1:${admin_http_ports[i]}/healthz"
    health_urls+=("http://127.0.0.1:${admin_http_ports[i]}/healthz")
done
for i in "${!gateway_ports[@]}"; do
    wait_http "$(instance gateway "$i")" "http://127.0.0.1:${gateway_ports[i]}/healthz"
    health_urls+=("http://127.0.0.1:${gateway_ports[i]}/healthz")
done
wait_http edge "$edge/"

# The demo user (its password made once, kept in the run folder like the seeds), signed in
# through the edge: its access token opens the terminal.
if [[ ! -s "$run_dir/demo.password" ]]; then
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$run_dir/demo.password")
fi
token=$(python3 - "$edge" "$run_dir/demo.password" <<'EOF'
import json, sys, urllib.error, urllib.request
edge, password = sys.argv[1], open(sys.argv[2]).read().strip()
def post(path):
    body = json.dumps({"username": "demo", "password": password}).encode()
    request = urllib.request.Request(edge + path, data=body, headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(request, timeout=30)
existed = False
try:
    post("/api/v1/auth/register")
except urllib.error.HTTPError as error:
    if error.code != 409:
        sys.exit(f"register demo: {error.code} {error.read().decode(errors='replace')}")
    existed = True  # from an earlier make up, whose JetStream store keeps the accounts
try:
    print(json.load(post("/api/v1/auth/login"))["access_token"])
except urllib.error.HTTPError as error:
    hint = " (the user demo exists with another password: put its password back in demo.password, or remove nats-data/ and with it every account)" if existed and error.code == 401 else ""
    sys.exit(f"login demo: {error.code} {error.read().decode(errors='replace')}{hint}")
EOF
) || { cleanup_on_failure; fail "could not sign in the demo user through the edge ($edge); see $run_dir/logs/"; }
trap - ERR

{
    echo "  demo:     $edge/#token=$token"
    echo "  api:      $edge/api/v1/openapi.yaml  (user demo, password in $run_dir/demo.password; admin token in $run_dir/admin.token)"
    echo "  edge:     $edge  /ws and /api/v1/market-data/stream → xy-gateway, /api/ /admin/ /.well-known/ → xy-admin, / → Web/"
    echo "  metrics:  http://127.0.0.1:$realtime_port/metrics (xy-realtime)"
    echo "            http://127.0.0.1:$aggregator_port/metrics (xy-aggregator)"
    for i in "${!admin_ports[@]}"; do echo "            http://127.0.0.1:${admin_http_ports[i]}/metrics (xy-admin, API on 127.0.0.1:${admin_ports[i]})"; done
    for port in "${gateway_ports[@]}"; do echo "            http://127.0.0.1:$port/metrics (xy-gateway)"; done
    echo "  health:   ${health_urls[*]}"
    echo "  nats:     $nats_url (monitoring http://127.0.0.1:$monitor_port/varz)"
    echo "  try:      $bin/xy sub -s $nats_url --nkey $run_dir/seeds/cli.nk 'xy.md.tick.demo'"
    echo "  ticks:    $bin/xy demo ticks -s $nats_url --nkey $run_dir/seeds/demo.nk, then $edge/?group=cli-demo#token=$token"
    echo "  logs:     $run_dir/logs/    stop: make down"
} >"$run_dir/urls"
say "the stack is up (demo token valid $access_token_ttl)"
cat "$run_dir/urls"
