import Foundation

/// Item ids: random (version 4) UUIDs in lower case, made a batch at a time.
///
/// Foundation's `UUID()` opens, reads and closes `/dev/urandom` for each id, and `uuidString`
/// formats it with `snprintf` (upper case, lowered after): about a sixth of a bulk store's work
/// here. A batch reads its random bytes once and formats them directly.
public enum ItemID {
    /// `count` new ids.
    /// - Parameter count: how many.
    public static func make(_ count: Int) -> [String] {
        guard count > 0 else { return [] }
        var bytes = randomBytes(16 * count)
        var ids: [String] = []
        ids.reserveCapacity(count)
        for index in 0..<count {
            let base = 16 * index
            bytes[base + 6] = bytes[base + 6] & 0x0F | 0x40
            bytes[base + 8] = bytes[base + 8] & 0x3F | 0x80
            ids.append(format(bytes[base..<(base + 16)]))
        }
        return ids
    }

    /// The text of a UUID's 16 bytes: lower-case hex digits, grouped 8-4-4-4-12.
    static func format(_ uuid: ArraySlice<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (offset, byte) in uuid.enumerated() {
            if offset == 4 || offset == 6 || offset == 8 || offset == 10 { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `count` bytes from the system's random source: one read of `/dev/urandom`, or the
    /// standard library's generator (the same source) when that fails.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        if let file = FileHandle(forReadingAtPath: "/dev/urandom") {
            defer { try? file.close() }
            if let data = try? file.read(upToCount: count), data.count == count { return Array(data) }
        }
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        return bytes
    }
}
