#!/usr/bin/env bash
# /readyz and /v1/plugins latency while a plugin's health hook sleeps 5 s
# (Benchmarks/SlowHealth): the kernel caches health and refreshes it in the background, so
# neither waits for the hook. Runs `jamey serve` with the api plugin and that plugin, then times
# COUNT sequential requests of each with curl and prints median and max in milliseconds.
#   scripts/bench-readyz.sh                          # this checkout, debug build
#   JAMEY_BIN=/other/.build/debug JAMEY_HEADER=/other/Kit/Sources/CJameyABI/include scripts/bench-readyz.sh
#                                                    # another build (e.g. an older commit), for before/after
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}" curl
count="${COUNT:-20}"
if [[ -z "${JAMEY_BIN:-}" ]]; then
  swift build >&2
  JAMEY_BIN="$(swift_bin_path debug)"
fi
header="${JAMEY_HEADER:-$JAMEY_ROOT/Kit/Sources/CJameyABI/include}"
work="$(mktemp -d)"
cc -std=c11 -O2 -Wall -Werror -shared -fPIC -I "$header" -o "$work/libSlowHealth.so" Benchmarks/SlowHealth/slow_health.c
# Kernels with hook deadlines (ABI >= 1.3) get a health deadline above the hook's 5 s, so the
# plugin stays started while its hook sleeps.
hooks=""
if "$JAMEY_BIN/jamey" version | grep -q "ABI 1\.[3-9]"; then
  hooks=$'hooks:\n  health_timeout_ms: 20000\n  health_interval_ms: 1000'
fi
cat > "$work/jamey.yaml" <<YAML
node:
  name: bench
data_dir: data
log:
  level: notice
$hooks
plugins:
  slow_health:
    path: $work/libSlowHealth.so
  api:
    required: true
    path: $JAMEY_BIN/libAPI.so
    config:
      port: 0
      admin_key: bench-admin-key-0123456789abcdef0123456789
YAML
"$JAMEY_BIN/jamey" serve --config "$work/jamey.yaml" 2> "$work/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
port=""
for _ in $(seq 1 300); do
  port="$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | sed 's/.*://')" || true
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || { echo "jamey did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
measure() {
  local path="$1"; shift
  local times=()
  for _ in $(seq 1 "$count"); do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' --max-time 30 "$@" "http://127.0.0.1:$port$path")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v path="$path" -v n="$count" \
    '{ v[NR] = $1 * 1000 } END { printf "%-12s median %8.1f ms   max %8.1f ms   (%d requests)\n", path, v[int((NR + 1) / 2)], v[NR], n }'
}
measure /readyz
measure /v1/plugins -H "Authorization: Bearer bench-admin-key-0123456789abcdef0123456789"
