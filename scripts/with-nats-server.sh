#!/usr/bin/env bash
# Runs a command against a fresh nats-server on a free loopback port, then stops the server.
#
#   scripts/with-nats-server.sh [--jetstream] [--] COMMAND [ARGS...]
#
# The command sees NATS_URL (nats://127.0.0.1:PORT) and NATS_MONITOR_URL
# (http://127.0.0.1:PORT). Extra server flags can be passed in NATS_SERVER_ARGS.
# The server's log is printed to stderr if it fails to start. Exit status: the command's.
set -euo pipefail

jetstream=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --jetstream) jetstream=1; shift ;;
        --) shift; break ;;
        *) break ;;
    esac
done
if [[ $# -eq 0 ]]; then
    echo "usage: $0 [--jetstream] [--] COMMAND [ARGS...]" >&2
    exit 2
fi

server="${XY_NATS_SERVER:-$(PATH="$PATH:/usr/sbin:/usr/local/sbin:/sbin" command -v nats-server || true)}"
if [[ -z "$server" || ! -x "$server" ]]; then
    echo "nats-server not found: run 'make test' (it installs it) or 'apt-get install -y nats-server'" >&2
    exit 1
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/xy-with-nats-XXXXXX")"
log="$dir/nats-server.log"
args=(-a 127.0.0.1 -p -1 -m -1)
if [[ $jetstream -eq 1 ]]; then
    args+=(-js -sd "$dir/store")
fi
# shellcheck disable=SC2206 # word splitting of NATS_SERVER_ARGS is intended
args+=(${NATS_SERVER_ARGS:-})

"$server" "${args[@]}" >"$log" 2>&1 &
pid=$!
cleanup() {
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 200); do
    if grep -q "Server is ready" "$log"; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.05
done
if ! grep -q "Server is ready" "$log"; then
    echo "nats-server did not start; its log:" >&2
    cat "$log" >&2
    exit 1
fi
port="$(sed -n 's/.*Listening for client connections on .*:\([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)"
monitor="$(sed -n 's/.*Starting http monitor on .*:\([0-9][0-9]*\)$/\1/p' "$log" | tail -n 1)"

export NATS_URL="nats://127.0.0.1:$port"
export NATS_MONITOR_URL="http://127.0.0.1:$monitor"
status=0
"$@" || status=$?
exit "$status"
