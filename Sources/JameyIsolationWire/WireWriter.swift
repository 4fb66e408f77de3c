/// Builds one frame: the length prefix is filled in by ``finish()``.
public struct WireWriter: ~Copyable {
    /// The frame so far.
    public private(set) var bytes: [UInt8]

    /// Starts a frame of `kind`, reserving room for about `capacity` bytes of body.
    public init(_ kind: FrameKind, capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity + 5)
        bytes.append(contentsOf: [0, 0, 0, 0, kind.rawValue])
    }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }

    public mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func i32(_ value: Int32) { u32(UInt32(bitPattern: value)) }

    public mutating func f64(_ value: Double) { u64(value.bitPattern) }

    /// `u32 length` then the bytes.
    public mutating func raw(_ data: UnsafeRawBufferPointer) {
        u32(UInt32(data.count))
        bytes.append(contentsOf: data)
    }

    public mutating func bytes(_ data: [UInt8]) { data.withUnsafeBytes { raw($0) } }

    public mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { raw(UnsafeRawBufferPointer($0)) }
    }

    /// A NUL-terminated C string (NULL is written as the empty string).
    public mutating func cString(_ text: UnsafePointer<CChar>?) {
        guard let text else { return u32(0) }
        let count = strlenBounded(text)
        raw(UnsafeRawBufferPointer(start: text, count: count))
    }

    /// The optional C string: `u8 present` then the string.
    public mutating func optionalCString(_ text: UnsafePointer<CChar>?) {
        u8(text == nil ? 0 : 1)
        if text != nil { cString(text) }
    }

    /// The finished frame, length prefix included.
    public consuming func finish() -> [UInt8] {
        let length = UInt32(bytes.count - 4).littleEndian
        withUnsafeBytes(of: length) { header in
            for index in 0..<4 { bytes[index] = header[index] }
        }
        return bytes
    }
}

/// The length of a NUL-terminated string, at most 1 MiB (a longer one is cut there).
@inline(__always)
func strlenBounded(_ text: UnsafePointer<CChar>) -> Int {
    var count = 0
    while count < 1 << 20 && text[count] != 0 { count += 1 }
    return count
}
