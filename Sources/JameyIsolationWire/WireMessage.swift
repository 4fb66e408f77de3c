public import CJameyABI

extension WireWriter {
    /// Writes a bus message: `string topic, bytes payload, optional content type, u32 n,
    /// n × (string, string) headers, optional reply-to, u64 correlation, optional source`.
    /// - Parameters:
    ///   - message: the message, read within its documented bounds.
    ///   - correlation: written instead of the message's correlation id when given.
    public mutating func message(_ message: UnsafePointer<jamey_message>, correlation: UInt64? = nil) {
        let m = message.pointee
        cString(m.topic)
        raw(UnsafeRawBufferPointer(start: m.payload, count: m.payload == nil ? 0 : m.payload_len))
        optionalCString(m.content_type)
        let count = m.headers == nil ? 0 : min(m.header_count, 4096)
        u32(UInt32(count))
        for index in 0..<count {
            cString(m.headers[index].key)
            cString(m.headers[index].value)
        }
        optionalCString(m.reply_to)
        u64(correlation ?? m.correlation_id)
        optionalCString(m.source)
    }
}

extension WireReader {
    /// Reads a message written by ``WireWriter/message(_:correlation:)`` and lends it to `body` as
    /// a C message. Everything it points at lives in one allocation freed when `body` returns.
    /// - Returns: nil when the frame was short (body not called).
    public mutating func withMessage<R>(_ body: (UnsafePointer<jamey_message>) -> R) -> R? {
        let topic = raw()
        let payload = raw()
        let contentType: UnsafeRawBufferPointer? = u8() == 0 ? nil : raw()
        let headerCount = Int(u32())
        guard !failed, headerCount <= 4096 else { return nil }
        var headers: [(UnsafeRawBufferPointer, UnsafeRawBufferPointer)] = []
        headers.reserveCapacity(headerCount)
        for _ in 0..<headerCount { headers.append((raw(), raw())) }
        let replyTo: UnsafeRawBufferPointer? = u8() == 0 ? nil : raw()
        let correlation = u64()
        let source: UnsafeRawBufferPointer? = u8() == 0 ? nil : raw()
        guard !failed else { return nil }

        var size = topic.count + 1 + payload.count + (contentType?.count ?? 0) + 1 + (replyTo?.count ?? 0) + 1
        size += (source?.count ?? 0) + 1
        for (key, value) in headers { size += key.count + value.count + 2 }
        let arena = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 8)
        let kvs = UnsafeMutablePointer<jamey_kv>.allocate(capacity: max(headerCount, 1))
        defer {
            arena.deallocate()
            kvs.deallocate()
        }
        var cursor = arena
        func place(_ bytes: UnsafeRawBufferPointer) -> UnsafePointer<CChar> {
            let start = cursor
            if bytes.count > 0 { cursor.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            cursor.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
            cursor += bytes.count + 1
            return UnsafePointer(start.assumingMemoryBound(to: CChar.self))
        }
        var message = jamey_message()
        message.struct_size = UInt32(MemoryLayout<jamey_message>.size)
        message.topic = place(topic)
        if payload.count > 0 {
            let start = cursor
            cursor.copyMemory(from: payload.baseAddress!, byteCount: payload.count)
            cursor += payload.count
            message.payload = UnsafeRawPointer(start)
            message.payload_len = payload.count
        }
        message.content_type = contentType.map(place)
        for (index, (key, value)) in headers.enumerated() {
            kvs[index] = jamey_kv(key: place(key), value: place(value))
        }
        message.headers = headerCount == 0 ? nil : UnsafePointer(kvs)
        message.header_count = headerCount
        message.reply_to = replyTo.map(place)
        message.correlation_id = correlation
        message.source = source.map(place)
        return withUnsafePointer(to: &message) { body($0) }
    }
}
