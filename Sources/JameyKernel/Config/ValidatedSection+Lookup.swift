extension ValidatedSection {
    /// The value at a dotted key path such as `tls.ca_file` or `outbound[2].qos`, or `nil` when
    /// the path leads nowhere or to null. Secret values are returned as they are.
    ///
    /// - Parameter keyPath: the path inside this section, without the section's own path.
    public func value(at keyPath: String) -> ConfigValue? {
        guard let segments = Self.segments(of: keyPath) else { return nil }
        var current = value
        for segment in segments {
            switch (segment, current) {
            case (.key(let key), .map(let map)):
                guard let next = map[key] else { return nil }
                current = next
            case (.index(let index), .list(let items)):
                guard items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current.isNull ? nil : current
    }

    /// The string at `keyPath` (backs the C accessor `config_string`).
    ///
    /// - Parameter keyPath: a dotted path inside this section.
    public func string(at keyPath: String) -> Result<String, ConfigLookupError> {
        lookup(keyPath) { $0.stringValue }
    }

    /// The integer at `keyPath` (backs `config_int`).
    ///
    /// - Parameter keyPath: a dotted path inside this section.
    public func int(at keyPath: String) -> Result<Int64, ConfigLookupError> {
        lookup(keyPath) { $0.intValue }
    }

    /// The number at `keyPath`; integers are converted (backs `config_double`).
    ///
    /// - Parameter keyPath: a dotted path inside this section.
    public func double(at keyPath: String) -> Result<Double, ConfigLookupError> {
        lookup(keyPath) { $0.doubleValue }
    }

    /// The boolean at `keyPath` (backs `config_bool`).
    ///
    /// - Parameter keyPath: a dotted path inside this section.
    public func bool(at keyPath: String) -> Result<Bool, ConfigLookupError> {
        lookup(keyPath) { $0.boolValue }
    }

    private func lookup<Value>(_ keyPath: String, _ convert: (ConfigValue) -> Value?) -> Result<Value, ConfigLookupError> {
        guard let found = value(at: keyPath) else { return .failure(.notFound) }
        guard let converted = convert(found) else { return .failure(.wrongType) }
        return .success(converted)
    }

    private enum Segment: Equatable {
        case key(String)
        case index(Int)
    }

    /// Splits `a.b[2].c` into keys and indexes; `nil` when malformed.
    private static func segments(of keyPath: String) -> [Segment]? {
        var result: [Segment] = []
        for part in keyPath.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = part[...]
            let keyEnd = rest.firstIndex(of: "[") ?? rest.endIndex
            guard keyEnd > rest.startIndex else { return nil }
            result.append(.key(String(rest[..<keyEnd])))
            rest = rest[keyEnd...]
            while !rest.isEmpty {
                guard rest.first == "[", let close = rest.firstIndex(of: "]"),
                    let index = Int(rest[rest.index(after: rest.startIndex)..<close]), index >= 0
                else { return nil }
                result.append(.index(index))
                rest = rest[rest.index(after: close)...]
            }
        }
        return result
    }
}
