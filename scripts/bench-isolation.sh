#!/usr/bin/env bash
# Benchmarks crash isolation (`plugins.<name>.isolation: process`, release build) with the
# fault_c plugin (Plugins/FaultC), against the same plugin in process in the same run:
#   - an isolated bus request's cost next to the same plugin in process: fault_c.echo with a
#     1 KiB body, one request at a time, p50/p90/p99 of each and what isolation adds
#     (goal: at most 30 µs added at p99);
#   - crash → serving again: fault_c.crash kills the process (SIGSEGV); the time from sending it
#     to its 503 (crash → detected) and from the 503 to the first answer of the new process
#     (detected → serving again; goal: p99 at most 50 ms), with no restart backoff (delay_ms 0:
#     the default schedule waits 100 ms before the first restart on purpose); polls while down
#     pause POLL_PAUSE_US (default 100 µs; 0 polls back to back).
# Baseline: Benchmarks/Isolation/baseline.md.
#
#   scripts/bench-isolation.sh                    # REQUESTS=5000 ROUNDS=4 CRASHES=200 POLL_PAUSE_US=100
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
requests="${REQUESTS:-5000}"
rounds="${ROUNDS:-4}"
crashes="${CRASHES:-200}"
size="${SIZE:-1024}"

echo "== build (release)" >&2
swift build -c release --product jamey-plugin-runner >&2
swift build -c release --product IsolationBench >&2
bin="$(swift_bin_path release)"
make -s -C Plugins/FaultC OUT="$bin"

echo "== latency: $rounds rounds × $requests requests of $size bytes per mode, alternating" >&2
"$bin/IsolationBench" latency "$bin/libFaultC.so" "$requests" "$size" "$rounds"
echo "== recovery: $crashes crashes" >&2
"$bin/IsolationBench" recovery "$bin/libFaultC.so" "$crashes"
