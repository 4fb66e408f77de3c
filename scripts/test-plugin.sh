#!/usr/bin/env bash
# Builds and tests one plugin alone (what CI's per-plugin matrix runs).
#   scripts/test-plugin.sh hello     # the HelloC + HelloSwift examples
#   scripts/test-plugin.sh api       # the HTTP gateway (its tests load the hello plugins too)
#   scripts/test-plugin.sh mqtt      # the MQTT bridge, against real mosquitto brokers it starts
#   scripts/test-plugin.sh conscience  # the conscience (its HTTP tests load the api plugin too)
#   scripts/test-plugin.sh memory      # the memory plugin (its HTTP tests load the api plugin too)
#   scripts/test-plugin.sh soul        # the soul (its tests load the conscience too; HTTP through the api plugin)
#   scripts/test-plugin.sh consciousness  # the workspace pipeline (with soul, conscience, memory and api)
#   scripts/test-plugin.sh vault       # the vault (real age, restic; its tests load memory, conscience, api), then its routes fuzzed
#   scripts/test-plugin.sh cache       # the cache plugin (L1 policies, L2 against real redis-servers it starts, L3 in SQLite)
#   scripts/test-plugin.sh isolation   # crash isolation: fault_c in jamey-plugin-runner, HTTP through the api plugin, jamey serve killed -9
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
name="${1:?usage: scripts/test-plugin.sh NAME (one of: hello, api, mqtt, conscience, memory, soul, consciousness, vault, cache, isolation)}"
case "$name" in
  hello|hello_c|hello_swift|HelloC|HelloSwift) products=(HelloSwift); tests=HelloTests; c=1 ;;
  api|API) products=(API HelloSwift); tests='APICoreTests|APITests'; c=1; fuzz=api ;;
  mqtt|MQTT) products=(MQTT jamey); tests=MQTTTests; runtime=("${JAMEY_TEST_PACKAGES[@]}") ;;
  conscience|Conscience) products=(Conscience Memory API); tests='ConscienceCoreTests|ConscienceTests|PluginRepliesTests' ;;
  memory|Memory) products=(Memory API); tests='MemoryCoreTests|MemoryTests|PluginRepliesTests' ;;
  soul|Soul) products=(Soul Conscience API); tests='SoulCoreTests|SoulTests|PluginRepliesTests' ;;
  consciousness|Consciousness) products=(Consciousness Soul Memory API); tests='ConsciousnessCoreTests|ConsciousnessTests|PluginRepliesTests' ;;
  vault|Vault) products=(Vault Conscience Memory Soul API jamey); tests='VaultCoreTests|VaultTests'; runtime=("${JAMEY_TEST_PACKAGES[@]}"); fuzz=vault ;;
  cache|Cache) products=(Cache API MQTT Memory); tests='CacheCoreTests|CacheTests'; runtime=("${JAMEY_TEST_PACKAGES[@]}") ;;
  isolation|fault_c|faultc|FaultC) products=(API jamey jamey-plugin-runner); tests=IsolationTests; c=1 ;;
  *) echo "unknown plugin '$name' (known: hello, api, mqtt, conscience, memory, soul, consciousness, vault, cache, isolation)" >&2; exit 2 ;;
esac
install_packages "${JAMEY_BUILD_PACKAGES[@]}" ${runtime[@]+"${runtime[@]}"}
for p in "${products[@]}"; do swift build --product "$p"; done
swift build --build-tests
bin="$(swift_bin_path debug)"
[ -n "${c:-}" ] && build_c_plugins "$bin"
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8}"
swift test --skip-build --filter "$tests"
if [ -n "${fuzz:-}" ]; then scripts/api-schemathesis.sh "$bin" "$fuzz"; fi
