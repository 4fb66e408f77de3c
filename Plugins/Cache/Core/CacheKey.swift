#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A cache key compared and hashed by its UTF-8 bytes, as L2 (Redis) and L3 (SQLite) compare keys.
///
/// Swift's `String` compares by canonical equivalence: "é" sent precomposed (U+00E9) and as "e"
/// with a combining accent (U+0301) are one `String` and two keys below L1. With `String` keys,
/// L1 served the value of one for the other while L3 kept both, an invalidation of one answered
/// "removed" and left the other's value in L3 to come back, warming put two rows in one slot, and
/// the memory plugin's cached searches (keyed by the request body) answered a search for one tag
/// with the result of another. A prefix is matched on bytes too (``hasPrefix(_:)``), as L2's
/// pattern and L3's `substr` do.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    /// The key's text.
    public let text: String

    /// A key of `text`'s bytes.
    @inlinable public init(_ text: String) { self.text = text }

    public var description: String { text }

    public static func == (a: CacheKey, b: CacheKey) -> Bool {
        let found = a.text.utf8.withContiguousStorageIfAvailable { x in
            b.text.utf8.withContiguousStorageIfAvailable { y in
                x.count == y.count && (x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
            }
        }
        return (found ?? nil) ?? a.text.utf8.elementsEqual(b.text.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        let done: Void? = text.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil { for byte in text.utf8 { hasher.combine(byte) } }
    }

    /// Whether the key's bytes begin with `prefix`'s (`String.hasPrefix` compares Characters:
    /// "cafe\u{301}-1" does not begin with "cafe" there, and does for L2 and L3).
    public func hasPrefix(_ prefix: String) -> Bool { text.utf8.starts(with: prefix.utf8) }
}

extension CacheKey: ExpressibleByStringLiteral {
    /// A key written as a literal (tests, fixed keys).
    public init(stringLiteral value: String) { self.init(value) }
}
