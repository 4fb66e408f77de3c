extension ConfigValue {
    /// The value's type with an article, as used in error messages: "a string", "an integer".
    var typeDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .list: return "a list"
        case .map: return "a map"
        }
    }

    /// How a found value is described in an error: its type and, unless `secret`, a short
    /// rendering of it — `a string ("abc")`, `an integer (42)`, `a string (secret, redacted)`.
    func foundDescription(secret: Bool) -> String {
        switch self {
        case .null:
            return "null"
        case .list(let items):
            return "a list of \(items.count) item\(items.count == 1 ? "" : "s")"
        case .map(let map):
            if secret { return "a map (secret, redacted)" }
            return map.isEmpty
                ? "an empty map"
                : "a map (keys \(map.keys.prefix(5).map { "'\($0)'" }.joined(separator: ", "))\(map.count > 5 ? ", ..." : ""))"
        default:
            if secret { return "\(typeDescription) (secret, redacted)" }
            return "\(typeDescription) (\(shortRendering))"
        }
    }

    /// The bare value as written in an error (`42`, `"abc"`), or the secret notice.
    func bareDescription(secret: Bool) -> String {
        switch self {
        case .null, .list, .map: return foundDescription(secret: secret)
        default: return secret ? "\(typeDescription) (secret, redacted)" : shortRendering
        }
    }

    /// A scalar rendered for a message: strings quoted and cut at 60 characters.
    var shortRendering: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value):
            return value.isFinite ? value.description : (value.isNaN ? ".nan" : (value < 0 ? "-.inf" : ".inf"))
        case .string(let value):
            let cut = value.count > 60 ? String(value.prefix(57)) + "..." : value
            var quoted = ""
            Self.writeJSONString(cut, to: &quoted)
            return quoted
        case .list, .map: return jsonString()
        }
    }
}
