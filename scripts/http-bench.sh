# Shared by the HTTP benchmarks (scripts/bench-api.sh, scripts/bench-conscience-http.sh); sourced
# after lib.sh. Needs `bin` (the release build directory) and `work` (a scratch directory).

# The api plugin's rate limits raised so wrk is never throttled (YAML, indented for `config:`).
unthrottled_rate_limits='      rate_limits:
        public: {rate: 1000000000, burst: 1000000000}
        read: {rate: 1000000000, burst: 1000000000}
        write: {rate: 1000000000, burst: 1000000000}
        admin: {rate: 1000000000, burst: 1000000000}'

# api_plugin_yaml: the api plugin on an ephemeral loopback port, access log off, never throttled
# (YAML for under `plugins:`; needs `bin`).
api_plugin_yaml() {
  cat <<YAML
  api:
    required: true
    path: $bin/libAPI.so
    config:
      port: 0
      access_log: false
$unthrottled_rate_limits
YAML
}

# serve_and_wait KEY: starts `jamey serve --config $work/jamey.yaml` with KEY as the bootstrap
# admin key (stderr to $work/serve.log), sets `jamey` (its pid) and `port` (where the api
# listens), and installs a trap that stops it and `bare` (when set) and removes $work.
serve_and_wait() {
  (cd "$work" && JAMEY_API_ADMIN_KEY="$1" exec "$bin/jamey" serve --config "$work/jamey.yaml" 2> "$work/serve.log") &
  jamey=$!
  bare=""
  trap 'kill "$jamey" ${bare:+"$bare"} 2>/dev/null || true; wait "$jamey" ${bare:+"$bare"} 2>/dev/null || true; rm -rf "$work"' EXIT
  port=""
  for _ in $(seq 1 100); do
    port="$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$work/serve.log" | grep -o '[0-9]*$' || true)"
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/serve.log" >&2; exit 1; }
}

# free_port: an unused loopback port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# to_ms VALUE: wrk's latency text (812.00us, 1.20ms, 2.00s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else print v }'
}

# wrk_run LABEL URL [WRK ARGS...]: one wrk run with --latency; prints "rps p99_ms" and reports
# non-2xx answers and socket errors on stderr. Uses `threads`, `connections`, `duration`.
wrk_run() {
  local label="$1" url="$2" out rps p99 errors
  shift 2
  out="$(wrk -t"${threads:-1}" -c"$connections" -d"$duration" --latency "$@" "$url")"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<< "$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<< "$out")"
  errors="$(grep -E 'Non-2xx|Socket errors' <<< "$out" || true)"
  [ -z "$errors" ] || echo "  $label: $errors" >&2
  echo "$rps $(to_ms "$p99")"
}

# median: the median of the numbers on standard input, one per line.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
