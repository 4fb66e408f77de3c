#!/usr/bin/env bash
# Benchmarks the api plugin against a bare Hummingbird server answering the same bytes — same
# bodies, same content types, and the same extra headers (security, request id, rate limit)
# copied from the api's own responses — (Benchmarks/BareHTTP, product jamey-bare-http), both
# release builds, measured in the same run with wrk on loopback: requests/s and p99 latency for
#   GET /v1/plugins              authenticated (admin key)
#   GET /healthz                 public
#   GET /v1/echo/{name}          a plugin-declared route answered by Benchmarks/APIEcho (C) as a
#                                JAMEY_SUBSCRIBE_DIRECT responder, on the gateway's thread: the
#                                gateway's forwarding cost (auth, routing, one bus round trip)
#   GET /v1/echo-queued/{name}   the same answer from a plain (queued) responder: the request goes
#                                to a bus worker and the reply hops back
#   GET /v1/hello/{name}         HelloSwift's route, for reference: the plugin itself makes a second
#                                bus request (to HelloC) per call
# Each row runs ROUNDS times, bare and api back to back, and reports the median of the rounds'
# ratios api/bare. Targets: /healthz >= 0.9, plugin-declared route >= 0.6.
#   scripts/bench-api.sh                       # 5 s per run, 3 rounds, 64 connections, 1 wrk thread
#   DURATION=10s ROUNDS=5 CONNECTIONS=128 scripts/bench-api.sh
#   ACCESS_LOG=false scripts/bench-api.sh      # without the access log line per request
# The api runs with its default config (access log on, rate limiting on with limits raised so
# wrk is not throttled), log level info, stderr to a file. Run it on an otherwise idle machine:
# both servers and wrk share the cores, so other load moves the ratios by +-0.1 or more.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http-bench.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}" wrk curl
duration="${DURATION:-5s}"
rounds="${ROUNDS:-3}"
connections="${CONNECTIONS:-64}"
threads="${THREADS:-1}"
access_log="${ACCESS_LOG:-true}"

echo "== release build" >&2
swift build -c release >&2
bin="$(swift_bin_path release)"
build_c_plugins "$bin"
cc -std=c11 -O2 -Wall -Wextra -Werror -shared -fPIC -I Kit/Sources/CJameyABI/include \
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
$unthrottled_rate_limits
YAML
serve_and_wait "$key"

# The bare server serves exactly the bodies the api answers.
curl -sf "http://127.0.0.1:$port/healthz" > "$work/healthz.body"
curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/plugins" > "$work/plugins.body"
curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/hello/bench" > "$work/hello.body"
curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/echo/bench" > "$work/echo.body"
# The headers the gateway adds (everything but the framing and date), sent by the bare server too.
extra_headers=()
while IFS= read -r line; do
  line="${line%$'\r'}"
  case "${line,,}" in
    http/*|date:*|content-length:*|content-type:*|"") ;;
    *) extra_headers+=(--header "$line") ;;
  esac
done < <(curl -sf -o /dev/null -D - -H "Authorization: Bearer $key" "http://127.0.0.1:$port/v1/echo/bench")
bare_port="$(free_port)"
"$bin/jamey-bare-http" --port "$bare_port" --route "/healthz=$work/healthz.body" \
  --route "/v1/plugins=$work/plugins.body" --route "/v1/hello/{name}=$work/hello.body" --route "/v1/echo/{name}=$work/echo.body" \
  --route "/v1/echo-queued/{name}=$work/echo.body" "${extra_headers[@]}" 2> "$work/bare.log" &
bare=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$bare_port/healthz" > /dev/null && break; sleep 0.1; done

# run NAME URL [HEADER]: prints "rps p99_ms"
run() { wrk_run "$1" "$2" ${3:+-H "$3"}; }

echo "== wrk: $threads thread(s), $connections connections, $duration per run, $rounds rounds, loopback; access_log: $access_log" >&2
printf '%-26s %10s %9s %10s %9s %8s %8s  %s\n' endpoint api_rps api_p99ms bare_rps bare_p99ms ratio target rounds
while IFS='|' read -r name path header target; do
  # Warm both up, then measure the bare server and the api back to back, ROUNDS times.
  wrk -t1 -c8 -d2s ${header:+-H "$header"} "http://127.0.0.1:$bare_port$path" > /dev/null
  wrk -t1 -c8 -d2s ${header:+-H "$header"} "http://127.0.0.1:$port$path" > /dev/null
  ratios=() ; api_all=() ; bare_all=() ; api_p99s=() ; bare_p99s=()
  for _ in $(seq 1 "$rounds"); do
    read -r bare_rps bare_p99 <<< "$(run "bare $name" "http://127.0.0.1:$bare_port$path" "$header")"
    read -r api_rps api_p99 <<< "$(run "api $name" "http://127.0.0.1:$port$path" "$header")"
    ratios+=("$(awk -v a="$api_rps" -v b="$bare_rps" 'BEGIN { printf "%.2f", a / b }')")
    api_all+=("$api_rps"); bare_all+=("$bare_rps"); api_p99s+=("$api_p99"); bare_p99s+=("$bare_p99")
  done
  printf '%-26s %10.0f %9.3f %10.0f %9.3f %8.2f %8s  %s\n' "$name" \
    "$(printf '%s\n' "${api_all[@]}" | median)" "$(printf '%s\n' "${api_p99s[@]}" | median)" \
    "$(printf '%s\n' "${bare_all[@]}" | median)" "$(printf '%s\n' "${bare_p99s[@]}" | median)" \
    "$(printf '%s\n' "${ratios[@]}" | median)" "$target" "${ratios[*]}"
done <<ROWS
GET /healthz|/healthz||>=0.90
GET /v1/plugins (auth)|/v1/plugins|Authorization: Bearer $key|-
GET /v1/echo/{name}|/v1/echo/bench|Authorization: Bearer $key|>=0.60
GET /v1/echo-queued/{name}|/v1/echo-queued/bench|Authorization: Bearer $key|-
GET /v1/hello/{name}|/v1/hello/bench|Authorization: Bearer $key|-
ROWS
