#!/usr/bin/env bash
# `swift test` under a deadline, so that a hung test fails `make test` within minutes, naming the
# tests still running, instead of holding CI until its own 90-minute limit kills it silently.
#
#   scripts/swift-test.sh [swift build and test flags...] [-- flags for swift test only, e.g. --filter X]
#
#   SWIFT            the swift driver (default swift)
#   XY_TEST_TIMEOUT  seconds the test run (not the build) may take (default 1200)
#
# The tests are built first, without a deadline (a clean build's time depends on the machine).
# Swift Testing's event stream (--event-stream-output-path, JSON lines) says which tests started
# and which ended; on a timeout the difference is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

swift=${SWIFT:-swift}
limit=${XY_TEST_TIMEOUT:-1200}

common=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do common+=("$1"); shift; done
[ $# -gt 0 ] && shift
"$swift" build --build-tests "${common[@]}"

events_dir=$(mktemp -d "${TMPDIR:-/tmp}/xy-test-events.XXXXXX")
trap 'rm -rf "$events_dir"' EXIT
events="$events_dir/events.jsonl"

# timeout runs the test in its own process group and signals the whole group; the servers the
# tests started die with the test process (they are spawned with a parent-death signal).
status=0
timeout --kill-after=30 "$limit" "$swift" test --skip-build "${common[@]}" "$@" --event-stream-output-path "$events" || status=$?

if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "swift test did not finish within ${limit}s (XY_TEST_TIMEOUT); still running when it was stopped:" >&2
  python3 - "$events" >&2 <<'EOF'
import json, sys

running = {}
try:
    with open(sys.argv[1], encoding="utf-8") as stream:
        for line in stream:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the last line may be cut off
            if record.get("kind") != "event":
                continue
            payload = record.get("payload", {})
            kind, test = payload.get("kind"), payload.get("testID")
            if test is None:
                continue
            if kind in ("testStarted", "testCaseStarted"):
                running[test] = running.get(test, 0) + 1
            elif kind in ("testEnded", "testCaseEnded", "testSkipped"):
                running[test] = running.get(test, 0) - 1
except FileNotFoundError:
    print("  (no test had started: the event stream was never written)")
    sys.exit(0)
hung = sorted(test for test, count in running.items() if count > 0)
# A suite is "running" while any test in it is; print only the innermost names.
leaves = [test for test in hung if not any(other != test and other.startswith(test + "/") for other in hung)]
for test in leaves:
    print("  " + test)
if not leaves:
    print("  (none: the run hung outside a test)")
EOF
fi
exit "$status"
