#!/usr/bin/env bash
# Times RFC3339.string (Sources/PluginReplies/RFC3339.swift, what memory and api replies write
# times with) against Foundation's Date.ISO8601FormatStyle in one optimised process: ROUNDS rounds
# (default 3) of N formats each (default 300000), printing ns per call and the ratio.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
{
  echo "import Foundation"
  sed -n '/^public enum RFC3339/,$p' "$JAMEY_ROOT/Sources/PluginReplies/RFC3339.swift"
  cat <<EOF
let n = ${N:-300000}
let dates = (0..<n).map { Date(timeIntervalSince1970: 1_700_000_000 + Double(\$0) * 0.137) }
let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
var sink = 0
for round in 1...${ROUNDS:-3} {
    var t0 = DispatchTime.now().uptimeNanoseconds
    for d in dates { sink &+= d.formatted(style).utf8.count }
    let foundation = Double(DispatchTime.now().uptimeNanoseconds - t0) / Double(n)
    t0 = DispatchTime.now().uptimeNanoseconds
    for d in dates { sink &+= RFC3339.string(d).utf8.count }
    let ours = Double(DispatchTime.now().uptimeNanoseconds - t0) / Double(n)
    print("round \(round): Foundation \(Int(foundation)) ns, RFC3339.string \(Int(ours)) ns, ratio \(String(format: "%.2f", ours / foundation))")
}
if sink == 42 { print(sink) }
EOF
} > "$tmp/bench.swift"
swiftc -O "$tmp/bench.swift" -o "$tmp/bench"
"$tmp/bench"
