#!/usr/bin/env bash
# Builds Jamey and runs the server with the embedded default config (config/jamey.yaml).
#   scripts/run.sh                  # debug build, embedded default config
#   scripts/run.sh --config FILE    # any `jamey serve` arguments are passed on
#   JAMEY_BUILD=release scripts/run.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}"
config="${JAMEY_BUILD:-debug}"
swift build -c "$config"
bin="$(swift_bin_path "$config")"
build_c_plugins "$bin"
exec "$bin/jamey" serve "$@"
