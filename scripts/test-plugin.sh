#!/usr/bin/env bash
# Builds and tests one plugin alone (what CI's per-plugin matrix runs).
#   scripts/test-plugin.sh hello     # the HelloC + HelloSwift examples
#   scripts/test-plugin.sh api       # the HTTP gateway (its tests load the hello plugins too)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
name="${1:?usage: scripts/test-plugin.sh NAME (one of: hello, api)}"
case "$name" in
  hello|hello_c|hello_swift|HelloC|HelloSwift) products=(HelloSwift); tests=HelloTests; c=1 ;;
  api|API) products=(API HelloSwift); tests=APITests; c=1; fuzz=1 ;;
  *) echo "unknown plugin '$name' (known: hello, api)" >&2; exit 2 ;;
esac
install_packages "${JAMEY_BUILD_PACKAGES[@]}"
for p in "${products[@]}"; do swift build --product "$p"; done
swift build --build-tests
bin="$(swift_bin_path debug)"
[ -n "${c:-}" ] && build_c_plugins "$bin"
swift test --skip-build --filter "$tests"
if [ -n "${fuzz:-}" ]; then scripts/api-schemathesis.sh "$bin"; fi
