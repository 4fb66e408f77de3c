#!/usr/bin/env bash
# Deterministic gates of the bus: instructions and heap allocations per operation of each hot
# path, counted by valgrind (callgrind) in a release build, compared with the committed baseline
# Benchmarks/Gates/baseline.tsv.
#
#   scripts/bench-gates.sh                    build, measure, compare: exit 1 when a gate regressed
#                                             by more than its tolerance (10 % unless stated)
#   scripts/bench-gates.sh --runs N           measure N times (each a separate process), print each
#                                             run, compare the median of the runs
#   scripts/bench-gates.sh --update-baseline  build, measure, write the baseline (then commit it)
#   scripts/bench-gates.sh --no-build         measure what is built
#
# Why this is deterministic (unlike the wall-clock suites of scripts/bench.sh): instructions do not
# depend on the machine's load, and the driver (Benchmarks/Gates/BusInstructions) counts only code
# whose path does not depend on timing: its own thread while it publishes, and the bus workers
# while inside Subscription.deliver, after parking both workers so that a burst fills the mailbox
# without wake-ups and is then drained in full batches. Idle spinning and sleeping (whose length
# follows timing) are never counted. See the driver's header comment.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

mode=check
runs=1
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --update-baseline) mode=update ;;
    --runs) runs="$2"; shift ;;
    --no-build) build=0 ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

install_packages "${JAMEY_BUILD_PACKAGES[@]}" "${JAMEY_GATE_PACKAGES[@]}"

bench="$JAMEY_ROOT/Benchmarks"
baseline="$bench/Gates/baseline.tsv"
work="$bench/.build/gates"
started=$SECONDS

# Tolerance in percent, per gate (default 10). The cross-thread round trip includes the
# requester's short spin before it sleeps, whose turns follow the scheduling under valgrind.
tolerance() {
  case "$1" in
    request_reply_c) echo 15 ;;
    *) echo 10 ;;
  esac
}

if [ $build -eq 1 ]; then
  echo "== build the gate driver and the benchmark plugins (release)"
  (cd "$bench" && swift build -c release --product BenchDriver && swift build -c release --product BusInstructions)
fi
bin="$(cd "$bench" && swift build -c release --show-bin-path)"
make -s -C "$bench/Plugins/CPlugins" OUT="$bench/.build/cplugins"

# valgrind 3.19 (bookworm) cannot read the DWARF 5 that Swift 6.3 emits: run copies without debug
# information (the symbol table stays, so functions keep their names), side by side as the driver
# expects them.
rm -rf "$work"
mkdir -p "$work/bin"
for file in BusInstructions $(cd "$bin" && ls -- *.so); do
  objcopy --strip-debug "$bin/$file" "$work/bin/$file"
done

# parse DIR: one line per measured phase: gate, instructions/op, allocations/op.
parse() {
  local file
  for file in "$1"/callgrind.out.*; do
    awk '
      /^desc: Trigger: Client Request: / { sub(/^desc: Trigger: Client Request: /, ""); trigger = $0 }
      /^(summary|totals): / { total = $2 }
      # Name compression: "(id) name" defines an id, "(id)" refers to it.
      /^c?fn=/ {
        spec = $0; sub(/^c?fn=/, "", spec)
        if (match(spec, /^\([0-9]+\)/)) {
          id = substr(spec, RSTART, RLENGTH); rest = substr(spec, RLENGTH + 2)
          if (rest != "") names[id] = rest
          name = names[id]
        } else { name = spec }
        if ($0 ~ /^cfn=/) callee = name
      }
      /^calls=/ {
        n = $0; sub(/^calls=/, "", n); split(n, parts, " ")
        if (callee ~ /^(malloc|calloc|realloc|posix_memalign|aligned_alloc|memalign)$/) allocs += parts[1]
      }
      END {
        if (trigger == "" || trigger == "warm") exit
        split(trigger, t, ":")
        printf "%s\t%.1f\t%.3f\n", t[1], total / t[2], allocs / t[2]
      }
    ' "$file"
  done | sort
}

for run in $(seq 1 "$runs"); do
  dir="$work/run-$run"
  mkdir -p "$dir"
  echo "== run $run of $runs: valgrind --tool=callgrind (a minute or two)"
  # Both bus workers and the measuring thread are counted as described above; the kernel's other
  # threads (timer, health) never turn collection on.
  JAMEY_BENCH_C_PLUGINS_BUILT=1 valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*12SubscriptionC7deliver*' --toggle-collect='*12SubscriptionC7letFill*' \
    --toggle-collect='*12SubscriptionC6linger*' \
    --callgrind-out-file="$dir/callgrind.out.%p" -q "$work/bin/BusInstructions" > "$dir/driver.log" 2>&1 || {
    cat "$dir/driver.log" >&2
    echo "the gate driver failed under valgrind (log above)" >&2
    exit 1
  }
  parse "$dir" > "$dir/gates.tsv"
  column -t -s $'\t' "$dir/gates.tsv" | sed 's/^/  /'
