#!/usr/bin/env bash
# How long a plugin's writes stall while the kit's online snapshot (KitGRDB `writeSnapshot`, what
# every plugin's snapshot hook uses and the vault drives) copies its database: commit gaps with no
# snapshot running (the in-run baseline) against commit gaps while snapshots run. Release build.
#   scripts/bench-snapshot-stall.sh                 # SIZE_MB=200 SNAPSHOTS=5
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$JAMEY_ROOT"
swift build -c release --product jamey-snapshot-stall >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$(swift_bin_path release)/jamey-snapshot-stall" "$work" "${SIZE_MB:-200}" "${SNAPSHOTS:-5}"
