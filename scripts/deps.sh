#!/usr/bin/env bash
# Checks for, and when root installs, what building and testing xy needs:
#   system packages: nats-server libsodium-dev libnats-dev protobuf-compiler openssl
#                    pkg-config python3 (python3-venv when the venv must be created)
#                    chromium chromium-driver (the browser tests)
#                    nodejs (node --test on the Web modules, Tests/Web)
#                    nginx (make up's edge, run as the invoking user; Tests/Deploy checks its
#                    configurations with nginx -t)
#   .venv:           Python venv with Tests/Interop/requirements.txt (nats-py, protobuf;
#                    PyYAML and jsonschema for the compose.yaml checks)
#                    Tests/Browser/requirements.txt (selenium)
#                    and Tests/Schemathesis/requirements.txt (schemathesis, make openapi-fuzz)
# Idempotent and fast when everything is present. Not root: prints what to install, exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=(Tests/Interop/requirements.txt Tests/Browser/requirements.txt Tests/Schemathesis/requirements.txt)
venv=".venv"
stamp="$venv/.xy-requirements"
wanted="$(cat "${requirements[@]}")"

missing=()
have() { command -v "$1" >/dev/null 2>&1; }

have nats-server || [[ -x /usr/sbin/nats-server ]] || missing+=(nats-server)
have protoc || missing+=(protobuf-compiler)
have openssl || missing+=(openssl)
have python3 || missing+=(python3)
[[ -x /usr/lib/chromium/chromium ]] || have chromium || missing+=(chromium)
have chromedriver || missing+=(chromium-driver)
have node || missing+=(nodejs)
have nginx || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
if have pkg-config; then
    pkg-config --exists libsodium || missing+=(libsodium-dev)
    pkg-config --exists libnats || missing+=(libnats-dev)
else
    missing+=(pkg-config libsodium-dev libnats-dev)
fi

needs_venv=0
if [[ ! -x "$venv/bin/python" ]] || [[ "$wanted" != "$(cat "$stamp" 2>/dev/null)" ]]; then
    needs_venv=1
    # Debian's python3 has no ensurepip (hence no working `python3 -m venv`) without python3-venv.
    if [[ ! -x "$venv/bin/python" ]] && have python3 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        missing+=(python3-venv)
    elif ! have python3; then
        missing+=(python3-venv)
    fi
fi

if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -ne 0 ]] || ! have apt-get; then
        echo "make deps: missing ${missing[*]}" >&2
        echo "install them as root with:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    echo "make deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $needs_venv -eq 1 ]]; then
    if [[ -e "$venv" && ! -w "$venv" ]]; then
        echo "make deps: $venv must be (re)created or updated but is not writable by $(id -un)" >&2
        exit 1
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "make deps: creating $venv"
        python3 -m venv --clear "$venv"
    fi
    echo "make deps: installing $(cat "${requirements[@]}" | grep -v '^#' | xargs) into $venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${requirements[@]/#/-r}"
    printf '%s' "$wanted" >"$stamp"
fi
