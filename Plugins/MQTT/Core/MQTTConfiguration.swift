/// The `plugins.mqtt.config` section, decoded after the kernel validated it against
/// ``MQTT/manifest`` (so every key with a default is present).
public struct MQTTConfiguration: Decodable, Sendable {
    /// Broker host name or address.
    public var host: String
    /// Broker TCP port.
    public var port: Int
    /// MQTT client id; empty means `jamey-<node name>`.
    public var clientId: String
    /// User name; empty means none.
    public var username: String
    /// Password (secret); empty means none.
    public var password: String
    /// `mqttv5` (default) or `mqttv311`.
    public var `protocol`: String
    /// Keepalive interval in seconds.
    public var keepaliveS: Int
    /// Start a clean session (true) or resume a persistent one (false).
    public var cleanSession: Bool
    /// MQTT 5: how long the broker keeps a persistent session after a disconnect.
    public var sessionExpiryS: Int
    /// Give up on a connection attempt that has no CONNACK after this long (name lookup, TCP,
    /// TLS and CONNACK together).
    public var connectTimeoutMs: Int
    /// Recycle a connection on which QoS 1/2 messages wait this long without any acknowledgement
    /// (0: never).
    public var ackTimeoutMs: Int
    /// Prefix of every mapped MQTT topic; a rule may override it.
    public var prefix: String
    /// Timeout of bus requests made for MQTT requests arriving from other nodes; 0 means the
    /// kernel default.
    public var requestTimeoutMs: Int
    /// Mailbox bound of each outbound rule's bus subscription (0: the kernel's
    /// `bus.queue_capacity`).
    public var queueCapacity: Int
    /// TLS settings.
    public var tls: TLS
    /// Reconnection backoff.
    public var reconnect: Reconnect
    /// The bounded store of outbound messages kept while the broker is unreachable.
    public var spool: Spool
    /// Node presence.
    public var presence: Presence
    /// Bus → MQTT rules.
    public var outbound: [Outbound]
    /// MQTT → bus rules.
    public var inbound: [Inbound]
    /// Bus requests answered by another node over MQTT.
    public var remote: [Remote]

    /// TLS: CA, client certificate and key, hostname verification.
    public struct TLS: Decodable, Sendable {
        /// Use TLS.
        public var enabled: Bool
        /// PEM file of the CA certificates to trust.
        public var caFile: String
        /// Directory of CA certificates (used when `ca_file` is empty).
        public var caPath: String
        /// PEM client certificate (mutual TLS); empty means none.
        public var certFile: String
        /// PEM private key of the client certificate.
        public var keyFile: String
        /// Check that the broker's certificate names the host.
        public var verifyHostname: Bool
    }

    /// Exponential backoff with jitter between connection attempts.
    public struct Reconnect: Decodable, Sendable {
        /// Delay after the first failure.
        public var initialDelayMs: Int
        /// Upper bound of the delay.
        public var maxDelayMs: Int
        /// Growth factor per failed attempt.
        public var multiplier: Double
        /// Fraction of each delay that is randomised (0: none, 1: anywhere from 0 to the delay).
        public var jitter: Double
    }

    /// The outbound spool (SQLite in the plugin's data directory).
    public struct Spool: Decodable, Sendable {
        /// Most messages kept; 0 disables spooling.
        public var maxMessages: Int
        /// Most payload bytes kept.
        public var maxBytes: Int
    }

    /// Retained `<topic>/<node>` status with a last will, and the view of the other nodes.
    public struct Presence: Decodable, Sendable {
        /// Publish and track presence.
        public var enabled: Bool
        /// Topic under which each node publishes its status.
        public var topic: String
        /// How often the node's own status is checked for changes (and republished if changed).
        public var refreshS: Int
    }

    /// One bus → MQTT rule.
    public struct Outbound: Decodable, Sendable {
        /// Bus pattern (`sensors.>`).
        public var bus: String
        /// MQTT topic template (`{topic}`, `{1}`..., `{node}`).
        public var mqtt: String
        /// QoS 0, 1 or 2.
        public var qos: Int
        /// Publish retained.
        public var retain: Bool
        /// Prefix for this rule; nil means the global one.
        public var prefix: String?
    }

    /// One MQTT → bus rule.
    public struct Inbound: Decodable, Sendable {
        /// MQTT filter below the prefix (`sensors/#`).
        public var mqtt: String
        /// Bus topic template (`{topic}`, `{1}`..., `{node}`).
        public var bus: String
        /// Subscription QoS.
        public var qos: Int
        /// Shared subscription group; empty means an ordinary subscription.
        public var shareGroup: String
        /// MQTT 5: do not receive this node's own publications.
        public var noLocal: Bool
        /// Prefix for this rule; nil means the global one.
        public var prefix: String?
    }

    /// One rule for bus requests served by another node.
    public struct Remote: Decodable, Sendable {
        /// Bus pattern of the requests to forward (`billing.>`).
        public var bus: String
        /// MQTT topic template.
        public var mqtt: String
        /// QoS of the forwarded request.
        public var qos: Int
        /// How long to wait for the remote reply before forgetting the request.
        public var timeoutMs: Int
        /// Prefix for this rule; nil means the global one.
        public var prefix: String?
    }
}
