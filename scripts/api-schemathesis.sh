#!/usr/bin/env bash
# Fuzzes a real `jamey serve`'s HTTP API with schemathesis (PyPI) from its own /openapi.json.
# Fails on any 5xx, any status, content type, header or body that the document does not allow,
# and on accepted invalid input (a 413 counts as refusing it). Bounded in time. In plugins mode
# it also fails on valid input refused, for the operations whose every check a schema can state
# (the others are listed in the config below with what their schemas cannot say).
#   scripts/api-schemathesis.sh BIN_DIR           # the gateway's own routes, with the hello plugins
#   scripts/api-schemathesis.sh BIN_DIR plugins   # the routes of the plugins the default config
#                                                 # enables: memory, cache, soul, conscience, consciousness
#   scripts/api-schemathesis.sh BIN_DIR vault     # the vault's routes, over a repository made here
#                                                 # (`jamey vault keygen` and `init`) backing up memory and soul
# BIN_DIR holds jamey and the plugins' libraries.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin="${1:?usage: scripts/api-schemathesis.sh BIN_DIR [plugins|vault]}"
mode="${2:-api}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
case "$mode" in
  api)
    loaded="  hello_c:
    path: $bin/libHelloC.so
  hello_swift:
    path: $bin/libHelloSwift.so"
    select=()
    acceptance="" ;;
  plugins)
    loaded=""
    for p in memory:Memory cache:Cache soul:Soul conscience:Conscience consciousness:Consciousness; do
      loaded+="  ${p%%:*}:
    path: $bin/lib${p#*:}.so
"
    done
    select=(--include-path-regex '^/v1/(memory|cache|soul|conscience|consciousness)(/|$)')
    # Valid input must be answered 2xx, or 404 for what does not exist, except by the operations
    # below (which may also answer 400 or 409: schemathesis picks the checks it runs once for all
    # operations, so an operation can only widen what the check expects), whose refusals depend on what no JSON Schema states: a body name that differs from
    # the path's (soul), keywords that are not one content word or share a stem (conscience), a
    # pin in a layer the config does not let pin (memory), a query with no words (memory), a
    # decay time in the future (soul), a key over 512 bytes of UTF-8 (cache: the schema's
    # maxLength counts code points).
    acceptance='
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "404"]

[[operations]]
include-operation-id = ["memoryStore", "memoryStoreBatch", "memoryUpdate", "memorySearch", "conscienceCreateRule", "conscienceUpdateRule", "soulDecay", "soulUpsertEntity", "soulRecordEmotion", "soulLinkMemory", "soulConscienceRecord", "cacheGet", "cachePut", "cacheDelete", "cacheInvalidate", "cacheWarm"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404", "409"]' ;;
  vault)
    # A repository this run makes: the identity stays in the scratch directory so the API can
    # verify and restore; no schedule, so every backup is one the fuzzer asked for.
    "$bin/jamey" vault keygen -o "$work/identity.txt" > "$work/keygen.out" 2>&1
    recipient="$(grep -o 'age1[0-9a-z]*' "$work/keygen.out" | head -n 1)"
    [ -n "$recipient" ] || { cat "$work/keygen.out" >&2; exit 1; }
    "$bin/jamey" vault init --repository "$work/repo" --recipient "$recipient" --node-key "$work/node.key" \
      --node fuzz > /dev/null
    loaded="  memory:
    path: $bin/libMemory.so
  soul:
    path: $bin/libSoul.so
  vault:
    path: $bin/libVault.so
    privileges: [snapshot]
    config:
      repository: $work/repo
      node_key: $work/node.key
      identity: $work/identity.txt
      schedule:
        interval_minutes: 0
"
    select=(--include-path-regex '^/v1/vault(/|$)')
    # verify's subset k/n needs k ≤ n, which a pattern cannot say.
    acceptance='
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "404"]

[[operations]]
include-operation-id = ["vaultVerify"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404"]' ;;
  *) echo "usage: scripts/api-schemathesis.sh BIN_DIR [plugins|vault]" >&2; exit 2 ;;
esac
venv="${JAMEY_SCHEMATHESIS_VENV:-$JAMEY_ROOT/.build/schemathesis-venv}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  install_packages python3 python3-venv
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis>=4,<5"
fi
"$venv/bin/schemathesis" --version

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
        # A consolidation over what a long run has stored takes over a second in a debug build.
        request_timeout_ms: 5000
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
cat > schemathesis.toml <<TOML
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
$acceptance
TOML
timeout 600 "$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection${acceptance:+,positive_data_acceptance}" \
  --exclude-path /v1/bus/subscribe ${select[@]+"${select[@]}"} \
  --phases examples,coverage,fuzzing \
  --max-examples "${JAMEY_SCHEMATHESIS_EXAMPLES:-100}" \
  --request-timeout 10 \
  --seed "${JAMEY_SCHEMATHESIS_SEED:-1}" \
  --generation-database none \
  --no-color || status=$?
if grep -q "error" "$work/serve.log"; then grep "error" "$work/serve.log" >&2 || true; fi
exit $status
