/// An error of the mqtt plugin: a sentence an operator can act on, and its kind.
public struct MQTTError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Code: Sendable, Equatable {
        case invalidRule
        case invalidSetting
        case spool
        case client
    }

    private let code: Code
    /// The sentence.
    public let message: String

    public var description: String { message }

    /// A bridge rule (pattern, filter or template) is malformed.
    public var isInvalidRule: Bool { code == .invalidRule }
    /// A connection or TLS setting is unusable.
    public var isInvalidSetting: Bool { code == .invalidSetting }
    /// The spool database could not be opened or written.
    public var isSpool: Bool { code == .spool }
    /// libmosquitto refused an operation.
    public var isClient: Bool { code == .client }

    package static func invalidRule(_ message: String) -> MQTTError { MQTTError(code: .invalidRule, message: message) }
    package static func invalidSetting(_ message: String) -> MQTTError { MQTTError(code: .invalidSetting, message: message) }
    package static func spool(_ message: String) -> MQTTError { MQTTError(code: .spool, message: message) }
    package static func client(_ message: String) -> MQTTError { MQTTError(code: .client, message: message) }
}
