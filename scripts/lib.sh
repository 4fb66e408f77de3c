#!/usr/bin/env bash
# Shared helpers for the scripts in this directory. Source it; do not run it.

# The repository root.
JAMEY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JAMEY_ROOT

# System packages Jamey builds on (Debian names), and the tools the test suite uses. gcc provides
# `cc`, which builds the C plugins (make, the test kit) and checks the C header; a bare Swift
# image may lack it.
JAMEY_BUILD_PACKAGES=(libsqlite3-dev libmosquitto-dev libhiredis-dev libffi-dev make pkg-config gcc)
JAMEY_TEST_PACKAGES=(mosquitto mosquitto-clients openssl age restic redis-server)
# The deterministic gates (scripts/bench-gates.sh) count instructions with valgrind's callgrind
# (its header callgrind.h is compiled into the gate driver) and strip debug info with objcopy.
JAMEY_GATE_PACKAGES=(valgrind binutils)

# install_packages PKG...: installs the missing ones with apt-get when running as root; otherwise
# names what is missing and fails.
install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
    return 1
  fi
  echo "installing system packages: ${missing[*]}" >&2
  if [ -z "${JAMEY_APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    export JAMEY_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# build_c_plugins DIR: builds the plain-C plugins into DIR (next to the Swift plugin libraries).
build_c_plugins() {
  make -s -C "$JAMEY_ROOT/Plugins/HelloC" OUT="$1"
  make -s -C "$JAMEY_ROOT/Plugins/FaultC" OUT="$1"
}

# swift_bin_path [CONFIG]: the build products directory for debug (default) or release.
swift_bin_path() {
  (cd "$JAMEY_ROOT" && swift build -c "${1:-debug}" --show-bin-path)
}

# free_loopback_port: prints a TCP port nothing listens on at 127.0.0.1 (fails after 50 tries).
free_loopback_port() {
  local candidate
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then echo "$candidate"; return 0; fi
  done
  echo "no free port" >&2
  return 1
}

# start_mosquitto CONF PORT: starts mosquitto with CONF in the background (SIGTERM, SIGINT and
# SIGHUP at their defaults), sets mosquitto_pid and waits until it accepts on 127.0.0.1:PORT.
start_mosquitto() {
  env --default-signal=TERM,INT,HUP mosquitto -c "$1" &
  mosquitto_pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "mosquitto did not listen on 127.0.0.1:$2" >&2
  return 1
}