done

# Memory, natively (resident memory under valgrind says nothing): a burst of 1M queued messages
# must give its memory back once drained.
echo "== memory: a burst of 1M queued 64-byte messages, drained"
memory_status=0
JAMEY_BENCH_C_PLUGINS_BUILT=1 "$work/bin/BusInstructions" --memory | tee "$work/memory.log" | sed 's/^/  /' ||
  memory_status=$?

# The median of the runs, per gate and figure.
cat "$work"/run-*/gates.tsv | sort -k1,1 | awk -F'\t' '
  function median(list,   n, v, i, j, tmp) {
    n = split(list, v, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { tmp = v[i]; v[i] = v[j]; v[j] = tmp }
    return v[int((n + 1) / 2)]
  }
  { ir[$1] = ir[$1] " " $2; al[$1] = al[$1] " " $3; if (!($1 in seen)) { seen[$1] = 1; order[++count] = $1 } }
  END { for (i = 1; i <= count; i++) printf "%s\t%s\t%s\n", order[i], median(ir[order[i]]), median(al[order[i]]) }
' > "$work/median.tsv"

if [ "$mode" = update ]; then
  {
    printf '# gate\tinstructions_per_op\tallocations_per_op\n'
    cat "$work/median.tsv"
  } > "$baseline"
  echo "== stored as the baseline: ${baseline#"$JAMEY_ROOT"/} (commit it)"
  column -t -s $'\t' "$baseline"
  echo "== done in $((SECONDS - started)) s"
  exit 0
fi

echo
echo "== check against ${baseline#"$JAMEY_ROOT"/} (median of $runs run(s))"
status=0
printf 'gate\tIr/op\tbaseline\tratio\tallocs/op\tbaseline\tverdict\n' > "$work/report.tsv"
while IFS=$'\t' read -r gate ir allocs; do
  base=$(awk -F'\t' -v g="$gate" '$1 == g { print $2 "\t" $3 }' "$baseline")
  if [ -z "$base" ]; then
    printf '%s\t%s\t-\t-\t%s\t-\tnew (no baseline)\n' "$gate" "$ir" "$allocs" >> "$work/report.tsv"
    continue
  fi
  base_ir=${base%%$'\t'*}
  base_allocs=${base#*$'\t'}
  tol=$(tolerance "$gate")
  # Allocations: a regression is more than the tolerance plus 0.05 allocations per operation.
  verdict=$(awk -v ir="$ir" -v b="$base_ir" -v a="$allocs" -v ba="$base_allocs" -v t="$tol" 'BEGIN {
    worse = ""; better = ""
    if (ir > b * (1 + t / 100)) worse = worse " instructions"
    if (a > ba * (1 + t / 100) + 0.05) worse = worse " allocations"
    if (ir < b * (1 - t / 100)) better = better " instructions"
    if (a < ba * (1 - t / 100) - 0.05) better = better " allocations"
    if (worse != "") print "REGRESSION:" worse " (tolerance " t " %)"
    else if (better != "") print "better:" better " (refresh the baseline)"
    else print "ok (within " t " %)"
  }')
  ratio=$(awk -v ir="$ir" -v b="$base_ir" 'BEGIN { printf "%.3f", ir / b }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$gate" "$ir" "$base_ir" "$ratio" "$allocs" "$base_allocs" "$verdict" >> "$work/report.tsv"
  case "$verdict" in REGRESSION*) status=1 ;; esac
done < "$work/median.tsv"
column -t -s $'\t' "$work/report.tsv"
missing=$(awk -F'\t' '!/^#/ { print $1 }' "$baseline" | while read -r gate; do
  grep -q "^$gate"$'\t' "$work/median.tsv" || echo "$gate"
done)
if [ $memory_status -ne 0 ]; then
  echo "MEMORY: the drained burst kept more than a quarter of its memory (see above)" >&2
  status=1
fi
if [ -n "$missing" ]; then
  echo "gates in the baseline that did not run: $missing (a driver built before valgrind's" \
    "callgrind.h was installed counts nothing: rebuild it)" >&2
  status=1
fi
echo "== done in $((SECONDS - started)) s"
if [ $status -ne 0 ]; then
  echo "REGRESSION: a gate moved beyond its tolerance (see above); if on purpose, run" \
    "scripts/bench-gates.sh --update-baseline and commit Benchmarks/Gates/baseline.tsv" >&2
fi
exit $status
