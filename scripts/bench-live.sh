#!/usr/bin/env bash
# Live change under load: wrk with keep-alive against a plugin route while that plugin is replaced
# by a new build in a loop (blue-green deploys through POST /v1/plugins/{name}/deploy), next to
# the same wrk load against nginx while nginx is reloaded in a loop (Debian nginx-light), in one
# run. A third phase runs canary cycles under the same load: start at 10 %, raise to 50 %, then
# promote (even cycles) or roll back (odd ones). Reports requests, failed requests (non-2xx and socket errors), and p99 during the swaps
# against p99 of the same load without swaps. Goal: 0 failed requests over 1,000 swaps.
#   scripts/bench-live.sh                  # SWAPS=1000 CONNECTIONS=32
#   SWAPS=100 CANARIES=50 scripts/bench-live.sh   # quicker (CANARIES defaults to SWAPS / 10)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http-bench.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}" wrk curl nginx-light
swaps="${SWAPS:-1000}"
canaries="${CANARIES:-$((swaps / 10))}"
connections="${CONNECTIONS:-32}"
threads=1
duration="${BASELINE_DURATION:-10s}"

echo "== release build" >&2
swift build -c release --product jamey >&2
swift build -c release --product API >&2
bin="$(swift_bin_path release)"
work="$(mktemp -d)"
# Two builds of the echo plugin at two paths: each deploy swaps to the other one.
for build in a b; do
  cc -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -I Kit/Sources/CJameyABI/include \
    -o "$work/libAPIEcho-$build.so" Benchmarks/APIEcho/api_echo.c
done
key="bench-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat > "$work/jamey.yaml" <<YAML
node:
  name: bench
data_dir: data
log:
  level: notice
plugins:
  api_echo:
    path: $work/libAPIEcho-a.so
$(api_plugin_yaml)
YAML
serve_and_wait "$key"
url="http://127.0.0.1:$port/v1/echo/bench"
curl -sf -H "Authorization: Bearer $key" "$url" > /dev/null

# swap_loop: deploys the other build SWAPS times; prints failures and the mean swap time.
swap_loop() {
  local ok=0 failed=0 began ended
  began="$(date +%s.%N)"
  for i in $(seq 1 "$swaps"); do
    local build=b
    [ $((i % 2)) -eq 0 ] && build=a
    if curl -sf -o /dev/null -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -d "{\"path\":\"$work/libAPIEcho-$build.so\"}" "http://127.0.0.1:$port/v1/plugins/api_echo/deploy"; then
      ok=$((ok + 1))
    else
      failed=$((failed + 1))
    fi
  done
  ended="$(date +%s.%N)"
  echo "$ok $failed $(awk -v a="$began" -v b="$ended" -v n="$swaps" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }')"
}

# measure: reads wrk's output; prints "requests failed p99_ms" (failed: non-2xx answers and
# socket errors: connect, read, write, timeout).
measure() {
  local out requests non2xx socket p99
  out="$(cat)"
  requests="$(awk '/requests in/ {print $1}' <<< "$out")"
  non2xx="$(awk '/Non-2xx/ {print $NF}' <<< "$out")"
  socket="$(awk -F'[ ,]+' '/Socket errors/ {print $4 + $6 + $8 + $10}' <<< "$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<< "$out")"
  echo "$requests $((${non2xx:-0} + ${socket:-0})) $(to_ms "$p99")"
}

echo "== jamey: baseline $duration without swaps" >&2
read -r base_req base_fail base_p99 <<< "$(wrk -t1 -c"$connections" -d"$duration" --latency -H "Authorization: Bearer $key" "$url" | measure)"
echo "== jamey: $swaps swaps under load" >&2
wrk -t1 -c"$connections" -d600s --latency -H "Authorization: Bearer $key" "$url" > "$work/wrk-swaps.out" &
wrk_pid=$!
sleep 1
read -r swaps_ok swaps_failed swap_ms <<< "$(swap_loop)"
kill -INT "$wrk_pid"
wait "$wrk_pid" || true
read -r swap_req swap_fail swap_p99 <<< "$(measure < "$work/wrk-swaps.out")"

