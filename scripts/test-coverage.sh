#!/usr/bin/env bash
# Line coverage of Kit/Sources/, Sources/ and Plugins/ (kernel, kit, CLI and the Swift plugin
# libraries loaded with dlopen, plus the jamey binary the CLI tests run) with llvm-cov; fails under
# the threshold.
#   scripts/test-coverage.sh            # threshold 70 %
#   COVERAGE_MIN=75 scripts/test-coverage.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
install_packages "${JAMEY_BUILD_PACKAGES[@]}" "${JAMEY_TEST_PACKAGES[@]}"
min="${COVERAGE_MIN:-70}"
swift build --build-tests --enable-code-coverage
bin="$(swift_bin_path debug)"
build_c_plugins "$bin"
swift test --skip-build --enable-code-coverage
profdata="$(dirname "$(swift test --show-codecov-path)")/default.profdata"
objects=("$bin/jameyPackageTests.xctest" -object "$bin/jamey")
for so in "$bin"/lib*.so; do
  case "$so" in *HelloC.so) ;; *) objects+=(-object "$so") ;; esac
done
"$(dirname "$(readlink -f "$(command -v swift)")")/llvm-cov" report -instr-profile="$profdata" "${objects[@]}" \
  -ignore-filename-regex='(\.build|Tests|checkouts)/' -summary-only > "$bin/coverage.txt"
cat "$bin/coverage.txt"
pct="$(awk '/^TOTAL/ { print $(NF-3) }' "$bin/coverage.txt" | tr -d '%')"
echo "line coverage: ${pct}% (threshold ${min}%)"
awk -v p="$pct" -v m="$min" 'BEGIN { exit !(p + 0 >= m + 0) }' || { echo "coverage ${pct}% is under ${min}%" >&2; exit 1; }
