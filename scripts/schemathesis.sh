#!/usr/bin/env bash
# schemathesis against xy-admin (make openapi-fuzz, part of make test): a fresh nats-server with
# JetStream, `xy sim polygon` as the vendor's REST side, xy-aggregator and the debug xy-admin on free loopback
# ports, a registered and logged-in user with the admin role, then
# schemathesis generates requests from the document the service serves
# (GET /api/v1/openapi.yaml) for every operation it serves (the generator config's `filter`; the
# others are documented but answer 404 XYA011) and checks that none yields a 5xx and that every
# answer conforms to the document: its status, content type and body schema, and another method
# on a served path is 405.
#
#   scripts/schemathesis.sh            XY_BIN_DIR (the built executables) defaults to swift's debug bin path
#
# Bounded in time: SCHEMATHESIS_MAX_EXAMPLES cases per operation (default 100) and a hard stop at
# SCHEMATHESIS_TIMEOUT seconds (default 120). Exit status: schemathesis's (0 when nothing failed).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" != "--inside" ]]; then
    exec scripts/with-nats-server.sh --jetstream -- "$0" --inside
fi

python="${XY_PYTHON:-$PWD/.venv/bin/python}"
schemathesis="$(dirname "$python")/schemathesis"
[[ -x "$schemathesis" ]] || { echo "schemathesis.sh: $schemathesis missing: run 'make deps'" >&2; exit 1; }
bin="${XY_BIN_DIR:-$(swift build --scratch-path .build --show-bin-path)}"
[[ -x "$bin/xy-admin" ]] || { echo "schemathesis.sh: $bin/xy-admin missing: run 'swift build' first" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/xy-schemathesis-XXXXXX")"
admin_pid=""
sim_pid=""
aggregator_pid=""
cleanup() {
    for pid in $admin_pid $aggregator_pid $sim_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
api_port="$(free_port)"
http_port="$(free_port)"
api="http://127.0.0.1:$api_port"

# The vendor's REST side (bars backfill, the snapshot fallback): the simulator on a free port.
"$bin/xy" sim polygon --listen 127.0.0.1:0 --api-key sim-key --rate 1 >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do
    grep -q '^listening ' "$work/sim.log" 2>/dev/null && break
    sleep 0.1
done
vendor="$(sed -n 's/^listening \([0-9.]*:[0-9]*\).*/\1/p' "$work/sim.log" | head -n 1)"
[[ -n "$vendor" ]] || { echo "schemathesis.sh: xy sim polygon did not start; its log:" >&2; cat "$work/sim.log" >&2; exit 1; }

# xy-aggregator, which creates XY_BARS and answers snapshot requests: without it bars would be a
# 503 (XYW004, the stream missing), which is the deployment's fault, not the request's.
aggregator_http_port="$(free_port)"
NATS_URLS="$NATS_URL" HTTP_HOST=127.0.0.1 HTTP_PORT="$aggregator_http_port" LOG_LEVEL=warning \
    "$bin/xy-aggregator" >"$work/aggregator.log" 2>&1 &
aggregator_pid=$!
"$python" - "http://127.0.0.1:$aggregator_http_port/healthz" <<'EOF' || { echo "schemathesis.sh: xy-aggregator not ready; its log:" >&2; cat "$work/aggregator.log" >&2; exit 1; }
import sys, time, urllib.request
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
EOF

# Argon2id at libsodium's minimum cost (the fuzzer registers many accounts), the login limits out
# of the way (429 is documented, but a locked-out address would stop the fuzzer reaching the rest),
# and the fuzzer's account an admin, so the /admin/ operations are fuzzed past their 403.
NATS_URLS="$NATS_URL" HTTP_HOST=127.0.0.1 HTTP_PORT="$http_port" API_HOST=127.0.0.1 API_PORT="$api_port" LOG_LEVEL=warning \
    ARGON2_OPSLIMIT=1 ARGON2_MEMLIMIT=8192 LOGIN_MAX_FAILURES_PER_USER=1000 LOGIN_MAX_FAILURES_PER_ADDRESS=100000 \
    ADMIN_USERNAMES=schemathesis \
    UPSTREAM_REST_URL="http://$vendor" UPSTREAM_API_KEY=sim-key \
    "$bin/xy-admin" >"$work/admin.log" 2>&1 &
admin_pid=$!

"$python" - "$api" "$work/token" <<'EOF' || { echo "schemathesis.sh: xy-admin did not start; its log:" >&2; cat "$work/admin.log" >&2; exit 1; }
import json, sys, time, urllib.error, urllib.request

api, token_file = sys.argv[1], sys.argv[2]

def call(method, path, body=None):
    request = urllib.request.Request(api + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")

deadline = time.monotonic() + 60
while True:
    try:
        if call("GET", "/.well-known/jwks.json")[0] == 200:
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("xy-admin's API did not answer within 60 s")
    time.sleep(0.2)
credentials = {"username": "schemathesis", "password": "a long enough password"}
status, body = call("POST", "/api/v1/auth/register", credentials)
if status != 201:
    sys.exit(f"register: {status} {body}")
status, body = call("POST", "/api/v1/auth/login", credentials)
if status != 200:
    sys.exit(f"login: {status} {body}")
open(token_file, "w").write(body["access_token"])
EOF

# The served operations, as the generator's configuration lists them.
operations=()
while read -r id; do operations+=(--include-operation-id "$id"); done < <(
    sed -n '/^filter:/,$p' Api/openapi-generator-config.yaml | sed -n 's/^ *- *\([A-Za-z0-9_]*\) *$/\1/p')
[[ ${#operations[@]} -gt 0 ]] || { echo "schemathesis.sh: no operation in Api/openapi-generator-config.yaml's filter" >&2; exit 1; }

# In the scratch folder: schemathesis keeps a crash cache in its working directory.
cd "$work"
status=0
timeout --signal=INT --kill-after=10 "${SCHEMATHESIS_TIMEOUT:-120}" \
    "$schemathesis" run "$api/api/v1/openapi.yaml" --url "$api" \
    --header "Authorization: Bearer $(cat "$work/token")" \
    "${operations[@]}" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method \
    --phases examples,coverage,fuzzing --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-100}" --workers 2 \
    --request-timeout 10 --generation-database none --seed "${SCHEMATHESIS_SEED:-17}" \
    --no-color --report junit --report-dir "$work/report" || status=$?
if [[ $status -ne 0 ]]; then
    echo "schemathesis.sh: schemathesis failed (status $status); xy-admin's log:" >&2
    tail -n 50 "$work/admin.log" >&2
fi
exit "$status"
