# xy — build, test and benchmark entry points. CI runs `make test` (.ci/run).
#
#   make deps    install what is missing (apt-get as root) and the Python venv (.venv)
#   make build   debug build of the whole package
#   make test    deps, docs-check, the Web modules under node --test (Tests/Web), then every test
#                target in parallel against the real nats-server (scripts/swift-test.sh: stopped after
#                XY_TEST_TIMEOUT seconds, default 1200, naming the tests still running), then
#                compose-check (compose.yaml against the schema and the executables),
#                deploy-check (the least-privilege NATS configuration with the real services),
#                openapi-fuzz (schemathesis against xy-admin, scripts/schemathesis.sh)
#                and the browser tests (make test-browser), then make up-down-check
#   make up-down-check  make up on the debug build (two gateways behind the edge), every /healthz
#                200, the demo page, a REST call and a WebSocket through the edge's one origin, a
#                second make up that starts nothing, make down leaving no process or port behind
#                (scripts/check-up-down.sh)
#   make docs-check  every relative link in README.md and docs/*.md reaches a file and heading
#                (Tests/Docs/test_links.py through the venv's python; part of make test)
#   make test-browser  headless Chromium (Selenium) on the demo terminal against the real stack
#   make up      the whole stack as local processes (release build) behind nginx as the edge (one
#                origin), demo URL printed; make down stops it
#   make bench   deps, release `xy`, libnats (and nats.go when installed) benchmarks side by side,
#                then the xy-realtime proxy benchmark (make bench-realtime) and the aggregator's
#                (make bench-aggregator: MarketData alone, then end to end through NATS)
#   make bench-admin  xy-admin's REST API under wrk (login, snapshots of 50 tickers, 300 minute
#                bars) at 50 clients, straight and through the edge (nginx), requests/s and
#                p50/p99 beside the targets (scripts/bench-admin.py)
#   make contracts         regenerate the Swift and Python code from Contracts/ (commits nothing)
#   make contracts-lint    lint Contracts/ (buf STANDARD rules plus xy's)
#   make contracts-accept  record the current Contracts/ as the baseline CI checks against
#   make contracts-check-full  also rebuild protoc-gen-swift and regenerate to compare (make test
#                checks Contracts/generated.lock instead, building no generator)
#   make openapi  regenerate xy-admin's API code from Api/openapi.yaml with swift-openapi-generator
#                (built from its 1.14.3 tag in a scratch path of its own) and write Api/generated.lock;
#                make test checks that lock (openapi-check) without building the generator
#   make fuzz    libFuzzer + AddressSanitizer on the NATS protocol parser (FUZZ_SECONDS, default 60)
#
# SCRATCH=.build-foo keeps a private build directory; SWIFT_FLAGS adds swift build/test flags.

SHELL := /bin/bash

SWIFT ?= swift
SCRATCH ?= .build
SWIFT_FLAGS ?=
SWIFTPM_FLAGS := --scratch-path $(SCRATCH) $(SWIFT_FLAGS)
CC ?= cc

export SWIFT_DETERMINISTIC_HASHING := 1
export XY_PYTHON := $(CURDIR)/.venv/bin/python

# Benchmarks: sizes in bytes, messages per run (pub, pubsub), requests per run (req), runs.
BENCH_SIZES ?= 16 256
BENCH_MSGS ?= 1000000
BENCH_REQ_MSGS ?= 10000
BENCH_JS_MSGS ?= 200000
BENCH_KV_MSGS ?= 20000
BENCH_RUNS ?= 3

# Fuzzing: its own build folder (every module instrumented), a scratch corpus seeded from the committed one.
FUZZ_SECONDS ?= 60
FUZZ_SCRATCH ?= .build-fuzz

.PHONY: deps build test docs-check test-browser up down up-down-check compose-check deploy-check openapi-fuzz bench bench-realtime bench-aggregator bench-aggregator-e2e bench-gateway bench-admin fuzz contracts contracts-lint contracts-accept contracts-check contracts-check-full openapi openapi-check

deps:
	@scripts/deps.sh

build:
	$(SWIFT) build $(SWIFTPM_FLAGS)

test: deps docs-check contracts-check openapi-check
	node --test Tests/Web/
	@SWIFT="$(SWIFT)" scripts/swift-test.sh $(SWIFTPM_FLAGS)
	@$(MAKE) --no-print-directory compose-check deploy-check openapi-fuzz test-browser up-down-check

