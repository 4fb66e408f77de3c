#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing (as root), builds every
# target and plugin, runs every test, then the end-to-end checks that need whole processes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}" "${JAMEY_TEST_PACKAGES[@]}"

echo "== build (debug, with tests)"
swift build --build-tests
bin="$(swift_bin_path debug)"
build_c_plugins "$bin"

echo "== swift test"
# Swift Testing starts every test at once unless told otherwise. Hundreds of kernels booting and
# blocking together on a 2-core machine starve the concurrency pool's two threads, which the
# Swift plugins' handlers and the async tests need, and tests time out. Eight at a time passes
# the whole suite there in about two minutes; set the variable to change it.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8}"
swift test --skip-build

echo "== C header: strict C11, C99 and C++ compile of jamey/plugin.h"
scripts/check-header.sh

echo "== end to end: a Swift plugin made by 'jamey plugins new' builds and loads"
scripts/e2e-plugin-new.sh "$bin"

echo "== api: schemathesis fuzzes /openapi.json of a running 'jamey serve' (no 5xx, no schema violation)"
scripts/api-schemathesis.sh "$bin"

echo "== plugins: schemathesis fuzzes the routes of memory, cache, soul, conscience and consciousness"
scripts/api-schemathesis.sh "$bin" plugins

echo "== vault: schemathesis fuzzes the vault's routes over a repository it makes"
scripts/api-schemathesis.sh "$bin" vault

echo "== all tests passed"
