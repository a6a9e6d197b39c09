#!/usr/bin/env bash
# The aggregator's domain-logic benchmark (issue 6): MarketData folding events (with and without
# Protobuf decoding) and building a 5,000-symbol snapshot; prints a Markdown table.
#
# Environment: AGGREGATOR_BENCH_BIN (.build/release/AggregatorBench),
# BENCH_AGG_EVENTS (2000000), BENCH_AGG_SYMBOLS (5000), BENCH_AGG_RUNS (5).
set -euo pipefail
cd "$(dirname "$0")/.."
bench="${AGGREGATOR_BENCH_BIN:-.build/release/AggregatorBench}"
"$bench" "${BENCH_AGG_EVENTS:-2000000}" "${BENCH_AGG_SYMBOLS:-5000}" "${BENCH_AGG_RUNS:-5}"
