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

hooks:
  # Deadlines of plugin hooks, in milliseconds. A hook still running at its deadline marks the
  # plugin failed ("start did not return within its deadline of 30 s (hooks.start_timeout_ms)")
  # and the kernel goes on without it (start-up stops only if the plugin is required).
  init_timeout_ms: 30000
  start_timeout_ms: 30000
  stop_timeout_ms: 5000        # also bounded by what is left of shutdown.timeout_ms
  health_timeout_ms: 3000
  health_interval_ms: 1000     # health is refreshed in the background and read from a cache
  snapshot_timeout_ms: 600000
  restore_timeout_ms: 600000

bus:
  queue_capacity: 1024       # default per-subscription queue bound; overflow drops the newest message
  request_timeout_ms: 5000   # default timeout of bus requests
  workers: 0                 # delivery threads; 0 = one per CPU core (at least 2)

# One entry per plugin. Keys: enabled (default true), required (default false: a failing optional
# plugin is marked failed and the rest run; a failing required plugin stops start-up), path
# (explicit library path), config (the plugin's own section, validated against the schema the
# plugin declares; `jamey plugins inspect PATH` shows it).
plugins:
  # Any plugin may run in a supervised child process instead of inside the kernel, so that a crash,
  # an abort, a stack overflow, a memory limit or a hung handler there leaves the server serving
  # (README.md, "Isolating a plugin"). Not for plugins that provide or require a service table.
  #   some_plugin:
  #     isolation: process        # default in_process
  #     limits:
  #       memory_mb: 512          # address space (RLIMIT_AS); 0 = none
  #       cpu_seconds: 0          # RLIMIT_CPU; 0 = none
  #       open_files: 0           # RLIMIT_NOFILE; 0 = the kernel's
  #       handler_timeout_ms: 30000   # a bus handler running longer is hung: killed, restarted
  #     restart:                  # systemd-style backoff: RestartSec, RestartMaxDelaySec, RestartSteps
  #       delay_ms: 100
  #       max_delay_ms: 5000
  #       steps: 5
  #       window_s: 60            # more than max_restarts crashes in window_s: quarantined
  #       max_restarts: 5

  # Fault injection (Plugins/FaultC, plain C) in its own process: requests on fault_c.crash,
  # .abort, .overflow, .oom and .hang make the child fail that way, fault_c.echo answers. Enable it
  # to watch isolation work (restarts, backoff, quarantine in GET /v1/plugins/fault_c); never in
  # production.
  fault_c:
    enabled: false
    isolation: process
    limits:
      memory_mb: 256
      handler_timeout_ms: 3000

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
      # keepalive_s: 10           # an idle node notices a broker that stopped answering within 2x this
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
      #   - bus: "cache.invalidated.>"   # the cache's puts and invalidations, to the other nodes
      #     qos: 1
      # inbound:                  # MQTT -> bus
      #   - mqtt: "cache/invalidated/#"  # ...and theirs, applied here (README "Caching")
      #     qos: 1
      #   - mqtt: "commands/#"    # jamey/commands/a/b -> commands.a.b
      #   - mqtt: "zigbee2mqtt/+/state"
      #     prefix: ""
      #     bus: "devices.{1}.state"
      #   - mqtt: "jobs/#"        # the nodes in group "workers" split these between them
      #     share_group: workers
      #     bus: "jobs.{1}"
      # remote:                   # bus requests that another node answers
      #   - bus: "billing.>"

  # Memory (Plugins/Memory): five layers (working, short_term, episodic, semantic, long_term) in
  # one SQLite FTS5 database under <data_dir>/memory/, with retention, near-duplicate handling and
  # consolidation; bus topics memory.items.* and routes /v1/memory/... See "Memory" in README.md.
  memory:
    enabled: true
    config:
      duplicates: merge              # near-duplicate in the same layer: merge | reject (409) | allow
      duplicate_threshold: 0.8       # word-shingle Jaccard similarity
      max_content_bytes: 65536       # larger items: 413, nothing stored
      search_timeout_ms: 5000        # a search running longer is stopped: 503 search-timeout (0 = no limit)
      postings_per_group: 4096       # best rows kept per group of a frequent word's postings; a
                                     # one-word search needing more (over ~400 results) asks FTS5
      merge_batch: 10000             # pending items one background merge takes; stores wait for a
                                     # merge in progress: smaller = shorter waits, fewer items/s
      synchronous: normal            # normal: a reply once the commit is in the WAL (survives kill -9;
                                     # a power cut can lose the last ones) | full: WAL synced first
      sweep_interval_ms: 60000       # delete expired items (reads never return them anyway)
      consolidation_interval_ms: 3600000   # merge near-duplicates, promote; 0 = on demand only
      # layers:                      # per layer: ttl_seconds (0 = none), capacity (0 = none), pinning,
      #   working: {ttl_seconds: 3600, capacity: 64, pinning: false}   # and ranking weights
      #   short_term: {ttl_seconds: 604800, capacity: 10000, recency: 0.5, half_life_seconds: 86400}
      # promotion: {episodic_accesses: 3, episodic_importance: 0.7, semantic_accesses: 5, long_term_importance: 0.9}

  # Conscience (Plugins/Conscience): moral rules in <data_dir>/conscience/conscience.sqlite and
  # evaluate(text) -> a score in [-1, 1], approved, the rules applied and an explanation. Needs
  # nothing external. See "Conscience" in README.md.
  conscience:
    enabled: true
    config:
      approval_threshold: 0      # approved when score >= this (-1 to 1)
      negation_window: 3         # "not", "never", "don't", ... flip this many following content words
      max_text_length: 10000     # longest text evaluated, in characters
      memory:
        record: true             # record each evaluation in short-term memory when a memory plugin answers
        timeout_ms: 250
        record_read_callers: false  # also record evaluations asked with a read-only key

  # Vault, "Phoenix" (Plugins/Vault): encrypted (age), deduplicated, verified backups of every
  # plugin's data into a repository directory that rsync/rclone can copy off the machine; a
  # schedule, retention after each backup, routes /v1/vault/... (admin). Each plugin's data is
  # taken through its own snapshot hook (consistent while it runs). Disabled until a
  # repository and a node key exist: `jamey vault keygen -o ~/vault-identity.txt` (keep it off
  # the machine), then `jamey vault init --repository /srv/backup/jamey --recipient age1...
  # --node-key ./data/vault/node.key`, then set enabled: true. See "Backups" in README.md.
  vault:
    enabled: false
    privileges: [snapshot]       # lets it run the other plugins' snapshot/restore hooks through the kernel
    config:
      repository: ""             # the repository directory
      node_key: ""               # default <data_dir>/vault/node.key (written by jamey vault init)
      identity: ""               # only for verify/restore through the API; leave empty so this node cannot read its backups
      schedule:
        interval_minutes: 1440   # 0 = no interval (with daily_at empty too: no schedule)
        daily_at: ""             # HH:MM (UTC) instead of an interval, e.g. "03:30"
        first_delay_seconds: 60  # the first backup this long after start
      retention:                 # restic's forget rules, applied after each backup
        keep_last: 0
        keep_hourly: 24
        keep_daily: 7
        keep_weekly: 4
        keep_monthly: 12
        keep_yearly: 0
        keep_within: ""          # e.g. 30d; everything within this of the newest snapshot
      prune_after_forget: true
      stop_wait_ms: 4000         # stop waits this long for a running backup, then cancels it cleanly (bounded by the stop deadline)

  # Soul (Plugins/Soul): entities with trust, decay, emotion counts, empathy and linked memory
  # items in <data_dir>/soul/soul.sqlite; soul.conscience.record feeds a conscience evaluation to
  # an entity's emotions and trust. Needs nothing external. See "Conscience, soul and
  # consciousness" in README.md.
  soul:
    enabled: true
    config:
      conscience_timeout_ms: 1000  # how long soul.conscience.record waits for the conscience

  # Consciousness (Plugins/Consciousness): the workspace pipeline. process(text) computes the
  # priority and broadcasts winners on consciousness.workspace.broadcast (and into memory's
  # working layer), with attention, higher-order thought, prediction, integration and an
  # emotional state from the conscience and the soul when they run. State is in memory only.
  consciousness:
    enabled: true
    config:
      competition_threshold: 0.5        # broadcast when priority >= this (0 to 1)
      activity_half_life_seconds: 10    # a broadcast counts half in the activity after this long
      integration_threshold: 0.005      # on the integration heuristic's 0-0.15 scale
      max_text_length: 10000            # longest text processed, in characters
      max_in_flight: 64                 # process requests at once; more get 429
      use_conscience: true              # score each text with conscience.evaluate when it answers
      use_soul: true                    # read the request's entity with soul.entities.get
      timeout_ms: 500                   # wait for the conscience and the soul
      record_broadcasts: true           # store broadcasts in memory's working layer when it answers

  # The cache (Plugins/Cache): namespaces with an L1 in memory (W-TinyLFU, bounded in bytes,
  # per-entry TTL) over an L3 in SQLite (<data_dir>/cache/, bounded, survives restarts), origin
  # read-through over the bus with one load per key at a time, warming from L3 on start. Bus:
  # cache.get|put|invalidate|warm|stats; HTTP /v1/cache/... See "Caching" in README.md.
  cache:
    enabled: true
    config:
      namespaces:
        - name: default
          max_bytes: 67108864        # L1 bound (keys + values + 64 bytes per entry)
          l3_max_bytes: 268435456    # L3 bound; 0 = no L3 for this namespace
          l2: true                   # keep values in Redis when l2.enabled (false: this node only)
          max_value_bytes: 1048576   # larger values: 413
          default_ttl_ms: 0          # TTL of entries put without ttl_ms; 0 = none
          policy: w-tinylfu          # w-tinylfu | lru | sieve | s3-fifo
          origin: ""                 # bus topic that loads a missing key ({"namespace","key"} -> value)
          failure_ttl_ms: 0          # remember a failed load this long (0 = failures are not cached)
          warm_entries: 1000         # L3's hottest entries copied into L1 on start and on warm
          warm_keys: []              # keys read into L1 on start (L2/L3 at once, else the origin)
        - name: memory-search        # the memory plugin's search replies (README "Caching"); remove to turn off
          shared: false              # this node's alone: no events to other nodes, no L2
          max_bytes: 16777216
          l3_max_bytes: 0            # replies are not kept across restarts
          max_value_bytes: 1048576
          warm_entries: 0
      load_timeout_ms: 5000          # how long a read-through waits for its origin (504)
      l2:                          # Redis between L1 and L3, shared by nodes (apt-get install redis-server)
        enabled: false             # off: needs a Redis; when it goes away the cache serves from L1+L3
        host: 127.0.0.1            # (health degraded, cache_l2_up 0) and reconnects every second
        port: 6379
        key_prefix: "jamey:cache:"
        connect_timeout_ms: 500
        command_timeout_ms: 500
      bus_invalidations: true      # puts and invalidations as cache.invalidated.<namespace> bus events
      sketch_save_interval_s: 60   # each namespace's access sketch is saved to L3 this often and at stop

  # The HTTP gateway (Plugins/API): health, readiness, metrics, plugins, the bus, API keys, the
  # routes other plugins declare, and /openapi.json. Listed last so it starts last and stops
  # first (in-flight requests finish while the plugins they reach still run). The admin key is
  # JAMEY_API_ADMIN_KEY; without it one is generated into <data_dir>/api/admin.key (mode 0600).
  # Required: a gateway that cannot start (port in use, bad TLS files, a damaged key database)
  # stops start-up with exit 1, instead of a server that says it is ready with nothing listening.
  api:
    enabled: true
    required: true
    config:
      host: 127.0.0.1            # address to listen on (0.0.0.0: every interface)
      port: 8080                 # 0 = any free port (the bound address is logged)
      # admin_key: ...           # secret; prefer the JAMEY_API_ADMIN_KEY environment variable
      metrics_public: false      # true: /metrics needs no key (otherwise scope read)
      access_log: true           # one line per request: method, path, status, duration, key id
      trusted_proxies: []        # peers whose X-Forwarded-For names the client (rate limits, logs)
      key_retention_days: 90     # keys revoked or expired longer ago are deleted (0: kept)
      limits:
        max_body_bytes: 1048576    # larger bodies: 413
        max_header_bytes: 16384    # larger request heads are refused
        header_timeout_ms: 10000   # a request head must arrive within this (408), 0 = none
        body_timeout_ms: 30000     # and its body within this of the head, +1 s per 1000 bytes (408), 0 = none
        write_timeout_ms: 30000    # a client leaving a response stuck in the full send buffer this long is cut off, 0 = never
        idle_timeout_ms: 60000     # idle keep-alive connections close, 0 = never
        max_connections: 4096      # open connections, all clients (beyond: wait in the backlog), 0 = no cap
        max_connections_per_client: 256  # of one client address, trusted proxies aside (503 beyond), 0 = no cap
        request_timeout_ms: 5000   # bus requests for plugin routes and /v1/bus/request (504)
        operation_timeout_ms: 300000  # config reload, deploy and canary over HTTP (504)
        shutdown_grace_ms: 4000    # at stop, in-flight requests may finish this long (bounded by the stop deadline)
        max_sse_streams: 64        # concurrent /v1/bus/subscribe streams (503 beyond)
        max_sse_streams_per_caller: 8   # of them, held by one key (one client address without a key; 429 beyond)
        max_bus_requests_per_caller: 64  # /v1/bus/request calls of one caller waiting at once (429 beyond), 0 = no cap
        sse_heartbeat_ms: 15000    # keep-alive comment interval on event streams
      rate_limits:               # token bucket per key (per client address without one):
        public: {rate: 20, burst: 40}    #   rate = requests per second (0 = unlimited),
        read: {rate: 50, burst: 100}     #   burst = bucket size; 429 with Retry-After beyond
        write: {rate: 20, burst: 40}
        admin: {rate: 50, burst: 100}
      cors:
        allowed_origins: []        # e.g. [https://ops.example.com]; "*" allows any origin
        max_age_seconds: 600
      tls:                         # both set: HTTPS (and HSTS); PEM files
        cert_file: ""
        key_file: ""
"""#
}
