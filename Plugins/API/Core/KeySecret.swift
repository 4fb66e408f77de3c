import Crypto

/// The text of an API key: `jmy_<id>_<secret>`, where `id` is 16 hex digits (public, it names
/// the key in listings and logs) and `secret` is 32 random bytes in base64url. Only a SHA-256
/// digest of the whole text is ever stored.
package struct KeySecret: Sendable {
    /// The key's public id.
    package let id: String
    /// The whole key text, shown once at creation.
    package let text: String

    /// A fresh random key.
    package static func generate() -> KeySecret {
        var rng = SystemRandomNumberGenerator()
        let idBytes = (0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let id = hex(idBytes)
        return KeySecret(id: id, text: "jmy_" + id + "_" + base64url(secretBytes))
    }

    /// The id inside a presented key text, when it has the shape of a generated key.
    package static func id(in text: Substring) -> String? {
        guard text.hasPrefix("jmy_"), text.utf8.count > 21 else { return nil }
        let id = text.dropFirst(4).prefix(16)
        guard id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            text.dropFirst(20).first == "_"
        else { return nil }
        return String(id)
    }

    /// The stored form of a key text: its SHA-256 digest in hex.
    package static func digest(_ text: some StringProtocol) -> String {
        hex(Array(SHA256.hash(data: Array(text.utf8))))
    }

    /// Compares two digests in time independent of where they differ.
    package static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    package static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func base64url(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int((n >> UInt32(shift)) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out.append(alphabet[Int((n >> 18) & 63)])
            out.append(alphabet[Int((n >> 12) & 63)])
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            for shift in [18, 12, 6] { out.append(alphabet[Int((n >> UInt32(shift)) & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
