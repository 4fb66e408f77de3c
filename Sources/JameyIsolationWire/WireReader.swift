/// Reads the body of one frame field by field; a read past the end sets ``failed`` and returns
/// zero or empty, so a short frame is noticed once, at the end.
public struct WireReader {
    private let base: UnsafeRawBufferPointer
    private var offset = 0
    /// True once a read went past the end of the frame.
    public private(set) var failed = false

    /// - Parameter body: the frame after its kind byte; must outlive the reader.
    public init(_ body: UnsafeRawBufferPointer) { base = body }

    private mutating func take(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, offset + count <= base.count else {
            failed = true
            return nil
        }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<offset + count])
    }

    public mutating func u8() -> UInt8 { take(1)?[0] ?? 0 }

    public mutating func u32() -> UInt32 {
        guard let b = take(4) else { return 0 }
        return UInt32(littleEndian: b.loadUnaligned(as: UInt32.self))
    }

    public mutating func u64() -> UInt64 {
        guard let b = take(8) else { return 0 }
        return UInt64(littleEndian: b.loadUnaligned(as: UInt64.self))
    }

    public mutating func i32() -> Int32 { Int32(bitPattern: u32()) }

    public mutating func f64() -> Double { Double(bitPattern: u64()) }

    /// A length-prefixed run of bytes, borrowed from the frame.
    public mutating func raw() -> UnsafeRawBufferPointer {
        take(Int(u32())) ?? UnsafeRawBufferPointer(start: nil, count: 0)
    }

    public mutating func string() -> String { String(decoding: raw(), as: UTF8.self) }

    public mutating func optionalString() -> String? { u8() == 0 ? nil : string() }
}
