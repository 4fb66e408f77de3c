#!/usr/bin/env bash
# Pre-commit checks: swift format lint of the staged Swift files, a secret scan of the staged
# changes, and the fast tests (everything but the CLI process tests). Installs what is missing when
# run as root (scripts/lib.sh); otherwise, without the test packages, it skips the tests that start
# a mosquitto broker and says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
staged_swift=$(git diff --cached --name-only --diff-filter=ACM -- '*.swift' || true)
if [ -n "$staged_swift" ]; then
  echo "== swift format lint"
  # shellcheck disable=SC2086
  swift format lint --strict $staged_swift
fi
echo "== secret scan"
if git diff --cached -U0 | grep -E '^\+' | grep -v '^+++' | grep -nE \
  '(-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{36}|xox[baprs]-[A-Za-z0-9-]{10,}|(api|secret|password)_?key["'"'"']?\s*[:=]\s*["'"'"'][A-Za-z0-9/+_-]{16,})'; then
  echo "possible secret in the staged change (see above); remove it or move it to the environment" >&2
  exit 1
fi
echo "== fast tests"
install_packages "${JAMEY_BUILD_PACKAGES[@]}"
skip='CLITests'
if ! install_packages "${JAMEY_TEST_PACKAGES[@]}"; then
  # The MQTT suites that need no broker (configuration, mapping, backoff, ...) still run.
  echo "skipping the MQTT broker tests: the test packages above are missing and only root installs them" \
    "(run scripts/test-plugin.sh mqtt as root for them)" >&2
  skip="$skip|MQTTTests\.(?!BackoffTests|BridgeLifecycleTests|ConfigTests|LogThrottleTests|TopicMappingTests)"
fi
swift build --build-tests
build_c_plugins "$(swift_bin_path debug)"
swift test --skip-build --skip "$skip"
