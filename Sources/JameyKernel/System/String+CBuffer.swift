extension String {
    /// Decodes a NUL-terminated C string held in a buffer (up to the first NUL, or the whole
    /// buffer when there is none), replacing invalid UTF-8.
    init(cBuffer buffer: [CChar]) {
        let end = buffer.firstIndex(of: 0) ?? buffer.endIndex
        self = String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
