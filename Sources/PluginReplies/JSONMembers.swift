import Foundation

/// Checks on the member names of a JSON text that a parser into Swift dictionaries or `Decodable`
/// values cannot make afterwards.
///
/// RFC 8259 leaves a repeated name's meaning to each parser, and Foundation's parsers differ
/// (`JSONSerialization` keeps the last value, `JSONDecoder` the first), so two readers of one body
/// could act on different values. The plugins refuse such a body instead.
public enum JSONMembers {
    /// The first member name that appears twice in one object of `json`, at any depth, with its
    /// escapes decoded (`"a"` and `"\u0061"` are one name); nil when every object's names differ.
    ///
    /// Names are compared as Swift strings compare, so two spellings that a Swift dictionary would
    /// merge count as one. The text is not validated: run it after the parser accepted the text
    /// (for text that is not JSON the answer means nothing).
    /// - Parameter json: UTF-8 JSON text.
    public static func firstDuplicate(in json: [UInt8]) -> String? {
        json.withUnsafeBufferPointer { firstDuplicate(in: $0) }
    }

    /// What the scan is inside: an object (with the names met so far, and whether a name comes
    /// next) or an array.
    private struct Level {
        var names: Set<String>?
        var nameNext = false
    }

    private static func firstDuplicate(in text: UnsafeBufferPointer<UInt8>) -> String? {
        var levels: [Level] = []
        var i = 0
        while i < text.count {
            switch text[i] {
            case UInt8(ascii: "{"): levels.append(Level(names: [], nameNext: true))
            case UInt8(ascii: "["): levels.append(Level())
            case UInt8(ascii: "}"), UInt8(ascii: "]"): if !levels.isEmpty { levels.removeLast() }
            case UInt8(ascii: ","): if levels.last?.names != nil { levels[levels.count - 1].nameNext = true }
            case UInt8(ascii: "\""):
                let start = i + 1
                var escaped = false
                i = start
                while i < text.count, text[i] != UInt8(ascii: "\"") {
                    if text[i] == UInt8(ascii: "\\") {
                        escaped = true
                        i += 1
                    }
                    i += 1
                }
                guard let last = levels.indices.last, levels[last].nameNext else { break }
                levels[last].nameNext = false
                let raw = UnsafeBufferPointer(rebasing: text[start..<min(i, text.count)])
                let name = escaped ? unescaped(raw) : String(decoding: raw, as: UTF8.self)
                if levels[last].names?.insert(name).inserted == false { return name }
            default: break
            }
            i += 1
        }
        return nil
    }

    /// A string's contents with JSON's escapes decoded (a bad escape is kept as written).
    private static func unescaped(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        var quoted = [UInt8(ascii: "\"")]
        quoted.append(contentsOf: raw)
        quoted.append(UInt8(ascii: "\""))
        let decoded = try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed) as? String
        return decoded ?? String(decoding: raw, as: UTF8.self)
    }
}
