import JameyPluginKit
import MQTTCore

extension MQTT {
    /// The plugin's name, version and config schema (`plugins.mqtt.config`).
    public static let manifest = PluginManifest(
        name: "mqtt",
        version: "1.0.0",
        description: "Bridge between the bus and an MQTT broker: rules, cross-node requests, presence, shared subscriptions",
        configuration: connectionKeys + [
            .object("tls", description: "TLS to the broker", fields: tlsKeys),
            .object("reconnect", description: "Backoff between connection attempts", fields: reconnectKeys),
            .object("spool", description: "Outbound QoS 1/2 messages kept while the broker is unreachable", fields: spoolKeys),
            .object("presence", description: "Node status and the view of the other nodes", fields: presenceKeys),
            .objectList("outbound", description: "Bus to MQTT rules", fields: outboundKeys),
            .objectList("inbound", description: "MQTT to bus rules", fields: inboundKeys),
            .objectList("remote", description: "Bus requests answered by another node over MQTT", fields: remoteKeys),
        ],
        routes: [
            .init(
                "GET", "/v1/mqtt/status", topic: "mqtt.status", scope: "read",
                summary: "MQTT bridge: connection, last error, next attempt, spool, drops, rules"),
            .init("GET", "/v1/mqtt/nodes", topic: "mqtt.nodes", scope: "read", summary: "MQTT bridge: the cluster's nodes"),
        ],
        metricHelp: BridgeMetrics.help
    )

    static let connectionKeys: [ConfigKey] = [
        .string("host", default: "localhost", length: 1...253, description: "Broker host name or address"),
        .int("port", default: 1883, range: 1...65535, description: "Broker port (8883 is the usual TLS port)"),
        .string("client_id", default: "", length: 0...256, description: "MQTT client id; empty: jamey-<node name>"),
        .string("username", default: "", description: "User name; empty: none"),
        .string("password", default: "", secret: true, description: "Password; empty: none"),
        .string("protocol", default: "mqttv5", allowed: ["mqttv5", "mqttv311"], description: "MQTT protocol version"),
        .int(
            "keepalive_s", default: 10, range: 5...65535,
            description:
                "Keepalive interval in seconds: a broker that stops answering an idle node is noticed within twice this, and the broker gives up on a silent node after 1.5 times it"
        ),
        .bool("clean_session", default: true, description: "Start a clean session; false resumes a persistent one"),
        .int(
            "session_expiry_s", default: 3600, range: 0...4_294_967_295,
            description: "MQTT 5, persistent sessions: how long the broker keeps the session after a disconnect"),
        .int(
            "connect_timeout_ms", default: 10000, range: 100...600_000,
            description: "Give up on a connection attempt (TCP, TLS and CONNACK together) after this long"),
        .int(
            "ack_timeout_ms", default: 30000, range: 0...3_600_000,
            description: "Recycle a connection whose in-flight QoS 1/2 messages get no acknowledgement this long; 0: never"),
        .string("prefix", default: "jamey", description: "Prefix of mapped MQTT topics (a rule may override it; empty: none)"),
        .int(
            "request_timeout_ms", default: 0, range: 0...3_600_000,
            description: "Timeout of bus requests made for MQTT requests from other nodes; 0: the bus default"),
        .int(
            "queue_capacity", default: 10000, range: 0...1_000_000,
            description: "Mailbox of each outbound rule: absorbs bursts while spooling (0: bus.queue_capacity)"),
    ]

    static let tlsKeys: [ConfigKey] = [
        .bool("enabled", default: false, description: "Connect with TLS"),
        .path("ca_file", default: "", description: "PEM file of trusted CA certificates"),
        .path(
            "ca_path", default: "/etc/ssl/certs", description: "Directory of trusted CA certificates (when ca_file is empty)"),
        .path("cert_file", default: "", description: "PEM client certificate for mutual TLS; empty: none"),
        .path("key_file", default: "", description: "PEM private key of the client certificate"),
        .bool("verify_hostname", default: true, description: "Check that the broker certificate names the host"),
    ]

    static let reconnectKeys: [ConfigKey] = [
        .int("initial_delay_ms", default: 500, range: 1...3_600_000, description: "Delay after the first failed attempt"),
        .int("max_delay_ms", default: 30000, range: 1...3_600_000, description: "Upper bound of the delay"),
        .double("multiplier", default: 2.0, range: 1.0...10.0, description: "Growth of the delay per failed attempt"),
        .double("jitter", default: 0.5, range: 0.0...1.0, description: "Randomised fraction of each delay"),
    ]

    static let spoolKeys: [ConfigKey] = [
        .int("max_messages", default: 100_000, range: 0...100_000_000, description: "Most messages kept; 0 disables the spool"),
        .int("max_bytes", default: 67_108_864, range: 0...1_099_511_627_776, description: "Most payload bytes kept"),
    ]

    static let presenceKeys: [ConfigKey] = [
        .bool("enabled", default: true, description: "Publish retained node status and track the other nodes"),
        .string("topic", default: "jamey/nodes", length: 1...200, description: "Status topic prefix: <topic>/<node>"),
        .int(
            "refresh_s", default: 10, range: 1...86400,
            description: "How often the own status is checked and republished if changed"),
    ]

    static let outboundKeys: [ConfigKey] = [
        .string("bus", required: true, length: 1...500, description: "Bus pattern to export (* one segment, > the rest)"),
        .string("mqtt", default: "{topic}", length: 1...500, description: "MQTT topic template: {topic}, {1}..{9}, {node}"),
        .int("qos", default: 1, range: 0...2, description: "QoS of the MQTT publication"),
        .bool("retain", default: false, description: "Publish retained"),
        .string("prefix", description: "Prefix for this rule (default: the global prefix)"),
    ]

    static let inboundKeys: [ConfigKey] = [
        .string("mqtt", required: true, length: 1...500, description: "MQTT filter below the prefix (+ one level, # the rest)"),
        .string("bus", default: "{topic}", length: 1...500, description: "Bus topic template: {topic}, {1}..{9}, {node}"),
        .int("qos", default: 1, range: 0...2, description: "Subscription QoS"),
        .string(
            "share_group", default: "", description: "Shared subscription group ($share/<group>/...): nodes split the messages"),
        .bool("no_local", default: true, description: "MQTT 5: do not receive this node's own publications"),
        .string("prefix", description: "Prefix for this rule (default: the global prefix)"),
    ]

    static let remoteKeys: [ConfigKey] = [
        .string("bus", required: true, length: 1...500, description: "Bus pattern of requests another node answers"),
        .string("mqtt", default: "{topic}", length: 1...500, description: "MQTT topic template of the forwarded request"),
        .int("qos", default: 1, range: 0...2, description: "QoS of the forwarded request"),
        .int("timeout_ms", default: 30000, range: 1...3_600_000, description: "Forget an unanswered request after this long"),
        .string("prefix", description: "Prefix for this rule (default: the global prefix)"),
    ]
}
