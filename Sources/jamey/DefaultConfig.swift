// swift-format-ignore-file
/// The embedded default configuration: a copy of config/jamey.yaml (a test keeps them identical;
/// regenerate with scripts/embed-default-config.sh).
enum DefaultConfig {
    static let yaml = #"""
# Jamey — the embedded default configuration.
#
# `jamey serve` without --config uses exactly this file (it is compiled into the binary; a test
# keeps the two identical). Copy it, edit it, and pass it with --config FILE.
#
# Every key can be overridden from the environment: JAMEY_ + the key path in upper case with the
# segments joined by "_" (and "-" turned into "_"), e.g. JAMEY_DATA_DIR, JAMEY_LOG_LEVEL,
# JAMEY_PLUGINS_HELLO_C_CONFIG_GREETING. Relative paths are resolved against the directory of the
# config file (against the current directory for this embedded default).
# Check a file without starting anything: jamey config check --config FILE

node:
  # This node's name, used in logs, metrics and (with the mqtt plugin) cluster presence.
  # Default: the host name.
  # name: jamey-1

# Where every plugin keeps its data, one subdirectory per plugin (<data_dir>/<plugin>/).
data_dir: ./data

# Where plugin libraries (lib<Name>.so) are looked up. Default: the directory holding the jamey
# binary. A plugin's own `path:` overrides this.
# plugin_dir: /usr/lib/jamey/plugins

log:
  level: info          # trace | debug | info | notice | warning | error | critical
  format: text         # text | json (one JSON object per line)

shutdown:
  # On SIGTERM/SIGINT plugins are stopped in reverse start order; a plugin still stopping after
  # this budget is abandoned and the process exits.
  timeout_ms: 10000

bus:
  queue_capacity: 1024       # default per-subscription queue bound; overflow drops the newest message
  request_timeout_ms: 5000   # default timeout of bus requests
  workers: 0                 # delivery threads; 0 = one per CPU core (at least 2)

# One entry per plugin. Keys: enabled (default true), required (default false: a failing optional
# plugin is marked failed and the rest run; a failing required plugin stops start-up), path
# (explicit library path), config (the plugin's own section, validated against the schema the
# plugin declares; `jamey plugins inspect PATH` shows it).
plugins:
  # Example plugin in plain C (Plugins/HelloC): provides the hello.greeter service and answers
  # requests on hello.c.greet.
  hello_c:
    enabled: true
    config:
      greeting: Hello

  # Example plugin in Swift (Plugins/HelloSwift): requires hello.greeter, so it starts after hello_c.
  hello_swift:
    enabled: true
    config:
      name: Jamey
      announce: true
"""#
}
