/// A message carried by the ``MessageBus``: an event, a request or a reply.
///
/// The bus copies a message when it is published (the copy is cheap: every field is a
/// copy-on-write value) and fills in the fields it owns on delivery: ``source`` always,
/// ``replyTo`` and ``correlationID`` on requests delivered to a responder. Whatever a sender puts
/// in those three fields is ignored.
public struct BusMessage: Sendable, Hashable {
    /// The concrete, dotted topic (`sensors.kitchen.temp`); no wildcards.
    public var topic: String
    /// The payload bytes.
    public var payload: [UInt8]
    /// The MIME type of ``payload``; `nil` means `application/octet-stream`.
    public var contentType: String?
    /// Extra headers, in order.
    public var headers: [BusHeader]
    /// For a request delivered to a responder: the opaque address to pass to
    /// ``BusEndpoint/reply(to:correlationID:_:)``. `nil` for events and replies. Set by the bus.
    public var replyTo: String?
    /// For a request delivered to a responder, and for the reply handed to the requester: the
    /// request's correlation id. `0` for events. Set by the bus.
    public var correlationID: UInt64
    /// The owner name (plugin name or `"kernel"`) of the endpoint that sent the message. Set by
    /// the bus; empty until the message has been sent.
    public var source: String

    /// Creates a message to publish, request or reply with.
    /// - Parameters:
    ///   - topic: The concrete, dotted topic.
    ///   - payload: The payload bytes.
    ///   - contentType: The MIME type of the payload; `nil` for `application/octet-stream`.
    ///   - headers: Extra headers, in order.
    public init(topic: String, payload: [UInt8] = [], contentType: String? = nil, headers: [BusHeader] = []) {
        self.topic = topic
        self.payload = payload
        self.contentType = contentType
        self.headers = headers
        self.replyTo = nil
        self.correlationID = 0
        self.source = ""
    }
}

extension BusMessage {
    /// A copy of the message as the bus delivers it: attributed to `source`, carrying
    /// `replyTo` and `correlationID` (both cleared for events).
    @inline(__always)
    func stamped(source: String, replyTo: String? = nil, correlationID: UInt64 = 0) -> BusMessage {
        var copy = self
        copy.source = source
        copy.replyTo = replyTo
        copy.correlationID = correlationID
        return copy
    }
}
