#!/usr/bin/env bash
# Fuzzes a real `jamey serve`'s HTTP API with schemathesis (PyPI) from its own /openapi.json.
# Fails on any 5xx, any status, content type, header or body that the document does not allow,
# and on accepted invalid input (a 413 counts as refusing it). Bounded in time.
#   scripts/api-schemathesis.sh BIN_DIR           # the gateway's own routes, with the hello plugins
#   scripts/api-schemathesis.sh BIN_DIR plugins   # the routes of the plugins the default config
#                                                 # enables: memory, cache, soul, conscience, consciousness
# BIN_DIR holds jamey and the plugins' libraries.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin="${1:?usage: scripts/api-schemathesis.sh BIN_DIR [plugins]}"
mode="${2:-api}"
case "$mode" in
  api)
    loaded="  hello_c:
    path: $bin/libHelloC.so
  hello_swift:
    path: $bin/libHelloSwift.so"
    select=() ;;
  plugins)
    loaded=""
    for p in memory:Memory cache:Cache soul:Soul conscience:Conscience consciousness:Consciousness; do
      loaded+="  ${p%%:*}:
    path: $bin/lib${p#*:}.so
"
    done
    select=(--include-path-regex '^/v1/(memory|cache|soul|conscience|consciousness)(/|$)') ;;
  *) echo "usage: scripts/api-schemathesis.sh BIN_DIR [plugins]" >&2; exit 2 ;;
esac
venv="${JAMEY_SCHEMATHESIS_VENV:-$JAMEY_ROOT/.build/schemathesis-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  install_packages python3 python3-venv
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis>=4,<5"
fi
"$venv/bin/schemathesis" --version

work="$(mktemp -d)"
key="schemathesis-admin-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat > "$work/jamey.yaml" <<YAML
node:
  name: schemathesis
data_dir: data
log:
  level: notice
plugins:
$loaded
  api:
    required: true
    path: $bin/libAPI.so
    config:
      port: 0
      limits:
        request_timeout_ms: 1000
      rate_limits:
        public: {rate: 0, burst: 1}
        read: {rate: 0, burst: 1}
        write: {rate: 0, burst: 1}
        admin: {rate: 0, burst: 1}
YAML
JAMEY_API_ADMIN_KEY="$key" "$bin/jamey" serve --config "$work/jamey.yaml" 2> "$work/serve.log" &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  port="$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$work/serve.log" | grep -o '[0-9]*$' || true)"
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "jamey serve did not start listening" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "jamey serve listening on 127.0.0.1:$port"

# The event stream never ends by design, so it is left out of fuzzing (tests cover it).
# Run from the scratch directory: schemathesis keeps a cache in the working directory.
status=0
cd "$work"
# A body over the gateway's size limit is refused with 413 before any plugin sees it: a refusal.
cat > schemathesis.toml <<'TOML'
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
TOML
timeout 600 "$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection \
  --exclude-path /v1/bus/subscribe ${select[@]+"${select[@]}"} \
  --phases examples,coverage,fuzzing \
  --max-examples "${JAMEY_SCHEMATHESIS_EXAMPLES:-100}" \
  --request-timeout 10 \
  --seed "${JAMEY_SCHEMATHESIS_SEED:-1}" \
  --generation-database none \
  --no-color || status=$?
if grep -q "error" "$work/serve.log"; then grep "error" "$work/serve.log" >&2 || true; fi
exit $status
