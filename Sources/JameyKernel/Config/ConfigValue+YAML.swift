import Foundation
import Yams

extension ConfigValue {
    /// Parses one YAML document into a value, resolving plain scalars by the YAML 1.2 core schema
    /// (see ``ConfigValue``). Quoted scalars and scalars tagged `!!str` stay strings. Anchors and
    /// aliases are expanded, and merge keys (`<<: *base`) are honoured. Map keys must be scalars;
    /// a key written twice is an error.
    ///
    /// - Parameters:
    ///   - yaml: the YAML text (one document).
    ///   - source: the file name (or other source name) used in error messages.
    /// - Returns: the document's value, or `nil` when the text holds no document (empty, or only
    ///   comments).
    /// - Throws: ``ConfigErrors`` holding one ``ConfigError/Kind/syntax`` error with the source,
    ///   line, column and the parser's reason.
    public static func parse(yaml: String, source: String = "<input>") throws(ConfigErrors) -> ConfigValue? {
        try parse(yaml: yaml, source: source, scalarsAsStrings: false)
    }

    /// Parses YAML; with `scalarsAsStrings`, every plain scalar becomes a string holding its text
    /// (used for defaults and environment values of string fields, where `8080` means "8080").
    static func parse(yaml: String, source: String, scalarsAsStrings: Bool) throws(ConfigErrors) -> ConfigValue? {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml, .basic)
        } catch let error as YamlError {
            throw ConfigErrors([ConfigYAMLConverter.syntaxError(error, source: source, yaml: yaml)])
        } catch {
            throw ConfigErrors([
                ConfigError(
                    kind: .syntax, keyPath: "", source: source,
                    message: "invalid YAML: \(error)")
            ])
        }
        guard let node else { return nil }
        let converter = ConfigYAMLConverter(source: source, scalarsAsStrings: scalarsAsStrings)
        return try converter.value(of: node)
    }
}

/// Turns a Yams node tree into a ``ConfigValue`` and Yams errors into ``ConfigError``s.
struct ConfigYAMLConverter {
    let source: String
    let scalarsAsStrings: Bool

    private static let tagPrefix = "tag:yaml.org,2002:"

    func value(of node: Node) throws(ConfigErrors) -> ConfigValue {
        switch node {
        case .scalar(let scalar):
            return try value(of: scalar)
        case .sequence(let sequence):
            var items: [ConfigValue] = []
            items.reserveCapacity(sequence.count)
            for item in sequence { items.append(try value(of: item)) }
            return .list(items)
        case .mapping(let mapping):
            return .map(try map(of: mapping))
        case .alias(let alias):
            throw error("unresolved alias '\(alias.anchor)'", at: alias.mark)
        }
    }

    /// A value scalar's tag is still as written: "" for plain, the `str` tag for quoted, or an
    /// explicit tag. (Yams resolves the tags of map keys only, while checking for duplicates.)
    private func value(of scalar: Node.Scalar) throws(ConfigErrors) -> ConfigValue {
        let tag = scalar.tag.description
        let text = scalar.string
        switch tag {
        case "":
            return scalarsAsStrings ? .string(text) : try resolved(text, at: scalar.mark)
        case "!", Self.tagPrefix + "str":
            return .string(text)
        case Self.tagPrefix + "int", Self.tagPrefix + "float", Self.tagPrefix + "bool", Self.tagPrefix + "null":
            let value = try resolved(text, at: scalar.mark)
            switch (tag.dropFirst(Self.tagPrefix.count), value) {
            case ("int", .int), ("float", .double), ("bool", .bool), ("null", .null):
                return value
            case ("float", .int(let integer)):
                return .double(Double(integer))
            default:
                throw error("'\(text)' is not a valid !!\(tag.dropFirst(Self.tagPrefix.count))", at: scalar.mark)
            }
        default:
            throw error("unsupported YAML tag '\(tag)'", at: scalar.mark)
        }
    }

    private func resolved(_ text: String, at mark: Mark?) throws(ConfigErrors) -> ConfigValue {
        switch ConfigYAMLCoreSchema.resolve(text) {
        case .value(let value): return value
        case .integerOverflow: throw error("integer \(text) does not fit in 64 bits", at: mark)
        }
    }

    private func map(of mapping: Node.Mapping) throws(ConfigErrors) -> ConfigMap {
        var result = ConfigMap()
        var merged: [ConfigMap] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                throw error(
                    "map keys must be plain strings, found a \(keyNode.mapping != nil ? "map" : "list")",
                    at: keyNode.mark)
            }
            let key = keyScalar.string
            // Yams resolves key tags while checking for duplicates, so a merge key is recognised
            // by its plain style rather than by an implicit tag.
            if key == "<<" && keyScalar.style == .plain {
                merged += try mergeSources(valueNode)
                continue
            }
            guard !result.contains(key) else {
                throw error("duplicate key '\(key)'", at: keyScalar.mark)
            }
            result[key] = try value(of: valueNode)
        }
        for source in merged {
            for (key, value) in source where !result.contains(key) { result[key] = value }
        }
        return result
    }

    private func mergeSources(_ node: Node) throws(ConfigErrors) -> [ConfigMap] {
        switch node {
        case .mapping(let mapping):
            return [try map(of: mapping)]
        case .sequence(let sequence):
            var maps: [ConfigMap] = []
            for item in sequence {
                guard case .mapping(let mapping) = item else {
                    throw error("a merge key ('<<') takes a map or a list of maps", at: item.mark)
                }
                maps.append(try map(of: mapping))
            }
            return maps
        default:
            throw error("a merge key ('<<') takes a map or a list of maps", at: node.mark)
        }
    }

    private func error(_ message: String, at mark: Mark?) -> ConfigErrors {
        ConfigErrors([
            ConfigError(
                kind: .syntax, keyPath: "", source: source,
                line: mark?.line, column: mark?.column, message: "invalid YAML: \(message)")
        ])
    }

    /// Converts a Yams parse error into one sentence with line and column.
    static func syntaxError(_ error: YamlError, source: String, yaml: String) -> ConfigError {
        func make(_ problem: String, _ mark: (line: Int, column: Int)?, _ context: YamlError.Context?) -> ConfigError {
            var message = "invalid YAML: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            return ConfigError(
                kind: .syntax, keyPath: "", source: source,
                line: mark?.line, column: mark?.column, message: message)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return make(problem, (mark.line, mark.column), context)
        case .reader(let problem, let offset, _, _):
            let mark = offset.map { lineAndColumn(ofCharacterOffset: $0, in: yaml) }
            return make(problem, mark, nil)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return make("duplicate key \(keys) in a map", (context.mark.line, context.mark.column), nil)
        default:
            return make("\(error)", nil, nil)
        }
    }

    private static func lineAndColumn(ofCharacterOffset offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }
}
