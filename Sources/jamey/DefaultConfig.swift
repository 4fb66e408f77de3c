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

  # MQTT bridge (Plugins/MQTT): connects the bus to an MQTT broker and, through the broker, Jamey
  # nodes to each other (presence, shared subscriptions, cross-node requests). See "MQTT bridge and
  # clustering" in README.md. Start a broker (apt-get install mosquitto), then set enabled: true.
  mqtt:
    enabled: false
    config:
      host: localhost
      port: 1883
      # client_id: ""             # default jamey-<node name>; must be unique per node
      # username: jamey
      # password: ""              # secret; or JAMEY_PLUGINS_MQTT_CONFIG_PASSWORD
      # protocol: mqttv5          # or mqttv311 (no properties, no remote rules)
      # clean_session: true       # false: resume a persistent session (session_expiry_s)
      # prefix: jamey             # prefix of mapped MQTT topics; a rule may set its own
      # tls:
      #   enabled: true
      #   ca_file: /etc/jamey/ca.crt
      #   cert_file: /etc/jamey/client.crt   # mutual TLS (optional)
      #   key_file: /etc/jamey/client.key
      # reconnect: {initial_delay_ms: 500, max_delay_ms: 30000, multiplier: 2.0, jitter: 0.5}
      # spool: {max_messages: 100000, max_bytes: 67108864}   # QoS 1/2 kept while the broker is away
      # presence: {enabled: true, topic: jamey/nodes}
      # outbound:                 # bus -> MQTT
      #   - bus: "sensors.>"      # sensors.kitchen.temp -> jamey/sensors/kitchen/temp
      #     qos: 1
      #   - bus: "alerts.*"
      #     mqtt: "site1/alerts/{1}"
      #     prefix: ""
      #     retain: true
      # inbound:                  # MQTT -> bus
      #   - mqtt: "commands/#"    # jamey/commands/a/b -> commands.a.b
      #   - mqtt: "zigbee2mqtt/+/state"
      #     prefix: ""
      #     bus: "devices.{1}.state"
      #   - mqtt: "jobs/#"        # the nodes in group "workers" split these between them
      #     share_group: workers
      #     bus: "jobs.{1}"
      # remote:                   # bus requests that another node answers
      #   - bus: "billing.>"
"""#
}
