import CJameyABI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension BusMessage {
    /// Whether `abi` can be read as a message (the struct large enough, a payload and header
    /// strings wherever their lengths say there are some; the topic is not looked at).
    static func isWellFormed(abi: UnsafePointer<jamey_message>) -> Bool {
        let m = abi.pointee
        guard m.struct_size >= UInt32(MemoryLayout<jamey_message>.size) else { return false }
        // size_t arrives as Int: a length of 2^63 or more (a failed read()'s (size_t)-1) is
        // negative here, and passed every "at most" check after it.
        guard m.payload_len >= 0, m.header_count >= 0 else { return false }
        if m.payload_len > 0 && m.payload == nil { return false }
        if m.header_count > 0 {
            guard let list = m.headers, m.header_count <= 4096 else { return false }
            for i in 0..<m.header_count where list[i].key == nil || list[i].value == nil { return false }
        }
        return true
    }

    /// Copies a C message into a Swift one; nil when the struct is too small or the topic missing.
    init?(abi: UnsafePointer<jamey_message>, requireTopic: Bool = true) {
        let m = abi.pointee
        guard m.struct_size >= UInt32(MemoryLayout<jamey_message>.size), m.payload_len >= 0, m.header_count >= 0 else {
            return nil
        }
        let topic = m.topic.map { String(cString: $0) } ?? ""
        if requireTopic && topic.isEmpty { return nil }
        var payload: [UInt8] = []
        if m.payload_len > 0 {
            guard let bytes = m.payload else { return nil }
            payload = Array(UnsafeRawBufferPointer(start: bytes, count: m.payload_len))
        }
        var headers: [BusHeader] = []
        if m.header_count > 0 {
            guard let list = m.headers, m.header_count <= 4096 else { return nil }
            headers.reserveCapacity(m.header_count)
            for i in 0..<m.header_count {
                guard let k = list[i].key, let v = list[i].value else { return nil }
                headers.append(BusHeader(key: String(cString: k), value: String(cString: v)))
            }
        }
        self.init(topic: topic, payload: payload, contentType: m.content_type.map { String(cString: $0) }, headers: headers)
    }

    /// Presents the message as a C `jamey_message` valid for the duration of `body`.
    func withABIMessage<R>(_ body: (UnsafePointer<jamey_message>) -> R) -> R {
        withUnsafePointer(to: self) { Self.withABIMessage($0, body) }
    }

    /// Presents the message at `message` as a C `jamey_message` valid for the duration of
    /// `body`, reading its fields in place.
    static func withABIMessage<R>(_ message: UnsafePointer<BusMessage>, _ body: (UnsafePointer<jamey_message>) -> R) -> R {
        var m = jamey_message()
        m.struct_size = UInt32(MemoryLayout<jamey_message>.size)
        m.correlation_id = message.pointee.correlationID
        return message.pointee.topic.withCString { topicC in
            m.topic = topicC
            return message.pointee.source.withCString { sourceC in
                m.source = sourceC
                return message.pointee.payload.withUnsafeBytes { bytes in
                    m.payload = bytes.baseAddress
                    m.payload_len = bytes.count
                    // An event without content type or headers (the common case): nothing more
                    // to lay out.
                    let contentType = message.pointee.contentType
                    let replyTo = message.pointee.replyTo
                    if contentType == nil && replyTo == nil && message.pointee.headers.isEmpty { return body(&m) }
                    return withOptionalCString(contentType) { typeC in
                        withOptionalCString(replyTo) { replyC in
                            withHeaders(message.pointee.headers) { kv, count in
                                m.content_type = typeC
                                m.headers = kv
                                m.header_count = count
                                m.reply_to = replyC
                                return body(&m)
                            }
                        }
                    }
                }
            }
        }
    }
}

@inline(__always)
private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    if let s { return s.withCString { body($0) } }
    return body(nil)
}

/// Lays headers out as a C `jamey_kv` array for the duration of `body`, the strings packed end
/// to end in one buffer.
private func withHeaders<R>(_ headers: [BusHeader], _ body: (UnsafePointer<jamey_kv>?, Int) -> R) -> R {
    if headers.isEmpty { return body(nil, 0) }
    var packed: [CChar] = []
    packed.reserveCapacity(headers.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 2 })
    var offsets: [Int] = []
    offsets.reserveCapacity(headers.count * 2)
    func add(_ s: String) {
        offsets.append(packed.count)
        for byte in s.utf8 { packed.append(CChar(bitPattern: byte)) }
        packed.append(0)
    }
    for h in headers {
        add(h.key)
        add(h.value)
    }
    return packed.withUnsafeBufferPointer { buffer in
        let base = buffer.baseAddress!
        let kv = (0..<headers.count).map { jamey_kv(key: base + offsets[2 * $0], value: base + offsets[2 * $0 + 1]) }
        return kv.withUnsafeBufferPointer { body($0.baseAddress, $0.count) }
    }
}

extension BusError {
    /// The `JAMEY_E_*` code for this error.
    var abiCode: Int32 {
        if self == .timeout { return JAMEY_E_TIMEOUT }
        if self == .noResponders { return JAMEY_E_NO_RESPONDERS }
        if self == .queueFull { return JAMEY_E_FULL }
        if self == .shutdown { return JAMEY_E_SHUTDOWN }
        if self == .notFound { return JAMEY_E_NOT_FOUND }
        if self == .handlerFailed { return JAMEY_E_PLUGIN }
        return JAMEY_E_INVALID
    }
}