# Tests/Docs: README.md is the front door and docs/ the reference behind it; a renamed page or
# heading must not leave a link that leads nowhere. Standard library only, well under a second.
docs-check: deps
	$(XY_PYTHON) -m unittest discover -s Tests/Docs -p 'test_*.py' -v

# Tests/Browser: Selenium drives Debian's chromium through three tabs, the SharedWorker fallback
# and a gateway restart, against nats-server and the debug executables on free loopback ports.
test-browser: deps
	$(SWIFT) build $(SWIFTPM_FLAGS)
	@XY_BIN_DIR="$(abspath $(SCRATCH))/debug" \
	  $(XY_PYTHON) -m unittest discover -s Tests/Browser -p 'test_*.py' -v

# The local stack (scripts/up.sh, scripts/down.sh; run folder .run, ports overridable, see docs/operations.md).
up:
	@XY_SWIFTPM_FLAGS="$(SWIFTPM_FLAGS)" scripts/up.sh

down:
	@scripts/down.sh

# The quick start as CI sees it, on the debug executables (a release build would double CI's time;
# make bench builds release), in its own run folder (.run-check, fresh each time) on free ports, so
# it neither sees nor stops a stack you started with make up. Two gateways, so the edge's upstream
# is checked with more than one server.
up-down-check: deps
	@scripts/down.sh --quiet .run-check >/dev/null 2>&1 || true
	@rm -rf .run-check
	@ports=($$(python3 -c 'import socket; s = [socket.socket() for _ in range(10)]; [x.bind(("127.0.0.1", 0)) for x in s]; print(*[x.getsockname()[1] for x in s])')) && \
	  XY_BUILD_CONFIG=debug XY_RUN_DIR=.run-check XY_NATS_PORT=$${ports[0]} XY_NATS_MONITOR_PORT=$${ports[1]} \
	  XY_SIM_PORT=$${ports[2]} XY_REALTIME_PORT=$${ports[3]} XY_AGGREGATOR_PORT=$${ports[4]} \
	  XY_GATEWAY_PORT=$${ports[5]},$${ports[6]} XY_ADMIN_PORT=$${ports[7]} XY_ADMIN_HTTP_PORT=$${ports[8]} XY_EDGE_PORT=$${ports[9]} \
	  scripts/check-up-down.sh

# compose.yaml without a Docker engine: the compose-spec schema (Tests/Compose/compose-spec.json)
# and every service, variable, port and healthcheck against the debug executables' --help.
compose-check: deps
	$(SWIFT) build $(SWIFTPM_FLAGS)
	XY_BIN_DIR="$$($(SWIFT) build $(SWIFTPM_FLAGS) --show-bin-path)" $(XY_PYTHON) -m unittest discover -s Tests/Compose -v

# deploy/nats/authorization.conf for real: xy dev init, nats-server and the debug services on free
# loopback ports; data flows where allowed, permissions violations where not. And the edge's nginx
# configurations (make up's and compose's) through nginx -t (Tests/Deploy/test_edge.py).
deploy-check: deps
	$(SWIFT) build $(SWIFTPM_FLAGS)
	XY_BIN_DIR="$$($(SWIFT) build $(SWIFTPM_FLAGS) --show-bin-path)" $(XY_PYTHON) -m unittest discover -s Tests/Deploy -v

# schemathesis (Tests/Schemathesis/requirements.txt) against the debug xy-admin on a fresh
# nats-server, with a logged-in user's token: every served operation of Api/openapi.yaml, no 5xx,
# every answer as documented (status, content type, schema). At most 2 minutes.
openapi-fuzz: deps
	$(SWIFT) build $(SWIFTPM_FLAGS)
	XY_BIN_DIR="$$($(SWIFT) build $(SWIFTPM_FLAGS) --show-bin-path)" scripts/schemathesis.sh

