#!/usr/bin/env bash
# Builds bench/bin/natsgo_req from Debian's nats.go sources (no module proxy) when Go and
# nats.go are installed; otherwise says why the nats.go comparison is skipped. Never fails.
cd "$(dirname "$0")/.."
gopath=/usr/share/gocode
out=bench/bin/natsgo_req
hint="apt-get install -y --no-install-recommends golang-go golang-github-nats-io-go-nats-dev"
rm -f "$out"
if ! command -v go >/dev/null 2>&1; then
    echo "nats.go bench skipped: Go is not installed ($hint)"
    exit 0
fi
if [[ ! -d "$gopath/src/github.com/nats-io/nats.go" ]]; then
    echo "nats.go bench skipped: nats.go sources not in $gopath ($hint)"
    exit 0
fi
mkdir -p bench/bin
log="$(mktemp)"
if GO111MODULE=off GOPATH="$gopath" GOCACHE="${GOCACHE:-$PWD/bench/bin/go-cache}" \
    go build -o "$out" bench/natsgo_req.go >"$log" 2>&1; then
    echo "nats.go bench built: $out"
else
    echo "nats.go bench skipped: go build failed: $(tail -n 1 "$log")"
    rm -f "$out"
fi
rm -f "$log"
exit 0
