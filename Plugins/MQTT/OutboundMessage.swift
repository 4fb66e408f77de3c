import MQTTCore

/// One message on its way to the broker: what the spool stores and what is republished from it.
struct OutboundMessage: Sendable, Equatable {
    /// The MQTT topic.
    var topic: String
    /// The payload.
    var payload: [UInt8]
    /// QoS 0, 1 or 2.
    var qos: Int32
    /// Publish retained.
    var retain: Bool
    /// MQTT 5 content type; nil for none.
    var contentType: String?
    /// MQTT 5 user properties, in order.
    var userProperties: [UserProperty]
    /// The bus pattern of the outbound rule that exported it (acknowledgements are counted per
    /// rule); nil for the bridge's own messages.
    var rule: String? = nil
    /// MQTT 5 response topic (requests only; never spooled).
    var responseTopic: String? = nil
    /// MQTT 5 correlation data (requests and responses only; never spooled).
    var correlationData: [UInt8]? = nil

    /// An MQTT 5 user property.
    struct UserProperty: Sendable, Equatable, Codable {
        /// The name.
        var key: String
        /// The value.
        var value: String
    }

    /// User properties from bus headers, sorted by key so the wire order is stable. The gateway's
    /// word on the caller (``isIdentityHeader(_:)``) stays on this node.
    static func userProperties(_ headers: [String: String]) -> [UserProperty] {
        headers.filter { !isIdentityHeader($0.key) }.sorted { $0.key < $1.key }.map {
            UserProperty(key: $0.key, value: $0.value)
        }
    }

    /// Headers only the api gateway sets, which plugins take as its word on who called
    /// (`auth.key_id`, `auth.scope`, and whatever else it adds under `auth.`): the broker is no
    /// such word, so they are neither exported nor imported (anyone who can publish to the
    /// broker could otherwise claim `auth.scope: admin`).
    static func isIdentityHeader(_ name: String) -> Bool { name.hasPrefix("auth.") }
}
