extension ConfigValidator {
    /// Checks a present value against its field: type, bounds, allowed values, and nested fields.
    /// Returns the value to keep (integers become doubles for number fields), or `nil` when
    /// invalid.
    ///
    /// - Parameters:
    ///   - variable: the environment variable the value came from, if any (named in errors).
    ///   - environmentEnabled: whether fields nested in an object may be overridden.
    mutating func check(
        _ value: ConfigValue, field: ConfigField, path: String, secret: Bool, variable: String?,
        environmentEnabled: Bool
    ) -> ConfigValue? {
        func mismatch(_ expected: String = field.type.description, at keyPath: String = path, _ found: ConfigValue = value) {
            report(
                .typeMismatch, at: keyPath, variable: variable,
                Self.mismatchMessage(expected: expected, found: found, secret: secret))
        }
        switch field.type.base {
        case .string:
            guard case .string(let string) = value else { mismatch(); return nil }
            let lengthOK = checkLength(string.count, field: field, path: path, value: value, secret: secret, variable: variable)
            let allowedOK = checkAllowed(string, field: field, path: path, secret: secret, variable: variable)
            guard lengthOK && allowedOK else { return nil }
            if field.isPath, let baseDirectory, !string.isEmpty, !string.hasPrefix("/") {
                return .string(KernelConfig.resolve(string, against: baseDirectory))
            }
            return value
        case .int:
            guard case .int(let integer) = value else { mismatch(); return nil }
            return checkNumber(Double(integer), field: field, path: path, value: value, secret: secret, variable: variable)
                ? value : nil
        case .double:
            guard let number = value.doubleValue else { mismatch(); return nil }
            guard number.isFinite else {
                report(
                    .outOfRange, at: path, variable: variable,
                    "expected a finite number, found \(value.bareDescription(secret: secret))")
                return nil
            }
            return checkNumber(number, field: field, path: path, value: value, secret: secret, variable: variable)
                ? .double(number) : nil
        case .bool:
            guard case .bool = value else { mismatch(); return nil }
            return value
        case .stringList:
            guard case .list(let items) = value else { mismatch(); return nil }
            var valid = checkLength(items.count, field: field, path: path, value: value, secret: secret, variable: variable)
            for (index, item) in items.enumerated() {
                let itemPath = ConfigKeyPath.element(path, index)
                guard case .string(let string) = item else {
                    mismatch("a string", at: itemPath, item)
                    valid = false
                    continue
                }
                valid = checkAllowed(string, field: field, path: itemPath, secret: secret, variable: variable) && valid
            }
            return valid ? value : nil
        case .object:
            guard case .map(let map) = value else { mismatch(); return nil }
            let before = errors.count
            let result = validateMap(
                map, fields: field.fields, path: path, environmentEnabled: environmentEnabled, secret: secret)
            return errors.count == before ? .map(result) : nil
        case .objectList:
            guard case .list(let items) = value else { mismatch(); return nil }
            let before = errors.count
            _ = checkLength(items.count, field: field, path: path, value: value, secret: secret, variable: variable)
            var results: [ConfigValue] = []
            for (index, item) in items.enumerated() {
                let itemPath = ConfigKeyPath.element(path, index)
                guard case .map(let map) = item else {
                    mismatch("a map", at: itemPath, item)
                    continue
                }
                results.append(
                    .map(validateMap(map, fields: field.fields, path: itemPath, environmentEnabled: false, secret: secret)))
            }
            return errors.count == before ? .list(results) : nil
        }
    }

    static func isOutside(_ number: Double, _ field: ConfigField) -> Bool {
        (field.min.map { number < $0 } ?? false) || (field.max.map { number > $0 } ?? false)
    }

    private mutating func checkNumber(
        _ number: Double, field: ConfigField, path: String, value: ConfigValue, secret: Bool, variable: String?
    ) -> Bool {
        guard Self.isOutside(number, field) else { return true }
        report(
            .outOfRange, at: path, variable: variable,
            "expected \(field.type.description)\(Self.valueBounds(field)), found \(value.bareDescription(secret: secret))")
        return false
    }

    private mutating func checkLength(
        _ length: Int, field: ConfigField, path: String, value: ConfigValue, secret: Bool, variable: String?
    ) -> Bool {
        guard Self.isOutside(Double(length), field) else { return true }
        let found: String
        switch value {
        case .string(let string) where !secret:
            found = "\(value.shortRendering) (\(Self.counted(string.count, "character")))"
        case .string:
            found = value.bareDescription(secret: true)
        default:
            found = "a list of \(Self.counted(length, "item"))"
        }
        report(.outOfRange, at: path, variable: variable, "expected \(Self.lengthBounds(field)), found \(found)")
        return false
    }

    private mutating func checkAllowed(
        _ string: String, field: ConfigField, path: String, secret: Bool, variable: String?
    ) -> Bool {
        guard let allowed = field.allowedValues, !allowed.contains(string) else { return true }
        let list = allowed.map { ConfigValue.string($0).shortRendering }.joined(separator: ", ")
        var message = "expected one of \(list), found \(ConfigValue.string(string).bareDescription(secret: secret))"
        if !secret, let suggestion = ConfigText.closest(to: string, among: allowed) {
            message += " (did you mean \(ConfigValue.string(suggestion).shortRendering)?)"
        }
        report(.notAllowed, at: path, variable: variable, message)
        return false
    }
}
