#!/usr/bin/env bash
# POST /v1/conscience/evaluate through the api gateway (key check, rate limit, bus request to the
# conscience plugin, its JSON reply) next to a bare Hummingbird server doing the same work in
# process (jamey-bare-http --conscience: ConscienceCore with the default rules, the same JSON in
# and out), both release builds, measured in the same run with wrk on loopback, ROUNDS times back
# to back; reports requests/s, p99 and the median ratio api/bare. Goal: >= 0.6.
#   scripts/bench-conscience-http.sh                 # 5 s per run, 3 rounds, 64 connections
#   DURATION=10s ROUNDS=5 scripts/bench-conscience-http.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http-bench.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}" wrk curl
duration="${DURATION:-5s}"
rounds="${ROUNDS:-3}"
connections="${CONNECTIONS:-64}"

echo "== release build" >&2
swift build -c release --product jamey >&2
swift build -c release --product API >&2
swift build -c release --product Conscience >&2
swift build -c release --product jamey-bare-http >&2
bin="$(swift_bin_path release)"

work="$(mktemp -d)"
key="bench-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat > "$work/jamey.yaml" <<YAML
node:
  name: bench
data_dir: data
log:
  level: info
plugins:
  conscience:
    path: $bin/libConscience.so
    config:
      memory:
        record: false
$(api_plugin_yaml)
YAML
serve_and_wait "$key"
bare_port="$(free_port)"
"$bin/jamey-bare-http" --port "$bare_port" --conscience /v1/conscience/evaluate 2> "$work/bare.log" &
bare=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$bare_port/" && break; sleep 0.1; done

body='{"text":"I will not cause harm and I will be honest with them about the plan"}'
api_answer="$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/v1/conscience/evaluate")"
bare_answer="$(curl -sf -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$bare_port/v1/conscience/evaluate")"
if [ "$api_answer" != "$bare_answer" ]; then
  echo "the two servers answer differently:" >&2
  echo "  api:  $api_answer" >&2
  echo "  bare: $bare_answer" >&2
  exit 1
fi
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA

threads=1
# run URL: prints "rps p99_ms"
run() { wrk_run "$1" "$1" -s "$work/post.lua"; }

echo "== wrk: 1 thread, $connections connections, $duration per run, $rounds rounds, loopback" >&2
wrk -t1 -c8 -d2s -s "$work/post.lua" "http://127.0.0.1:$bare_port/v1/conscience/evaluate" > /dev/null
wrk -t1 -c8 -d2s -s "$work/post.lua" "http://127.0.0.1:$port/v1/conscience/evaluate" > /dev/null
ratios=(); api_all=(); bare_all=(); api_p99s=(); bare_p99s=()
for _ in $(seq 1 "$rounds"); do
  read -r bare_rps bare_p99 <<< "$(run "http://127.0.0.1:$bare_port/v1/conscience/evaluate")"
  read -r api_rps api_p99 <<< "$(run "http://127.0.0.1:$port/v1/conscience/evaluate")"
  ratios+=("$(awk -v a="$api_rps" -v b="$bare_rps" 'BEGIN { printf "%.2f", a / b }')")
  api_all+=("$api_rps"); bare_all+=("$bare_rps"); api_p99s+=("$api_p99"); bare_p99s+=("$bare_p99")
done
printf '%-34s %10s %9s %10s %9s %8s %8s  %s\n' endpoint api_rps api_p99ms bare_rps bare_p99ms ratio target rounds
printf '%-34s %10.0f %9.3f %10.0f %9.3f %8.2f %8s  %s\n' "POST /v1/conscience/evaluate" \
  "$(printf '%s\n' "${api_all[@]}" | median)" "$(printf '%s\n' "${api_p99s[@]}" | median)" \
  "$(printf '%s\n' "${bare_all[@]}" | median)" "$(printf '%s\n' "${bare_p99s[@]}" | median)" \
  "$(printf '%s\n' "${ratios[@]}" | median)" ">=0.60" "${ratios[*]}"
