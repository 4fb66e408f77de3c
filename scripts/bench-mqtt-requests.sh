#!/usr/bin/env bash
# Benchmarks a bus request another node answers (an mqtt `remote` rule), against the same MQTT 5
# request/response between two plain libmosquitto clients, through one mosquitto broker in the
# same run (release build):
#   - Jamey: two nodes in one process (MQTTBench requests), each with its own mqtt plugin and
#     connection; a bus request on the first goes to the broker, the second imports it as a bus
#     request, a responder on its bus answers, and the reply comes back the same way;
#   - C: Benchmarks/MQTT/mqtt_c_rr.c, a requester and a responder client, QoS 1 both ways,
#     response topic and correlation data, TCP_NODELAY (what the plugin sets).
# One request at a time; the broker has set_tcp_nodelay true (README "Requests across nodes").
# Prints per payload size the median over ROUNDS rounds of each side's p50 and p99, and the ratios.
# Baseline: Benchmarks/MQTT/baseline-requests.md.
#
#   scripts/bench-mqtt-requests.sh                 # REQUESTS=5000 ROUNDS=3
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}" "${JAMEY_TEST_PACKAGES[@]}"
requests="${REQUESTS:-5000}"
rounds="${ROUNDS:-3}"

echo "== build (release)" >&2
swift build -c release --product MQTT >&2
swift build -c release --product MQTTBench >&2
bin="$(swift_bin_path release)"
cc -std=c11 -O2 -Wall -Wextra -o "$bin/mqtt-c-rr" Benchmarks/MQTT/mqtt_c_rr.c -lmosquitto -lpthread

work="$(mktemp -d)"
port="$(free_loopback_port)"
cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
user root
log_dest none
set_tcp_nodelay true
CONF
trap 'kill ${mosquitto_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_mosquitto "$work/mosquitto.conf" "$port"
broker=$mosquitto_pid

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }

echo "== $requests requests one at a time, median of $rounds rounds (C and Jamey alternating), mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') on 127.0.0.1:$port, load $(cut -d' ' -f1 /proc/loadavg)" >&2
printf '%-6s %10s %10s %12s %12s %9s %9s\n' bytes "C p50 µs" "C p99 µs" "Jamey p50 µs" "Jamey p99 µs" "p50 ratio" "p99 ratio"
for size in 64 1024; do
  c50=(); c99=(); j50=(); j99=()
  for _ in $(seq 1 "$rounds"); do
    line="$("$bin/mqtt-c-rr" 127.0.0.1 "$port" "$requests" "$size")"
    c50+=("$(field p50_us <<<"$line")"); c99+=("$(field p99_us <<<"$line")")
    line="$("$bin/MQTTBench" requests "$bin/libMQTT.so" "$port" "$requests" "$size")"
    j50+=("$(field p50_us <<<"$line")"); j99+=("$(field p99_us <<<"$line")")
  done
  a=$(printf '%s\n' "${c50[@]}" | median); b=$(printf '%s\n' "${c99[@]}" | median)
  c=$(printf '%s\n' "${j50[@]}" | median); d=$(printf '%s\n' "${j99[@]}" | median)
  printf '%-6s %10s %10s %12s %12s %9s %9s\n' "$size" "$a" "$b" "$c" "$d" \
    "$(awk -v j="$c" -v c="$a" 'BEGIN {printf "%.2f", j / c}')" "$(awk -v j="$d" -v c="$b" 'BEGIN {printf "%.2f", j / c}')"
done
