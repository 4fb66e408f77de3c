#!/usr/bin/env bash
# Benchmarks the memory plugin (release build) against raw SQLite FTS5 with the same schema, in the
# same process, on the same synthetic memories (Zipf vocabulary, 8–40 words each, fixed seed):
# bulk store rate, durable single store latency, top-10 search latency by term class. Prints a
# table with the ratio plugin / raw and the issue's goal per measure, then per term class how many
# queries' plugin top 10 carried FTS5's own bm25() values in FTS5's order. Baselines:
# Benchmarks/Memory/baseline-100k.md, Benchmarks/Memory/baseline-1m.md.
#
#   scripts/bench-memory.sh                          # ITEMS=100000 QUERIES=200 (about a minute)
#   ITEMS=1000000 QUERIES=50 scripts/bench-memory.sh # the issue's size (7-13 minutes here)
#   POSTINGS_PER_GROUP=1024 scripts/bench-memory.sh  # the plugin with a smaller cap of postings per group
#   SEARCH_DELAY=150 scripts/bench-memory.sh         # the searches 150 s after the stores, not 2 s
# Raw FTS5 writes a batch's rows, then their text into FTS5 in one statement (not through a trigger,
# which makes FTS5 flush per row: scripts/fts5-insert-rates.py).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
items="${ITEMS:-100000}"
queries="${QUERIES:-200}"
echo "== build (release)" >&2
swift build -c release --product Memory >&2
swift build -c release --product MemoryBench >&2
bin="$(swift_bin_path release)"
echo "== run: $items items, $queries queries per class" >&2
"$bin/MemoryBench" "$bin/libMemory.so" "$items" "$queries"
