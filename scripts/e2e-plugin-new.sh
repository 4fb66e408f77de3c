#!/usr/bin/env bash
# `jamey plugins new NAME --lang swift` makes a package that depends on the kit package alone
# (it resolves swift-log and swift-metrics, nothing else), builds with `swift build` as is, and
# the library it builds loads and answers in a real kernel (jamey plugins list/inspect).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin="${1:-$(swift_bin_path debug)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin/jamey" plugins new e2e_swift --lang swift --dir "$tmp"
# It depends on the kit package only: resolving it pins swift-log and swift-metrics and nothing
# else (the server's dependencies stay out of a plugin author's build).
(cd "$tmp/e2e_swift" && swift package resolve 2>&1 | tail -n 3)
resolved="$(cd "$tmp/e2e_swift" && swift package show-dependencies --format flatlist | sort -u | tr '\n' ' ')"
if [ "$resolved" != "kit swift-log swift-metrics " ]; then
  echo "the Swift skeleton resolves more than the kit: expected 'kit swift-log swift-metrics', found '$resolved'" >&2
  exit 1
fi
(cd "$tmp/e2e_swift" && swift build 2>&1 | tail -n 3)
lib="$tmp/e2e_swift/.build/debug/libE2eSwift.so"
"$bin/jamey" plugins inspect "$lib" | grep -q "name:        e2e_swift"
cat > "$tmp/jamey.yaml" <<YAML
data_dir: $tmp/data
log:
  level: warning
plugins:
  e2e_swift:
    path: $lib
YAML
"$bin/jamey" config check --config "$tmp/jamey.yaml"
# The skeleton's own check (ConfigurationChecking, ABI 1.6) runs in config check.
sed 's|    path: .*|&\n    config:\n      reply: "one\\ntwo"|' "$tmp/jamey.yaml" > "$tmp/bad.yaml"
if "$bin/jamey" config check --config "$tmp/bad.yaml" 2> "$tmp/bad.err"; then
  echo "config check accepted a reply with a line break" >&2
  exit 1
fi
grep -q "plugins.e2e_swift.config: reply: holds a line break" "$tmp/bad.err" || { cat "$tmp/bad.err" >&2; exit 1; }
"$bin/jamey" plugins list --config "$tmp/jamey.yaml" | grep -q "e2e_swift .*loaded"
echo "swift skeleton OK"
