import Foundation

/// One configuration problem, as one sentence an operator can act on.
///
/// ``description`` names where the problem is — the file (and line and column for YAML syntax
/// errors) or the environment variable — then the full key path, then what was expected and what
/// was found. Values of secret fields never appear in it.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem this is.
    public let kind: Kind
    /// The full dotted key path, such as `plugins.mqtt.config.outbound[2].qos`; empty when the
    /// problem concerns the whole document.
    public let keyPath: String
    /// The file (or other named source, such as `<embedded default>`) the value came from, when
    /// known.
    public let source: String?
    /// The environment variable the value came from, when it came from one.
    public let variable: String?
    /// The 1-based line of a YAML syntax error, when known.
    public let line: Int?
    /// The 1-based column of a YAML syntax error, when known.
    public let column: Int?
    /// What is wrong, without the location prefix (for example
    /// `expected an integer between 1 and 10, found 42`).
    public let message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - kind: the kind of problem.
    ///   - keyPath: the full dotted key path, or empty.
    ///   - source: the file or source name, if known.
    ///   - variable: the environment variable, if the value came from one.
    ///   - line: the 1-based line, if known.
    ///   - column: the 1-based column, if known.
    ///   - message: the problem, without the location prefix.
    public init(
        kind: Kind, keyPath: String, source: String? = nil, variable: String? = nil,
        line: Int? = nil, column: Int? = nil, message: String
    ) {
        self.kind = kind
        self.keyPath = keyPath
        self.source = source
        self.variable = variable
        self.line = line
        self.column = column
        self.message = message
    }

    /// The whole sentence: location, key path and message, for example
    /// `config.yaml: plugins.hello_c.config.count: expected an integer between 1 and 10, found 42`.
    public var description: String {
        var parts: [String] = []
        if let variable {
            parts.append("environment variable \(variable)" + (keyPath.isEmpty ? "" : " (\(keyPath))"))
        } else {
            if let source {
                var location = source
                if let line { location += ":\(line)" + (column.map { ":\($0)" } ?? "") }
                parts.append(location)
            }
            if !keyPath.isEmpty { parts.append(keyPath) }
        }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

extension ConfigError {
    /// The kind of a ``ConfigError``. New kinds may be added; compare with the static members.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case syntax, fileNotFound, unreadable, emptyDocument, notAMap
            case unknownKey, typeMismatch, outOfRange, notAllowed, missingRequired
            case invalidEnvironment, invalidName, invalidSchema, refusedByPlugin
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The text is not valid YAML (or uses an unsupported YAML feature).
        public static let syntax = Kind(.syntax)
        /// The config file does not exist.
        public static let fileNotFound = Kind(.fileNotFound)
        /// The config file exists but cannot be read or is not UTF-8.
        public static let unreadable = Kind(.unreadable)
        /// The config file holds no document.
        public static let emptyDocument = Kind(.emptyDocument)
        /// The document's top level is not a map.
        public static let notAMap = Kind(.notAMap)
        /// A key the schema does not declare.
        public static let unknownKey = Kind(.unknownKey)
        /// A value of the wrong type.
        public static let typeMismatch = Kind(.typeMismatch)
        /// A number, string length or list length outside its bounds, or a non-finite number.
        public static let outOfRange = Kind(.outOfRange)
        /// A string that is not one of the field's allowed values.
        public static let notAllowed = Kind(.notAllowed)
        /// A required key is absent.
        public static let missingRequired = Kind(.missingRequired)
        /// An environment variable's text cannot be read as the field's type.
        public static let invalidEnvironment = Kind(.invalidEnvironment)
        /// A name (such as a plugin name) has the wrong syntax.
        public static let invalidName = Kind(.invalidName)
        /// The schema itself is wrong (a plugin author's mistake, not an operator's).
        public static let invalidSchema = Kind(.invalidSchema)
        /// The plugin's own `check` hook (ABI 1.6) found the section wrong, in a way its schema
        /// cannot say (a file that must exist, an address that must parse).
        public static let refusedByPlugin = Kind(.refusedByPlugin)

        /// The kind's name, such as `unknownKey`.
        public var description: String { base.rawValue }
    }
}

extension ConfigError: LocalizedError {
    /// The same as ``description``, so `localizedDescription` shows the sentence.
    public var errorDescription: String? { description }
}
