extension ConfigValue {
    /// The value as compact JSON text: what a plugin's `init` receives.
    ///
    /// Map keys keep their order. Strings are escaped per RFC 8259 (`"`, `\`, and every control
    /// character; U+007F, U+2028 and U+2029 are escaped too so the text is safe to embed anywhere);
    /// other characters, including non-ASCII ones, are written as UTF-8. Integers have no decimal
    /// point; doubles are written in the shortest form that reads back to the same double
    /// (always with a `.` or an exponent, so they stay doubles). Non-finite doubles, which
    /// validation rejects, are written as `null`.
    public func jsonString() -> String {
        var output = ""
        writeJSON(to: &output)
        return output
    }

    private func writeJSON(to output: inout String) {
        switch self {
        case .null:
            output += "null"
        case .bool(let value):
            output += value ? "true" : "false"
        case .int(let value):
            output += String(value)
        case .double(let value):
            output += Self.jsonNumber(value)
        case .string(let value):
            Self.writeJSONString(value, to: &output)
        case .list(let items):
            output += "["
            for (position, item) in items.enumerated() {
                if position > 0 { output += "," }
                item.writeJSON(to: &output)
            }
            output += "]"
        case .map(let map):
            output += "{"
            for (position, entry) in map.enumerated() {
                if position > 0 { output += "," }
                Self.writeJSONString(entry.key, to: &output)
                output += ":"
                entry.value.writeJSON(to: &output)
            }
            output += "}"
        }
    }

    static func jsonNumber(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        // Swift's description is the shortest round-tripping form ("0.1", "5.0", "1e-07").
        return value.description
    }

    static func writeJSONString(_ string: String, to output: inout String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case "\u{00}"..."\u{1F}", "\u{7F}", "\u{2028}", "\u{2029}":
                let hex = String(scalar.value, radix: 16, uppercase: false)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
