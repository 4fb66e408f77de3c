import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Item ids: time-ordered (version 7, RFC 9562) UUIDs in lower case, made a batch at a time.
///
/// The first 48 bits are the Unix time in milliseconds, the next 12 a counter that starts at a
/// random value below 2048 in each batch and counts up through it (into the next millisecond
/// should it pass 4095), the last 62 random. So ids sort by creation time to the millisecond,
/// and within a batch in order, and a new id lands at the end of the unique index on `items.id`
/// instead of at a random place in it: with random (version 4) ids, inserting the millionth
/// thousand rows into such an index took 40 ms against 8.5 ms time-ordered (the same table in
/// Python's sqlite3, 16 MiB page cache), the index no longer fitting the cache.
///
/// Foundation's `UUID()` opens, reads and closes `/dev/urandom` for each id, and `uuidString`
/// formats it with `snprintf` (upper case, lowered after): about a sixth of a bulk store's work
/// here. A batch reads its random bytes once and formats them directly.
public enum ItemID {
    /// `count` new ids, in order.
    /// - Parameters:
    ///   - count: how many.
    ///   - milliseconds: the Unix time in milliseconds (tests pass one).
    public static func make(_ count: Int, milliseconds: UInt64? = nil) -> [String] {
        guard count > 0 else { return [] }
        var bytes = randomBytes(16 * count + 2)
        var time = milliseconds ?? UInt64(max(0, Date().timeIntervalSince1970 * 1000))
        var counter = (Int(bytes[16 * count]) << 8 | Int(bytes[16 * count + 1])) & 0x7FF
        var ids: [String] = []
        ids.reserveCapacity(count)
        for index in 0..<count {
            if counter > 0xFFF {
                time += 1
                counter = 0
            }
            let base = 16 * index
            for byte in 0..<6 { bytes[base + byte] = UInt8(truncatingIfNeeded: time >> (40 - 8 * byte)) }
            bytes[base + 6] = 0x70 | UInt8(counter >> 8)
            bytes[base + 7] = UInt8(truncatingIfNeeded: counter)
            bytes[base + 8] = bytes[base + 8] & 0x3F | 0x80
            ids.append(format(bytes[base..<(base + 16)]))
            counter += 1
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

    /// `count` bytes from the system's random source: `getentropy(3)` (`getrandom(2)`, a system
    /// call per 256 bytes; opening, reading and closing `/dev/urandom` through `FileHandle` was 36 µs
    /// of each merge-mode single store at a million items, 4 % of it), or the standard library's
    /// generator (the same source) should that fail.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        #if canImport(Glibc)
            let filled = bytes.withUnsafeMutableBytes { buffer in
                var filled = 0
                while filled < count {
                    let n = min(256, count - filled)
                    guard getentropy(buffer.baseAddress! + filled, n) == 0 else { break }
                    filled += n
                }
                return filled
            }
            if filled == count { return bytes }
        #endif
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        return bytes
    }
}