bench: deps
	$(SWIFT) build -c release --product xy $(SWIFTPM_FLAGS)
	@mkdir -p bench/bin
	$(CC) -O2 -o bench/bin/libnats_bench bench/libnats_bench.c -lnats -lpthread
	@scripts/build-natsgo-bench.sh
	@XY_BIN="$$($(SWIFT) build -c release $(SWIFTPM_FLAGS) --show-bin-path)/xy" \
	  BENCH_SIZES="$(BENCH_SIZES)" BENCH_MSGS="$(BENCH_MSGS)" \
	  BENCH_REQ_MSGS="$(BENCH_REQ_MSGS)" BENCH_JS_MSGS="$(BENCH_JS_MSGS)" BENCH_KV_MSGS="$(BENCH_KV_MSGS)" \
	  BENCH_RUNS="$(BENCH_RUNS)" \
	  scripts/with-nats-server.sh --jetstream scripts/bench.sh
	@$(MAKE) --no-print-directory bench-realtime
	@$(MAKE) --no-print-directory bench-aggregator
	@$(MAKE) --no-print-directory bench-gateway

# The xy-realtime proxy (issue 5): sim → xy-realtime → NATS → subscriber; scripts/bench-realtime.sh.
bench-realtime: deps
	$(SWIFT) build -c release --product xy $(SWIFTPM_FLAGS)
	$(SWIFT) build -c release --product xy-realtime $(SWIFTPM_FLAGS)
	@BIN="$$($(SWIFT) build -c release $(SWIFTPM_FLAGS) --show-bin-path)" && \
	  XY_BIN="$$BIN/xy" XY_REALTIME_BIN="$$BIN/xy-realtime" scripts/with-nats-server.sh scripts/bench-realtime.sh

# The aggregator's domain logic (issue 6): events folded per second by MarketData, and the
# snapshot build time for a 5,000-symbol group; scripts/bench-aggregator.sh; then end to end.
bench-aggregator:
	$(SWIFT) build -c release --product AggregatorBench $(SWIFTPM_FLAGS)
	@BIN="$$($(SWIFT) build -c release $(SWIFTPM_FLAGS) --show-bin-path)" && \
	  AGGREGATOR_BENCH_BIN="$$BIN/AggregatorBench" scripts/bench-aggregator.sh
	@$(MAKE) --no-print-directory bench-aggregator-e2e

# The aggregator end to end (issue 6): AggregatorE2EBench publishes events at set rates into a
# release xy-aggregator and reads its tick batches back (events/s folded, batch cadence, seq);
# scripts/bench-aggregator-e2e.sh (BENCH_AGG_E2E_RATES, _SYMBOLS, _SECONDS, _RUNS).
bench-aggregator-e2e: deps
	$(SWIFT) build -c release --product AggregatorE2EBench $(SWIFTPM_FLAGS)
	$(SWIFT) build -c release --product xy-aggregator $(SWIFTPM_FLAGS)
	@BIN="$$($(SWIFT) build -c release $(SWIFTPM_FLAGS) --show-bin-path)" && \
	  E2E_BENCH_BIN="$$BIN/AggregatorE2EBench" XY_AGGREGATOR_BIN="$$BIN/xy-aggregator" \
	  scripts/with-nats-server.sh --jetstream scripts/bench-aggregator-e2e.sh

# xy-admin's REST API (issue 17) straight to the service and through the edge (nginx with make
# up's configuration): login, snapshots of 50 tickers and 300 minute bars at 50 concurrent clients
# (wrk, Debian's package; bench/admin.lua), requests/s and p50/p99 beside the targets;
# scripts/bench-admin.py (BENCH_ADMIN_SECONDS, _CONNECTIONS, _THREADS, _RUNS, _CASES, _PATHS).
bench-admin: deps
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y wrk; } || { echo "bench-admin needs wrk: apt-get install wrk" >&2; exit 1; }
	@command -v nginx >/dev/null || { echo "bench-admin needs nginx (the edge): apt-get install nginx" >&2; exit 1; }
	$(SWIFT) build -c release --product xy-admin $(SWIFTPM_FLAGS)
	$(SWIFT) build -c release --product xy-aggregator $(SWIFTPM_FLAGS)
	@XY_BIN_DIR="$$($(SWIFT) build -c release $(SWIFTPM_FLAGS) --show-bin-path)" \
	  scripts/with-nats-server.sh --jetstream $(XY_PYTHON) scripts/bench-admin.py

