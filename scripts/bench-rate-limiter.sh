#!/usr/bin/env bash
# The rate limiter under many client addresses: the latency of a request from one client while
# the limiter holds buckets of CLIENTS (default 11000) other addresses (127.x.y.z, one request
# each, still refilling: public rate 0.01/s), next to the same requests with an empty table, in
# one run. Before 5f8415e every request swept the whole table under the limiter's lock once it
# held 10 000 refilling buckets (the HTTP audit's probe: 1.16 ms -> 2.02 ms at 11 000).
# Prints median and p90 per phase and their ratio.
#   scripts/bench-rate-limiter.sh
#   JAMEY_BIN=/other/.build/debug scripts/bench-rate-limiter.sh     # another build, for before/after
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
if [[ -z "${JAMEY_BIN:-}" ]]; then
  swift build >&2
  JAMEY_BIN="$(swift_bin_path debug)"
fi
clients="${CLIENTS:-11000}"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat > "$work/jamey.yaml" <<YAML
data_dir: data
log:
  level: warning
plugins:
  api:
    required: true
    path: $JAMEY_BIN/libAPI.so
    config:
      port: $port
      access_log: false
      admin_key: bench-admin-key-0123456789
      rate_limits:
        public: {rate: 0.01, burst: 5}
YAML
"$JAMEY_BIN/jamey" serve --config "$work/jamey.yaml" 2> "$work/stderr.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
python3 - "$port" "$clients" <<'PY'
import socket, statistics, sys, time
port, clients = int(sys.argv[1]), int(sys.argv[2])
def get(source):
    s = socket.socket()
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    start = time.perf_counter()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    s.close()
    return time.perf_counter() - start, data.split(b" ", 2)[1]
for _ in range(300):
    try: get("127.0.0.1"); break
    except OSError: time.sleep(0.1)
def phase(n=400):
    times = sorted(get("127.0.0.1")[0] * 1000 for _ in range(n))
    return statistics.median(times), times[int(len(times) * 0.9)]
empty = phase()
for i in range(clients):
    get("127.%d.%d.%d" % (1 + i // 65025, (i // 255) % 255, 1 + i % 255))
full = phase()
print("| table | median ms | p90 ms |")
print("|---|---|---|")
print("| empty | %.3f | %.3f |" % empty)
print("| %d refilling buckets | %.3f | %.3f |" % (clients, full[0], full[1]))
print("ratio full/empty: median %.2f, p90 %.2f" % (full[0] / empty[0], full[1] / empty[1]))
PY
