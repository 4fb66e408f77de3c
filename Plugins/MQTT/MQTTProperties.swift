import CMosquitto
import Foundation
import MQTTCore

/// MQTT 5 properties: built for outgoing publications, read from incoming ones.
enum MQTTProperties {
    /// A libmosquitto property list for `message` (content type, user properties, response topic,
    /// correlation data), or nil when it has none. Free it with `mosquitto_property_free_all`.
    static func make(_ message: OutboundMessage) -> OpaquePointer? {
        var list: OpaquePointer? = nil
        if let contentType = message.contentType {
            _ = mosquitto_property_add_string(&list, Int32(MQTT_PROP_CONTENT_TYPE.rawValue), contentType)
        }
        for property in message.userProperties {
            _ = mosquitto_property_add_string_pair(
                &list, Int32(MQTT_PROP_USER_PROPERTY.rawValue), property.key, property.value)
        }
        if let responseTopic = message.responseTopic {
            _ = mosquitto_property_add_string(&list, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), responseTopic)
        }
        if let data = message.correlationData {
            data.withUnsafeBytes { bytes in
                _ = mosquitto_property_add_binary(
                    &list, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), bytes.baseAddress, UInt16(clamping: bytes.count))
            }
        }
        return list
    }

    /// Copies an incoming libmosquitto message and its properties.
    static func incoming(_ message: UnsafePointer<mosquitto_message>, _ properties: OpaquePointer?) -> IncomingMessage {
        let m = message.pointee
        let payload: [UInt8] =
            m.payloadlen > 0 && m.payload != nil
            ? Array(UnsafeRawBufferPointer(start: m.payload, count: Int(m.payloadlen))) : []
        var incoming = IncomingMessage(
            topic: m.topic.map { String(cString: $0) } ?? "", payload: payload, qos: m.qos, retain: m.retain)
        var cursor: OpaquePointer? = properties
        while let property = cursor {
            read(property, into: &incoming)
            cursor = mosquitto_property_next(property)
        }
        return incoming
    }

    private static func read(_ property: OpaquePointer, into message: inout IncomingMessage) {
        let identifier = mosquitto_property_identifier(property)
        switch identifier {
        case Int32(MQTT_PROP_CONTENT_TYPE.rawValue):
            message.contentType = readString(property, identifier)
        case Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue):
            message.responseTopic = readString(property, identifier)
        case Int32(MQTT_PROP_USER_PROPERTY.rawValue):
            var name: UnsafeMutablePointer<CChar>? = nil
            var value: UnsafeMutablePointer<CChar>? = nil
            if mosquitto_property_read_string_pair(property, identifier, &name, &value, false) != nil, let name, let value {
                message.userProperties.append(.init(key: String(cString: name), value: String(cString: value)))
            }
            free(name)
            free(value)
        case Int32(MQTT_PROP_CORRELATION_DATA.rawValue):
            var data: UnsafeMutableRawPointer? = nil
            var length: UInt16 = 0
            if mosquitto_property_read_binary(property, identifier, &data, &length, false) != nil {
                message.correlationData = data.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(length))) } ?? []
            }
            free(data)
        case Int32(MQTT_PROP_SUBSCRIPTION_IDENTIFIER.rawValue):
            var value: UInt32 = 0
            if mosquitto_property_read_varint(property, identifier, &value, false) != nil {
                message.subscriptionIDs.append(Int(value))
            }
        default:
            break
        }
    }

    private static func readString(_ property: OpaquePointer, _ identifier: Int32) -> String? {
        var value: UnsafeMutablePointer<CChar>? = nil
        defer { free(value) }
        guard mosquitto_property_read_string(property, identifier, &value, false) != nil, let value else { return nil }
        return String(cString: value)
    }
}
