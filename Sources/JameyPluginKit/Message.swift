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
        let keys = Array(headers.keys)
        return topic.withCString { topicC in
            payload.withUnsafeBytes { bytes in
                withOptionalCString(contentType) { typeC in
                    withCStrings(keys + keys.map { headers[$0]! }) { strings in
                        var kv: [jamey_kv] = []
                        kv.reserveCapacity(keys.count)
                        for i in 0..<keys.count { kv.append(jamey_kv(key: strings[i], value: strings[keys.count + i])) }
                        return kv.withUnsafeBufferPointer { kvs in
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
}

func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    if let s { return s.withCString { body($0) } }
    return body(nil)
}

/// Presents several strings as C strings at once.
func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>]) -> R) -> R {
    if strings.isEmpty { return body([]) }
    var storage: [ContiguousArray<CChar>] = strings.map { ContiguousArray($0.utf8CString) }
    var pointers: [UnsafePointer<CChar>] = []
    pointers.reserveCapacity(strings.count)
    func step(_ i: Int) -> R {
        if i == storage.count { return body(pointers) }
        return storage[i].withUnsafeBufferPointer { buf in
            pointers.append(buf.baseAddress!)
            return step(i + 1)
        }
    }
    _ = storage.count
    defer { storage.removeAll() }
    return step(0)
}
