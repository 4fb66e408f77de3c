#!/usr/bin/env bash
# Benchmarks the api plugin against a bare Hummingbird server answering the same bytes
# (Benchmarks/BareHTTP, product jamey-bare-http), both release builds, measured in the same run
# with wrk on loopback: requests/s and p99 latency for
#   GET /healthz                 public
#   GET /v1/plugins              authenticated (admin key)
#   GET /v1/echo/{name}          a plugin-declared route: Benchmarks/APIEcho (C) answers on the bus
#                                thread, so this is the gateway's forwarding cost (one bus round trip)
#   GET /v1/hello/{name}         HelloSwift's route, for reference: the plugin itself makes a second
#                                bus request (to HelloC) per call
# and the ratios api/bare. Targets: /healthz >= 0.9, plugin-declared route >= 0.6.
#   scripts/bench-api.sh                       # 10 s per run, 64 connections, 1 wrk thread
#   DURATION=30s CONNECTIONS=128 scripts/bench-api.sh
#   ACCESS_LOG=false scripts/bench-api.sh      # without the access log line per request
# The api runs with its default config (access log on, rate limiting on with limits raised so
# wrk is not throttled), log level info, stderr to a file. Run it on an otherwise idle machine:
# both servers and wrk share the cores, so other load moves the ratios by +-0.1 or more.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}" wrk curl
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-64}"
threads="${THREADS:-1}"
access_log="${ACCESS_LOG:-true}"

echo "== release build" >&2
swift build -c release >&2
bin="$(swift_bin_path release)"
build_c_plugins "$bin"
cc -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -I Sources/CJameyABI/include \
  -o "$bin/libAPIEcho.so" Benchmarks/APIEcho/api_echo.c

work="$(mktemp -d)"
key="bench-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat > "$work/jamey.yaml" <<YAML
node:
  name: bench
data_dir: data
log:
  level: info
plugins:
  hello_c:
    path: $bin/libHelloC.so
  hello_swift:
    path: $bin/libHelloSwift.so
  api_echo:
    path: $bin/libAPIEcho.so
  api:
    required: true
    path: $bin/libAPI.so
    config:
      port: 0
      access_log: $access_log
      rate_limits:
        public: {rate: 1000000000, burst: 1000000000}
        read: {rate: 1000000000, burst: 1000000000}
        write: {rate: 1000000000, burst: 1000000000}
        admin: {rate: 1000000000, burst: 1000000000}
YAML
JAMEY_API_ADMIN_KEY="$key" "$bin/jamey" serve --config "$work/jamey.yaml" 2> "$work/serve.log" &
jamey=$!
bare=""
cleanup() {
  kill "$jamey" ${bare:+"$bare"} 2>/dev/null || true
  wait "$jamey" ${bare:+"$bare"} 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port=""
for _ in $(seq 1 100); do
  port="$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$work/serve.log" | grep -o '[0-9]*$' || true)"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.log" >&2; exit 1; }

# The bare server serves exactly the bodies the api answers.
curl -sf "http://127.0.0.1:$port/healthz" > "$work/healthz.body"
curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/plugins" > "$work/plugins.body"
curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/hello/bench" > "$work/hello.body"
curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/echo/bench" > "$work/echo.body"
bare_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin/jamey-bare-http" --port "$bare_port" --route "/healthz=$work/healthz.body" \
  --route "/v1/plugins=$work/plugins.body" --route "/v1/hello/{name}=$work/hello.body" --route "/v1/echo/{name}=$work/echo.body" 2> "$work/bare.log" &
bare=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$bare_port/healthz" > /dev/null && break; sleep 0.1; done

# run NAME URL [HEADER]: prints "rps p99_ms"
run() {
  local out
  out="$(wrk -t"$threads" -c"$connections" -d"$duration" --latency ${3:+-H "$3"} "$2")"
  local rps p99 errors
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<< "$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<< "$out")"
  errors="$(grep -E 'Non-2xx|Socket errors' <<< "$out" || true)"
  [ -z "$errors" ] || echo "  $1: $errors" >&2
  echo "$rps $(to_ms "$p99")"
}
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else print v }'
}

echo "== wrk: $threads thread(s), $connections connections, $duration per run, loopback; access_log: $access_log" >&2
printf '%-22s %12s %10s %12s %10s %9s %9s\n' endpoint api_rps api_p99ms bare_rps bare_p99ms rps_ratio target
while IFS='|' read -r name path header target; do
  # Warm both up, then measure the bare server and the api back to back.
  wrk -t1 -c8 -d2s ${header:+-H "$header"} "http://127.0.0.1:$bare_port$path" > /dev/null
  wrk -t1 -c8 -d2s ${header:+-H "$header"} "http://127.0.0.1:$port$path" > /dev/null
  read -r bare_rps bare_p99 <<< "$(run "bare $name" "http://127.0.0.1:$bare_port$path" "$header")"
  read -r api_rps api_p99 <<< "$(run "api $name" "http://127.0.0.1:$port$path" "$header")"
  ratio="$(awk -v a="$api_rps" -v b="$bare_rps" 'BEGIN { printf "%.2f", a / b }')"
  printf '%-22s %12s %10s %12s %10s %9s %9s\n' "$name" "$api_rps" "$api_p99" "$bare_rps" "$bare_p99" "$ratio" "$target"
done <<ROWS
GET /healthz|/healthz||>=0.90
GET /v1/plugins (auth)|/v1/plugins|Authorization: Bearer $key|-
GET /v1/echo/{name}|/v1/echo/bench|Authorization: Bearer $key|>=0.60
GET /v1/hello/{name}|/v1/hello/bench|Authorization: Bearer $key|-
ROWS
