import CJameyABI

/// A message received from the bus (event, request or reply). A value: safe to keep and send
/// anywhere.
public struct Message: Sendable {
    /// The concrete topic.
    public let topic: String
    /// The payload bytes.
    public let payload: [UInt8]
    /// MIME type; nil means `application/octet-stream`.
    public let contentType: String?
    /// Extra headers.
    public let headers: [String: String]
    /// The publishing plugin (or `kernel`).
    public let source: String
    /// The reply address when this is a request.
    public let replyTo: String?
    /// The request's correlation id (0 for events).
    public let correlationID: UInt64

    /// The payload decoded as UTF-8.
    public var text: String { String(decoding: payload, as: UTF8.self) }

    /// Whether this message is a request that expects a reply.
    public var isRequest: Bool { replyTo != nil }

    /// The HTTP request's id when the gateway forwarded it (its `X-Request-Id`, in the
    /// `http.header.x-request-id` header), for a plugin's logs and problem details; nil otherwise.
    public var requestID: String? { headers["http.header.x-request-id"] }

    init(_ m: UnsafePointer<jamey_message>) {
        let c = m.pointee
        topic = c.topic.map { String(cString: $0) } ?? ""
        payload =
            c.payload_len > 0 && c.payload != nil ? Array(UnsafeRawBufferPointer(start: c.payload, count: c.payload_len)) : []
        contentType = c.content_type.map { String(cString: $0) }
        var h: [String: String] = [:]
        if let list = c.headers {
            for i in 0..<c.header_count {
                if let k = list[i].key, let v = list[i].value { h[String(cString: k)] = String(cString: v) }
            }
        }
        headers = h
        source = c.source.map { String(cString: $0) } ?? ""
        replyTo = c.reply_to.map { String(cString: $0) }
        correlationID = c.correlation_id
    }
}

/// What to send: payload, content type and headers (the topic is given separately).
public struct Outgoing: Sendable {
    /// The payload bytes.
    public var payload: [UInt8]
    /// MIME type; nil means `application/octet-stream`.
    public var contentType: String?
    /// Extra headers.
    public var headers: [String: String]

    /// - Parameters:
    ///   - payload: bytes.
    ///   - contentType: MIME type.
    ///   - headers: extra headers.
    public init(_ payload: [UInt8] = [], contentType: String? = nil, headers: [String: String] = [:]) {
        self.payload = payload
        self.contentType = contentType
        self.headers = headers
    }

    /// A UTF-8 text payload (`text/plain; charset=utf-8` unless another type is given).
    public static func text(_ s: String, contentType: String = "text/plain; charset=utf-8", headers: [String: String] = [:])
        -> Outgoing
    {
        Outgoing(Array(s.utf8), contentType: contentType, headers: headers)
    }

    /// A JSON payload given as text (`application/json`).
    public static func json(_ s: String, headers: [String: String] = [:]) -> Outgoing {
        Outgoing(Array(s.utf8), contentType: "application/json", headers: headers)
    }

    /// Lays the message out as a C `jamey_message` for the duration of `body`.
    func withABI<R>(topic: String, _ body: (UnsafePointer<jamey_message>) -> R) -> R {
        if contentType == nil && headers.isEmpty { return withPlainABI(topic: topic, payload: payload, body) }
        return topic.withCString { topicC in
            payload.withUnsafeBytes { bytes in
                withOptionalCString(contentType) { typeC in
                    withCPairs(headers) { kvs in
                        var m = jamey_message()
                        m.struct_size = UInt32(MemoryLayout<jamey_message>.size)
                        m.topic = topicC
                        m.payload = bytes.baseAddress
                        m.payload_len = bytes.count
                        m.content_type = typeC
                        m.headers = kvs.baseAddress
                        m.header_count = kvs.count
                        return withUnsafePointer(to: &m, body)
                    }
                }
            }
        }
    }
}

/// Lays out a message of plain bytes (the common event: no content type or headers) as a C
/// `jamey_message` for the duration of `body`.
@inline(__always)
func withPlainABI<R>(topic: String, payload: borrowing [UInt8], _ body: (UnsafePointer<jamey_message>) -> R) -> R {
    topic.withCString { topicC in
        payload.withUnsafeBytes { bytes in
            var m = jamey_message()
            m.struct_size = UInt32(MemoryLayout<jamey_message>.size)
            m.topic = topicC
            m.payload = bytes.baseAddress
            m.payload_len = bytes.count
            return withUnsafePointer(to: &m, body)
        }
    }
}

func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    if let s { return s.withCString { body($0) } }
    return body(nil)
}

/// Strings laid end to end as NUL-terminated C strings in one buffer.
struct CStringPack {
    private(set) var bytes: [CChar] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    /// Appends `s` and its terminator.
    /// - Returns: the offset of its first byte.
    mutating func add(_ s: String) -> Int {
        let offset = bytes.count
        for byte in s.utf8 { bytes.append(CChar(bitPattern: byte)) }
        bytes.append(0)
        return offset
    }
}

/// Presents several strings as C strings at once, packed into one allocation.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>]) -> R) -> R {
    if strings.isEmpty { return body([]) }
    var pack = CStringPack(capacity: strings.reduce(0) { $0 + $1.utf8.count + 1 })
    let offsets = strings.map { pack.add($0) }
    return pack.bytes.withUnsafeBufferPointer { buffer in body(offsets.map { buffer.baseAddress! + $0 }) }
}

/// Presents key/value pairs as a C `jamey_kv` array (strings packed into one allocation).
func withCPairs<R>(_ pairs: [String: String], _ body: (UnsafeBufferPointer<jamey_kv>) -> R) -> R {
    if pairs.isEmpty { return body(UnsafeBufferPointer(start: nil, count: 0)) }
    var pack = CStringPack(capacity: pairs.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 2 })
    // Flat key, value offsets (an array of tuples would look up tuple metadata on every call).
    var offsets: [Int] = []
    offsets.reserveCapacity(pairs.count * 2)
    for (key, value) in pairs {
        offsets.append(pack.add(key))
        offsets.append(pack.add(value))
    }
    return pack.bytes.withUnsafeBufferPointer { buffer in
        let base = buffer.baseAddress!
        let kv = (0..<pairs.count).map { jamey_kv(key: base + offsets[2 * $0], value: base + offsets[2 * $0 + 1]) }
        return kv.withUnsafeBufferPointer(body)
    }
}