# canary_loop: CANARIES cycles of start (10 %), weight 50 %, promote or roll back; prints the
# operations that failed and the mean cycle time.
canary_loop() {
  local failed=0 began ended current=a
  admin() { curl -sf -o /dev/null -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$2" \
    "http://127.0.0.1:$port/v1/plugins/api_echo/$1"; }
  began="$(date +%s.%N)"
  for i in $(seq 1 "$canaries"); do
    local next=b
    [ "$current" = b ] && next=a
    admin deploy "{\"path\":\"$work/libAPIEcho-$next.so\",\"weight\":10}" || failed=$((failed + 1))
    admin canary/weight '{"weight":50}' || failed=$((failed + 1))
    if [ $((i % 2)) -eq 0 ]; then
      admin canary/promote '{}' && current="$next" || failed=$((failed + 1))
    else
      admin canary/rollback '{}' || failed=$((failed + 1))
    fi
  done
  ended="$(date +%s.%N)"
  echo "$failed $(awk -v a="$began" -v b="$ended" -v n="$canaries" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }')"
}

echo "== jamey: $canaries canary cycles under load" >&2
wrk -t1 -c"$connections" -d600s --latency -H "Authorization: Bearer $key" "$url" > "$work/wrk-canary.out" &
wrk_pid=$!
sleep 1
read -r canary_failed canary_ms <<< "$(canary_loop)"
kill -INT "$wrk_pid"
wait "$wrk_pid" || true
read -r canary_req canary_fail canary_p99 <<< "$(measure < "$work/wrk-canary.out")"

# nginx on a free port, serving the same body, reloaded in a loop under the same load.
nginx_port="$(free_port)"
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    location /v1/echo/ { default_type application/json; return 200 '{"echo":"bench"}'; }
  }
}
NGINX
nginx -c "$work/nginx/nginx.conf"
trap 'nginx -c "$work/nginx/nginx.conf" -s stop 2>/dev/null || true; kill "$jamey" 2>/dev/null || true; wait "$jamey" 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 0.5
nurl="http://127.0.0.1:$nginx_port/v1/echo/bench"
echo "== nginx: baseline $duration without reloads" >&2
read -r nbase_req nbase_fail nbase_p99 <<< "$(wrk -t1 -c"$connections" -d"$duration" --latency "$nurl" | measure)"
echo "== nginx: $swaps reloads under load" >&2
wrk -t1 -c"$connections" -d600s --latency "$nurl" > "$work/wrk-nginx.out" &
wrk_pid=$!
sleep 1
began="$(date +%s.%N)"
for _ in $(seq 1 "$swaps"); do
  nginx -c "$work/nginx/nginx.conf" -s reload 2> /dev/null
  sleep 0.02
done
ended="$(date +%s.%N)"
kill -INT "$wrk_pid"
wait "$wrk_pid" || true
read -r nreload_req nreload_fail nreload_p99 <<< "$(measure < "$work/wrk-nginx.out")"
reload_ms="$(awk -v a="$began" -v b="$ended" -v n="$swaps" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }')"

printf '\n%-44s %10s %8s %10s %12s %14s\n' "run ($connections connections, keep-alive)" requests failed p99_ms "p99/baseline" "ms per change"
printf '%-44s %10s %8s %10s %12s %14s\n' "jamey, no swaps" "$base_req" "$base_fail" "$base_p99" "1.00" "-"
printf '%-44s %10s %8s %10s %12s %14s\n' "jamey, $swaps blue-green swaps ($swaps_failed refused)" "$swap_req" "$swap_fail" "$swap_p99" \
  "$(awk -v a="$swap_p99" -v b="$base_p99" 'BEGIN { printf "%.2f", a / b }')" "$swap_ms"
printf '%-44s %10s %8s %10s %12s %14s\n' "jamey, $canaries canary cycles ($canary_failed refused)" "$canary_req" "$canary_fail" \
  "$canary_p99" "$(awk -v a="$canary_p99" -v b="$base_p99" 'BEGIN { printf "%.2f", a / b }')" "$canary_ms"
printf '%-44s %10s %8s %10s %12s %14s\n' "nginx, no reloads" "$nbase_req" "$nbase_fail" "$nbase_p99" "1.00" "-"
printf '%-44s %10s %8s %10s %12s %14s\n' "nginx, $swaps reloads" "$nreload_req" "$nreload_fail" "$nreload_p99" \
  "$(awk -v a="$nreload_p99" -v b="$nbase_p99" 'BEGIN { printf "%.2f", a / b }')" "$reload_ms"
[ "$swaps_failed" -eq 0 ] || echo "note: $swaps_failed deploy request(s) failed" >&2
