#!/usr/bin/env bash
# Replays parts of scripts/bench-memory.sh's workload (Benchmarks/Memory/Probe) against the memory
# plugin on a data directory kept between runs, so one measure can be studied at a million items
# without the bench's bulk phase each time; each run works on a fresh copy of the kept directory.
# With several libraries (LIBS), the runs alternate between them (A/B on a noisy machine).
#
#   scripts/probe-memory.sh                                   # merge-mode singles, 3 runs, 1M items
#   MODE=merge RUNS=5 LIBS="/tmp/a.so /tmp/b.so" scripts/probe-memory.sh
#   MODE= ROUNDS=3 CLASS=rare scripts/probe-memory.sh         # top-10 searches, rare terms only
#   MODE= MIXED=2000 scripts/probe-memory.sh                  # searches while another thread stores
#
# ITEMS (default 1000000) sizes the corpus; KEEP (default /var/tmp/jamey-memory-probe-$ITEMS) is the
# kept directory, made on first use by bulk-storing the bench's corpus (about 5 minutes at 1M);
# each library then opens a copy of its own once, so its migrations are done before any timed run. LIBS
# defaults to the release build's libMemory.so (built first). Other variables (EXTRA, MIXED, SHOW) are
# passed on; see Benchmarks/Memory/Probe/main.swift.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
items="${ITEMS:-1000000}"
keep="${KEEP:-/var/tmp/jamey-memory-probe-$items}"
runs="${RUNS:-3}"
export MODE="${MODE-merge}"
echo "== build (release)" >&2
swift build -c release --product Memory >&2
swift build -c release --product MemoryProbe >&2
bin="$(swift_bin_path release)"
libs="${LIBS:-$bin/libMemory.so}"
for lib in $libs; do
    [[ "$lib" == /* && -f "$lib" ]] || { echo "probe-memory: LIBS needs absolute paths of built libraries: $lib" >&2; exit 2; }
done
if [[ ! -f "$keep/data/memory/memory.sqlite" ]]; then
    echo "== making $keep: $items items" >&2
    mkdir -p "$keep"
    MODE= EXTRA= MIXED= CHECKPOINT=1 "$bin/MemoryProbe" "${libs%% *}" "$keep" "$items" 0
fi
# Each library opens a copy of its own once (its migrations and background fills done before any
# timed run), and its runs start from fresh copies of that: libraries whose migrations differ must
# not open one file (a library without v13 on a file that has it writes no pending-log rows).
scratch="$(mktemp -d "${TMPDIR:-/tmp}/jamey-memory-probe.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
n=0
for lib in $libs; do
    n=$((n + 1))
    cp -a "$keep" "$scratch/prepared-$n"
    MODE= EXTRA= MIXED= CHECKPOINT=1 "$bin/MemoryProbe" "$lib" "$scratch/prepared-$n" "$items" 0 >/dev/null
done
for run in $(seq 1 "$runs"); do
    n=0
    for lib in $libs; do
        n=$((n + 1))
        rm -rf "$scratch/run" && cp -a "$scratch/prepared-$n" "$scratch/run"
        echo "== run $run: $lib" >&2
        "$bin/MemoryProbe" "$lib" "$scratch/run" "$items" "${ROUNDS:-0}"
    done
done
