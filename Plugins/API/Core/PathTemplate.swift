/// A route path such as `/v1/plugins/{name}`: literal segments and `{parameter}` segments, each
/// matching exactly one non-empty path segment.
package struct PathTemplate: Sendable, Hashable, CustomStringConvertible {
    /// One segment of a template.
    package enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(String)
    }

    /// The template text.
    package let text: String
    /// Its segments.
    package let segments: [Segment]

    /// Parses a template.
    /// - Returns: nil unless it starts with `/` and every segment is a non-empty literal or a
    ///   `{name}` with a name of letters, digits and `_`, names not repeated.
    package init?(_ text: String) {
        guard text.hasPrefix("/"), !text.contains("?"), !text.contains("#") else { return nil }
        var segments: [Segment] = []
        var names = Set<String>()
        for part in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { return nil }
            if part.hasPrefix("{") && part.hasSuffix("}") {
                let name = String(part.dropFirst().dropLast())
                guard !name.isEmpty, name.utf8.allSatisfy({ Self.isNameByte($0) }), names.insert(name).inserted else {
                    return nil
                }
                segments.append(.parameter(name))
            } else {
                guard !part.contains("{"), !part.contains("}") else { return nil }
                segments.append(.literal(String(part)))
            }
        }
        self.text = text
        self.segments = segments
    }

    package var description: String { text }

    /// Parameter names in order.
    package var parameterNames: [String] {
        segments.compactMap { if case .parameter(let n) = $0 { n } else { nil } }
    }

    /// Matches percent-decoded path segments.
    /// - Returns: the parameter values by name, or nil.
    package func match(_ parts: [Substring]) -> [(String, String)]? {
        guard parts.count == segments.count else { return nil }
        var parameters: [(String, String)] = []
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let l): guard part == l else { return nil }
            case .parameter(let name):
                guard !part.isEmpty, let decoded = Self.percentDecode(part) else { return nil }
                parameters.append((name, decoded))
            }
        }
        return parameters
    }

    /// The first segment in a parameter's place that does not decode, when the literal segments
    /// all match; nil otherwise (no match for another reason, or a match).
    package func undecodableParameter(_ parts: [Substring]) -> Substring? {
        guard parts.count == segments.count else { return nil }
        var undecodable: Substring?
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let l): guard part == l else { return nil }
            case .parameter:
                if undecodable == nil, !part.isEmpty, Self.percentDecode(part) == nil { undecodable = part }
            }
        }
        return undecodable
    }

    /// Whether some concrete path matches both templates (same length, no two literals differ).
    package func overlaps(_ other: PathTemplate) -> Bool {
        guard segments.count == other.segments.count else { return false }
        for (a, b) in zip(segments, other.segments) {
            if case .literal(let x) = a, case .literal(let y) = b, x != y { return false }
        }
        return true
    }

    /// How specific the template is: literal segments earlier rank higher.
    package var specificity: [Bool] {
        segments.map { if case .literal = $0 { true } else { false } }
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b) || b == 95
    }

    /// Decodes `%XX` escapes; nil for malformed escapes, invalid UTF-8 or `%00`: a parameter
    /// travels to the plugin as a bus header, a NUL-terminated string in the C ABI, so a NUL would
    /// cut it short (a cache key `a%00b` became the key `a`).
    package static func percentDecode(_ s: Substring) -> String? {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == 37 {
                guard it.count >= 2, let hi = hexValue(it.removeFirst()), let lo = hexValue(it.removeFirst()),
                    hi | lo != 0
                else { return nil }
                bytes.append(hi << 4 | lo)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 65...70: b - 55
        case 97...102: b - 87
        default: nil
        }
    }
}
