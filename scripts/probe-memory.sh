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
# kept directory, made on first use by bulk-storing the bench's corpus (about 5 minutes at 1M),
# then opened once by each library so its migrations are done before any timed run. LIBS
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
# The preparation only opens the kept directory: what a run measures happens on copies.
for lib in $libs; do MODE= EXTRA= MIXED= CHECKPOINT=1 "$bin/MemoryProbe" "$lib" "$keep" "$items" 0 >/dev/null; done
scratch="$(mktemp -d "${TMPDIR:-/tmp}/jamey-memory-probe.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
for run in $(seq 1 "$runs"); do
    for lib in $libs; do
        rm -rf "$scratch/run" && cp -a "$keep" "$scratch/run"
        echo "== run $run: $lib" >&2
        "$bin/MemoryProbe" "$lib" "$scratch/run" "$items" "${ROUNDS:-0}"
    done
done
