import CJameyABI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The fields of a plugin's structured log line (`log_fields`, ABI 1.5): keys made safe, values
/// written as `key=value` after a text line's message or kept as JSON members.
enum LogFields {
    /// The most fields of one line; the rest are dropped.
    static let limit = 64
    /// The longest key, in bytes.
    static let keyLimit = 64
    /// Keys a line already has: a field with one of them is written `field_<key>`.
    static let taken: Set<String> = ["ts", "level", "label", "message", "plugin"]

    /// `raw` as a key: bytes outside letters, digits, `_`, `.` and `-` become `_`, cut to
    /// ``keyLimit`` bytes; empty or NULL is `field`, a taken one `field_<key>`.
    static func key(_ raw: UnsafePointer<CChar>?) -> String {
        guard let raw else { return "field" }
        let length = strnlen(raw, keyLimit)
        guard length > 0 else { return "field" }
        let bytes = UnsafeRawBufferPointer(start: raw, count: length)
        let key: String
        if bytes.allSatisfy(allowed) {
            key = String(decoding: bytes, as: UTF8.self)
        } else {
            key = String(decoding: bytes.map { allowed($0) ? $0 : 0x5F }, as: UTF8.self)
        }
        return taken.contains(key) ? "field_" + key : key
    }

    /// Letters, digits, `_`, `.` and `-`.
    private static func allowed(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2E || b == 0x2D
    }

    /// A field's value bytes (empty for NULL).
    static func value(_ field: jamey_log_field) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: field.value, count: field.value == nil ? 0 : max(0, field.value_len))
    }

    /// Appends ` key=value` to `out`, the value quoted (`"..."`, with `\"`, `\\`, `\n`, `\r`, `\t`
    /// and `\u{XX}` escapes) when it is empty or holds a space, `"`, `=` or a control character.
    static func appendText(key: String, value: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(0x20)
        out.append(contentsOf: key.utf8)
        out.append(0x3D)
        let plain = !value.isEmpty && value.allSatisfy { $0 > 0x20 && $0 != 0x22 && $0 != 0x3D && $0 != 0x7F }
        if plain {
            out.append(contentsOf: value)
            return
        }
        out.append(0x22)
        for b in value {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x78, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}
