#!/usr/bin/env bash
# Benchmarks the workspace pipeline and the conscience in-process, on one thread (one core), in a
# release build, each next to a baseline measured in the same run on the same fixed-seed texts:
#   - texts/s and p50/p99 through Consciousness.process (goal: >= 100,000/s, p99 < 1 ms), against
#     reading each text's Unicode scalars and words;
#   - conscience evaluations/s with 10 and with 1,000 rules, against the conscience's tokenizer;
#   - POST /v1/conscience/evaluate through the gateway next to a bare Hummingbird server doing
#     the same evaluation in process (scripts/bench-conscience-http.sh; skip with HTTP=0).
# The committed baseline is Benchmarks/Consciousness/baseline.md.
#
#   scripts/bench-consciousness.sh            # TEXTS=200000
#   TEXTS=1000000 scripts/bench-consciousness.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
texts="${TEXTS:-200000}"
echo "== build (release)" >&2
swift build -c release --product ConsciousnessBench >&2
bin="$(swift_bin_path release)"
echo "== run: $texts texts, pinned to one core" >&2
if command -v taskset >/dev/null; then
  taskset -c 0 "$bin/ConsciousnessBench" "$texts"
else
  "$bin/ConsciousnessBench" "$texts"
fi
if [ "${HTTP:-1}" != 0 ]; then
  echo "== POST /v1/conscience/evaluate: gateway vs bare Hummingbird" >&2
  scripts/bench-conscience-http.sh
fi
