#!/usr/bin/env bash
# Jamey's benchmarks (Benchmarks/, ordo-one/benchmark, release builds), compared with the
# committed baselines in Benchmarks/.benchmarkBaselines/<suite>/default/.
#
#   scripts/bench.sh                    build, run every suite, print the figures and ratios, then
#                                       check the run against the committed baselines: exit 1 when
#                                       a gated ratio regressed beyond its tolerance
#   scripts/bench.sh --update-baseline  build, run, and store the run as the committed baseline
#   scripts/bench.sh --target REGEX     only the matching suites (BusThroughput, RequestReply,
#                                       ServiceCall, KernelStartup); combines with the above
#
# Every figure is measured next to an in-run baseline (the same work without Jamey, or Jamey
# without plugins), and only those ratios are gated — each with the tolerance stated in the table
# (relative, at p50 of the iterations) — because absolute numbers follow the machine's load.
# Absolute figures are reported, with the issue's targets, but never fail the run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

mode=check
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --update-baseline) mode=update ;;
    --target) targets+=(--target "$2"); shift ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

bench="$JAMEY_ROOT/Benchmarks"
started=$SECONDS

echo "== build jamey and its plugins (release)"
(cd "$JAMEY_ROOT" && swift build -c release)
JAMEY_BENCH_BIN_DIR="$(swift_bin_path release)"
export JAMEY_BENCH_BIN_DIR

echo "== build the C plugins of the benchmarks (cc -shared)"
make -s -C "$bench/Plugins/CPlugins" OUT="$bench/.build/cplugins"

echo "== build the Swift plugin of the benchmarks (release)"
(cd "$bench" && swift build -c release --product BenchDriver)

# Each run is stored as the baseline "current" (ignored by git), or as "default" when updating.
run_name=current
[ "$mode" = update ] && run_name=default
rm -rf "$bench/.build/bench-summary"

echo "== run the benchmarks (baseline '$run_name')"
cd "$bench"
set +e
swift package --allow-writing-to-package-directory benchmark baseline update "$run_name" \
  "${targets[@]}" --no-progress --quiet
run_status=$?
set -e

echo
echo "== figures (median over the measured iterations; each with its in-run baseline)"
{
  printf 'benchmark\tfigure\tvalue\ttarget\tstatus\tgate\titerations\tnote\n'
  cat "$bench"/.build/bench-summary/*/*.tsv 2>/dev/null
} | cut -f1-7 | column -t -s $'\t'
echo
echo "baselines in the same run:"
cat "$bench"/.build/bench-summary/*/*.tsv 2>/dev/null | cut -f1,8 | sort -u | column -t -s $'\t' | sed 's/^/  /'
if [ $run_status -ne 0 ]; then
  echo "the benchmark run failed (status $run_status): see its output above" >&2
  exit 1
fi

if [ "$mode" = update ]; then
  echo
  echo "== stored as the committed baseline: Benchmarks/.benchmarkBaselines/*/default/results.json"
  echo "   commit it: git add Benchmarks/.benchmarkBaselines && git commit"
  echo "== done in $((SECONDS - started)) s"
  exit 0
fi

echo
echo "== check against the committed baselines (gated: the ratios, tolerance as stated above)"
# The plugin exits 1 for a regression and for an improvement alike; its verdict line tells them apart.
check_log="$bench/.build/bench-check.log"
set +e
swift package benchmark baseline check default current "${targets[@]}" --no-progress 2>&1 | tee "$check_log"
set -e
echo "== done in $((SECONDS - started)) s"
if grep -q "is WORSE than" "$check_log"; then
  echo "REGRESSION: a gated ratio moved beyond its tolerance (see the deviations above)" >&2
  exit 1
elif grep -q "is BETTER than" "$check_log"; then
  echo "improvements only: consider refreshing the committed baseline (scripts/bench.sh --update-baseline)"
elif grep -q "is WITHIN" "$check_log"; then
  echo "every gated ratio is within its tolerance of the committed baseline"
else
  echo "the baseline check did not run to a verdict (see its output above)" >&2
  exit 1
fi