# The gateway's fan-out (issue 7) beside nats-server's WebSocket listener; scripts/bench-gateway.sh.
bench-gateway: deps
	$(SWIFT) build -c release --product xy $(SWIFTPM_FLAGS)
	$(SWIFT) build -c release --product xy-gateway $(SWIFTPM_FLAGS)
	@BIN="$$($(SWIFT) build -c release $(SWIFTPM_FLAGS) --show-bin-path)" && \
	  XY_BIN="$$BIN/xy" XY_GATEWAY_BIN="$$BIN/xy-gateway" scripts/bench-gateway.sh

fuzz: deps
	$(SWIFT) build --scratch-path $(FUZZ_SCRATCH) --product NATSParserFuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld
	@mkdir -p fuzz/corpus-work
	@cp -n Tests/Fuzz/corpus/parser/* fuzz/corpus-work/
	$(FUZZ_SCRATCH)/debug/NATSParserFuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 fuzz/corpus-work Tests/Fuzz/corpus/parser
	@echo "fuzz: no crash in $(FUZZ_SECONDS) s; new interesting inputs are in fuzz/corpus-work (copy small ones into Tests/Fuzz/corpus/parser to keep them)"

# Contracts (docs/contracts.md). protoc-gen-swift is built from the swift-protobuf checkout in a
# scratch path of its own: `swift build --product …` in $(SCRATCH) caches a build plan that makes
# the next plain build or `swift test` compile every executable of the graph, swift-protobuf's
# C++ protoc included (~10 min). `xy` comes from a plain build, which `swift test` then reuses.
PGS_SCRATCH := $(SCRATCH)-protoc-gen-swift
PGS_BUILD = $(SWIFT) build --package-path $(SCRATCH)/checkouts/swift-protobuf --scratch-path $(PGS_SCRATCH) --product protoc-gen-swift
XY_DEBUG = $(SCRATCH)/debug/xy

contracts: deps
	$(SWIFT) package resolve $(SWIFTPM_FLAGS)
	$(PGS_BUILD) -c release
	scripts/contracts.sh generate $(PGS_SCRATCH)/release/protoc-gen-swift

contracts-lint: deps
	$(SWIFT) build $(SWIFTPM_FLAGS)
	$(XY_DEBUG) contracts lint

contracts-accept: deps
	$(SWIFT) build $(SWIFTPM_FLAGS)
	$(XY_DEBUG) contracts accept

# Run by `make test`: lint, compatibility with Contracts/baseline.binpb, and generated code that is
# what Contracts/generated.lock says it was made from (the .proto files, swift-protobuf's resolved
# version and protoc's, plus a digest of the generated files), with no generator built in CI.
contracts-check: deps
	$(SWIFT) build $(SWIFTPM_FLAGS)
	$(XY_DEBUG) contracts lint
	$(XY_DEBUG) contracts check
	scripts/contracts.sh check-lock

# The full proof, for a change to the generator or its version: build the debug protoc-gen-swift
# (the same bytes as the release one), regenerate into a temporary folder and compare (~4 min).
contracts-check-full: contracts-check
	$(PGS_BUILD)
	scripts/contracts.sh check-generated $(PGS_SCRATCH)/debug/protoc-gen-swift

# xy-admin's REST API (issue 17, docs/errors.md): swift-openapi-generator is not a dependency of the
# package (no build plugin): its tag is cloned and built in a scratch path of its own, run once over
# Api/openapi.yaml, and the output committed in Libraries/AdminAPI/Generated with Api/generated.lock.
OAG_VERSION := 1.14.3
OAG_DIR := $(SCRATCH)-openapi-generator
openapi: deps
	$(SWIFT) package resolve $(SWIFTPM_FLAGS)
	@[[ -d $(OAG_DIR)/checkout ]] || git clone --quiet --depth 1 --branch $(OAG_VERSION) https://github.com/apple/swift-openapi-generator.git $(OAG_DIR)/checkout
	$(SWIFT) build --package-path $(OAG_DIR)/checkout --scratch-path $(OAG_DIR)/build --product swift-openapi-generator -c release
	scripts/openapi.sh generate $(OAG_DIR)/build/release/swift-openapi-generator

# Run by `make test`: the generated code is what Api/generated.lock says it was made from.
openapi-check:
	@[[ -f Package.resolved ]] || $(SWIFT) package resolve $(SWIFTPM_FLAGS)
	scripts/openapi.sh check-lock
