extension ConfigSchema {
    /// Checks the schema itself — a plugin author's mistakes, reported as
    /// ``ConfigError/Kind/invalidSchema`` errors naming the field.
    ///
    /// Rejects: keys not matching `[a-z0-9_]+`; a key declared twice at one level; `min` greater
    /// than `max`; non-finite bounds; negative or fractional length bounds; bounds on booleans and
    /// objects; a required field with a default; allowed values on anything but strings and string
    /// lists, or an empty list of them; nested fields on anything but objects and object lists, or
    /// an object without fields; and a default that does not parse or fails its own field.
    ///
    /// - Parameters:
    ///   - path: the section's key path, prefixed to each field's path in errors.
    ///   - source: what declared the schema (a plugin's file), named in errors.
    /// - Throws: ``ConfigErrors`` with every problem found.
    public func validateSchema(path: String = "", source: String? = nil) throws(ConfigErrors) {
        let errors = schemaErrors(path: path, source: source)
        if !errors.isEmpty { throw ConfigErrors(errors) }
    }

    func schemaErrors(path: String, source: String?) -> [ConfigError] {
        var errors: [ConfigError] = []
        Self.check(fields, path: path, source: source, secret: false, into: &errors)
        return errors
    }

    private static func check(
        _ fields: [ConfigField], path: String, source: String?, secret: Bool, into errors: inout [ConfigError]
    ) {
        var seen: Set<String> = []
        for field in fields {
            let fieldPath = ConfigKeyPath.child(path, field.key)
            let before = errors.count
            func fail(_ message: String) {
                errors.append(
                    ConfigError(
                        kind: .invalidSchema, keyPath: fieldPath, source: source,
                        message: "schema error: \(message)"))
            }
            if field.key.isEmpty || !field.key.unicodeScalars.allSatisfy(Self.isKeyCharacter) {
                fail("invalid key \(ConfigValue.string(field.key).shortRendering); keys use only a-z, 0-9 and '_'")
            }
            if !seen.insert(field.key).inserted {
                fail("key '\(field.key)' is declared more than once")
            }
            checkBounds(field, fail: fail)
            if field.isRequired && field.defaultValue != nil {
                fail("a required key cannot have a default")
            }
            if let allowed = field.allowedValues {
                if field.type != .string && field.type != .stringList {
                    fail("allowed values apply only to strings and lists of strings, not to \(field.type.description)")
                } else if allowed.isEmpty {
                    fail("the list of allowed values is empty")
                }
            }
            if field.type.hasFields {
                if field.fields.isEmpty { fail("\(field.type.description) needs at least one nested field") }
                check(field.fields, path: fieldPath, source: source, secret: secret || field.isSecret, into: &errors)
            } else if !field.fields.isEmpty {
                fail("nested fields apply only to maps and lists of maps, not to \(field.type.description)")
            }
            if errors.count == before, let defaultText = field.defaultValue {
                checkDefault(defaultText, field: field, path: fieldPath, secret: secret || field.isSecret, fail: fail)
            }
        }
    }

    private static func checkBounds(_ field: ConfigField, fail: (String) -> Void) {
        guard field.min != nil || field.max != nil else { return }
        switch field.type.base {
        case .bool, .object:
            fail("min and max do not apply to \(field.type.description)")
            return
        default:
            break
        }
        for (name, bound) in [("min", field.min), ("max", field.max)] {
            guard let bound else { continue }
            if !bound.isFinite {
                fail("\(name) is not a finite number")
            } else if field.type.boundsLength && (bound < 0 || bound != bound.rounded()) {
                fail("\(name) (\(ConfigValidator.format(bound))) bounds a length, so it must be a whole number of at least 0")
            }
        }
        if let min = field.min, let max = field.max, min > max {
            fail("min (\(ConfigValidator.format(min))) is greater than max (\(ConfigValidator.format(max)))")
        }
    }

    private static func checkDefault(_ text: String, field: ConfigField, path: String, secret: Bool, fail: (String) -> Void) {
        let shown = secret ? "(secret, redacted)" : ConfigValue.string(text).shortRendering
        let value: ConfigValue
        do {
            value = try ConfigValidator.defaultValue(text, for: field)
        } catch {
            fail("the default \(shown) is not valid YAML: \(error.errors.first?.message ?? "")")
            return
        }
        var validator = ConfigValidator(source: nil, environment: [:])
        _ = validator.check(value, field: field, path: path, secret: secret, variable: nil, environmentEnabled: false)
        if let problem = validator.errors.first {
            let location = problem.keyPath == path ? "" : " at \(problem.keyPath)"
            fail("the default \(shown) does not fit the field\(location): \(problem.message)")
        }
    }

    private static func isKeyCharacter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
    }
}
