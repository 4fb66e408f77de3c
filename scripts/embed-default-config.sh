#!/usr/bin/env bash
# Regenerates Sources/jamey/DefaultConfig.swift from config/jamey.yaml (the embedded default).
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo '// swift-format-ignore-file'
  echo '/// The embedded default configuration: a copy of config/jamey.yaml (a test keeps them identical;'
  echo '/// regenerate with scripts/embed-default-config.sh).'
  echo 'enum DefaultConfig {'
  echo '    static let yaml = #"""'
  cat config/jamey.yaml
  echo '"""#'
  echo '}'
} > Sources/jamey/DefaultConfig.swift
