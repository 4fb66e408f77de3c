extension ConfigValue {
    /// The value as block-style YAML text, keys in order, ending with a newline.
    ///
    /// Strings are written plain when that reads back as the same string, double-quoted
    /// otherwise. Nested lists inside lists are written in flow style. The text parses back to an
    /// equal value with ``parse(yaml:source:)``. Use it on a redacted value (see
    /// ``ValidatedSection/redacted()``) when it is shown to anyone.
    public func yamlText() -> String {
        var lines: [String] = []
        switch self {
        case .map(let map) where !map.isEmpty:
            Self.writeYAML(map, indent: 0, into: &lines)
        case .list(let items) where !items.isEmpty:
            Self.writeYAML(items, indent: 0, into: &lines)
        default:
            lines.append(yamlScalar)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func writeYAML(_ map: ConfigMap, indent: Int, into lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        for (key, value) in map {
            let head = pad + yamlString(key) + ":"
            switch value {
            case .map(let nested) where !nested.isEmpty:
                lines.append(head)
                writeYAML(nested, indent: indent + 2, into: &lines)
            case .list(let items) where !items.isEmpty:
                lines.append(head)
                writeYAML(items, indent: indent + 2, into: &lines)
            default:
                lines.append(head + " " + value.yamlScalar)
            }
        }
    }

    static func writeYAML(_ items: [ConfigValue], indent: Int, into lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        for item in items {
            switch item {
            case .map(let map) where !map.isEmpty:
                var itemLines: [String] = []
                writeYAML(map, indent: indent + 2, into: &itemLines)
                itemLines[0] = pad + "- " + itemLines[0].dropFirst(indent + 2)
                lines += itemLines
            default:
                lines.append(pad + "- " + item.yamlScalar)
            }
        }
    }

    /// A scalar, empty collection or nested list as one line of YAML.
    var yamlScalar: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value):
            if value.isNaN { return ".nan" }
            if value.isInfinite { return value < 0 ? "-.inf" : ".inf" }
            return value.description
        case .string(let value): return Self.yamlString(value)
        case .list(let items): return "[" + items.map(\.yamlScalar).joined(separator: ", ") + "]"
        case .map(let map):
            return "{" + map.map { Self.yamlString($0.key) + ": " + $0.value.yamlScalar }.joined(separator: ", ") + "}"
        }
    }

    /// A string written plain when safe, double-quoted (JSON escaping, valid in YAML) otherwise.
    static func yamlString(_ string: String) -> String {
        let safe = string.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || $0 == "_" || $0 == "." || $0 == "/" || $0 == "-" || $0 == "+" || $0 == "@"
        }
        if safe, let first = string.unicodeScalars.first, first != "-", first != "+",
            ConfigYAMLCoreSchema.resolve(string) == .value(.string(string))
        {
            return string
        }
        var quoted = ""
        writeJSONString(string, to: &quoted)
        return quoted
    }
}
