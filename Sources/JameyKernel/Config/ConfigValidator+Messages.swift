extension ConfigValidator {
    static func unknownKeyMessage(_ key: String, known: [String]) -> String {
        if let suggestion = ConfigText.closest(to: key, among: known) {
            return "unknown key (did you mean '\(suggestion)'?)"
        }
        if known.isEmpty { return "unknown key; this section takes no keys" }
        if known.count <= 12 {
            return "unknown key; the keys here are " + known.map { "'\($0)'" }.joined(separator: ", ")
        }
        return "unknown key"
    }

    static func missingMessage(_ field: ConfigField) -> String {
        var message = "required key is missing; expected \(field.type.description)"
        if let description = field.description, !description.isEmpty { message += " (\(description))" }
        return message
    }

    static func mismatchMessage(expected: String, found: ConfigValue, secret: Bool) -> String {
        var message = "expected \(expected), found \(found.foundDescription(secret: secret))"
        switch (expected, found) {
        case ("a string", .bool), ("a string", .int), ("a string", .double):
            message += "; put it in quotes if it is meant as text"
        case ("a boolean", .string(let text)) where ["yes", "no", "on", "off", "y", "n"].contains(text.lowercased()):
            message += "; only true and false are booleans in YAML 1.2"
        default:
            break
        }
        return message
    }

    /// " between 1 and 10", " of at least 1", " of at most 10", or "".
    static func valueBounds(_ field: ConfigField) -> String {
        switch (field.min, field.max) {
        case (let min?, let max?): return " between \(format(min)) and \(format(max))"
        case (let min?, nil): return " of at least \(format(min))"
        case (nil, let max?): return " of at most \(format(max))"
        case (nil, nil): return ""
        }
    }

    /// "a string of 1 to 64 characters", "a list of strings with at most 5 items", ...
    static func lengthBounds(_ field: ConfigField) -> String {
        let unit = field.type == .string ? "character" : "item"
        let lead = field.type == .string ? "\(field.type.description) of " : "\(field.type.description) with "
        func counted(_ bound: Double) -> String { "\(format(bound)) \(unit)\(bound == 1 ? "" : "s")" }
        switch (field.min, field.max) {
        case (let min?, let max?) where min == max: return lead + "exactly " + counted(min)
        case (let min?, let max?): return lead + "\(format(min)) to \(format(max)) \(unit)s"
        case (let min?, nil): return lead + "at least " + counted(min)
        case (nil, let max?): return lead + "at most " + counted(max)
        case (nil, nil): return field.type.description
        }
    }

    static func counted(_ count: Int, _ unit: String) -> String {
        "\(count) \(unit)\(count == 1 ? "" : "s")"
    }

    /// A bound without a needless ".0".
    static func format(_ number: Double) -> String {
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return number.description
    }
}
