#!/usr/bin/env bash
# Measures how the mqtt plugin (release build) recovers from broker restarts under QoS 1 traffic:
# from the broker accepting connections again to the node connected with its spool drained,
# after SIGTERM (clean stop; persistence on, so sessions survive) and SIGKILL (crash), with a
# persistent MQTT 5 session and a clean one. Median and max of ROUNDS restarts each.
#
#   scripts/bench-mqtt-restart.sh            # ROUNDS=20 RATE=300
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}" "${JAMEY_TEST_PACKAGES[@]}"
rounds="${ROUNDS:-20}"
rate="${RATE:-300}"

echo "== build (release)" >&2
swift build -c release --product MQTT >&2
swift build -c release --product MQTTBench >&2
bin="$(swift_bin_path release)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
port="$(free_loopback_port)"
cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $work/
autosave_interval 3600
user root
log_dest none
max_inflight_messages 20
max_queued_messages 1000000
CONF

echo "== broker restarts under $rate QoS 1 messages/s: broker accepting -> node connected, spool empty ($rounds rounds each)" >&2
for signal in TERM KILL; do
  for session in persistent clean; do
    rm -f "$work"/mosquitto.db
    "$bin/MQTTBench" restart "$bin/libMQTT.so" "$work/mosquitto.conf" "$rounds" "$signal" "$session" "$rate"
  done
done
