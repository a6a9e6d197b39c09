#!/usr/bin/env bash
# Code generated from Contracts/**/*.proto with Debian's protoc:
#   Libraries/XYContracts/Generated/*.pb.swift   (protoc-gen-swift, public visibility)
#   Tests/Interop/generated/xy/**/*_pb2.py        (protoc --python_out, for the Python peer)
#
#   scripts/contracts.sh generate PLUGIN          rewrite both folders and Contracts/generated.lock
#                                                 (make contracts)
#   scripts/contracts.sh check-generated PLUGIN   regenerate into a temporary folder and fail
#                                                 when the committed files differ (make contracts-check-full)
#   scripts/contracts.sh check-lock               without building anything: fail when the .proto
#                                                 files, swift-protobuf's resolved version or protoc's
#                                                 version differ from what Contracts/generated.lock
#                                                 says the code was generated from, or the generated
#                                                 files differ from what it recorded (make test)
# PLUGIN is a built protoc-gen-swift. No command commits anything.
set -euo pipefail
cd "$(dirname "$0")/.."

swift_out="Libraries/XYContracts/Generated"
python_out="Tests/Interop/generated"
lock="Contracts/generated.lock"

usage() { echo "usage: $0 generate|check-generated PATH/TO/protoc-gen-swift, or $0 check-lock" >&2; exit 2; }
command -v protoc >/dev/null || { echo "contracts: protoc not found: apt-get install -y protobuf-compiler" >&2; exit 2; }

source scripts/lib/generated-lock.sh

# The lock's lines: what the generated code came from, and the generated code itself.
lock_lines() {
    local protobuf
    protobuf="$(resolved_version swift-protobuf)"
    mapfile -t protos < <(find Contracts -name '*.proto' | LC_ALL=C sort)
    mapfile -t outputs < <(find "$swift_out" "$python_out" -type f -not -path '*/__pycache__/*' | LC_ALL=C sort)
    echo "swift-protobuf $protobuf"
    echo "protoc $(protoc --version | cut -d' ' -f2)"
    echo "proto-files $(digest "${protos[@]}")"
    echo "generated-files $(digest "${outputs[@]}")"
}

if [[ "${1:-}" == "check-lock" ]]; then
    [[ $# -eq 1 ]] || usage
    check_lock contracts "$lock" "a .proto, swift-protobuf or protoc" "make contracts"
fi

[[ $# -eq 2 ]] || usage
plugin="$(realpath "$2")"
[[ -x "$plugin" ]] || { echo "contracts: $2 is not an executable protoc-gen-swift" >&2; exit 2; }

# generate SWIFT_DIR PYTHON_DIR: both folders from scratch, files in a fixed order.
generate() {
    local swift_dir python_dir
    swift_dir="$(realpath -m "$1")"
    python_dir="$(realpath -m "$2")"
    rm -rf "$swift_dir" "$python_dir"
    mkdir -p "$swift_dir" "$python_dir"
    (cd Contracts && find . -name '*.proto' -printf '%P\n' | LC_ALL=C sort | xargs protoc \
        --plugin=protoc-gen-swift="$plugin" \
        --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores --swift_out="$swift_dir" \
        --python_out="$python_dir")
    unchecked_storage "$swift_dir"
}

# unchecked_storage SWIFT_DIR: a message with many fields keeps them in a `_StorageClass`, and
# Swift checked exclusivity at run time on every access to a class's stored properties: unchecked
# (the class is private to the generated copy-on-write accessors), the MarketData benchmark builds
# a 5,000-symbol snapshot in 0.63 ms instead of 3.1 ms and encodes it in 1.3 ms instead of 3.8 ms.
# An attribute in the code, not -enforce-exclusivity=unchecked in Package.swift: unsafeFlags
# would keep other packages from depending on XYContracts.
unchecked_storage() {
    local file
    for file in "$1"/*.pb.swift; do
        awk '/^  fileprivate class _StorageClass \{$/ { inside = 1 }
             inside && /^    var _/ { sub(/^    var /, "    @exclusivity(unchecked) var ") }
             /^  \}$/ { inside = 0 }
             { print }' "$file" >"$file.tmp"
        mv "$file.tmp" "$file"
    done
}

case "$1" in
generate)
    generate "$swift_out" "$python_out"
    { echo "# Written by 'make contracts' (scripts/contracts.sh): what the generated code was made from, and"
      echo "# a digest of it. 'make test' compares it with the tree instead of building protoc-gen-swift."
      lock_lines; } >"$lock"
    echo "contracts: regenerated $swift_out, $python_out and $lock (commit them with the .proto change)"
    ;;
check-generated)
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    generate "$scratch/swift" "$scratch/python"
    status=0
    diff -r "$scratch/swift" "$swift_out" >"$scratch/swift.diff" || status=1
    diff -r -x __pycache__ "$scratch/python" "$python_out" >"$scratch/python.diff" || status=1
    if [[ $status -ne 0 ]]; then
        echo "contracts: generated code is stale; run 'make contracts' and commit the result:" >&2
        head -n 40 "$scratch/swift.diff" "$scratch/python.diff" >&2
        exit 1
    fi
    echo "contracts: generated Swift and Python match Contracts/"
    ;;
*) usage ;;
esac
