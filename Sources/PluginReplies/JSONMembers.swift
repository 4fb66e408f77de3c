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
    /// (for text that is not JSON the answer means nothing). One pass over the bytes; the names
    /// of an object of a few plain ASCII names are compared as bytes, in place (a bulk store's
    /// thousand items cost no allocation each).
    /// - Parameter json: UTF-8 JSON text.
    public static func firstDuplicate(in json: [UInt8]) -> String? {
        json.withUnsafeBufferPointer { firstDuplicate(in: $0) }
    }

    /// An open object or array.
    private struct Level {
        /// Where the object's names start in the scan's list (nil for an array).
        var namesFrom: Int?
        /// Whether a name comes next.
        var nameNext = false
        /// The object's names as strings, once it has many or one that is not plain ASCII.
        var strings: Set<String>?
    }

    /// A name in the text: its bytes between the quotes, and whether they are plain ASCII
    /// without escapes (then equal names have equal bytes).
    private struct Name {
        var start: Int
        var end: Int
        var plain: Bool
    }

    /// How many plain names an object's names are compared among as bytes, one by one.
    private static let plainLimit = 16

    private static func firstDuplicate(in text: UnsafeBufferPointer<UInt8>) -> String? {
        var levels: [Level] = []
        var names: [Name] = []
        var i = 0
        while i < text.count {
            switch text[i] {
            case UInt8(ascii: "{"): levels.append(Level(namesFrom: names.count, nameNext: true))
            case UInt8(ascii: "["): levels.append(Level())
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if let from = levels.popLast()?.namesFrom { names.removeSubrange(from...) }
            case UInt8(ascii: ","): if levels.last?.namesFrom != nil { levels[levels.count - 1].nameNext = true }
            case UInt8(ascii: "\""):
                let start = i + 1
                var plain = true
                i = start
                while i < text.count, text[i] != UInt8(ascii: "\"") {
                    if text[i] == UInt8(ascii: "\\") {
                        plain = false
                        i += 1
                    } else if text[i] >= 0x80 {
                        plain = false
                    }
                    i += 1
                }
                guard let last = levels.indices.last, levels[last].nameNext, let first = levels[last].namesFrom else { break }
                levels[last].nameNext = false
                let name = Name(start: start, end: min(i, text.count), plain: plain)
                if let repeated = add(name, to: &levels[last], first: first, names: &names, text) { return repeated }
            default: break
            }
            i += 1
        }
        return nil
    }

    /// Adds a name to its object; returns it when the object has it already.
    private static func add(
        _ name: Name, to level: inout Level, first: Int, names: inout [Name], _ text: UnsafeBufferPointer<UInt8>
    ) -> String? {
        if level.strings == nil, name.plain, names.count - first < plainLimit {
            let length = name.end - name.start
            for other in names[first...] where other.end - other.start == length {
                if length == 0 || memcmp(text.baseAddress! + name.start, text.baseAddress! + other.start, length) == 0 {
                    return string(name, text)
                }
            }
            names.append(name)
            return nil
        }
        if level.strings == nil { level.strings = Set(names[first...].map { string($0, text) }) }
        let value = string(name, text)
        return level.strings?.insert(value).inserted == false ? value : nil
    }

    /// A name's text with JSON's escapes decoded (a bad escape is kept as written).
    private static func string(_ name: Name, _ text: UnsafeBufferPointer<UInt8>) -> String {
        let raw = UnsafeBufferPointer(rebasing: text[name.start..<name.end])
        guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
        var quoted = [UInt8(ascii: "\"")]
        quoted.append(contentsOf: raw)
        quoted.append(UInt8(ascii: "\""))
        let decoded = try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed) as? String
        return decoded ?? String(decoding: raw, as: UTF8.self)
    }
}
