#!/usr/bin/env bash
# make up-down-check (the last step of make test): the quick start on this clone. `make up` builds
# the executables (XY_BUILD_CONFIG, debug there: the build make test already made) and starts the
# stack; every /healthz must answer 200; through the edge's one origin the demo page, a REST call
# with a token from xy-admin and a WebSocket carrying market data must work, and every gateway
# behind the edge must serve (scripts/lib/edge_check.py; make up-down-check starts two); a second
# `make up` must see the running stack and start nothing; `make down` must leave none of the
# recorded processes running and the ports free.
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=${XY_RUN_DIR:-.run}

# Whatever ends the check early (a failed command, fail's exit), the stack it started is stopped.
passed=0
fail() { echo "check-up-down: $*" >&2; exit 1; }
stop_on_failure() {
    [[ $passed == 1 ]] && return
    echo "check-up-down: failed; stopping the stack" >&2
    make --no-print-directory down || true
}
trap stop_on_failure EXIT

make --no-print-directory up
[[ -f "$run_dir/pids" ]] || fail "make up recorded no pids in $run_dir/pids"
recorded=$(awk '{print $2}' "$run_dir/pids")
echo "check-up-down: recorded processes: $(awk '{printf "%s(%s) ", $1, $2}' "$run_dir/pids")"

IFS=, read -r -a gateway_ports <<<"${XY_GATEWAY_PORT:-8080}"
IFS=, read -r -a admin_ports <<<"${XY_ADMIN_PORT:-8081}"
expected=$(( 2 + ${#gateway_ports[@]} + ${#admin_ports[@]} )) # realtime, aggregator, the admins, the gateways
urls=$(grep -o 'http://127.0.0.1:[0-9]*/healthz' "$run_dir/urls" | sort -u)
[[ $(wc -l <<<"$urls") -eq $expected ]] || fail "expected $expected /healthz URLs in $run_dir/urls"
for url in $urls; do
    status=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).status)' "$url")
    [[ $status == 200 ]] || fail "$url answered $status"
    echo "check-up-down: $url 200"
done
demo=$(grep -o 'http://127.0.0.1:[0-9]*/#token=[A-Za-z0-9._-]*' "$run_dir/urls") || fail "no demo URL with a token"
echo "check-up-down: demo URL ${demo%%#*}#token=…"
edge=${demo%%/#*}
XY_ADMIN_TOKEN_FILE="$run_dir/admin.token" python3 scripts/lib/edge_check.py "$edge" "${#gateway_ports[@]}"

second=$(make --no-print-directory up)
grep -q "already running" <<<"$second" || fail "a second make up did not detect the running stack: $second"
[[ $(awk '{print $2}' "$run_dir/pids") == "$recorded" ]] || fail "a second make up changed the recorded processes"
echo "check-up-down: a second make up started nothing"

make --no-print-directory down
passed=1
for pid in $recorded; do
    if [[ -e /proc/$pid ]] && [[ $(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) != Z ]]; then
        fail "process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline")) still runs after make down"
    fi
done
[[ ! -e "$run_dir/pids" ]] || fail "make down left $run_dir/pids"
for url in $urls $edge/ $(printf 'http://127.0.0.1:%s/ ' "${admin_ports[@]}"); do
    port=${url#http://127.0.0.1:}; port=${port%%/*}
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port still answers after make down"; fi
done
echo "check-up-down: make down left no process behind"
