extension ConfigValidator {
    /// Reads an environment variable's text as a value of the field's type, or reports an
    /// ``ConfigError/Kind/invalidEnvironment`` error naming the variable and the key.
    ///
    /// Strings are taken as they are. Integers and numbers use YAML syntax (`42`, `0x2A`, `1.5`).
    /// Booleans accept `true`/`false`/`yes`/`no`/`1`/`0`, in any case. String lists are a YAML
    /// flow list (`[a, "b,c"]`) or comma-separated text (`a, b`); empty text is the empty list.
    mutating func environmentValue(
        _ text: String, for field: ConfigField, path: String, variable: String, secret: Bool
    ) -> ConfigValue? {
        let trimmed = ConfigText.trimmed(text)
        func invalid(_ expected: String, found: ConfigValue = .string(text)) -> ConfigValue? {
            report(
                .invalidEnvironment, at: path, variable: variable,
                "expected \(expected), found \(found.bareDescription(secret: secret))")
            return nil
        }
        switch field.type.base {
        case .string:
            return .string(text)
        case .int:
            guard case .value(.int(let integer)) = ConfigYAMLCoreSchema.resolve(trimmed) else {
                return invalid("an integer")
            }
            return .int(integer)
        case .double:
            switch ConfigYAMLCoreSchema.resolve(trimmed) {
            case .value(.int(let integer)): return .double(Double(integer))
            case .value(.double(let number)): return .double(number)
            default: return invalid("a number")
            }
        case .bool:
            switch trimmed.lowercased() {
            case "true", "yes", "1": return .bool(true)
            case "false", "no", "0": return .bool(false)
            default: return invalid("a boolean (true, false, yes, no, 1 or 0)")
            }
        case .stringList:
            if trimmed.hasPrefix("[") {
                let parsed: ConfigValue?
                do {
                    parsed = try ConfigValue.parse(yaml: trimmed, source: variable, scalarsAsStrings: true)
                } catch {
                    return invalid("a list of strings such as [a, b] or a, b")
                }
                guard case .list(let items)? = parsed, items.allSatisfy({ $0.stringValue != nil }) else {
                    return invalid("a list of strings such as [a, b] or a, b")
                }
                return .list(items)
            }
            let items = trimmed.split(separator: ",").map { ConfigText.trimmed(String($0)) }.filter { !$0.isEmpty }
            return .list(items.map(ConfigValue.string))
        case .object, .objectList:
            return invalid(field.type.description)
        }
    }
}
