/// A JSON object written member by member into bytes, for replies on the hot path. Strings are
/// escaped as RFC 8259 requires (quote, backslash, control characters); the caller passes valid UTF-8.
struct JSONText {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    /// Adds `"name": "text"`.
    mutating func member(_ name: String, string text: String) { member(name, utf8: Array(text.utf8)) }

    /// Adds `"name": "<utf8>"` from bytes that are valid UTF-8.
    mutating func member(_ name: String, utf8: [UInt8]) {
        key(name)
        quoted(utf8)
    }

    /// Adds `"name": raw` (a number, `null`, `true`, `false`).
    mutating func member(_ name: String, raw: String) {
        key(name)
        bytes += raw.utf8
    }

    /// The closed object.
    mutating func finished() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func key(_ name: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        quoted(Array(name.utf8))
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func quoted(_ text: [UInt8]) {
        bytes.reserveCapacity(bytes.count + text.count + 2)
        bytes.append(UInt8(ascii: "\""))
        for b in text {
            switch b {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
