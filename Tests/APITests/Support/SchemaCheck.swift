import Foundation

/// A small JSON Schema (2020-12) checker for the keywords the gateway's request schemas use:
/// `type`, `enum`, `const`, `required`, `properties`, `additionalProperties: false`, `not`,
/// `minLength`, `maxLength`, `pattern`, `minimum`, `maximum` (`format` is an annotation, as in
/// the default vocabulary). Enough to compare what /openapi.json promises with what is accepted.
///
/// Instances are Swift values (`String`, `Int`, `Double`, `Bool`, `[String: Any]`, `[Any]`);
/// schemas come from `JSONSerialization`.
enum SchemaCheck {
    /// Whether `value` is valid against `schema`.
    static func isValid(_ value: Any, _ schema: [String: Any]) -> Bool {
        if let type = schema["type"] as? String, !has(type: type, value) { return false }
        if let options = schema["enum"] as? [Any], !options.contains(where: { equal($0, value) }) { return false }
        if let not = schema["not"] as? [String: Any], isValid(value, not) { return false }
        if let string = value as? String {
            let length = string.unicodeScalars.count
            if let min = number(schema["minLength"]), Double(length) < min { return false }
            if let max = number(schema["maxLength"]), Double(length) > max { return false }
            // ICU, like ECMA-262, reads \uXXXX escapes.
            if let pattern = schema["pattern"] as? String, string.range(of: pattern, options: .regularExpression) == nil {
                return false
            }
        }
        if let n = number(value) {
            if let min = number(schema["minimum"]), n < min { return false }
            if let max = number(schema["maximum"]), n > max { return false }
        }
        if let object = value as? [String: Any] {
            let required = schema["required"] as? [String] ?? []
            if required.contains(where: { object[$0] == nil }) { return false }
            let properties = schema["properties"] as? [String: [String: Any]] ?? [:]
            for (name, member) in object {
                if let property = properties[name] {
                    if !isValid(member, property) { return false }
                } else if schema["additionalProperties"] as? Bool == false {
                    return false
                }
            }
        }
        return true
    }

    private static func has(type: String, _ value: Any) -> Bool {
        switch type {
        case "object": value is [String: Any]
        case "array": value is [Any]
        case "string": value is String
        case "boolean": value is Bool
        case "integer": number(value).map { $0 == $0.rounded() } == true
        case "number": number(value) != nil
        default: true
        }
    }

    /// A number instance or schema value (`Bool` is not a number).
    private static func number(_ value: Any?) -> Double? {
        guard let value, type(of: value) != Bool.self else { return nil }
        switch value {
        case let i as Int: return Double(i)
        case let d as Double: return d
        case let n as NSNumber: return n.doubleValue
        default: return nil
        }
    }

    private static func equal(_ a: Any, _ b: Any) -> Bool {
        if let x = a as? String, let y = b as? String { return x == y }
        if let x = number(a), let y = number(b) { return x == y }
        return false
    }
}
