# Sourced by scripts/contracts.sh and scripts/openapi.sh: the lock that lets `make test` check
# committed generated code without building its generator. A script defines lock_lines (what the
# code came from and a digest of it) and calls check_lock.

# digest FILES...: one sha256 over the names and contents of FILES (given in a fixed order).
digest() {
    local file
    for file in "$@"; do printf '%s %s\n' "$file" "$(sha256sum <"$file" | cut -d' ' -f1)"; done | sha256sum | cut -d' ' -f1
}

# resolved_version IDENTITY: the version (or revision) Package.resolved pins for a package.
resolved_version() {
    python3 -c 'import json, sys
pins = json.load(open("Package.resolved"))["pins"]
print(next(p["state"].get("version") or p["state"]["revision"] for p in pins if p["identity"] == sys.argv[1]))' "$1"
}

# check_lock NAME LOCK WHAT FIX: exit 0 when lock_lines matches LOCK, else print the lines that
# differ and exit 1; WHAT names the inputs that may have changed, FIX the command that mends it.
check_lock() {
    local name=$1 lock=$2 what=$3 fix=$4 expected actual
    [[ -f Package.resolved ]] || { echo "$name: no Package.resolved: run 'swift package resolve' first" >&2; exit 2; }
    [[ -f "$lock" ]] || { echo "$name: $lock is missing: run '$fix' and commit the result" >&2; exit 1; }
    expected="$(grep -v '^#' "$lock")"
    actual="$(lock_lines)"
    if [[ "$expected" != "$actual" ]]; then
        echo "$name: the generated code is not what $lock records ($what changed, or a generated file" >&2
        echo "was edited by hand); run '$fix' and commit the result:" >&2
        diff <(echo "$expected") <(echo "$actual") | sed 's/^/  /' >&2 || true
        exit 1
    fi
    echo "$name: generated code is current ($lock)"
    exit 0
}
