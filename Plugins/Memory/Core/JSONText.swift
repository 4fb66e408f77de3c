import Foundation

/// Writes a JSON value built of Swift dictionaries, arrays, strings, numbers, booleans and
/// `NSNull` as compact UTF-8 with object keys sorted — what `JSONSerialization` with
/// `.sortedKeys` writes, without its cost (it sorts keys as `AnyHashable`, which made it most of
/// the time of replying to a bulk store).
public enum JSONText {
    /// The JSON text of `value`; nil when something in it is not a JSON value (or a number is
    /// not finite).
    public static func data(_ value: Any) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        return write(value, into: &out) ? out : nil
    }

    private static func write(_ value: Any, into out: inout [UInt8]) -> Bool {
        switch value {
        case let s as String:
            string(s, into: &out)
        case let d as Double:
            return number(d, into: &out)
        case let i as Int:
            out.append(contentsOf: String(i).utf8)
        case let b as Bool:
            out.append(contentsOf: (b ? "true" : "false").utf8)
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (index, element) in object.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                string(element.key, into: &out)
                out.append(UInt8(ascii: ":"))
                guard write(element.value, into: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                guard write(element, into: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case is NSNull:
            out.append(contentsOf: "null".utf8)
        default:
            return false
        }
        return true
    }

    /// Appends a number as ``data(_:)`` writes it (an integral value without a fraction).
    /// - Returns: false, appending nothing, for a value that is not finite.
    public static func number(_ d: Double, into out: inout [UInt8]) -> Bool {
        guard d.isFinite else { return false }
        out.append(contentsOf: (d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)).utf8)
        return true
    }

    /// Appends `s` as a JSON string, as ``data(_:)`` writes it.
    public static func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
