/// One extra header of a ``BusMessage``: a key and a value, both UTF-8 text.
///
/// Headers are carried as an ordered list; the bus never interprets them and keeps duplicates.
public struct BusHeader: Sendable, Hashable {
    /// The header name, e.g. `trace-id`.
    public var key: String
    /// The header value.
    public var value: String

    /// Creates a header.
    /// - Parameters:
    ///   - key: The header name.
    ///   - value: The header value.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
