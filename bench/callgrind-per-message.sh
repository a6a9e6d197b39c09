#!/usr/bin/env bash
# Instructions per message of one `xy bench` shape, counted by callgrind (repeatable where
# wall-clock time is not): runs `XY bench BENCH --msgs N --size 16 --json` and again with 2N
# against a fresh nats-server, and prints (instructions at 2N - instructions at N) / N, so the
# start-up and connection costs cancel out.
#
#   bench/callgrind-per-message.sh XY_BINARY pub|pubsub|req N [OUT_DIR]
#
# pub+sub counts vary by some ±8 % between runs (how many messages the subscriber takes per
# wake-up depends on scheduling): take the median of several. The callgrind files stay in OUT_DIR
# (default: a temporary folder) for callgrind_annotate.
set -euo pipefail
binary=$1 bench=$2 n=$3
out=${4:-$(mktemp -d "${TMPDIR:-/tmp}/xy-callgrind-XXXXXX")}
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
# valgrind cannot read the DWARF Swift's linker writes; the symbol table is enough for callgrind.
objcopy --strip-debug "$binary" "$out/xy"
cc -shared -fPIC -O2 -o "$out/sigsuspend-shim.so" "$here/sigsuspend-shim.c"
total() {
    "$here/../scripts/with-nats-server.sh" -- env LD_PRELOAD="$out/sigsuspend-shim.so" \
        valgrind --tool=callgrind --callgrind-out-file="$out/$bench.$1" "$out/xy" bench "$bench" --msgs "$1" --size 16 --json \
        >"$out/$bench.$1.log" 2>&1
    awk '/Collected/ { print $4 }' "$out/$bench.$1.log"
}
a=$(total "$n")
b=$(total $((2 * n)))
echo "$bench: $(( (b - a) / n )) instructions per message ($a at $n, $b at $((2 * n)); files in $out)"
