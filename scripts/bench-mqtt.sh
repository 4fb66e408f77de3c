#!/usr/bin/env bash
# Benchmarks the mqtt plugin (release build) against libmosquitto's own C client, through the same
# mosquitto broker in the same run:
#   - messages/s from the bus through the broker and back into the bus (one node, one connection),
#     QoS 0 and 1, 64-byte and 1 KiB payloads, next to a minimal libmosquitto C program doing the
#     same round trip over one connection (Benchmarks/MQTT/mqtt_c_bench.c, built here);
#   - the time a node takes to reconnect after the broker restarts.
#
#   scripts/bench-mqtt.sh                 # MESSAGES=100000 WINDOW=1000 RUNS=3 ROUNDS=5
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}" "${JAMEY_TEST_PACKAGES[@]}"
messages="${MESSAGES:-100000}"
window="${WINDOW:-1000}"
runs="${RUNS:-3}"
rounds="${ROUNDS:-5}"

echo "== build (release)" >&2
swift build -c release --product MQTT >&2
swift build -c release --product MQTTBench >&2
bin="$(swift_bin_path release)"
cc -std=c11 -O2 -Wall -Wextra -o "$bin/mqtt-c-bench" Benchmarks/MQTT/mqtt_c_bench.c -lmosquitto

work="$(mktemp -d)"
port="$(free_loopback_port)"
cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
user root
log_dest none
max_inflight_messages 100
max_queued_messages 1000000
CONF
trap 'kill ${mosquitto_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
start_mosquitto "$work/mosquitto.conf" "$port"
broker=$mosquitto_pid

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate() { sed -n 's/.* rate=\([0-9]*\).*/\1/p'; }

echo "== throughput: $messages messages, window $window, median of $runs runs, mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}') on 127.0.0.1:$port" >&2
printf '%-5s %-6s %12s %12s %7s\n' QoS bytes "C msg/s" "Jamey msg/s" ratio
for qos in 0 1; do
  for size in 64 1024; do
    c_rates=(); j_rates=()
    for _ in $(seq 1 "$runs"); do
      c_rates+=("$("$bin/mqtt-c-bench" 127.0.0.1 "$port" "$messages" "$size" "$qos" "$window" | rate)")
      j_rates+=("$("$bin/MQTTBench" throughput "$bin/libMQTT.so" "$port" "$messages" "$size" "$qos" "$window" | rate)")
    done
    c=$(printf '%s\n' "${c_rates[@]}" | median)
    j=$(printf '%s\n' "${j_rates[@]}" | median)
    printf '%-5s %-6s %12s %12s %7s\n' "$qos" "$size" "$c" "$j" "$(awk -v j="$j" -v c="$c" 'BEGIN {printf "%.2f", j / c}')"
  done
done

kill "$broker" 2>/dev/null || true
wait "$broker" 2>/dev/null || true
echo "== reconnect after a broker restart (SIGTERM, start again): from the broker accepting to the node connected" >&2
"$bin/MQTTBench" reconnect "$bin/libMQTT.so" "$work/mosquitto.conf" "$rounds" 500
"$bin/MQTTBench" reconnect "$bin/libMQTT.so" "$work/mosquitto.conf" "$rounds" 50
