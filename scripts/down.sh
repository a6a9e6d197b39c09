#!/usr/bin/env bash
# make down: stops exactly the processes make up started, newest first, and nothing else.
#
#   scripts/down.sh [--quiet] [RUN_DIR]     SIGTERM each process in RUN_DIR/pids (default .run) that
#                                           is still the executable recorded there, SIGKILL after
#                                           20 s, then remove the pids file
#   scripts/down.sh --list-live [RUN_DIR]   print the names of the recorded processes still running
#
# A recorded PID whose /proc/PID/exe is another program (the PID was reused) is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=stop
quiet=0
while [[ $# -gt 0 && $1 == --* ]]; do
    case $1 in
        --list-live) mode=list ;;
        --quiet) quiet=1 ;;
        *) echo "down.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
run_dir=${1:-${XY_RUN_DIR:-.run}}
pids_file="$run_dir/pids"

# alive PID EXECUTABLE: PID runs EXECUTABLE (a zombie or a reused PID does not count).
alive() {
    [[ -e /proc/$1 ]] || return 1
    [[ $(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) != Z ]] || return 1
    local exe
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    [[ ${exe% (deleted)} == "$2" ]]
}

if [[ ! -f "$pids_file" ]]; then
    [[ $mode == stop && $quiet == 0 ]] && echo "make down: nothing to stop (no $pids_file)"
    exit 0
fi

entries=()
while read -r name pid exe; do
    [[ -n ${name:-} ]] && entries+=("$name $pid $exe")
done <"$pids_file"

if [[ $mode == list ]]; then
    for entry in "${entries[@]}"; do
        read -r name pid exe <<<"$entry"
        alive "$pid" "$exe" && echo "$name"
    done
    exit 0
fi

stopping=()
for (( i=${#entries[@]}-1; i>=0; i-- )); do
    read -r name pid exe <<<"${entries[i]}"
    if alive "$pid" "$exe"; then
        kill -TERM "$pid" 2>/dev/null && stopping+=("$name $pid $exe")
        # Each service drains before the next one down the chain goes (the gateway before the
        # aggregator, …, nats-server last), within its own shutdown bound.
        for _ in $(seq 1 40); do alive "$pid" "$exe" || break; sleep 0.5; done
        if alive "$pid" "$exe"; then
            echo "make down: $name ($pid) still running after 20 s; SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
done
rm -f "$pids_file" "$run_dir/urls"
if [[ $quiet == 0 ]]; then
    if [[ ${#stopping[@]} -eq 0 ]]; then
        echo "make down: nothing was running"
    else
        echo "make down: stopped $(for s in "${stopping[@]}"; do read -r n p _ <<<"$s"; printf '%s (%s) ' "$n" "$p"; done)"
    fi
fi
