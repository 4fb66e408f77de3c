#!/usr/bin/env bash
# Compiles jamey/plugin.h alone under strict C11, C99 and C++17 with warnings as errors, so the
# header stays self-contained and usable from every C-family compiler.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf '#include <jamey/plugin.h>\nint main(void) { return JAMEY_ABI_MAJOR == 1 ? 0 : 1; }\n' > "$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
inc="-I$JAMEY_ROOT/Kit/Sources/CJameyABI/include"
cc -std=c11 -Wall -Wextra -Wpedantic -Werror "$inc" -o "$tmp/c11" "$tmp/h.c"
cc -std=c99 -Wall -Wextra -Wpedantic -Werror "$inc" -o "$tmp/c99" "$tmp/h.c"
if command -v c++ >/dev/null; then c++ -std=c++17 -Wall -Wextra -Werror "$inc" -o "$tmp/cpp" "$tmp/h.cpp"; fi
"$tmp/c11"
echo "header OK"
