import MQTTCore

/// One message received from the broker, copied out of libmosquitto's callback.
struct IncomingMessage: Sendable {
    /// The MQTT topic.
    var topic: String
    /// The payload.
    var payload: [UInt8]
    /// QoS it was delivered with.
    var qos: Int32
    /// Whether it was a retained message.
    var retain: Bool
    /// MQTT 5 content type.
    var contentType: String?
    /// MQTT 5 user properties, in order.
    var userProperties: [OutboundMessage.UserProperty] = []
    /// MQTT 5 response topic (a request).
    var responseTopic: String?
    /// MQTT 5 correlation data.
    var correlationData: [UInt8]?
    /// MQTT 5 subscription identifiers of the subscriptions that matched.
    var subscriptionIDs: [Int] = []

    /// The user properties as bus headers (a repeated name keeps its last value).
    var headers: [String: String] {
        var headers: [String: String] = [:]
        for property in userProperties { headers[property.key] = property.value }
        return headers
    }
}
